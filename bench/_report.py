"""Shared by the benchmark scripts: where the shared data is, and how figures reach BENCHMARKS.md.

Each script owns one section of BENCHMARKS.md, between ``<!-- begin:NAME -->`` and
``<!-- end:NAME -->``, and rewrites only that section, so scripts can run in any order.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
SHARED_DATA = Path(os.environ.get("INGEST_SHARED_DATA", ROOT.parent / "shared" / "data"))
EXTRACTION = SHARED_DATA / "extraction-benchmark"


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.system()} {platform.machine()}, {cpus} cores, Python {platform.python_version()}"


def require_extraction_data() -> Path:
    """The shared extraction benchmark, or a clean skip (exit 0) where it is absent."""
    if not (EXTRACTION / "ground-truth.json").exists():
        print(f"skipped: the shared benchmark data is not at {EXTRACTION}")
        sys.exit(0)
    return EXTRACTION


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A markdown table (also readable printed in a terminal)."""
    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, title: str, body: str, command: str) -> None:
    """Replace (or append) section ``name`` of BENCHMARKS.md."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- begin:{name} -->\n## {title}\n\n"
        f"Command: `{command}` — {stamp}, {machine()}\n\n{body.strip()}\n<!-- end:{name} -->"
    )
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- begin:{re.escape(name)} -->.*?<!-- end:{re.escape(name)} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    BENCHMARKS.write_text(text)
