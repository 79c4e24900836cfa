"""Article text and metadata of an HTML page: one trafilatura pass, plus tree and line rules.

Why not one plain trafilatura call: on the extraction benchmark (``bench/html_quality.py``) its
errors are mostly chrome kept around the article (related links, share and newsletter prompts,
the headline repeated as the first line). ``favor_precision`` removes most of that, but drops
some real text; the rules mend what it drops or lets through.

The page is parsed once (by trafilatura's loader) and its metadata read once, from the page as
it came. Then the tree steps (``TREE_STEPS``) edit the tree:

* ``embeds``: embedded tweets and Instagram posts in a "social" container are let through;
* ``hovercards``: mouse-over cards inside paragraphs are pruned (searched for only when the
  page's HTML holds one of their class words: the search over the whole tree is costly);
* ``tails``: empty elements are dropped, keeping the text after them, which the precision mode
  would delete with them (a sentence after a ``<span id="more-...">`` anchor);
* ``inline``: a link inside a paragraph wrapped in ``<span class="link">`` loses that class,
  for which the precision mode would cut the link's words out of the sentence;

the article is extracted with ``favor_precision`` in the fast mode (without trafilatura's
comparison with readability and jusText, a third of its time), run again with the comparison
only when it finds little (``_SHORT_EXTRACTION``), which is what the comparison is for (and
then the balanced pass runs with the comparison too: a short text that shares no line with it is
another block than the article, a teaser or a side rail's excerpt, ``_found_elsewhere``); a
balanced pass (fast, without ``favor_precision``) runs beside it when the precise text is a
small share of the page's visible text (``_BALANCED_SHARE``: else ``paragraphs`` could not use
it); and the line steps
(``LINE_STEPS``) make the text:

* ``paragraphs``: the balanced pass's text instead, when the precise one cut whole paragraphs
  (it found much less, and what the balanced adds is long lines, hardly any a link's text: a
  text-density signal, not a site's words);
* ``comments``: reader comments a blog signs as it signs the post (a second "Posted by NAME
  at DATE" line) are cut, the post's own signature kept;
* ``layout``: short rows of a table that lays the page out (one cell, or half the cells
  empty) are menus and mastheads; tables are kept for their data, which fills the cells;
* ``links``: a line that is exactly one link's text is a teaser or a navigation item (the
  first line is left to the normaliser: a headline linked to its own page); a line of several
  links' texts between separators ("« Previous post | Main | Next post »") is navigation, the
  first line too;
* ``teasers``: lines ending in "Read more..." are other stories' teasers when there are
  several (a list; a lone one may be the article behind an expander);
* ``chrome``: lines that are page chrome, by the ``html_chrome`` rules of ``boilerplate.yaml``
  (which a user's ``INGEST_BOILERPLATE_FILE`` extends).

The headline, a byline or a date stamp at the top of the text are left to the normaliser, which
reads every format's top lines the same way and lists what it drops in the record's
``boilerplate`` (a ``head`` step here that dropped them too helped the benchmark, whose truth
leaves them out, and lowered the wide set, whose truth keeps them: one policy per concern).

When the precise pass finds nothing, the balanced one is the text (kept only when it holds
more than navigation and form labels). (Merging the balanced pass's extra lines into the
precise text line by line, rather than choosing one text, let in teasers and comments: the
benchmark lost 0.003.) All this costs about one plain trafilatura call, whose default mode
runs the comparison.

Every rule is kept only when it lowers neither set (``benchmark``, where the rules were read,
and ``wide``, many other sites) nor any half of one; the benchmark leaves each out in turn
(the steps of ``TREE_STEPS`` and ``LINE_STEPS``, and each chrome rule of the YAML).
(``inline`` lowers the even half by 0.0001, one page whose truth leaves out an "Also: <link>"
line; it is kept for the inline links it restores, which the tests hold.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import lxml.etree

from ...errors import BadInput
from ...models import Document
from ..normalise.rules import Rules, load_rules

if TYPE_CHECKING:
    from trafilatura.settings import Document as Extraction

_WORD = re.compile(r"\w+", re.UNICODE)

# A share label glued to the end of a pull quote ("...business.Click To Tweet")
_TRAILING_SHARE = re.compile(r"\s*\b(?:click|tap)\s+to\s+tweet\s*$", re.I)
# WordPress-style shortcodes left in the text by a broken plugin: [button link=...]label[/button]
_SHORTCODE = re.compile(r"\[[a-z_]+(?:\s+[a-z_]+=[^\]]*)+\]|\[/[a-z_]+\]", re.I)


def extract_html(html: str, rules: Rules | None = None) -> Document:
    """Main text and metadata of an HTML page; ``BadInput("no_text")`` when it holds none.
    ``rules`` (the built-in ones by default) give the chrome lines to leave out."""
    precise, broad, links = _passes(html)
    meta = precise if precise is not None else broad
    text, dropped = _body(precise, broad, links, rules or load_rules())
    if meta is None or not text:
        raise BadInput("no_text", "the HTML page holds no article text")
    authors = [a.strip() for a in re.split(r";|\band\b", meta.author or "") if a.strip()]
    return Document(
        text=text,
        format="html",
        encoding="utf-8",
        title=meta.title,
        subtitle=meta.description,
        url=meta.url,
        published=meta.date,
        authors=authors,
        site=meta.sitename,
        language=meta.language,
        dropped=dropped,
    )


_MIN_FALLBACK_WORDS = 15
# Hover cards (a person's photo, bio and latest headlines, shown on mouse-over) sit inside the
# article's paragraphs; only the link that triggers one belongs to the text.
_HOVER_WORDS = ("rollover", "tooltip", "popover", "hovercard", "hover-card")
_HOVER_CARDS = lxml.etree.XPath(
    "//*[contains(@class,'rollover') or contains(@class,'tooltip') or contains(@class,'popover')"
    " or contains(@class,'hovercard') or contains(@class,'hover-card')]/*[not(self::a)]"
)
_EMBEDDED_POSTS = (
    "//blockquote[contains(@class,'twitter-tweet') or contains(@class,'instagram-media')"
    " or contains(@class,'tiktok-embed')]"
)
# Below this many characters the precise pass is checked against trafilatura's fallback
# extractors (readability, jusText). trafilatura's own threshold (MIN_EXTRACTED_SIZE) is 250;
# an article split over two containers (the text, a side rail, the rest of the text) gives
# the precise pass its first block only, a few hundred characters: at 800 the comparison finds
# the rest (the wide set +0.0009, the benchmark unchanged; 500 to 1,500 gave the same).
_SHORT_EXTRACTION = 800
# The balanced pass replaces the precise one when the precise finds less than this share of
# its text and what the balanced adds is paragraphs: lines of this many words on average, of
# which at most _MAX_LINK_SHARE are link texts (the precision mode's cuts are often whole
# paragraphs of the article; the chrome it leaves out is short lines and links).
_PARAGRAPHS_SHARE = 0.7
# The balanced pass runs only when the precise text is less than this share of the page's
# visible text (or empty): ``paragraphs`` needs the precise text below _PARAGRAPHS_SHARE of the
# balanced one, which itself holds at most about 0.7 of the visible text (the rest is navigation
# and page chrome), so a precise text above 0.7 x 0.7 of it leaves the step nothing to do. The
# balanced pass was half the extraction's cost; it now runs on 58% of the benchmark's pages and
# 72% of the wide set's (F1 of both sets and halves unchanged; 0.35 gave the same F1 running it
# on 29% and 53%; 0.7 ran it on 77% and 91%).
_BALANCED_SHARE = 0.5
_PARAGRAPH_WORDS = 25
# A layout table's row holding more words than this is the article set in a table: kept
_LAYOUT_ROW_WORDS = 40
_MAX_LINK_SHARE = 0.2
# A post's or comment's signature: who and when ("Posted by: Ellen at September 10, 2012 11:40 AM")
_SIGNATURE = re.compile(
    r"(?:posted|written|submitted)\s+by\b.{0,80}?(?:\b\d{1,2}:\d{2}\b|\b\d{4}\b)", re.I)
_METADATA = ("title", "author", "url", "description", "sitename", "date", "language")


def _passes(html: str) -> tuple[Extraction | None, Extraction | None, set[str]]:
    """The precise and the balanced trafilatura results (``None`` when empty; both carry the
    page's metadata), and the page's link texts.

    The page is parsed once, by trafilatura's own loader, and each pass is given the tree
    (``bare_extraction`` works on a copy of a tree it is given). The metadata is read once, from
    the page as it came, before the tree steps edit the tree.
    """
    tree = _parse(html)
    if tree is None:
        return None, None, set()
    links = _link_texts(tree)
    try:
        meta = _metadata(tree)
    except (TypeError, ValueError):  # what bare_extraction catches: then the text alone
        meta = _empty_metadata()
    for step in TREE_STEPS.values():
        step(tree, html)
    precise = _extract(tree, favor_precision=True, fast=True)
    if precise is None or len(precise.text) < _SHORT_EXTRACTION:
        # little or nothing found: what trafilatura's fallback (readability, jusText) is for
        precise = _extract(tree, favor_precision=True)
    broad = None
    if precise is not None and len(precise.text) < _SHORT_EXTRACTION:
        broad = _found_elsewhere(precise, _extract(tree))
    if broad is None and (
            precise is None or _size(precise.text) < _BALANCED_SHARE * _visible_size(tree)):
        broad = _extract(tree, fast=True)
    return _with_metadata(precise, meta), _with_metadata(broad, meta), links


def _found_elsewhere(precise: Extraction, compared: Extraction | None) -> Extraction | None:
    """The balanced pass with trafilatura's comparison (readability, jusText), when the short
    precise text shares no line with it: the two disagree on where the article is, and the short
    one is the block that lost (a teaser of another story, a side rail's excerpt: the precision
    mode's own comparison prunes the page first and can miss the article). ``None`` otherwise."""
    if compared is not None and not set(_lines(precise)) & set(_lines(compared)):
        return compared
    return None


def _size(text: str) -> int:
    """Characters of a text with its runs of white space as one space."""
    return len(" ".join(text.split()))


def _visible_size(tree: Any) -> int:
    """Characters of the text a reader sees on the page (``_size`` of its body, scripts and
    styles left out): more than any extraction of it can hold."""
    body = tree.find("body")
    body = tree if body is None else body
    hidden = sum(_size(e.text or "") + 1 for e in body.iter("script", "style", "noscript"))
    return int(body.xpath("string-length(normalize-space(.))")) - hidden


def _metadata(tree: Any) -> Extraction:
    """The page's metadata, as trafilatura's ``extract_metadata`` reads it, without the fields
    left unused here (categories, tags, licence, host name), a third of its time, and with the
    headline chosen by ``_title`` where the meta tags name none."""
    from htmldate import find_date
    from trafilatura import metadata as tm
    from trafilatura.settings import set_date_params

    meta = tm.examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None
    try:
        meta = tm.extract_meta_json(tree, meta)
    except Exception:  # noqa: BLE001 -- trafilatura guards its JSON-LD reading the same way
        pass
    headings = _headings(tree)
    meta.title = _shown_headline(headings, meta.title or _title(tree, headings))
    meta.author = meta.author or _author(tree)
    meta.url = meta.url or tm.extract_url(tree)
    meta.date = find_date(tree, **{**set_date_params(True), "url": meta.url})
    meta.sitename = meta.sitename or tm.extract_sitename(tree)
    if meta.sitename:
        meta.sitename = meta.sitename.lstrip("@")
        if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
            meta.sitename = meta.sitename.title()
    elif meta.url and (match := tm.META_URL.match(meta.url)):
        meta.sitename = match[1]
    meta.clean_and_trim()
    return meta


class _Heading(NamedTuple):
    """A heading of the page (``h1`` to ``h3``), as the title rules read it."""

    words: str  # as ``_compare_key`` gives them
    text: str  # as shown, white space collapsed
    home: bool  # only a link to the site's home page: the site's name in a masthead


def _headings(tree: Any) -> list[_Heading]:
    """The page's ``h1`` to ``h3``, in document order, read once for both title rules."""
    return [_Heading(_compare_key(text), " ".join(text.split()), _home_link(heading))
            for heading in tree.iter("h1", "h2", "h3") for text in [heading.text_content()]]


def _title(tree: Any, headings: list[_Heading]) -> str | None:
    """The headline, when the page's meta tags name none: trafilatura's pick (a lone ``h1``, a
    heading whose class says "title", the ``<title>`` element), unless the ``<title>`` element
    names another heading better.

    Blog templates give "title" classes to widget headings ("Share this:", "Leave a Reply
    Cancel reply", "Translate") and set the site's name in the lone ``h1``; their ``<title>``
    names the post ("Post | Site"). So the headline is the heading the ``<title>`` holds with
    the most words; a heading that is only a link to the site's home page is the site's name.
    """
    from trafilatura import metadata as tm

    found = tm.extract_title(tree)
    element = tm.examine_title_element(tree)[0]
    page = f" {_compare_key(element)} "
    if not page.strip():
        return found
    best, most = None, 0
    for heading in headings:
        count = len(heading.words.split())
        if count > most and count >= 2 and f" {heading.words} " in page and not heading.home:
            best, most = heading.text, count
    if best is None:
        return found
    named = _compare_key(found or "")
    if not named:
        return best
    if f" {named} " in page:  # trafilatura's pick is named too: kept unless shorter, or the site's
        if len(named.split()) >= most and not any(h.home for h in headings if h.words == named):
            return found
        return best
    # not named: a widget's heading, or a headline the <title> shortens (the headline holds a
    # part of the <title> longer than the heading found in it: not the site's name)
    parts = (_compare_key(part) for part in _TITLE_SEPARATOR.split(element))
    return found if any(len(p.split()) >= max(3, most) and f" {p} " in f" {named} " for p in parts) else best


def _shown_headline(headings: list[_Heading], title: str | None) -> str | None:
    """The headline as the page shows it, when the title adds the site's or a section's name
    to it ("29 dead after earthquake hits Guatemala - CNN.com", "Web Ink Now: Foursquare and
    Twitter done right", "Story | Section | Site"): the parts of the title between separators
    that a heading of the page (``h1`` to ``h3``) spells out, when they hold more words than
    the parts left out (a series label in a heading, "Generation HIV", keeps the headline
    "Generation HIV: Growing up under a shadow of infection" whole)."""
    parts = [part for part in _TITLE_SEPARATOR.split(title or "") if part.strip()]
    if not 2 <= len(parts) <= _MOST_TITLE_PARTS:
        return title
    shown: dict[str, str] = {}
    for heading in headings:
        if len(heading.words.split()) >= 2 and not heading.home:
            shown.setdefault(heading.words, heading.text)
    total = len(_compare_key(title).split())
    best, most = title, 0
    for first in range(len(parts)):
        for last in range(first, len(parts)):
            words = _compare_key(" ".join(parts[first:last + 1]))
            count = len(words.split())
            if words in shown and count > most and 2 * count > total and count < total:
                best, most = shown[words], count
    return best


# A headline with its site's and sections' names has a few parts; the spans of a title of many
# (a crafted one of thousands) would cost time cubic in their number
_MOST_TITLE_PARTS = 8
# Between a headline and the site's or section's name in a title: " | ", " - ", " – ", " — ",
# " :: ", " » ", ": " (a blog's "Name: Post")
_TITLE_SEPARATOR = re.compile(r"\s+(?:[|\-–—:»«·•]|::)\s+|\s*[|»«·•]\s*|:\s+")


def _home_link(heading: Any) -> bool:
    """Whether a heading is nothing but a link to a site's home page (its name in a masthead)."""
    links = heading.findall(".//a")
    if len(links) != 1 or _compare_key(links[0].text_content()) != _compare_key(heading.text_content()):
        return False
    parts = urlsplit(links[0].get("href") or "")
    return not parts.query and parts.path.rstrip("/") in ("", "/index.html", "/index.htm", "/index.php")


def _author(tree: Any) -> str | None:
    """trafilatura's ``extract_author``, its XPaths read in one walk over the page's elements.

    libxml2 took a tenth of a page's extraction over them (about 15 µs an element, calling
    Python for each ``re:test``); the walks take a third of that. Only for the XPaths written
    here (trafilatura 2.3.1's, ``_AUTHOR_XPATHS``): others take trafilatura's own call. Unlike
    trafilatura's, a form's field is never the author (``_form_field``).
    """
    from copy import deepcopy

    from trafilatura import metadata as tm
    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.utils import trim
    from trafilatura.xml import delete_element
    from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

    if [" ".join(x.path.split()) for x in [*AUTHOR_DISCARD_XPATHS, *AUTHOR_XPATHS]] != _AUTHOR_XPATHS:
        return tm.extract_author(tree)
    # the sections trafilatura prunes first (comments, dates, sidebars, quotes), as its
    # prune_unwanted_nodes does: all found, then each deleted keeping its tail; then the rest
    subtree = deepcopy(tree)
    for element in _author_sections(subtree):
        delete_element(element)
    prune_unwanted_nodes(subtree, AUTHOR_DISCARD_XPATHS[1:])
    for elements in _author_elements(subtree):  # as trafilatura's extract_metainfo reads them
        for element in elements:
            content = trim(" ".join(element.itertext()))
            if content and 2 < len(content) < 120 and not _form_field(element):
                return tm.normalize_authors(None, content)
    return None


def _form_field(element: Any) -> bool:
    """Whether an element is (or labels) a field of a form: a comment form's "Name" field, whose
    class says "author", is not the article's author."""
    return element.tag in _FIELD_TAGS or next(element.iterancestors("label"), None) is not None \
        or next(element.iter(*_FIELD_TAGS), None) is not None


_FIELD_TAGS = ("label", "input", "textarea", "select")


# trafilatura's AUTHOR_DISCARD_XPATHS and AUTHOR_XPATHS (white space collapsed): the first is
# what _author_sections reads, the last three what _author_elements reads
_AUTHOR_XPATHS = [
    ".//*[self::a or self::div or self::section or self::span][ @id='comments' or "
    "@class='comments' or @class='title' or @class='date' or re:test(@id, '^comments|comment-?list|"
    "ProductReviews') or re:test(@class, '^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|"
    "quote|embedly-instagram|article-(?:share|support)|print|category|meta-date|meta-reviewer') or "
    "contains(@data-component, 'Figure')]",
    "//time|//figure",
    "//*[self::a or self::address or self::div or self::link or self::p or self::span or "
    "self::strong][ @rel='author' or @id='author' or @class='author' or @itemprop='author name' or "
    "rel='me' or @data-testid='AuthorCard' or @data-testid='AuthorURL' or "
    "re:test(@class, 'author-?name|AuthorName|authorName')]|//author",
    "//*[self::a or self::div or self::h3 or self::h4 or self::p or self::span][ @class='byline' or "
    "@class='username' or @class='byl' or @class='BBL' or contains(@itemprop, 'author') or "
    "re:test(@id, 'author|zuozhe|bianji|xiaobian') or re:test(@class, 'author|channel-name|zuozhe|"
    "bianji|xiaobian|submitted-by|posted-by|journalist-name')]",
    "//*[ contains(@data-component, 'Byline') or contains(@itemprop, 'author') or "
    "re:test(@id, '[Aa]uthor') or re:test(@class, '[Aa]uthor|screenname|writer|[Bb]yline')]",
]
_AUTHOR_TAGS = (
    frozenset({"a", "address", "div", "link", "p", "span", "strong"}),
    frozenset({"a", "div", "h3", "h4", "p", "span"}),
)
# re:test(@attr, pattern) is Python's re.search over the attribute's value ('' when absent)
_AUTHOR_CLASS = (
    re.compile("author-?name|AuthorName|authorName"),
    re.compile("author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"),
    re.compile("[Aa]uthor|screenname|writer|[Bb]yline"),
)
_AUTHOR_ID = (None, re.compile("author|zuozhe|bianji|xiaobian"), re.compile("[Aa]uthor"))


def _author_elements(tree: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """The elements each of ``_AUTHOR_XPATHS`` selects, in document order."""
    found: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    for element in tree.iter():
        tag = element.tag
        if not isinstance(tag, str):  # comments and processing instructions: not elements
            continue
        attrib = element.attrib
        if not attrib:
            if tag == "author" or (tag in _AUTHOR_TAGS[0] and _rel_me(element)):
                found[0].append(element)
            continue
        get = attrib.get
        cls, id_, itemprop = get("class", ""), get("id", ""), get("itemprop", "")
        if tag == "author" or tag in _AUTHOR_TAGS[0] and (
            get("rel") == "author" or id_ == "author" or cls == "author"
            or itemprop == "author name" or _rel_me(element)
            or get("data-testid") in ("AuthorCard", "AuthorURL") or _AUTHOR_CLASS[0].search(cls)
        ):
            found[0].append(element)
        if tag in _AUTHOR_TAGS[1] and (
            cls in ("byline", "username", "byl", "BBL") or "author" in itemprop
            or _AUTHOR_ID[1].search(id_) or _AUTHOR_CLASS[1].search(cls)
        ):
            found[1].append(element)
        if ("Byline" in get("data-component", "") or "author" in itemprop
                or _AUTHOR_ID[2].search(id_) or _AUTHOR_CLASS[2].search(cls)):
            found[2].append(element)
    return found


_SECTION_TAGS = frozenset({"a", "div", "section", "span"})
_SECTION_ID = re.compile("^comments|comment-?list|ProductReviews")
_SECTION_CLASS = re.compile(
    "^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|"
    "article-(?:share|support)|print|category|meta-date|meta-reviewer")


def _author_sections(tree: Any) -> list[Any]:
    """The elements the first of ``_AUTHOR_XPATHS`` selects (below the root), in document order."""
    found = []
    for element in tree.iterdescendants(*_SECTION_TAGS):
        get = element.get
        id_, cls = get("id", ""), get("class", "")
        if (id_ == "comments" or cls in ("comments", "title", "date") or _SECTION_ID.search(id_)
                or _SECTION_CLASS.search(cls) or "Figure" in get("data-component", "")):
            found.append(element)
    return found


def _rel_me(element: Any) -> bool:
    """XPath's ``rel='me'``: a child ``<rel>`` element whose text is "me"."""
    return any(child.tag == "rel" and child.xpath("string()") == "me" for child in element)


def _empty_metadata() -> Extraction:
    from trafilatura.settings import Document as Extraction

    return Extraction()


def _parse(html: str) -> Any:
    """The page as trafilatura parses it, or ``None`` when it is no HTML."""
    from trafilatura import load_html

    return load_html(_close_raw_text(html))


# Elements whose content the parser reads as raw text up to their closing tag
_RAW_TEXT = re.compile(r"<(title|script|style)\b[^>]*>", re.I)
# Their closing tags, and the head's: found in the page as it is (ASCII letters in any case, as
# the parser reads tag names), not in a lower-cased copy of the whole page, which cost more
# than the search and whose positions drift from the page's after a dotted capital I ("İ",
# two characters in lower case)
_CLOSING = {name: re.compile(f"</{name}", re.I | re.A) for name in ("title", "script", "style", "head")}


def _close_raw_text(html: str) -> str:
    """The page with a ``<title>``, ``<script>`` or ``<style>`` that is never closed closed
    where it must end: the parser reads everything after such an opening tag as its text, so a
    forgotten ``</title>`` swallows the whole page and loses the body. A title holds no markup,
    so it ends at the next tag; a script or style ends with the head (a page whose head and
    body are unmarked keeps it open, as before)."""
    for match in _RAW_TEXT.finditer(html):
        name, start = match[1].lower(), match.end()
        if _CLOSING[name].search(html, start):
            continue
        if name == "title":
            end = html.find("<", start)
        else:
            head = _CLOSING["head"].search(html, start)
            end = head.start() if head else -1
        if end < 0:
            continue
        return _close_raw_text(f"{html[:end]}</{name}>{html[end:]}")
    return html


def _with_metadata(result: Extraction | None, meta: Extraction) -> Extraction | None:
    if result is not None:
        for field in _METADATA:
            setattr(result, field, getattr(meta, field))
    return result


def _keep_inline_links(tree: Any, html: str) -> None:
    """Keep links wrapped in ``<span class="link">`` inside a paragraph: the precision mode
    deletes elements of class "link", which cuts the link's words out of the sentence."""
    for span in tree.iter("span"):
        classes = (span.get("class") or "").split()
        if "link" in classes and next(span.iterancestors("p"), None) is not None:
            span.set("class", " ".join(c for c in classes if c != "link"))


def _unwrap_embeds(tree: Any, html: str) -> None:
    """Let embedded posts (tweets, Instagram posts) quoted in the article through.

    Pages wrap them in a container whose class says "social", which trafilatura discards as
    share buttons; the quoted post is part of the story.
    """
    for post in tree.xpath(_EMBEDDED_POSTS):
        for container in post.iterancestors():
            if "social" in (container.get("class") or "").lower():
                del container.attrib["class"]


def _prune_hovercards(tree: Any, html: str) -> None:
    """Drop mouse-over cards inside paragraphs but the link that shows each (searched for only
    when the page's HTML holds one of their class words: the search over the whole tree is
    costly)."""
    if any(word in html for word in _HOVER_WORDS):
        for element in _HOVER_CARDS(tree):
            element.drop_tree()


def _drop_empty_elements(tree: Any, html: str) -> None:
    """Drop empty elements, keeping the text that follows them.

    trafilatura's precision mode deletes empty elements together with the text after them, and
    that text is often a sentence (after a WordPress ``<span id="more-...">`` anchor, after an
    empty spacer ``<div>`` inside a subhead).
    """
    from trafilatura.settings import CUT_EMPTY_ELEMS

    # children first (reverse document order), so that an element left empty by the drop of
    # its empty children goes too: <em><strong></strong></em>Text...
    for element in reversed(list(tree.iter(*CUT_EMPTY_ELEMS))):
        if element.text is None and len(element) == 0:
            element.drop_tag()


def _body(
    precise: Extraction | None,
    broad: Extraction | None,
    links: set[str],
    rules: Rules,
) -> tuple[str, list[str]]:
    """The body text from the two passes, each line step of ``LINE_STEPS`` applied in turn, and
    the lines the steps left out (for the record's ``boilerplate``)."""
    if precise is None:
        # the precise pass found no article; the broad one falls back to the whole page's text,
        # so keep it only when it holds more than navigation (link texts) and form labels
        lines = [line for line in _lines(broad) if _compare_key(line) not in links]
        if sum(len(_compare_key(line).split()) for line in lines) < _MIN_FALLBACK_WORDS:
            return "", []
        balanced = []
    else:
        lines, balanced = _lines(precise), _lines(broad)
    page = _Page(links, rules, balanced)
    dropped: list[str] = []
    for step in LINE_STEPS.values():
        kept = step(lines, page)
        left = set(kept)  # the steps choose lines and never edit them
        dropped += [line for line in lines if line not in left]
        lines = kept
    return "\n".join(_plain(line) for line in lines).strip(), dropped


@dataclass(frozen=True)
class _Page:
    """What the line steps know of the page besides its lines."""

    links: set[str]
    rules: Rules
    balanced: list[str]  # the lines of the balanced pass (empty when it is the text itself)


def _restore_paragraphs(lines: list[str], page: _Page) -> list[str]:
    """The balanced pass's lines instead, when the precise pass cut whole paragraphs: it found
    less than ``_PARAGRAPHS_SHARE`` of the balanced text, and the lines only the balanced pass
    has are long (``_PARAGRAPH_WORDS`` on average) and hardly ever a link's text."""
    if not page.balanced or not lines:
        return lines
    precise_size = sum(len(line) for line in lines)
    if precise_size >= _PARAGRAPHS_SHARE * sum(len(line) for line in page.balanced):
        return lines
    have = set(lines)
    added = [len(line.split()) for line in page.balanced if line not in have]
    if not added or sum(added) < _PARAGRAPH_WORDS * len(added):
        return lines
    linked = sum(len(line.split()) for line in page.balanced
                 if line not in have and _compare_key(line) in page.links)
    return page.balanced if linked <= _MAX_LINK_SHARE * sum(added) else lines


def _drop_comments(lines: list[str], page: _Page) -> list[str]:
    """The text up to the post's own signature ("Posted by laurie at September 10, 2012 9:01
    AM") when more signed and dated lines follow it: those sign reader comments, which a
    blog's template signs the way it signs the post (trafilatura keeps them when their
    container is not marked as comments)."""
    signed = [n for n, line in enumerate(lines) if _SIGNATURE.match(line)]
    return lines[: signed[0] + 1] if len(signed) >= 2 else lines


def _drop_layout_rows(lines: list[str], page: _Page) -> list[str]:
    """Short rows of a table that lays the page out rather than holding data (one cell, or at
    least half of the cells empty: spacers around a menu, a masthead, a staff box). Tables are
    kept for their data; a data table fills its cells."""
    return [line for line in lines if not _is_layout_row(line)]


def _is_layout_row(line: str) -> bool:
    if not line.startswith("|") or len(line.split()) > _LAYOUT_ROW_WORDS:
        return False
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return len(cells) == 1 or 2 * sum(not cell for cell in cells) >= len(cells)


def _drop_links(lines: list[str], page: _Page) -> list[str]:
    """A line that is exactly one link's text is a teaser or a navigation item; but for the
    first line, the place of a headline linked to its own page ("permalink"), which is the
    normaliser's to judge, as it judges every format's top lines. A line of several links is
    navigation wherever it stands."""
    return [line for n, line in enumerate(lines)
            if not (_compare_key(line) in page.links and n > 0 or _links_only(line, page.links))]


# Between the links of a navigation line ("« Previous post | Main | Next post »")
_LINK_SEPARATOR = re.compile(r"\s*[|•·]\s*|\s+[/–—-]\s+")


def _links_only(line: str, links: set[str]) -> bool:
    """A line of several links' texts between separators: navigation, never a headline, so
    the first line too."""
    parts = [key for part in _LINK_SEPARATOR.split(line) if (key := _compare_key(part))]
    return len(parts) > 1 and all(part in links for part in parts)


def _drop_teasers(lines: list[str], page: _Page) -> list[str]:
    """Lines that end by inviting a click to the rest ("... SiNG PARTY details... Read more...
    2012-11-07") are other stories' teasers, when there are several of them: a list. A lone one
    may be the article's own text behind an expander, and stays."""
    teasers = [line for line in lines if _TEASER.fullmatch(line)]
    return lines if len(teasers) < 2 else [line for line in lines if not _TEASER.fullmatch(line)]


# A line ending in "Read more" (with "...", "…", "»", "›" or ">>"), perhaps then a date
_TEASER = re.compile(
    r".{10,600}?[\s.…]read\s+more\s*(?:\.\.\.|…|»|›|>+)?\s*(?:\d{4}-\d\d-\d\d|\d{1,2}/\d{1,2}/\d{2,4})?",
    re.I | re.S)


def _drop_chrome(lines: list[str], page: _Page) -> list[str]:
    return [line for line in lines if not _is_chrome(line, page.rules)]


def _extract(html: Any, **options: Any) -> Extraction | None:
    """One trafilatura pass. Tables are kept: on news pages they are mostly data (scores,
    prices) the article is about, and dropping them lost more text than it saved chrome."""
    import trafilatura

    result = trafilatura.bare_extraction(
        html, include_comments=False, include_tables=True, **options
    )
    return result if result is not None and (result.text or "").strip() else None


def _lines(result: Extraction | None) -> list[str]:
    if result is None:
        return []
    return [line.strip() for line in result.text.split("\n") if line.strip()]


def _plain(line: str) -> str:
    """A line without shortcodes or a trailing share label."""
    # the patterns are only tried where they can match (most lines hold neither)
    if "[" in line:
        line = _SHORTCODE.sub("", line)
    if line.rstrip()[-5:].lower() == "tweet":
        line = _TRAILING_SHARE.sub("", line)
    return line.strip()


def _compare_key(text: str) -> str:
    """Lower-case words only: how lines are compared."""
    return " ".join(_WORD.findall(_plain(text).lower()))


def _link_texts(tree: Any) -> set[str]:
    """The text of every link on the page, as ``_compare_key`` gives it.

    A line that is nothing but one link is a teaser or a navigation item. (trafilatura's own
    ``include_links`` would mark links in its output, but it mangles the text around some.)
    """
    texts = {a.text_content() for a in tree.iter("a")}
    return {key for text in texts if (key := _compare_key(text))}


def _is_chrome(line: str, rules: Rules) -> bool:
    """Whether a line is page chrome rather than article text: nothing but punctuation, or a
    line an ``html_chrome`` rule matches once its surrounding punctuation is stripped."""
    core = _plain(line).strip(_EDGE_PUNCTUATION)
    return not core or rules.html_chrome.match(core) is not None


_EDGE_PUNCTUATION = " \t-–—•|:·>»«\"'“”‘’()[]"


# The steps, in order; the benchmark leaves each out in turn.
TREE_STEPS: dict[str, Callable[[Any, str], None]] = {
    "embeds": _unwrap_embeds,
    "hovercards": _prune_hovercards,
    "tails": _drop_empty_elements,
    "inline": _keep_inline_links,
}
LINE_STEPS: dict[str, Callable[[list[str], _Page], list[str]]] = {
    "paragraphs": _restore_paragraphs,
    "comments": _drop_comments,
    "layout": _drop_layout_rows,
    "links": _drop_links,
    "teasers": _drop_teasers,
    "chrome": _drop_chrome,
}
