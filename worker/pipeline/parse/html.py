"""Article text and metadata of an HTML page: one trafilatura pass, plus tree and line rules.

Why not one plain trafilatura call: on the extraction benchmark (``bench/html_quality.py``) its
errors are mostly chrome kept around the article (related links, share and newsletter prompts,
the headline repeated as the first line). ``favor_precision`` removes most of that, but drops
some real text; the rules mend what it drops or lets through.

The page is parsed once (by trafilatura's loader) and its metadata read once, from the page as
it came. Then, each rule named as in ``RULES``, the tree rules edit the tree:

* ``embeds``: embedded tweets and Instagram posts in a "social" container are let through;
* ``hovercards``: mouse-over cards inside paragraphs are pruned (searched for only when the
  page's HTML holds one of their class words: the search over the whole tree is costly);
* ``tails``: empty elements are dropped, keeping the text after them, which the precision mode
  would delete with them (a sentence after a ``<span id="more-...">`` anchor);
* ``inline``: a link inside a paragraph wrapped in ``<span class="link">`` loses that class,
  for which the precision mode would cut the link's words out of the sentence;

the article is extracted with ``favor_precision`` in the fast mode (without trafilatura's
comparison with readability and jusText, a third of its time), run again with the comparison
only when it finds less than trafilatura's own minimum (250 characters), which is what the
comparison is for; and the line rules clean the text:

* ``links``: a line that is exactly one link's text is a teaser or a navigation item;
* ``chrome``: whole lines that are page chrome (``_CHROME``, ``_PROMPT``, ``_CREDIT``);
* ``head``: the headline, a byline or a date stamp in the first lines (they are metadata).

A second, balanced pass runs only when the precise one finds nothing. (Its lines used to be
merged in within the precise extent, for the text the precision mode drops; with ``tails`` and
``inline`` that added nothing on the benchmark, and cost as much as the precise pass.) All this
costs less than one plain trafilatura call, whose default mode runs the comparison.

Every rule was chosen by reading the pages trafilatura gets wrong and kept only when it lowered
neither half (even and odd pages) of the benchmark; the benchmark leaves each out in turn.
(``inline`` lowers the even half by 0.0001, one page whose truth leaves out an "Also: <link>"
line; it is kept for the inline links it restores, which the tests hold.)
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

import lxml.etree

from ...errors import BadInput
from ...models import Document

if TYPE_CHECKING:
    from trafilatura.settings import Document as Extraction

_WORD = re.compile(r"\w+", re.UNICODE)

# Whole lines that are page chrome, not article text. Each pattern is anchored to the whole line
# (stripped of surrounding punctuation) so a body sentence that merely holds the same words stays.
_CHROME = re.compile(
    r"""^(?:
      advertisements?|ad|sponsored(?:\s+content)?|story\s+continues\s+below(?:\s+advertisement)?
    | (?:click|tap)\s+to\s+(?:tweet|share|enlarge|expand)
    | share\s+(?:this|on\s+\w+)(?:\s+\w+)?|share|tweet|email|print|comments?|\d+\s+comments?
    | (?:you\s+(?:may|might)\s+also\s+like|most\s+read(?:\s+in\s+[\w\s]{1,30})?
       |related(?:\s+(?:articles?|stories|posts?|coverage|content|reading|links))?
       |more\s+(?:on\s+this|from\s+[\w\s]{1,30})|read\s+(?:more|next)|see\s+more|don['’]?t\s+miss
       |recommended(?:\s+for\s+you)?|trending(?:\s+now)?|popular\s+(?:now|stories))
    | (?:related(?:\s+\w+)?|read\s+(?:more|also|next)|also\s+read|see\s+(?:more|also)|more
       |don['’]?t\s+miss|watch|listen)\s*:.{0,200}
    | filed\s+under\b.{0,80}|tags?\b\s*:.{0,200}|topics?\s*:.{0,200}
    | source\s*:.{0,60}|additional\s+reporting\s+by\b.{0,80}
    | (?:image|photo|picture)\s*(?:credit)?\s*:.{0,80}|(?:©|\(c\)|copyright\b).{0,120}
    | (?:updated|published|posted)(?:\s+(?:at|on))?\s*:?\s*[\d/.:,\s]+(?:[ap]\.?m\.?)?(?:\s*\w{2,4})?
    | (?:\d+\s+min(?:ute)?s?\s+read|reading\s+time\b.{0,30}|tempo\s+de\s+leitura\b.{0,30}
       |lesezeit\b.{0,30}|temps\s+de\s+lecture\b.{0,30})
    )$""",
    re.I | re.X,
)

# Prompts addressed to the reader (newsletters, social follows, contact lines, paywall pitches):
# judged on short lines only, so an article that discusses newsletters keeps its paragraphs.
_PROMPT = re.compile(
    r"""(?:
      \b(?:sign\s+up|subscrib\w*)\b.{0,80}\b(?:newsletters?|inbox|updates)\b
    | \bnewsletters?\b.{0,80}\b(?:sign\s+up|subscrib\w*|inbox|delivered)\b
    | \bget\s+the\s+(?:latest|day['’]?s)\b.{0,60}\b(?:inbox|newsletter|delivered)\b
    | \bfollow\s+(?:us|him|her|them|[\w'’]+(?:\s+[\w'’]+)?)\s+on\s+(?:twitter|facebook|instagram)\b
    | \b(?:can|may)\s+be\s+reached\s+at\b
    | \bif\s+you\s+(?:enjoyed|liked|value)\s+this\s+(?:article|story|post)\b
    | \btell\s+us\s+what\s+you\s+think\b
    | \b(?:click|tap)\s+here\s+to\s+(?:subscribe|sign\s+up)\b
    )""",
    re.I | re.X,
)
_PROMPT_MAX_WORDS = 80
# A photo caption's credit: short lines only
_CREDIT = re.compile(r"©|\b(?:photos?|images?|pictures?)\s*(?:by|credit)\b", re.I)
_CREDIT_MAX_WORDS = 30
# A share label glued to the end of a pull quote ("...business.Click To Tweet")
_TRAILING_SHARE = re.compile(r"\s*\b(?:click|tap)\s+to\s+tweet\s*$", re.I)
# WordPress-style shortcodes left in the text by a broken plugin: [button link=...]label[/button]
_SHORTCODE = re.compile(r"\[[a-z_]+(?:\s+[a-z_]+=[^\]]*)+\]|\[/[a-z_]+\]", re.I)


def extract_html(html: str) -> Document:
    """Main text and metadata of an HTML page; ``BadInput("no_text")`` when it holds none."""
    precise, broad, links = _passes(html)
    meta = precise if precise is not None else broad
    text = _body(precise, broad, links, meta.title if meta is not None else None)
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
    )


RULES = ("embeds", "hovercards", "tails", "inline", "links", "chrome", "head")
TREE_RULES = ("embeds", "hovercards", "tails", "inline")  # applied to the page before the passes
_MIN_FALLBACK_WORDS = 15
_HEAD_LINES = 3  # how far into the body the headline, byline and dateline are looked for
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
# trafilatura's own threshold (MIN_EXTRACTED_SIZE, characters) below which an extraction is
# checked against its fallback extractors
_MIN_EXTRACTED_SIZE = 250
_METADATA = ("title", "author", "url", "description", "sitename", "date", "language")
_DATELINE = re.compile(r"\d{1,2}:\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2}")
# "By Maria Ostrowski", "BY JOHN SMITH and ANA LIMA": capitalised words only, so that a first
# sentence such as "By the end of the year, ..." is not taken for one
_BYLINE = re.compile(r"^(?:By|BY|by)\s+[A-Z][\w.'’-]*(?:(?:\s+|\s*,\s*)(?:[A-Z][\w.'’-]*|and|&))*$")
_DATELINE_MAX_WORDS = 12


def _passes(
    html: str, skip: frozenset[str] = frozenset()
) -> tuple[Extraction | None, Extraction | None, set[str]]:
    """The precise and the broad trafilatura results (``None`` when empty; both carry the
    page's metadata), and the page's link texts. ``skip`` names tree rules to leave out.

    The page is parsed once, by trafilatura's own loader, and each pass is given the tree
    (``bare_extraction`` works on a copy of a tree it is given). The metadata is read once, from
    the page as it came, before the rules edit the tree.
    """
    tree = _parse(html)
    if tree is None:
        return None, None, set()
    links = _link_texts(tree)
    try:
        meta = _metadata(tree)
    except (TypeError, ValueError):  # what bare_extraction catches: then the text alone
        meta = _empty_metadata()
    if "embeds" not in skip:
        _unwrap_embeds(tree)
    if "hovercards" not in skip and any(word in html for word in _HOVER_WORDS):
        for element in _HOVER_CARDS(tree):
            element.drop_tree()
    if "tails" not in skip:
        _drop_empty_elements(tree)
    if "inline" not in skip:
        _keep_inline_links(tree)
    precise = _extract(tree, favor_precision=True, fast=True)
    if precise is None or len(precise.text) < _MIN_EXTRACTED_SIZE:
        # little or nothing found: what trafilatura's fallback (readability, jusText) is for
        precise = _extract(tree, favor_precision=True)
    broad = _extract(tree, fast=True) if precise is None else None
    return _with_metadata(precise, meta), _with_metadata(broad, meta), links


def _metadata(tree: Any) -> Extraction:
    """The page's metadata, as trafilatura's ``extract_metadata`` reads it, without the fields
    left unused here (categories, tags, licence, host name), a third of its time."""
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
    meta.title = meta.title or tm.extract_title(tree)
    meta.author = meta.author or tm.extract_author(tree)
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


def _empty_metadata() -> Extraction:
    from trafilatura.settings import Document as Extraction

    return Extraction()


def _parse(html: str) -> Any:
    """The page as trafilatura parses it, or ``None`` when it is no HTML."""
    from trafilatura import load_html

    return load_html(html)


def _with_metadata(result: Extraction | None, meta: Extraction) -> Extraction | None:
    if result is not None:
        for field in _METADATA:
            setattr(result, field, getattr(meta, field))
    return result


def _keep_inline_links(tree: Any) -> None:
    """Keep links wrapped in ``<span class="link">`` inside a paragraph: the precision mode
    deletes elements of class "link", which cuts the link's words out of the sentence."""
    for span in tree.iter("span"):
        classes = (span.get("class") or "").split()
        if "link" in classes and next(span.iterancestors("p"), None) is not None:
            span.set("class", " ".join(c for c in classes if c != "link"))


def _unwrap_embeds(tree: Any) -> bool:
    """Let embedded posts (tweets, Instagram posts) quoted in the article through.

    Pages wrap them in a container whose class says "social", which trafilatura discards as
    share buttons; the quoted post is part of the story. Returns whether anything changed.
    """
    changed = False
    for post in tree.xpath(_EMBEDDED_POSTS):
        for container in post.iterancestors():
            if "social" in (container.get("class") or "").lower():
                del container.attrib["class"]
                changed = True
    return changed


def _drop_empty_elements(tree: Any) -> None:
    """Drop empty elements, keeping the text that follows them.

    trafilatura's precision mode deletes empty elements together with the text after them, and
    that text is often a sentence (after a WordPress ``<span id="more-...">`` anchor, after an
    empty spacer ``<div>`` inside a subhead).
    """
    from trafilatura.settings import CUT_EMPTY_ELEMS

    for element in [e for e in tree.iter(*CUT_EMPTY_ELEMS) if e.text is None and len(e) == 0]:
        element.drop_tag()


def _body(
    precise: Extraction | None,
    broad: Extraction | None,
    links: set[str],
    title: str | None,
    skip: frozenset[str] = frozenset(),
) -> str:
    """The body text from the two passes; ``skip`` names rules (of ``RULES``) to leave out, for
    the benchmark's ablation."""
    if precise is None:
        # the precise pass found no article; the broad one falls back to the whole page's text,
        # so keep it only when it holds more than navigation (link texts) and form labels
        lines = [line for line in _lines(broad) if _key(line) not in links]
        if sum(len(_key(line).split()) for line in lines) < _MIN_FALLBACK_WORDS:
            return ""
    else:
        lines = _lines(precise)
    if "links" not in skip:
        lines = [line for line in lines if _key(line) not in links]
    if "chrome" not in skip:
        lines = [line for line in lines if not _is_chrome(line)]
    if "head" not in skip:
        head = [line for line in lines[:_HEAD_LINES] if not _is_head(line, title or "")]
        lines = head + lines[_HEAD_LINES:]
    return "\n".join(_plain(line) for line in lines).strip()


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


def _key(text: str) -> str:
    """Lower-case words only: how lines are compared."""
    return " ".join(_WORD.findall(_plain(text).lower()))


def _link_texts(tree: Any) -> set[str]:
    """The text of every link on the page, as ``_key`` gives it.

    A line that is nothing but one link is a teaser or a navigation item. (trafilatura's own
    ``include_links`` would mark links in its output, but it mangles the text around some.)
    """
    texts = {a.text_content() for a in tree.iter("a")}
    return {key for text in texts if (key := _key(text))}


def _is_chrome(line: str) -> bool:
    """Whether a whole line is page chrome rather than article text."""
    plain = _plain(line)
    core = plain.strip(" \t-–—•|:·>»«\"'“”‘’()[]")
    if not core:
        return True
    if _CHROME.match(core):
        return True
    words = len(_WORD.findall(plain))
    if words <= _CREDIT_MAX_WORDS and _CREDIT.search(plain):
        return True
    return words <= _PROMPT_MAX_WORDS and bool(_PROMPT.search(plain))


def _is_head(line: str, title: str) -> bool:
    """Whether a line near the top is the headline again, a byline or a date stamp: the ground
    truth of article text leaves them out, and the metadata fields carry them."""
    plain = _plain(line)
    if _BYLINE.match(plain):
        return True
    if (
        len(_WORD.findall(plain)) <= _DATELINE_MAX_WORDS
        and _DATELINE.search(plain)
        and not plain.endswith((".", "!", "?"))
    ):
        return True
    return bool(title) and _repeats_title(line, title)


_TITLE_SIMILARITY = 0.75  # word-sequence similarity of a reworded headline ("HS" -> "High School")


def _repeats_title(line: str, title: str) -> bool:
    """Whether ``line`` is the headline (maybe without the site name, reworded a little, or
    with a byline added)."""
    line_words, title_words = _key(line).split(), _key(title).split()
    if not line_words or not title_words:
        return False
    head = title_words
    # "Headline | Site" or "Headline - Site": the line may carry the headline without the site
    for sep in (" | ", " - ", " – ", " — ", " :: "):
        if sep in title:
            head = _key(title.rsplit(sep, 1)[0]).split() or title_words
            break
    if line_words == head:
        return True
    # the headline with a byline or date after it; not a first sentence that opens with it
    if (
        line_words[: len(head)] == head
        and len(line_words) <= len(head) + 12
        and not _plain(line).endswith((".", "!", "?"))
    ):
        return True
    similar = difflib.SequenceMatcher(None, line_words, head, autojunk=False).ratio()
    return similar >= _TITLE_SIMILARITY
