"""Commands that take an id (`ingest story`, `ingest show`) take a unique prefix of one, by one
rule (``cli._one_id``), and say which prefix they could not resolve and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.conftest import ROOT
from tests.stories_corpus import reports
from worker.cli import _one_id

IDS = ["3fa2c91b07d4e5a6b8c9d0e1", "3fa2c94d5e6f708192a3b4c5", "7be05d1c2a3b4c5d6e7f8091"]


def _starting(prefix: str) -> list[str]:
    return [i for i in IDS if i.startswith(prefix)]


def _refusal(given: str) -> str:
    with pytest.raises(click.ClickException) as refused:
        _one_id(given, _starting, "record")
    return refused.value.message


def test_a_unique_prefix_names_its_id() -> None:
    assert _one_id("7be05d", _starting, "record") == IDS[2]


def test_a_whole_id_names_itself() -> None:
    assert _one_id(IDS[0], _starting, "record") == IDS[0]


def test_a_prefix_two_ids_share_is_refused_as_ambiguous_naming_both() -> None:
    message = _refusal("3fa2c9")
    assert "'3fa2c9' is ambiguous" in message and IDS[0] in message and IDS[1] in message


def test_a_prefix_no_id_starts_with_is_refused_as_unknown() -> None:
    assert _refusal("abcdef") == "no record id starts with 'abcdef'"


def test_a_prefix_shorter_than_six_characters_is_refused_even_when_unique() -> None:
    assert "too short" in _refusal("7be0")


def test_text_that_is_not_hex_is_refused_before_any_lookup() -> None:
    def lookup(prefix: str) -> list[str]:
        raise AssertionError(f"looked up {prefix!r}")

    with pytest.raises(click.ClickException, match="not an id"):
        _one_id("3fa*", lookup, "record")


@pytest.mark.integration
def test_ingest_story_takes_a_unique_prefix_and_names_an_unknown_one(tmp_path: Path) -> None:
    """Three reports of one event processed once; the story is then found in the records folder
    by eight characters of one record's id."""
    for number, text in enumerate(text for event, text in reports(per_event=3) if event == 0):
        (tmp_path / f"report-{number}.txt").write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env.update(INGEST_SINKS="files", INGEST_STATE_DIR=str(tmp_path / "state"), INGEST_ENRICH="fast",
               INGEST_RECORDS_DIR=str(tmp_path / "records"))

    def ingest(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "worker.cli", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=180)

    processed = ingest("process", *(str(p) for p in sorted(tmp_path.glob("report-*.txt"))))
    assert processed.returncode == 0, processed.stderr
    records = [json.loads(p.read_text()) for p in (tmp_path / "records").glob("*.json")]
    last = max(records, key=lambda r: r["story"]["size"])
    shown = ingest("story", last["id"][:8])
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == f"story {last['story']['id']}: 3 article(s)"
    unknown = "f" * 8 if not any(r["id"].startswith("f" * 8) for r in records) else "0" * 8
    refused = ingest("story", unknown)
    assert refused.returncode != 0
    assert f"no record or story id starts with '{unknown}'" in refused.stderr
