"""Normalise stage: a ``Document`` -> an ``Article`` with a clean body and news metadata."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone

from ..errors import BadInput
from ..models import Article, Document
from .language import detect_language

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_HEADER_DATE = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b\s*(.*)$")
_WORD = re.compile(r"\w+", re.UNICODE)


def clean_text(text: str) -> str:
    """Unicode NFC, one kind of space and newline, no invisible characters, no trailing space."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def normalise(doc: Document) -> Article:
    text = clean_text(doc.text)
    lines = text.split("\n")
    boilerplate: list[str] = []
    published_at = _parse_date(doc.published)
    if lines and (m := _HEADER_DATE.match(lines[0])):
        published_at = published_at or _parse_date(m.group(1))
        if m.group(2):
            boilerplate.append(m.group(2))
        lines = lines[1:]
    title = _clean_title(doc.title)
    if title is None and doc.format in ("txt", "md"):
        title, lines = _title_from_lines(lines)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not body:
        raise BadInput("no_text", "no article text is left after cleaning")
    return Article(
        title=title,
        subtitle=_clean_title(doc.subtitle),
        url=doc.url,
        site=doc.site,
        published_at=published_at,
        authors=doc.authors,
        language=doc.language or detect_language(body),
        body=body,
        word_count=len(_WORD.findall(body)),
        boilerplate=boilerplate,
    )


def _title_from_lines(lines: list[str]) -> tuple[str | None, list[str]]:
    """The first line is the headline when it reads like one (short, no final full stop)."""
    rest = list(lines)
    while rest and not rest[0]:
        rest.pop(0)
    if not rest:
        return None, rest
    first = rest[0].lstrip("#").strip()
    if len(first) > 200 or first.endswith((".", ":")) or len(rest) == 1:
        return None, rest
    rest = rest[1:]
    return first, rest


def _clean_title(title: str | None) -> str | None:
    return clean_text(title) or None if title else None


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
