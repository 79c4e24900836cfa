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
from ..normalise.rules import Rules
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
    data: bytes, name: str, *, max_decompressed_bytes: int, rules: Rules | None = None
) -> list[Document | BadInput]:
    """Decode ``data`` (named ``name``) into documents (``rules``: the line rules an HTML page's
    chrome is read by; the built-in ones by default).

    Raises ``BadInput`` when the file as a whole cannot be read; a JSONL file's bad lines come
    back as ``BadInput`` items in place, so its good lines still become records.
    """
    compression = None
    stem = name
    if data[:2] == b"\x1f\x8b":
        data = gunzip(data, max_decompressed_bytes)
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
        docs = [parse_json_object(_load_json(text), line=None, rules=rules)]
    elif fmt == "jsonl":
        docs = list(parse_jsonl(text, rules))
    else:
        docs = [Document(text=text, format=fmt, encoding=encoding)]
    return [
        d if isinstance(d, BadInput)
        else d.model_copy(update={"encoding": encoding, "compression": compression})
        for d in docs
    ]


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip (every member), refusing more than ``limit`` bytes of output (a gzip
    bomb) and a truncated or corrupt stream."""
    out = io.BytesIO()
    rest = data
    try:
        while rest:
            decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out.write(decomp.decompress(rest, limit + 1 - out.tell()))
            if out.tell() > limit or decomp.unconsumed_tail:
                raise BadInput(
                    "too_large", f"gzip content expands beyond the {limit}-byte limit (gzip bomb?)"
                )
            if not decomp.eof:
                raise BadInput("bad_gzip", "the gzip data is truncated (the file was cut short)")
            rest = decomp.unused_data.lstrip(b"\x00")  # members may be padded with zeros
    except zlib.error as exc:
        raise BadInput("bad_gzip", f"the gzip data is corrupt: {exc}") from None
    return out.getvalue()


def decode(data: bytes) -> tuple[str, str]:
    """Bytes -> (text, encoding): BOMs first, then strict UTF-8, then a detector."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), "utf-8" if enc == "utf-8-sig" else _utf16_name(data)
            except UnicodeDecodeError:
                raise BadInput("bad_encoding", f"the file starts with a {enc} BOM but is not {enc}") from None
    if b"\x00" in data:
        raise BadInput("not_text", "the file holds NUL bytes: binary, not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return _decode_legacy(data)


def _utf16_name(data: bytes) -> str:
    return "utf-16-le" if data.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"


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
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return False
    try:
        return all(isinstance(json.loads(ln), dict) for ln in lines[:3])
    except ValueError:
        return False


def _load_json(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadInput("bad_json", f"malformed JSON: {exc}") from None
    except RecursionError:
        raise BadInput("bad_json", "the JSON is nested too deeply to be an article") from None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, dict):
        raise BadInput("bad_json", "the JSON is not an object with article fields")
    return value


def parse_jsonl(text: str, rules: Rules | None = None) -> Iterator[Document | BadInput]:
    """One document per non-empty line; a bad line gives a ``BadInput`` naming its line."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                obj = json.loads(line)
            except ValueError as exc:
                yield BadInput("bad_json", f"line {number}: malformed JSON: {exc}", line=number)
                continue
            except RecursionError:
                yield BadInput("bad_json", f"line {number}: JSON nested too deeply", line=number)
                continue
            if not isinstance(obj, dict):
                yield BadInput("bad_json", f"line {number}: not a JSON object", line=number)
                continue
            try:
                yield parse_json_object(obj, line=number, rules=rules)
            except BadInput as exc:
                yield BadInput(exc.kind, f"line {number}: {exc.message}", line=number)


def parse_json_object(obj: dict, *, line: int | None, rules: Rules | None = None) -> Document:
    """Map common scraper field names onto a document."""
    fields = {key: _first(obj, names) for key, names in _JSON_FIELDS.items()}
    text = fields.pop("text")
    if not isinstance(text, str) or not text.strip():
        raise BadInput("no_text", "the JSON record has no article text (text/body/content)")
    fmt: Format = "html" if _HTML_START.match(text[:512].encode()) else "json"
    if fmt == "html":
        doc = parse_html(text, rules)
        text = doc.text
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
        **{k: (v if isinstance(v, str) else None) for k, v in fields.items()},
    )


def _first(obj: dict, names: tuple[str, ...]):
    for name in names:
        if obj.get(name):
            return obj[name]
    return None


def parse_html(html: str, rules: Rules | None = None) -> Document:
    """Main text and metadata of an HTML page (see ``html.py``)."""
    return extract_html(html, rules)
