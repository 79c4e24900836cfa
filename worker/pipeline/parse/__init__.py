"""Parse stage: a file's bytes -> one ``Document`` per article it holds.

Decides compression, encoding and format from the bytes (the extension is only a hint), and
pulls the metadata the format itself carries (HTML meta tags, JSON fields).
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator

from ...errors import BadInput
from ...models import Document, Format
from ..budget import Check, no_check, too_many_articles
from ..normalise.rules import Rules
from .depth import PARSER_DEPTH, RAW_TEXT, flatten, nesting_depth
from .html import extract_html

_EXTENSIONS: dict[str, Format] = {
    ".txt": "txt",
    ".text": "txt",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".md": "md",
    ".markdown": "md",
}
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)

_JSON_FIELDS = {
    "title": ("title", "headline", "name"),
    "subtitle": ("subtitle", "description", "standfirst", "dek"),
    "text": ("text", "body", "content", "articleBody", "article_body", "maintext", "full_text"),
    "url": ("url", "link", "canonical_url"),
    "published": ("published", "date", "datePublished", "published_at", "publish_date", "pubDate"),
    "authors": ("authors", "author", "byline"),
    "site": ("source", "site", "site_name", "publisher", "sitename", "domain"),
    "language": ("language", "lang"),
}


def parse(
    data: bytes, name: str, *, max_decompressed_bytes: int, rules: Rules | None = None,
    check: Check = no_check, max_articles: int | None = None, sliced: bool = False,
) -> list[Document | BadInput]:
    """Decode ``data`` (named ``name``) into documents (``rules``: the line rules an HTML page's
    chrome is read by; the built-in ones by default; ``check``: the time budget, ``max_articles``:
    the most a JSONL file or JSON array may hold, see ``budget.py``; ``sliced``: ``data`` is a
    slice of a bigger file's articles, so a JSON array of one stays an array).

    Raises ``BadInput`` when the file as a whole cannot be read; a JSONL file's bad lines come
    back as ``BadInput`` items in place, so its good lines still become records.
    """
    compression = None
    stem = name
    if data[:2] == b"\x1f\x8b":
        data = gunzip(data, max_decompressed_bytes, check)
        compression = "gzip"
        stem = re.sub(r"\.gz$", "", name, flags=re.I)
    if not data.strip():
        raise BadInput("empty", "the file is empty (no text)")
    text, encoding = decode(data)
    if not text.strip():
        raise BadInput("empty", f"the file holds no text (only white space, in {encoding})")
    fmt = sniff_format(text, extension_format(stem))
    if fmt == "html":
        docs: list[Document | BadInput] = [parse_html(text, rules)]
    elif fmt == "json":
        docs = list(parse_json(text, rules, max_articles, sliced=sliced))
    elif fmt == "jsonl":
        docs = list(parse_jsonl(text, rules, max_articles))
    else:
        docs = [Document(text=text, format=fmt, encoding=encoding)]
    return [
        d if isinstance(d, BadInput)
        else d.model_copy(update={"encoding": encoding, "compression": compression})
        for d in docs
    ]


_GZIP_READ = 16 * 1024  # bytes handed to zlib at a time: what each member's end copies at most


def gunzip(data: bytes, limit: int, check: Check = no_check) -> bytes:
    """Decompress gzip (every member), refusing more than ``limit`` bytes of output (a gzip
    bomb) and a truncated or corrupt stream; ``check`` (the article's time budget) is called
    before each member.

    The input goes to zlib a slice at a time: zlib copies the input left after a member's end
    (``unused_data``), and handed the whole file that copy made a file of many tiny members
    (400,000 empty ones in 8 MB) cost quadratic time, a minute of CPU."""
    out = io.BytesIO()
    view = memoryview(data)
    pos = 0
    try:
        while pos < len(data):
            check("parse (gzip)")
            decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while not decomp.eof and pos < len(data):
                piece = view[pos:pos + _GZIP_READ]
                pos += len(piece)
                out.write(decomp.decompress(piece, limit + 1 - out.tell()))
                if out.tell() > limit or decomp.unconsumed_tail:
                    raise BadInput(
                        "too_large", f"gzip content expands beyond the {limit}-byte limit (gzip bomb?)"
                    )
            if not decomp.eof:
                raise BadInput("bad_gzip", "the gzip data is truncated (the file was cut short)")
            pos -= len(decomp.unused_data)
            while pos < len(data) and data[pos] == 0:  # members may be padded with zeros
                pos += 1
    except zlib.error as exc:
        raise BadInput("bad_gzip", f"the gzip data is corrupt: {exc}") from None
    return out.getvalue()


def decode(data: bytes) -> tuple[str, str]:
    """Bytes -> (text, encoding): BOMs, then UTF-16/32 by their NUL pattern, then UTF-8 (with
    U+FFFD for a few bad sequences in text that is otherwise UTF-8), then a detector."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(enc), enc
            except UnicodeDecodeError:
                raise BadInput("bad_encoding", f"the file starts with a {enc} BOM but is not {enc}") from None
    if b"\x00" in data:
        wide = _decode_wide(data)
        if wide is not None:
            return wide
        if not _stray_nuls_in_html(data):
            raise BadInput("not_text", "the file holds NUL bytes: binary, not text")
        data = data.replace(b"\x00", b"")  # browsers and trafilatura skip them too
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        return data.decode("utf-8", errors="replace"), "utf-8"
    declared = _declared_charset(data)
    if declared is not None:
        return declared
    return _decode_legacy(data)


# UTF-32 before UTF-16: the UTF-32-LE BOM begins with the UTF-16-LE one
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SAMPLE = 4096
_WIDE_NUL_SHARE = 0.9  # of the code units' high bytes (UTF-16) or top three bytes (UTF-32)


def _decode_wide(data: bytes) -> tuple[str, str] | None:
    """UTF-16 or UTF-32 without a BOM, recognised by where the NULs fall: Latin-script text
    in UTF-16-LE is ``T\\0h\\0e\\0``, in UTF-32-BE ``\\0\\0\\0T``. Binary data (a PNG, a program)
    has NULs too, but not in that pattern, and does not decode to printable text."""
    sample = data[:_SAMPLE]
    for enc, width, zero_at in (
        ("utf-32-le", 4, (1, 2, 3)), ("utf-32-be", 4, (0, 1, 2)),
        ("utf-16-le", 2, (1,)), ("utf-16-be", 2, (0,)),
    ):
        units = len(sample) // width
        if len(data) % width or units < 4:
            continue
        zeros = sum(sample[i * width + k] == 0 for i in range(units) for k in zero_at)
        if zeros < _WIDE_NUL_SHARE * units * len(zero_at):
            continue
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _printable_share(text[:_SAMPLE]) >= 0.95:
            return text, enc
    return None


def _stray_nuls_in_html(data: bytes) -> bool:
    """A few NUL bytes in a page that is otherwise HTML (a crawler's or CMS's glitch): the page
    is still readable; a page of binary is not."""
    return data.count(b"\x00") <= len(data) // 100 and bool(
        _HTML_START.match(data[:2048].replace(b"\x00", b"")))


def _printable_share(text: str) -> float:
    return sum(c.isprintable() or c in "\n\r\t" for c in text) / max(1, len(text))


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 with a few bad sequences (a truncated paste, one stray Latin-1 byte) rather than a
    legacy code page: it holds more valid multi-byte characters than invalid sequences. Text
    in a code page such as cp1252 holds almost none (its accented letters are single bytes)."""
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    valid = len(text) - len(text.encode("ascii", "ignore")) - text.count("\ufffd")
    return valid > invalid


# <meta charset="..."> or <meta http-equiv="Content-Type" content="text/html; charset=...">
_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([\w:.-]+)", re.I)
# Labels browsers read as another encoding (the WHATWG Encoding Standard): a page "in
# ISO-8859-1" is read as windows-1252, whose curly quotes and dashes such pages use
_BROWSER_ENCODING = {"latin1": "cp1252", "iso-8859-1": "cp1252", "iso8859-1": "cp1252",
                     "us-ascii": "cp1252", "ascii": "cp1252", "iso-8859-9": "cp1254",
                     "tis-620": "cp874", "x-sjis": "shift_jis", "gb2312": "gbk"}


def _declared_charset(data: bytes) -> tuple[str, str] | None:
    """The text as the HTML page's declared charset gives it, when that charset is a legacy one
    that decodes the bytes (the bytes are not UTF-8 here). A page's own word beats a guess (a
    detector reads windows-1251 Russian as cp1252 mojibake); a declaration the bytes refute (a
    UTF-8 label on non-UTF-8 bytes, an unknown name, bytes the charset has no character for)
    loses to the detector."""
    if not _HTML_START.match(data[:2048]):
        return None
    match = _META_CHARSET.search(data[:_SAMPLE])
    if match is None:
        return None
    label = match[1].decode("ascii", "ignore").lower()
    encoding = _BROWSER_ENCODING.get(label, label)
    try:
        if codecs.lookup(encoding).name in ("utf-8", "utf-16", "utf-16-le", "utf-16-be"):
            return None
        return data.decode(encoding), encoding
    except (LookupError, UnicodeDecodeError):
        return None


def _decode_legacy(data: bytes) -> tuple[str, str]:
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise BadInput("not_text", "no text encoding fits the bytes: binary, not text")
    # Detectors often pick a close cousin (cp1250, cp775) for Western text: prefer cp1252
    # when it decodes the bytes and the detector's own choice is a single-byte code page.
    encoding = best.encoding.lower().replace("_", "-")
    if encoding not in ("cp1252", "windows-1252") and _is_single_byte(encoding):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return str(best), encoding


def _is_single_byte(encoding: str) -> bool:
    return encoding.startswith(("cp", "windows", "iso8859", "latin", "mac"))


def extension_format(name: str) -> Format | None:
    lower = name.lower()
    for ext, fmt in _EXTENSIONS.items():
        if lower.endswith(ext):
            return fmt
    return None


def sniff_format(text: str, hint: Format | None) -> Format:
    """The format the content shows, falling back to the extension's, then plain text."""
    head = text[:2048].lstrip("\ufeff")
    if _HTML_START.match(head.encode("utf-8", "ignore")):
        return "html"
    stripped = head.lstrip()
    if hint in ("json", "jsonl") or stripped.startswith("{"):
        if hint == "jsonl" or _looks_like_jsonl(text):
            return "jsonl"
        if stripped.startswith(("{", "[")):
            return "json"
    if hint == "html" and "<" in head:
        return "html"
    return hint if hint in ("txt", "md") else "txt"


def _looks_like_jsonl(text: str) -> bool:
    """The first three non-empty lines are JSON objects each (read lazily: a big file is not
    split whole just to look at its head)."""
    lines = []
    for match in _LINE.finditer(text):
        if match.group().strip():
            lines.append(match.group())
            if len(lines) == 3:
                break
    if len(lines) < 2:
        return False
    try:
        return all(isinstance(json.loads(ln), dict) for ln in lines)
    except (ValueError, RecursionError):
        return False


_LINE = re.compile(r"[^\r\n]+")
# Keys under which scraper exports wrap their list of articles: {"articles": [...]}
_WRAPPERS = ("articles", "items")


def _load_json(text: str):
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadInput("bad_json", f"malformed JSON: {exc}") from None
    except RecursionError:
        raise BadInput("bad_json", "the JSON is nested too deeply to be an article") from None


def unwrap_articles(value):  # noqa: ANN001, ANN201 (any JSON value)
    """A scraper export's list of articles: the list under a wrapper key (``{"articles": [...]}``)
    when the object has no article text of its own, else the value as it is."""
    if isinstance(value, dict) and _first(value, _JSON_FIELDS["text"]) is None:
        wrapped = next((value[k] for k in _WRAPPERS if isinstance(value.get(k), list)), None)
        return wrapped if wrapped is not None else value
    return value


def parse_json(text: str, rules: Rules | None = None, max_articles: int | None = None, *,
               sliced: bool = False) -> Iterator[Document | BadInput]:
    """An article object; or a list of them (a scraper's export), bare or wrapped in
    ``{"articles": [...]}`` / ``{"items": [...]}``: one document per element, numbered from 1
    in ``line`` (so each has its own stable id), a bad element a ``BadInput`` in its place.
    A file holding a list of one is that article; a slice of a bigger list (``sliced``) is not."""
    value = unwrap_articles(_load_json(text))
    if isinstance(value, list) and max_articles is not None and len(value) > max_articles:
        raise too_many_articles(max_articles)
    if isinstance(value, list) and len(value) == 1 and not sliced:
        value = value[0]  # one article in a list: the file is that article
    if isinstance(value, dict):
        yield parse_json_object(value, line=None, rules=rules)
    elif isinstance(value, list) and value:
        for number, element in enumerate(value, start=1):
            yield _element(element, number, f"article {number} of the JSON array", "json", rules)
    elif isinstance(value, list):
        raise BadInput("no_text", "the JSON array holds no articles (it is empty)")
    else:
        raise BadInput("bad_json", "the JSON is not an object with article fields")


def article_lines(lines: list[str]) -> int:
    """How many articles a JSONL file's lines hold: its non-empty lines."""
    return sum(1 for line in lines if line.strip())


def parse_jsonl(text: str, rules: Rules | None = None, max_articles: int | None = None) -> Iterator[Document | BadInput]:
    """One document per non-empty line; a bad line gives a ``BadInput`` naming its line."""
    lines = text.splitlines()
    if max_articles is not None and article_lines(lines) > max_articles:
        raise too_many_articles(max_articles)  # counted first: no line is read for nothing
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            yield BadInput("bad_json", f"line {number}: malformed JSON: {exc}", line=number)
            continue
        except RecursionError:
            yield BadInput("bad_json", f"line {number}: JSON nested too deeply", line=number)
            continue
        yield _element(obj, number, f"line {number}", "jsonl", rules)


def _element(obj, number: int, where: str, fmt: Format, rules: Rules | None = None) -> Document | BadInput:
    """One article of a JSONL file or a JSON array, or a ``BadInput`` saying where it is."""
    if not isinstance(obj, dict):
        return BadInput("bad_json", f"{where}: not a JSON object", line=number)
    try:
        return parse_json_object(obj, line=number, rules=rules).model_copy(update={"format": fmt})
    except BadInput as exc:
        return BadInput(exc.kind, f"{where}: {exc.message}", line=number)


def parse_json_object(obj: dict, *, line: int | None, rules: Rules | None = None) -> Document:
    """Map common scraper field names onto a document."""
    fields = {key: _storable(_first(obj, names)) for key, names in _JSON_FIELDS.items()}
    text = fields.pop("text")
    if not isinstance(text, str) or not text.strip():
        raise BadInput("no_text", f"the JSON record has no article text (none of {', '.join(_JSON_FIELDS['text'])})")
    fmt: Format = "html" if _HTML_START.match(text[:512].encode()) else "json"
    dropped: list[str] = []
    if fmt == "html":
        doc = parse_html(text, rules)
        text, dropped = doc.text, doc.dropped
    authors = fields.pop("authors")
    if isinstance(authors, (str, dict)):
        authors = [authors]
    elif not isinstance(authors, list):
        authors = []  # a number or other odd value: not an author list, the article still counts
    authors = [a if isinstance(a, str) else str(a.get("name", "")) for a in authors or []
               if isinstance(a, (str, dict))]
    site = fields.pop("site")
    if isinstance(site, dict):
        site = site.get("name")
    return Document(
        text=text,
        format="jsonl" if line is not None else "json",
        encoding="utf-8",
        line=line,
        authors=[a for a in authors if a],
        site=site if isinstance(site, str) else None,
        dropped=dropped,
        **{k: (v if isinstance(v, str) else None) for k, v in fields.items()},
    )


# JSON can escape characters no UTF-8 output and no PostgreSQL text holds: NUL (\u0000) and
# a lone surrogate (\ud800 without its pair)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value):  # noqa: ANN001, ANN202 (any JSON value)
    """A JSON field's value with NULs dropped (as in a page) and lone surrogates made U+FFFD, in
    its strings and those one level down (authors: a list of names or of {"name": ...})."""
    if isinstance(value, list):
        return [_storable_flat(v) for v in value]
    return _storable_flat(value)


def _storable_flat(value):  # noqa: ANN001, ANN202
    if isinstance(value, str):
        return _UNSTORABLE.sub(lambda m: "" if m[0] == "\x00" else "\ufffd", value)
    if isinstance(value, dict):
        return {k: _storable_flat(v) if isinstance(v, str) else v for k, v in value.items()}
    return value


def _first(obj: dict, names: tuple[str, ...]):
    for name in names:
        if obj.get(name):
            return obj[name]
    return None


MAX_ATTRIBUTES = 1_000  # on one element; real pages' elements carry a few, rarely 50
# Tags of a page (start and end): the largest of the 492 real pages of the extraction sets
# holds 15,778, a page of 100,000 nested divs (read, see depth.py) 200,000; the parser's tree
# costs about 2.3 KB and 0.12 ms of CPU an element (1,000,000 elements in 8 MB: 2.3 GB and
# 120 s, which the article's time budget cannot stop)
MAX_TAGS = 250_000
_LONG_TAG = re.compile(rf"<[A-Za-z][^>]{{{MAX_ATTRIBUTES - 1},}}>")  # only tags that could hold so many
_RAW_TEXT = re.compile(RAW_TEXT, re.S | re.I)
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_TAG_START = re.compile(r"</?[A-Za-z!]")


def _most_attributes(html: str) -> int:
    """The most attributes (``=`` signs outside quoted values) one start tag of the page holds;
    a script's or comment's text is not markup (``a<b.length?...`` in minified JavaScript)."""
    long_tags = _LONG_TAG.findall(html)
    if long_tags and _RAW_TEXT.search(html):  # rare: look again without the raw text
        long_tags = _LONG_TAG.findall(_RAW_TEXT.sub(" ", html))
    return max((_QUOTED.sub("", tag).count("=") for tag in long_tags), default=0)


def _tag_count(html: str) -> int:
    """How many tags the page holds: its ``<`` signs, or where they are more than
    ``MAX_TAGS``, the tags outside scripts, styles and comments."""
    signs = html.count("<")
    return signs if signs <= MAX_TAGS else len(_TAG_START.findall(_RAW_TEXT.sub(" ", html)))


def parse_html(html: str, rules: Rules | None = None) -> Document:
    """Main text and metadata of an HTML page (see ``html.py``); a page nested too deep for
    the parser is flattened and read again (see ``depth.py``). A page with an element of more
    than ``MAX_ATTRIBUTES`` attributes, or of more than ``MAX_TAGS`` tags, is refused first: the
    parser (libxml2) and date detection take time quadratic in the attributes (100,000 on one
    element: 89 s of CPU) and memory linear in the elements, and the article's time budget
    cannot stop them."""
    if (most := _most_attributes(html)) > MAX_ATTRIBUTES:
        raise BadInput("too_complex", f"an element of the page has {most:,} attributes, more than "
                                      f"{MAX_ATTRIBUTES:,}: not a page a person wrote")
    if (tags := _tag_count(html)) > MAX_TAGS:
        raise BadInput("too_complex", f"the page holds {tags:,} tags, more than {MAX_TAGS:,}: "
                                      "its tree would take gigabytes to build")
    try:
        return extract_html(html, rules)
    except BadInput as exc:
        if exc.kind != "no_text" or (depth := nesting_depth(html)) <= PARSER_DEPTH:
            raise
    try:
        return extract_html(flatten(html, depth), rules)
    except BadInput:
        raise BadInput(
            "too_deep",
            f"the page nests elements {depth:,} deep, beyond the parser's limit of "
            f"{PARSER_DEPTH}, and holds no article text once flattened",
        ) from None
