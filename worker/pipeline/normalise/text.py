"""Character-level cleaning: one canonical form of the same text, whatever encoding it came in.

Unicode NFC, mojibake repaired (by ftfy, only when the text shows its marks: ftfy costs more
than the rest of normalisation together), one kind of space, no invisible characters or soft
hyphens, ``\\n`` line ends, no trailing spaces. Markdown loses its markup but keeps its words.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f]")
_ODD_SPACE = "\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\x0b\x0c"
# Runs of spaces that are not already one plain space (matching every single space costs more
# than the rest of cleaning together).
_SPACES = re.compile(f" ?[{_ODD_SPACE}][ {_ODD_SPACE}]*")
_EDGE_SPACES = re.compile(r" \n ?|\n ")
_LINE_ENDS = re.compile(r"\r\n?|[\u2028\u2029\x85]")
# UTF-8 read as cp1252/latin-1 leaves a lead byte (Â, Ã, â, Ð, ...) before a continuation
# byte's character: the mark of mojibake. Only text showing it is given to ftfy.
_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_DOUBLE_SPACES = re.compile(" {2,}")
_TO_FIX = re.compile(
    f"[\r\u2028\u2029\x85\x00-\x08\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f{_ODD_SPACE}]")


def clean_text(text: str) -> str:
    """The canonical form of ``text``; applying it twice changes nothing."""
    text = _fix_characters(text)
    if _MOJIBAKE.search(text):
        text = ftfy.fix_text(text, normalization="NFC", uncurl_quotes=False, fix_latin_ligatures=False,
                             fix_character_width=False)
        text = _fix_characters(text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if "  " in text:
        text = _DOUBLE_SPACES.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _EDGE_SPACES.sub("\n", text)
    return text.strip()


def _fix_characters(text: str) -> str:
    """Line ends, control and invisible characters, odd spaces: each fixed only where present
    (a search for any of them costs a fraction of the substitutions)."""
    if not _TO_FIX.search(text):
        return text
    text = _strip_invisible(_LINE_ENDS.sub("\n", text))
    return _SPACES.sub(" ", text)


def _strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", _CONTROL.sub("", text))


_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_MD_PREFIX = re.compile(r"^(?:#{1,6}\s+|>\s?|[-*+]\s+(?=\S))")


def strip_markdown(text: str) -> tuple[str, str | None]:
    """Markdown -> (plain text, the first level-1 heading if any)."""
    heading = None
    lines = []
    for line in text.split("\n"):
        if heading is None and line.startswith("# "):
            heading = line[2:].strip()
        line = _MD_PREFIX.sub("", line)
        line = _MD_IMAGE.sub("", line)
        line = _MD_LINK.sub(r"\1", line)
        line = _MD_EMPHASIS.sub(r"\2", line).strip()
        if re.fullmatch(r"[-*_=]{3,}", line):
            line = ""
        lines.append(line)
    return "\n".join(lines), heading
