"""Bad settings stop a command at start with one line naming the setting and exit code 1,
never a traceback or every file failing later (``settings.py``: the one place of validation)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from worker.settings import Settings, SettingsError, get_settings, unknown_variables


def _ingest(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`ingest ARGS` in ``tmp_path`` with only these INGEST_* variables (no Redis anywhere)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    clean.update({"INGEST_REDIS_URL": "redis://127.0.0.1:1/0", **env})
    return subprocess.run([sys.executable, "-m", "worker.cli", *args], cwd=tmp_path, env=clean,
                          capture_output=True, text=True, timeout=60)


def _settings_error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as error:
            get_settings()
    finally:
        get_settings.cache_clear()
    return str(error.value)


def test_a_negative_limit_stops_the_worker_with_one_line_naming_it_and_exit_code_1(tmp_path: Path) -> None:
    result = _ingest(tmp_path, "worker", INGEST_MAX_WORDS="-5")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: invalid settings:", "INGEST_MAX_WORDS=-5: Input should be greater than or equal to 1"]


def test_an_unknown_enrichment_level_is_refused_naming_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _settings_error(monkeypatch, INGEST_ENRICH="ful") == "INGEST_ENRICH=ful: Input should be 'full', 'fast' or 'off'"


def test_a_redis_url_that_is_no_url_is_refused_without_showing_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _settings_error(monkeypatch, INGEST_REDIS_URL="localhost:6379:s3cret-password")
    assert message == "INGEST_REDIS_URL: not a Redis URL: it must start with redis://, rediss:// or unix://"


def test_lsh_bands_that_do_not_fit_the_signature_are_refused_at_start_not_per_file(
        monkeypatch: pytest.MonkeyPatch) -> None:
    message = _settings_error(monkeypatch, INGEST_LSH_BANDS="200")
    assert message == "INGEST_LSH_BANDS x INGEST_LSH_ROWS (200 x 3) exceeds INGEST_NUM_PERM (256)"


def test_every_invalid_setting_gets_its_own_line(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _settings_error(monkeypatch, INGEST_CONCURRENCY="0", INGEST_SETTLE_SECONDS="abc")
    assert message.splitlines() == [
        "INGEST_SETTLE_SECONDS=abc: Input should be a valid number, unable to parse string as a number",
        "INGEST_CONCURRENCY=0: Input should be greater than or equal to 1",
    ]


def test_the_log_level_is_accepted_in_any_case() -> None:
    assert Settings(log_level="debug").log_level == "DEBUG"


def test_an_inbox_that_is_a_file_stops_the_watcher_naming_the_setting(tmp_path: Path) -> None:
    (tmp_path / "inbox").write_text("not a folder")
    result = _ingest(tmp_path, "watch", INGEST_INBOX="inbox")
    assert (result.returncode, result.stderr.strip()) == (1, "Error: INGEST_INBOX=inbox: not a folder")


def test_a_records_folder_that_cannot_be_written_stops_the_worker_naming_the_setting(tmp_path: Path) -> None:
    (tmp_path / "records").write_text("a file where the folder should be")
    result = _ingest(tmp_path, "worker", INGEST_RECORDS_DIR="records/out")
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: INGEST_RECORDS_DIR=records/out: cannot write in records/out (Not a directory)"


def test_a_typo_of_a_setting_is_warned_about_naming_the_setting_it_resembles() -> None:
    assert unknown_variables({"INGEST_ENRICHH": "fast", "INGEST_UID": "1000", "INGEST_ENRICH": "fast"}) == [
        "INGEST_ENRICHH is not a setting (did you mean INGEST_ENRICH?): ignored"]


def test_a_command_logs_the_typo_warning_once(tmp_path: Path) -> None:
    (tmp_path / "records").write_text("")
    result = _ingest(tmp_path, "worker", INGEST_MAX_WORD="5")  # stops at the records folder
    assert result.stderr.count("INGEST_MAX_WORD is not a setting (did you mean INGEST_MAX_WORDS?): ignored") == 1
