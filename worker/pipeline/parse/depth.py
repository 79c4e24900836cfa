"""Pages nested deeper than the HTML parser goes.

libxml2 (under lxml and trafilatura) stops building the tree at a fixed depth (256 elements)
and drops everything below, so a page of 100,000 nested ``<div>`` s reads as empty although
its text is there. Such a page is flattened: the middle of its nesting is unwrapped (those
tags removed, their text kept), keeping the outer levels (the page's layout) and the inner
ones (the article's own paragraphs and headings), and read again.
"""

from __future__ import annotations

import re

PARSER_DEPTH = 256  # libxml2's limit for HTML without XML_PARSE_HUGE
KEEP = 100  # levels kept at each end when flattening

# Comments, scripts and styles: text in which a "<" opens no tag (group 1: the element's name)
RAW_TEXT = r"<!--.*?-->|<(script|style)\b.*?</\1\s*>"
_TAG = re.compile(RAW_TEXT + r"|<(/?)([a-zA-Z][^\s/>]*)[^>]*?(/?)>", re.S | re.I)
_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)


def _depths(html: str):
    """(match, depth) of each start or end tag; depth is that element's nesting level."""
    depth = 0
    for m in _TAG.finditer(html):
        name = m.group(3)
        if name is None or name.lower() in _VOID or m.group(4):
            continue
        if m.group(2):
            yield m, depth
            depth = max(0, depth - 1)
        else:
            depth += 1
            yield m, depth


def nesting_depth(html: str) -> int:
    """How deep the page's elements nest, by its tags (unclosed ones count as open)."""
    return max((depth for _, depth in _depths(html)), default=0)


def flatten(html: str, depth: int) -> str:
    """The page with the tags of levels KEEP+1 .. depth-KEEP removed, their text kept."""
    parts: list[str] = []
    at = 0
    for m, level in _depths(html):
        if KEEP < level <= depth - KEEP:
            parts.append(html[at:m.start()])
            at = m.end()
    parts.append(html[at:])
    return "".join(parts)
