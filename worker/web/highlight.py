"""The record body as HTML with its people, organisations and places marked (canonical name on hover).

Built piece by piece from the entities' character offsets into the body: every piece of
article text is escaped, only the ``<mark>`` tags are ours.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

KIND = {"persons": "person", "organizations": "organization", "locations": "location"}


def spans(body: str, entities: dict[str, Any]) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, canonical name) of every mention, in order, overlaps dropped."""
    found = []
    for group, kind in KIND.items():
        for entity in entities.get(group) or []:
            for start, end in entity.get("offsets") or []:
                if 0 <= start < end <= len(body):
                    found.append((start, end, kind, entity["name"]))
    found.sort(key=lambda s: (s[0], -s[1]))
    kept: list[tuple[int, int, str, str]] = []
    for span in found:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def highlight(body: str, entities: dict[str, Any]) -> Markup:
    """Paragraphs of escaped text with ``<mark class="person" title="Canonical Name">`` around mentions."""
    out: list[str] = []
    at = 0
    for start, end, kind, name in spans(body, entities):
        out.append(escape(body[at:start]))
        out.append(Markup('<mark class="{}" title="{}">{}</mark>').format(kind, name, body[start:end]))
        at = end
    out.append(escape(body[at:]))
    html = Markup("").join(out)
    paragraphs = [p for p in html.split("\n") if p.strip()]
    return Markup("\n").join(Markup("<p>{}</p>").format(Markup(p)) for p in paragraphs)
