"""extract_html: the article body of an HTML page, without the page's chrome, and its metadata.

The pages in tests/data/html/ are small hand-written news pages shaped like real ones (navigation,
cookie banner, in-body chrome lines, footer); the quality figures on real pages come from
bench/html_quality.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.errors import BadInput
from worker.pipeline.normalise import normalise
from worker.pipeline.parse.html import extract_html

PAGES = Path(__file__).resolve().parent / "data" / "html"


def page(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def article():
    return extract_html(page("news_article.html"))


def test_body_keeps_every_article_paragraph(article):
    assert "\nCouncillors in Port Alden voted on Monday night" in article.text
    assert "Engineers will first strengthen the foundations" in article.text
    assert article.text.endswith("The council said it would publish a timetable next month.")


def test_body_leaves_out_navigation_cookie_banner_sidebar_and_footer(article):
    for chrome in ("Sport", "cookies", "Most read", "Ferry timetable changes", "All rights reserved",
                   "Privacy policy"):
        assert chrome not in article.text


def test_paragraphs_are_separate_lines(article):
    paragraphs = [p for p in article.text.split("\n") if p.strip()]
    assert paragraphs[0] == article.title  # the headline: the normaliser reads the top lines
    assert len(paragraphs) == 7
    assert paragraphs[2].startswith("The wall, built in 1958")


def test_advertisement_line_is_dropped_but_a_sentence_mentioning_advertisements_is_kept(article):
    lines = article.text.split("\n")
    assert "Advertisement" not in lines
    assert any(line.startswith("The council said the advertisement campaign") for line in lines)


def test_related_link_share_and_newsletter_prompts_are_dropped(article):
    assert "Related:" not in article.text
    assert "Share this article" not in article.text
    assert "Sign up to our newsletter" not in article.text


def test_lines_the_extractor_drops_are_listed_in_the_records_boilerplate(article):
    # the audit of an HTML record names the chrome lines taken out of the page's text, as it
    # does the normaliser's
    record = normalise(article)
    for line in ("Advertisement", "Related: Forty homes flooded as storm breaches harbour wall",
                 "Share this article"):
        assert line not in record.body
        assert line in record.boilerplate


def test_headline_is_metadata_not_the_first_body_line(article):
    # the extractor keeps the page's text; the normaliser moves the headline out of the body,
    # as for every format, and lists it in the record's boilerplate
    record = normalise(article)
    assert record.title == "Harbour town votes to rebuild its flooded sea wall"
    assert "Harbour town votes" not in record.body
    assert record.body.startswith("Councillors in Port Alden voted on Monday night")
    assert "Harbour town votes to rebuild its flooded sea wall" in record.boilerplate


def test_metadata_comes_from_meta_tags(article):
    assert article.format == "html"
    assert article.encoding == "utf-8"
    assert article.published == "2023-03-14"
    assert article.authors == ["Maria Ostrowski"]
    assert article.site == "The Coastal Courier"
    assert article.url == "https://courier.example/news/2023/03/14/harbour-sea-wall"
    assert article.subtitle == "Councillors approved a four-year plan after the winter storms."


def test_inline_link_text_is_kept_in_its_sentence():
    # trafilatura's precision mode drops <span class="link">; the second pass restores the words
    doc = extract_html(page("inline_links.html"))
    assert ("and that a string of signal failures in the spring had been left unrepaired"
            in doc.text)


def test_page_with_only_navigation_and_a_form_raises_no_text():
    with pytest.raises(BadInput) as raised:
        extract_html(page("no_article.html"))
    assert raised.value.kind == "no_text"


def test_empty_page_raises_no_text():
    with pytest.raises(BadInput) as raised:
        extract_html("<html><head><title>Nothing</title></head><body></body></html>")
    assert raised.value.kind == "no_text"


@pytest.mark.parametrize("name", ["news_article.html", "inline_links.html", "no_article.html"])
def test_metadata_is_what_trafilatura_reads(name):
    # extract_html reads the metadata with a trimmed copy of trafilatura's extract_metadata (no
    # categories, tags or licence; its own choice of headline where the meta tags name none, the
    # same as trafilatura's on these pages); a trafilatura upgrade that changes the original shows here
    import trafilatura

    from worker.pipeline.parse.html import _METADATA, _metadata, _parse

    tree = _parse(page(name))
    ours, theirs = _metadata(tree), trafilatura.extract_metadata(tree)
    assert {f: getattr(ours, f) for f in _METADATA} == {f: getattr(theirs, f) for f in _METADATA}


@pytest.mark.parametrize("label", ["By", "Written by", "Words by", "Author:"])
def test_byline_at_the_top_is_metadata_whatever_its_label(label):
    # one reading of a byline (normalise/lexicon.yaml) for every format: the normaliser's
    html = page("news_article.html").replace(
        '<div class="story-body">',
        f'<div class="story-body">\n    <p>{label} Maria Ostrowski and Tom Hale</p>')
    record = normalise(extract_html(html))
    assert record.body.startswith("Councillors in Port Alden voted on Monday night")
    assert f"{label} Maria Ostrowski and Tom Hale" in record.boilerplate
    assert record.authors == ["Maria Ostrowski", "Tom Hale"]


# --- broken markup: the body survives ----------------------------------------------------------

@pytest.mark.parametrize("name", [
    "unclosed_title.html",  # "<title>...</head>": the parser reads the whole page as the title
    "unclosed_style_in_head.html",  # a <style> never closed: the whole page as style sheet
    "head_holds_body.html",  # no </head> or <body>: every element of the page inside <head>
])
def test_a_broken_head_does_not_lose_the_body(name):
    doc = extract_html(page(name))
    assert doc.text == extract_html(page("news_article.html")).text
    assert doc.title == "Harbour town votes to rebuild its flooded sea wall"


def test_an_unclosed_style_is_closed_at_the_heads_end_after_a_dotted_capital_i():
    # "İ" is two characters in lower case: a position found in a lower-cased copy of the page
    # lands one character late per "İ" before it, in the middle of the "</head>" tag
    from worker.pipeline.parse.html import _close_raw_text

    html = page("unclosed_style_in_head.html").replace(
        "after the winter storms.", "after the winter storms in İzmir and İstanbul.")
    assert "margin: 0 0 1em; }\n</style></head>\n<body>" in _close_raw_text(html)
    assert extract_html(html).text == extract_html(page("news_article.html")).text


def test_reader_comments_signed_like_the_post_are_cut_after_the_posts_signature():
    # a Movable Type blog signs each comment as it signs the post ("Posted by: NAME at DATE"),
    # in containers trafilatura does not take for comments
    doc = extract_html(page("blog_signed_comments.html"))
    assert doc.text.endswith("Posted by laurie at September 10, 2012 9:01 AM")
    assert "where are you hiding the machine that makes the cool nights?" in doc.text
    assert "Sixty degrees for a low" not in doc.text
    assert "Posted by: Ellen at September 10, 2012 11:40 AM" in doc.dropped


def _paragraph_choice(precise: list[str], balanced: list[str], links: set[str]) -> list[str]:
    from worker.pipeline.normalise.rules import load_rules
    from worker.pipeline.parse.html import _Page, _restore_paragraphs

    return _restore_paragraphs(precise, _Page(links, load_rules(), balanced))


ARTICLE = [line for line in extract_html(page("news_article.html")).text.split("\n")[1:]]


def test_the_balanced_pass_wins_when_the_precise_one_cut_whole_paragraphs():
    # a blog whose paragraphs are <div><span> blocks: the precision mode keeps the blog's
    # description and cuts the post
    precise = [ARTICLE[0]]
    assert _paragraph_choice(precise, ARTICLE, set()) == ARTICLE


@pytest.mark.parametrize("added", [
    ["Sport", "Weather", "Most read today", "Ferry timetable changes", "Letters"] * 12,  # short
    # long teasers, each a link's text
    ["Ferry timetable changes from Monday as the harbour works begin on the north quay, with the"
     " early sailings to the islands moved to the south pier until spring"] * 6,
])
def test_the_precise_pass_stays_when_the_balanced_one_adds_chrome_or_links(added):
    links = {"ferry timetable changes from monday as the harbour works begin on the north quay with"
             " the early sailings to the islands moved to the south pier until spring"}
    # the balanced pass finds much more text: only what that text is decides
    assert sum(map(len, ARTICLE)) < 0.7 * sum(map(len, ARTICLE + added))
    assert _paragraph_choice(ARTICLE, ARTICLE + added, links) == ARTICLE


def test_no_balanced_pass_when_the_precise_text_is_most_of_the_page():
    # the `paragraphs` step could not use it: the balanced pass would cost half the extraction
    from worker.pipeline.parse.html import _passes

    precise, balanced, _ = _passes(page("news_article.html"))
    assert precise is not None and balanced is None


def test_the_balanced_pass_runs_when_the_precise_text_is_a_small_share_of_the_page():
    from worker.pipeline.parse.html import _passes

    footer = "".join(f"<li><a href='/s/{n}'>Ferry timetable changes on route {n}</a></li>"
                     for n in range(200))
    html = page("news_article.html").replace("</body>", f"<footer><ul>{footer}</ul></footer></body>")
    precise, balanced, _ = _passes(html)
    assert precise is not None and balanced is not None


# --- the author, read as trafilatura reads it, without its XPaths' cost ------------------------

# Every shape the author XPaths and the pruned sections match: tags, attributes, patterns, a
# <rel> child, an <author> element, a byline inside a comments section (pruned) and one holding
# a <time> (its date pruned from its text).
AUTHOR_SHAPES = """<html><head><title>t</title></head><body>
<div class="comments"><span class="author">Comment Writer</span></div>
<section id="comment-list-2"><a rel="author" href="/c">Reader Name</a></section>
<div class="sidebar-box"><p class="byline">Side Bar</p></div>
<span data-component="FigureCaption"><span class="authorName">Photo Person</span></span>
<p class="story-byline">By <a href="/a">Ann Lee</a> <time>June 1, 2020</time> in Town</p>
<strong itemprop="author name">Bob Stone</strong><div data-testid="AuthorCard">Card Holder</div>
<h3 id="zuozhe">Wang Wei</h3><h4 class="BBL">Old Byline</h4><em class="Screenname">x</em>
<span class="submitted-by">Sub Mitter</span><i data-component="ArticleByline">Comp Onent</i>
<span><rel>me</rel>Rel Me</span><author>Tag Author</author><b id="postAuthor">Id Author</b>
<a class="quote-author">Quoted Person</a><p class="author-name">Ann Lee, Staff Writer</p>
</body></html>"""


def _page_as_parsed(name: str) -> str:
    from worker.pipeline.parse import decode

    return AUTHOR_SHAPES if name == "shapes" else decode((PAGES / name).read_bytes())[0]


@pytest.mark.parametrize("name", [*sorted(p.name for p in PAGES.glob("*.html")), "shapes"])
def test_the_author_walks_select_what_trafilaturas_xpaths_select(name):
    from trafilatura import load_html
    from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

    from worker.pipeline.parse.html import _author_elements, _author_sections

    tree = load_html(_page_as_parsed(name))
    assert _author_sections(tree) == AUTHOR_DISCARD_XPATHS[0](tree)
    assert list(_author_elements(tree)) == [xpath(tree) for xpath in AUTHOR_XPATHS]


# a page whose comment form has a "Name" field of class "comment-form-author": trafilatura's author
FORM_FIELD_AUTHOR = "blog_share_widget.html"


@pytest.mark.parametrize("name", [*sorted(p.name for p in PAGES.glob("*.html") if p.name != FORM_FIELD_AUTHOR),
                                  "shapes"])
def test_the_author_is_the_one_trafilatura_finds(name):
    from trafilatura import load_html
    from trafilatura.metadata import extract_author

    from worker.pipeline.parse.html import _author

    html = _page_as_parsed(name)
    assert _author(load_html(html)) == extract_author(load_html(html))


def test_the_author_xpaths_read_by_hand_are_trafilaturas_own():
    # another trafilatura version may change them: then _author takes its own (slower) call
    from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

    from worker.pipeline.parse.html import _AUTHOR_XPATHS

    assert [" ".join(x.path.split()) for x in [*AUTHOR_DISCARD_XPATHS, *AUTHOR_XPATHS]] == _AUTHOR_XPATHS


def test_text_after_nested_empty_inline_elements_is_kept():
    # <p><em><strong></strong></em>The harbour master said...: the precision mode deletes an
    # empty element with the text after it; the inner one's drop leaves the outer one empty
    paragraph = ("<p><em><strong></strong></em>The harbour master said the sea wall works would"
                 " be phased so that the fishing fleet could keep using the inner basin throughout"
                 " the winter months.<br />\n\u200b<br />\nThe works have three main stages:</p>")
    html = page("news_article.html").replace(
        "    <p>Engineers will first", f"    {paragraph}\n    <p>Engineers will first", 1)
    assert "The harbour master said the sea wall works would be phased" in extract_html(html).text


def _extraction(lines: list[str]):
    from trafilatura.settings import Document as Extraction

    result = Extraction()
    result.text = "\n".join(lines)
    return result


TEASER = ["The Coastal Courier has run a number of stories on the harbour ferry. Well there is one"
          " change coming that will test the new operator: the spring timetable loses two\u2026"]


def test_a_short_text_sharing_no_line_with_the_compared_pass_gives_way_to_it():
    # the precision mode kept a teaser of another story; the comparison found the article
    from worker.pipeline.parse.html import _found_elsewhere

    compared = _extraction(ARTICLE)
    assert _found_elsewhere(_extraction(TEASER), compared) is compared


def test_a_short_text_the_compared_pass_also_holds_stays_the_precise_one():
    from worker.pipeline.parse.html import _found_elsewhere

    assert _found_elsewhere(_extraction(ARTICLE[:1]), _extraction(TEASER + ARTICLE)) is None


def test_short_rows_of_a_layout_table_are_dropped_and_a_data_tables_rows_kept():
    layout = ("<table><tr><td></td><td>Editor-In-Chief: Kris Graft</td><td></td></tr>"
              "<tr><td>Latest Book</td></tr></table>")
    data = ("<table><tr><td>Quay Street</td><td>41 homes</td></tr>"
            "<tr><td>Harbour Road</td><td>12 homes</td></tr></table>")
    html = page("news_article.html").replace(
        "    <p>Engineers will first", f"    {data}\n    {layout}\n    <p>Engineers will first", 1)
    text = extract_html(html).text
    assert "Quay Street | 41 homes" in text
    assert "Kris Graft" not in text and "Latest Book" not in text


def test_a_linked_first_line_is_left_to_the_normaliser_and_later_linked_lines_dropped():
    # a blog post's headline links to the post's own page; the same text further down is a
    # teaser. Which top lines are headline, byline or body is the normaliser's one policy.
    from worker.pipeline.normalise.rules import load_rules
    from worker.pipeline.parse.html import _Page, _drop_links

    headline = "Stop stealing dreams: a talk on school"
    lines = [headline, ARTICLE[0], headline]
    links = {"stop stealing dreams a talk on school"}
    assert _drop_links(lines, _Page(links, load_rules(), [])) == [headline, ARTICLE[0]]


@pytest.mark.parametrize("name, headline", [
    # trafilatura takes the first heading with a "title" class: the share widget's
    ("blog_share_widget.html", "Five videos of a wire walker crossing the harbour"),
    # trafilatura takes a lone h1: the masthead's, the site's name linked to its home page
    ("blog_site_name_in_h1.html", "One of those birthdays"),
])
def test_the_headline_is_the_heading_the_title_element_names(name, headline):
    assert extract_html(page(name)).title == headline


def test_a_heading_linking_to_the_home_page_is_the_sites_name_never_the_headline():
    # the masthead's heading has more words in <title> than the headline: it still loses
    assert extract_html(page("site_heading_longer_than_headline.html")).title == "Lancia Delta Review"


def test_the_sites_name_added_to_a_meta_title_is_left_out_when_a_heading_shows_the_headline():
    assert extract_html(page("title_with_site_suffix.html")).title == "Harbour ferry strike ends after two days"


def test_a_series_label_in_a_heading_does_not_replace_the_headline_the_title_element_shortens():
    title = extract_html(page("title_with_series_label.html")).title
    assert title == "Growing up beside a rising river, where every spring brings the water closer"


def test_a_comment_forms_name_field_is_not_the_author():
    import trafilatura

    # <p class="comment-form-author"><label for="author">Name</label><input id="author">
    assert trafilatura.extract_metadata(page(FORM_FIELD_AUTHOR)).author == "Name"
    assert extract_html(page(FORM_FIELD_AUTHOR)).authors == []


def test_a_line_of_several_links_between_separators_is_navigation_even_at_the_top():
    # "« The first frost | Main | Casting on again »": the previous and next posts, above the post
    document = extract_html(page("blog_signed_comments.html"))
    assert "Main" not in document.text
    assert "« The first frost | Main | Casting on again »" in document.dropped


@pytest.mark.parametrize("line, chrome", [
    ("You can follow any responses to this entry through the RSS 2.0 feed. You can leave a response, "
     "or trackback from your own site.", True),  # WordPress's default theme, under every post
    ("TrackBack URL for this entry:", True),  # TypePad and Movable Type
    ("Listed below are links to weblogs that reference Is your app an ass-kisser?:", True),
    ("TrackBack", True),
    ("Trackbacks were how blogs of 2004 answered each other, and spammers soon learned to use them.", False),
])
def test_blog_platforms_lines_under_a_post_are_chrome(line, chrome):
    from worker.pipeline.normalise.rules import load_rules
    from worker.pipeline.parse.html import _is_chrome

    assert _is_chrome(line, load_rules()) is chrome


def _line_page():
    from worker.pipeline.normalise.rules import load_rules
    from worker.pipeline.parse.html import _Page

    return _Page(links=set(), rules=load_rules(), balanced=[])


ARTICLE_LINE = "Ferries resumed on Wednesday morning after crews accepted a new pay offer."


def test_a_list_of_lines_ending_in_read_more_is_other_stories_teasers():
    from worker.pipeline.parse.html import _drop_teasers

    lines = [ARTICLE_LINE,
             "- Harbour wall vote set for March Councillors will meet to decide... Read more... 2012-11-07",
             "- Island bus timetable changes The winter timetable starts on Monday. Read more... 2012-11-05"]
    assert _drop_teasers(lines, _line_page()) == [ARTICLE_LINE]


def test_a_lone_line_ending_in_read_more_stays():
    from worker.pipeline.parse.html import _drop_teasers

    # it may be the article's own text behind an expander
    lines = [ARTICLE_LINE, "Union officials said members had voted by a large majority to accept... Read more"]
    assert _drop_teasers(lines, _line_page()) == lines


@pytest.mark.parametrize("line", [
    "A version of this article appears in print on Nov. 8, 2012, on Page A1 of the New York edition "
    "with the headline: Ferry Strike Ends.",
    "Sign-up to the Daily Tips newsletter and you will be able to download the eBook for free.",
])
def test_print_edition_notes_and_newsletter_sign_ups_leave_the_body(line):
    from worker.pipeline.normalise.rules import load_rules

    assert load_rules().line_match(line) is not None




@pytest.mark.parametrize("parts, replaced", [(8, True), (9, False)])
def test_a_title_of_more_parts_than_a_headline_and_its_site_names_is_left_as_given(parts, replaced):
    # the spans of a title's parts cost time cubic in their number (a crafted title of 1,000: 46 s)
    from worker.pipeline.parse.html import _MOST_TITLE_PARTS, _Heading, _shown_headline

    assert _MOST_TITLE_PARTS == 8
    words = [f"word{i}" for i in range(parts)]
    title = " | ".join(words)
    headline = " ".join(words[1:])  # every part but the site's name
    assert _shown_headline([_Heading(headline, headline, False)], title) == (headline if replaced else title)
