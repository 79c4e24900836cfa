"""The README is the user's whole manual: what it lists must be what the code does."""

from __future__ import annotations

import ast
import json
import re

from tests.conftest import ROOT
from worker.models import FailureRecord

README = (ROOT / "README.md").read_text()

# Where a failure's kind is given: BadInput(kind, ...), policy.fail(source, kind, ...),
# messages._unreadable(path, rel, now, kind, ...), and the rejects' `error=` (default or keyword).
KIND_ARGUMENT = {"BadInput": 0, "fail": 1, "_unreadable": 3}


def failure_kinds_in_the_code() -> set[str]:
    kinds = set()
    for path in (ROOT / "worker").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                at = KIND_ARGUMENT.get(name)
                if at is not None and len(node.args) > at and isinstance(node.args[at], ast.Constant):
                    kinds.add(node.args[at].value)
                kinds.update(k.value.value for k in node.keywords
                             if k.arg == "error" and isinstance(k.value, ast.Constant) and k.value.value)
            elif isinstance(node, ast.FunctionDef):
                arguments = node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + \
                    node.args.defaults + node.args.kw_defaults
                kinds.update(d.value for a, d in zip(arguments, defaults)
                             if a.arg == "error" and isinstance(d, ast.Constant) and d.value)
    return kinds


def _section(title: str) -> str:
    return README.split(title, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]


def test_the_failure_kinds_table_lists_every_kind_the_code_gives_and_no_other() -> None:
    table = _section("### The failure record")
    documented = {kind for row in re.findall(r"^\| (`.*?) \|", table, re.M)
                  for kind in re.findall(r"`([a-z_]+)`", row)}
    found = failure_kinds_in_the_code()
    assert "too_deep" in found and "internal_error" in found  # the collector sees each form
    assert documented - {"type"} == found


def test_the_failure_record_example_is_a_valid_failure_record_in_file_order() -> None:
    example = json.loads(re.search(r"```json\n(.*?)```", _section("### The failure record"), re.S).group(1))
    record = FailureRecord.model_validate(example)
    assert list(example) == list(record.model_dump(mode="json"))


def test_the_readme_names_every_column_of_the_tables_a_user_queries(postgres_url: str) -> None:
    """Users write SQL against the store from "Querying records": its column names must be real."""
    from worker.store import connect

    paragraph = README.split("## Querying records", 1)[1].split("\n\n", 2)[1]
    with connect(postgres_url) as conn:
        for table in ("records", "failures", "mentions"):
            assert f"`{table}`" in paragraph
            columns = [row[0] for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,))]
            assert columns and [c for c in columns if f"`{c}`" not in paragraph] == [], table


def test_the_readme_names_every_field_of_search_and_stats_json(postgres_url: str) -> None:
    import dataclasses

    from worker.store import connect
    from worker.store.queries import Hit, stats

    paragraph = README.split("`ingest search --json` prints", 1)[1].split("\n\n", 1)[0]
    with connect(postgres_url) as conn:
        numbers = stats(conn)
    fields = [f.name for f in dataclasses.fields(Hit)] + list(numbers)
    fields += ["day", "articles", "kind", "name", "mentions"]  # per_day's and top_entities' rows
    assert [f for f in fields if f"`{f}`" not in paragraph] == []


def test_the_formats_table_names_every_json_field_the_parser_reads() -> None:
    from worker.pipeline.parse import _JSON_FIELDS

    row = next(r for r in README.splitlines() if r.startswith("| `.json`, `.jsonl` |"))
    missing = [name for names in _JSON_FIELDS.values() for name in names if f"`{name}`" not in row]
    assert missing == []
