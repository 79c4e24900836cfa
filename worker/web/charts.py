"""Small bar charts as inline SVG, drawn on the server: no chart library, nothing to download."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 160


def bars(values: list[tuple[str, list[int]]], series: list[str], *, width: int = WIDTH,
         height: int = HEIGHT) -> Markup:
    """Stacked bars, one per (label, [value per series]), each bar titled with its numbers."""
    top = max([sum(v) for _, v in values] + [1])
    step = width / max(len(values), 1)
    parts = [f'<svg class="chart" viewBox="0 -16 {width} {height + 34}" role="img">']
    for i, (label, numbers) in enumerate(values):
        y = height
        for name, value in zip(series, numbers):
            h = value / top * (height - 4)
            if h > 0:
                y -= h
                parts.append(f'<rect class="{name}" x="{i * step + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
                             f'height="{h:.1f}"><title>{escape(label)}: '
                             + ", ".join(f"{escape(n)} {v}" for n, v in zip(series, numbers)) + "</title></rect>")
    parts.append(f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" class="axis"/>')
    if values:
        parts.append(f'<text x="0" y="{height + 14}" class="label">{escape(values[0][0])}</text>')
        parts.append(f'<text x="{width}" y="{height + 14}" class="label" text-anchor="end">{escape(values[-1][0])}</text>')
    parts.append(f'<text x="{width}" y="-4" class="label" text-anchor="end">max {top}</text></svg>')
    return Markup("".join(parts))


def throughput(per_minute: list[dict[str, Any]]) -> Markup:
    return bars([(row["minute"].strftime("%H:%M"), [row["records"], row["duplicates"], row["failures"]])
                 for row in per_minute], ["records", "duplicates", "failures"])


def per_day(rows: list[dict[str, Any]]) -> Markup:
    return bars([(row["day"].isoformat(), [row["mentions"]]) for row in rows], ["mentions"])
