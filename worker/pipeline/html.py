"""Article text and metadata of an HTML page: trafilatura, run twice, plus line rules.

Why not one plain trafilatura call: on the extraction benchmark (``bench/html_quality.py``) its
errors are mostly chrome kept around the article (related links, share and newsletter prompts,
the headline repeated as the first line), and ``favor_precision``, which removes most of that,
drops some real text (inline links, subheads). So, each step named as in ``RULES``:

* ``embeds``: embedded tweets and Instagram posts in a "social" container are let through;
* ``hovercards``: mouse-over cards inside paragraphs are pruned before extraction;
* the article is extracted with ``favor_precision`` (its extent, little chrome), then again in
  the fast balanced mode; ``merge`` takes from the second pass only what lies *inside* the first
  one's extent: a longer version of a paragraph (a dropped inline link) or a dropped line;
* ``links``: a line that is exactly one link's text is a teaser or a navigation item;
* ``chrome``: whole lines that are page chrome (``_CHROME``, ``_PROMPT``, ``_CREDIT``);
* ``head``: the headline, a byline or a date stamp in the first lines (they are metadata).

Every rule was chosen by reading the pages trafilatura gets wrong and kept only when it lowered
neither half (even and odd pages) of the benchmark; the benchmark leaves each out in turn.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

import lxml.etree
import lxml.html

from ..errors import BadInput
from ..models import Document

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


RULES = ("embeds", "hovercards", "merge", "links", "chrome", "head")
_MIN_FALLBACK_WORDS = 15
_HEAD_LINES = 3  # how far into the body the headline, byline and dateline are looked for
# Hover cards (a person's photo, bio and latest headlines, shown on mouse-over) sit inside the
# article's paragraphs; only the link that triggers one belongs to the text.
_HOVER_CARDS = (
    "//*[contains(@class,'rollover') or contains(@class,'tooltip') or contains(@class,'popover')"
    " or contains(@class,'hovercard') or contains(@class,'hover-card')]/*[not(self::a)]"
)
_EMBEDDED_POSTS = (
    "//blockquote[contains(@class,'twitter-tweet') or contains(@class,'instagram-media')"
    " or contains(@class,'tiktok-embed')]"
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_DATELINE = re.compile(r"\d{1,2}:\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2}")
# "By Maria Ostrowski", "BY JOHN SMITH and ANA LIMA": capitalised words only, so that a first
# sentence such as "By the end of the year, ..." is not taken for one
_BYLINE = re.compile(r"^(?:By|BY|by)\s+[A-Z][\w.'’-]*(?:(?:\s+|\s*,\s*)(?:[A-Z][\w.'’-]*|and|&))*$")
_DATELINE_MAX_WORDS = 12


def _passes(
    html: str, skip: frozenset[str] = frozenset()
) -> tuple[Extraction | None, Extraction | None, set[str]]:
    """The precise and the broad trafilatura results (``None`` when empty), and the page's
    link texts."""
    tree = _parse(html)
    links = _link_texts(tree)
    if "embeds" not in skip and tree is not None and _unwrap_embeds(tree):
        html = lxml.html.tostring(tree, encoding="unicode")
    prune = None if "hovercards" in skip else _HOVER_CARDS
    precise = _extract(html, favor_precision=True, with_metadata=True, prune_xpath=prune)
    broad = _extract(html, fast=True, with_metadata=precise is None, prune_xpath=prune)
    return precise, broad, links


def _parse(html: str) -> Any:
    """The page as an lxml tree, or ``None`` when lxml cannot read it."""
    # lxml refuses a str that still declares its byte encoding (<?xml ... encoding="..."?>)
    html = _XML_DECLARATION.sub("", html, count=1)
    try:
        return lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return None


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
    elif "merge" in skip:
        lines = _lines(precise)
    else:
        lines = _merge(_lines(precise), _lines(broad), links)
    if "links" not in skip:
        lines = [line for line in lines if _key(line) not in links]
    if "chrome" not in skip:
        lines = [line for line in lines if not _is_chrome(line)]
    if "head" not in skip:
        head = [line for line in lines[:_HEAD_LINES] if not _is_head(line, title or "")]
        lines = head + lines[_HEAD_LINES:]
    return "\n".join(_plain(line) for line in lines).strip()


def _extract(html: str, **options: Any) -> Extraction | None:
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
    return _TRAILING_SHARE.sub("", _SHORTCODE.sub("", line)).strip()


def _key(text: str) -> str:
    """Lower-case words only: how lines are compared."""
    return " ".join(_WORD.findall(_plain(text).lower()))


def _link_texts(tree: Any) -> set[str]:
    """The text of every link on the page, as ``_key`` gives it.

    A line that is nothing but one link is a teaser or a navigation item. (trafilatura's own
    ``include_links`` would mark links in its output, but it mangles the text around some.)
    """
    if tree is None:
        return set()
    return {key for a in tree.iter("a") if (key := _key(a.text_content()))}


def _merge(precise: list[str], broad: list[str], links: set[str]) -> list[str]:
    """The precise lines, completed from the broad ones within the precise extent.

    Lines are aligned on their words. Where the broad pass has a longer version of a precise
    line (the precise pass drops some inline elements) the longer one is taken; a broad-only
    line between two precise lines is added unless it is one link (a teaser). Nothing before the
    first or after the last precise line is taken: that is where the chrome is.
    """
    if not precise:
        return broad
    if not broad:
        return precise
    keys_p = [_key(line) for line in precise]
    keys_b = [_key(line) for line in broad]
    matcher = difflib.SequenceMatcher(None, keys_p, keys_b, autojunk=False)
    out: list[str] = []
    for op, p1, p2, b1, b2 in matcher.get_opcodes():
        inside = 0 < p1 < len(precise)
        if op in ("equal", "delete"):
            out += precise[p1:p2]
        elif op == "insert":
            if inside:
                out += [line for line, key in zip(broad[b1:b2], keys_b[b1:b2]) if key not in links]
        else:
            out += _replace(precise[p1:p2], broad[b1:b2], keys_p[p1:p2], keys_b[b1:b2])
    return out


def _replace(precise: list[str], broad: list[str], keys_p: list[str], keys_b: list[str]) -> list[str]:
    """Within a differing run: each precise line, or the broad line that holds it and a few
    more words (the precise pass dropped an inline element, or split a paragraph)."""
    out: list[str] = []
    used: set[int] = set()
    i = 0
    while i < len(precise):
        for j, other in enumerate(keys_b):
            if j in used or len(other) <= len(keys_p[i]) or not _contains(other, keys_p[i]):
                continue
            end = i + 1  # the broad line may hold the next precise lines too
            while end < len(precise) and _contains(other, keys_p[end]):
                end += 1
            held = sum(len(key.split()) for key in keys_p[i:end])
            if len(other.split()) - held <= 0.5 * held + 10:
                used.add(j)
                out.append(broad[j])
                i = end
                break
        else:
            out.append(precise[i])
            i += 1
    return out


def _contains(long: str, short: str) -> bool:
    """Whether the words of ``short`` appear, in order, in ``long`` (95% of them)."""
    a, b = short.split(), long.split()
    if not a:
        return True
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    return same >= 0.95 * len(a)


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
