"""`ingest process`: a one-shot backfill with its own embedded Redis when none is configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.integration


def _process(tmp_path: Path, *args: str, launcher: str = "worker.cli", **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env["INGEST_SINKS"] = "files"  # the store's own tests cover the default sinks (test_store_service.py)
    env.update(INGEST_STATE_DIR=str(tmp_path / "state"), INGEST_ENRICH="fast", INGEST_CONCURRENCY="2")
    env.update({f"INGEST_{name.upper()}": value for name, value in settings.items()})
    return subprocess.run([sys.executable, "-m", launcher, "process", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def test_process_starts_its_own_redis_and_writes_one_record_per_seed(tmp_path: Path) -> None:
    result = _process(tmp_path, "--out", str(tmp_path / "out"), *map(str, SEEDS))
    assert result.returncode == 0, result.stderr
    records = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.json")]
    assert sorted(r["source"]["name"] for r in records) == sorted(s.name for s in SEEDS)
    assert (tmp_path / "state" / "appendonly.aof").exists()  # the dedup memory is kept


def test_process_exits_1_when_an_input_becomes_a_failure_record(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "good.txt").write_bytes(SEEDS[0].read_bytes())
    result = _process(tmp_path, "--out", str(tmp_path / "out"), str(inputs))
    assert result.returncode == 1
    assert "1 record(s)" in result.stdout and "1 failure(s)" in result.stdout
    assert len(list((tmp_path / "out" / "_failed").glob("*.json"))) == 1


def test_processing_the_same_files_again_marks_nothing_as_duplicate_of_itself(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _process(tmp_path, "--out", str(out), *map(str, SEEDS))
    again = _process(tmp_path, "--out", str(tmp_path / "again"), *map(str, SEEDS))
    assert again.returncode == 0
    records = [json.loads(p.read_text()) for p in (tmp_path / "again").glob("*.json")]
    assert {r["dedup"]["status"] for r in records} == {"unique"}


def test_a_big_jsonl_file_runs_in_the_services_slices_one_outcome_per_article(tmp_path: Path) -> None:
    """As the service fans it out: slices of INGEST_FANOUT_ARTICLES lines, each article its own
    outcome under the id it has in the whole file, the bad line alone a failure."""
    from tests.service import jsonl_from_seeds
    from worker.models import record_id
    from worker.sources.messages import read_source

    big = tmp_path / "export.jsonl"
    big.write_bytes(jsonl_from_seeds(45, bad_line=23))
    result = _process(tmp_path, "--out", str(tmp_path / "out"), str(big), launcher="tests.crashing_stage",
                      fanout_articles="10")
    assert result.returncode == 1, result.stderr
    assert "in 5 slice(s) of up to 10 articles" in result.stdout
    assert "44 record(s)" in result.stdout and "1 failure(s)" in result.stdout
    sha256 = read_source(big, tmp_path, 1 << 24)[0].sha256
    records = {p.stem for p in (tmp_path / "out").glob("*.json")}
    assert records == {record_id(sha256, line) for line in range(1, 46) if line != 23}
    [failure] = (tmp_path / "out" / "_failed").glob("*.json")
    assert failure.stem == record_id(sha256, 23)


def test_an_article_that_crashes_a_stage_fails_alone_in_its_slice(tmp_path: Path) -> None:
    """Line 21 is titled for the injected fault (``tests.crashing_stage``, the command run with
    it): enrichment raises on it. `ingest process` shares the service's policy: that line fails,
    its slice's other nine lines are records."""
    from tests.crashing_stage import MESSAGE
    from tests.service import jsonl_from_seeds

    big = tmp_path / "export.jsonl"
    big.write_bytes(jsonl_from_seeds(45, crashing=21))
    result = _process(tmp_path, "--out", str(tmp_path / "out"), str(big), launcher="tests.crashing_stage",
                      fanout_articles="10")
    assert result.returncode == 1, result.stderr
    assert "44 record(s)" in result.stdout and "1 failure(s)" in result.stdout
    [failure] = [json.loads(p.read_text()) for p in (tmp_path / "out" / "_failed").glob("*.json")]
    assert (failure["source"]["line"], failure["error"]["type"], failure["error"]["message"]) == \
           (21, "internal_error", f"line 21: {MESSAGE}")
