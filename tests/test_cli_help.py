"""What `ingest --help`, `ingest COMMAND --help` and the README's command table tell a user,
and the one-line errors a command gives instead of a traceback or another program's log."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from tests.conftest import ROOT
from worker.cli import main

README = (ROOT / "README.md").read_text()


def _commands(group: click.Group = main, prefix: str = "ingest") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(_commands(command, f"{prefix} {name}"))
        else:
            found[f"{prefix} {name}"] = command
    return found


def _options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option)]


def test_every_option_of_every_command_says_what_it_does() -> None:
    silent = [f"{name} {option.opts[0]}" for name, command in _commands().items()
              for option in _options(command) if not option.help]
    assert silent == []


@pytest.mark.parametrize("args", [["--help"], ["failed", "--help"]])
def test_the_command_list_gives_each_description_whole(args: list[str]) -> None:
    """Click's listing cuts descriptions at about 45 characters, mid-phrase."""
    shown = CliRunner().invoke(main, args).output
    assert "Commands:" in shown and "..." not in shown.split("Commands:", 1)[1]


def test_the_readme_command_table_names_every_command_with_each_of_its_options() -> None:
    table = README.split("## Command line", 1)[1].split("\n## ", 1)[0]
    rows = [row.split(" | ", 1)[0] for row in table.splitlines() if row.startswith("| `ingest ")]
    for name, command in _commands().items():
        row = next((r for r in rows if re.search(rf"`{re.escape(name)}\b", r)), None)
        assert row is not None, f"{name} is not in the README's command table"
        for option in _options(command):
            assert option.opts[0] in row, f"{name} {option.opts[0]} is not in its README row: {row}"


@pytest.mark.integration
def test_ingest_web_on_a_port_in_use_says_so_naming_the_setting(redis_url: str, postgres_url: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
        env.update(INGEST_REDIS_URL=redis_url, INGEST_POSTGRES_URL=postgres_url)
        result = subprocess.run([sys.executable, "-m", "worker.cli", "web", "--port", str(port)], cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"Error: the web view cannot listen on 127.0.0.1:{port}")
    assert "INGEST_WEB_PORT" in result.stderr


def test_metrics_on_a_port_in_use_are_skipped_with_a_warning_naming_the_setting(
        caplog: pytest.LogCaptureFixture) -> None:
    from worker.service.metrics import serve

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert serve(port, lambda: {"ok": True}, setting="INGEST_WORKER_METRICS_PORT") is None
    assert f"127.0.0.1:{port}" in caplog.text and "set INGEST_WORKER_METRICS_PORT" in caplog.text


@pytest.mark.parametrize("command", [["search", "patriot"], ["stats"], ["show", "3678506b"]])
def test_a_store_command_where_there_is_no_store_says_so_and_creates_none(tmp_path, command: list[str]) -> None:
    """Run from the wrong folder, it must not start an empty store and answer "no records match"."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    result = subprocess.run([sys.executable, "-m", "worker.cli", *command], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"no store here: {tmp_path / '.ingest'} holds none" in result.stderr
    assert not (tmp_path / ".ingest").exists()
