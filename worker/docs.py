"""Generated documentation: the record's JSON Schema and the README's settings table.

`python -m worker.docs` rewrites both; tests fail when either has drifted from the code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .models import FailureRecord, Record
from .settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schema" / "record.schema.json"
FAILURE_SCHEMA = ROOT / "schema" / "failure.schema.json"
README = ROOT / "README.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


def schema_text(model: type[Record] | type[FailureRecord]) -> str:
    return json.dumps(model.model_json_schema(mode="serialization"), indent=2, ensure_ascii=False) + "\n"


def settings_table() -> str:
    """Markdown table of every setting: env var, default, meaning."""
    rows = ["| Variable | Default | What it does |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "*(unset)*" if default is None else f"`{default}`"
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `INGEST_{name.upper()}` | {shown} | {description} |")
    return "\n".join(rows)


def readme_with_table(readme: str) -> str:
    block = f"{BEGIN}\n{settings_table()}\n{END}"
    return re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, readme, flags=re.S)


def example_record(seed: Path) -> str:
    """The record a seed gives (body shortened), through the real pipeline and a real Redis."""
    import tempfile
    from datetime import datetime, timezone

    from . import pipeline
    from .service.embedded import EmbeddedRedis
    from .sources.messages import read_source
    from .pipeline.dedupe import DedupIndex
    from .service.redis_client import connect

    settings = Settings()
    with tempfile.TemporaryDirectory() as state, EmbeddedRedis(Path(state), appendonly=False) as server:
        source, data, _ = read_source(seed, seed.parent.parent, settings.max_file_bytes)
        source = source.model_copy(update={"received_at": datetime(2026, 1, 1, tzinfo=timezone.utc)})
        index = DedupIndex.from_settings(connect(server.url), settings)
        pipeline.warm_up(settings)  # as a worker does: the timings shown are a warm worker's
        record = pipeline.run(source, data or b"", index, settings)[0]
    shown = record.model_dump(mode="json")
    if len(shown.get("body", "")) > 300:
        shown["body"] = shown["body"][:300] + " [...]"
    for group in shown.get("entities", {}).values():
        for entity in group:
            entity["offsets"] = entity["offsets"][:2]
    return json.dumps(shown, indent=2, ensure_ascii=False)


def readme_with_example(readme: str, example: str) -> str:
    begin, end = "<!-- example:begin -->", "<!-- example:end -->"
    block = f"{begin}\n```json\n{example}\n```\n{end}"
    return re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, readme, flags=re.S)


def main() -> None:
    SCHEMA.parent.mkdir(exist_ok=True)
    SCHEMA.write_text(schema_text(Record))
    FAILURE_SCHEMA.write_text(schema_text(FailureRecord))
    readme = readme_with_table(README.read_text())
    README.write_text(readme_with_example(readme, example_record(ROOT / "seeds" / "002_31c179ac7f171f91.txt")))
    print(f"wrote {SCHEMA.relative_to(ROOT)}, {FAILURE_SCHEMA.relative_to(ROOT)} and the settings table in README.md")


if __name__ == "__main__":
    main()
