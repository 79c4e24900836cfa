"""Deleting a state folder's embedded store for good (`remove_store`, `ingest delete-store`).

As root the store's data lives outside the state folder, under /var/lib/ingest-postgres, so that
`make clean` keeps it: every test and bench that started a store in a tmp folder left its data
there (about 100 folders, 5.9 GB on one machine) until they removed it with `remove_store`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from worker.cli import main
from worker.store import connect
from worker.store.embedded import SYSTEM_DATA, EmbeddedPostgres, remove_store, system_home

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="data goes outside the state folder only as root")


def _private_state(tmp_path: Path) -> Path:
    """A state folder as `ingest run` makes it (0700): as root the server's account cannot enter it."""
    state = tmp_path / ".ingest"
    state.mkdir(mode=0o700)
    return state


def _store_with_a_table(state: Path) -> EmbeddedPostgres:
    server = EmbeddedPostgres(state)
    with connect(server.start(), wait=10) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.commit()
    server.stop()
    return server


def _victim(folder: Path) -> Path:
    """A folder that looks like a store's, outside every place a store is removed from."""
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "PG_VERSION").write_text("16\n")
    return folder


@pytest.mark.integration
def test_a_removed_store_leaves_no_folder_under_system_data_nor_in_the_state_folder(tmp_path: Path) -> None:
    state = _private_state(tmp_path)
    server = _store_with_a_table(state)
    try:
        assert (server.data / "PG_VERSION").exists()
        if os.geteuid() == 0:
            assert server.home == system_home(state) and server.home.parent == SYSTEM_DATA
        removed = remove_store(state)
        assert server.home in removed
        assert not system_home(state).exists() and not (state / "postgres").exists()
        assert not (state / "postgres.password").exists()
        assert system_home(state).name not in (os.listdir(SYSTEM_DATA) if SYSTEM_DATA.exists() else [])
    finally:
        server.stop()
        if server.home.exists():
            remove_store(state)


@pytest.mark.integration
def test_a_running_store_is_not_removed(tmp_path: Path) -> None:
    state = _private_state(tmp_path)
    server = EmbeddedPostgres(state)
    try:
        server.start()
        with pytest.raises(ValueError, match=r"is running \(PostgreSQL pid \d+\): stop it first"):
            remove_store(state)
        refused = CliRunner().invoke(main, ["delete-store"], input="y\n", env={"INGEST_STATE_DIR": str(state)})
        assert refused.exit_code == 1 and "is running" in refused.output and "Delete" not in refused.output
        assert (server.data / "PG_VERSION").exists() and (state / "postgres.password").exists()
    finally:
        server.stop()
        remove_store(state)
    assert not server.home.exists()


@as_root
def test_removal_refuses_a_link_from_system_data_to_a_folder_outside_it(tmp_path: Path) -> None:
    state = _private_state(tmp_path)
    outside = _victim(tmp_path / "outside")
    SYSTEM_DATA.mkdir(parents=True, exist_ok=True)
    link = system_home(state)
    link.symlink_to(outside, target_is_directory=True)
    try:
        with pytest.raises(ValueError, match="is a symbolic link"):
            remove_store(state)
        assert link.is_symlink() and (outside / "data" / "PG_VERSION").read_text() == "16\n"
    finally:
        link.unlink()


def test_removal_refuses_a_link_from_the_state_folder_to_a_folder_outside_it(tmp_path: Path) -> None:
    state = _private_state(tmp_path)
    outside = _victim(tmp_path / "outside")
    (state / "postgres").symlink_to(outside, target_is_directory=True)
    (state / "postgres.password").write_text("secret\n")
    with pytest.raises(ValueError, match="is a symbolic link"):
        remove_store(state)
    assert (outside / "data" / "PG_VERSION").exists()
    assert (state / "postgres.password").exists()  # nothing is deleted before everything is checked


def test_removal_refuses_a_postgres_folder_holding_files_no_store_writes(tmp_path: Path) -> None:
    """INGEST_STATE_DIR may name a folder of the user's: its own `postgres/` is not a store."""
    state = _private_state(tmp_path)
    (state / "postgres").mkdir()
    (state / "postgres" / "notes.txt").write_text("mine\n")
    with pytest.raises(ValueError, match=r"holds what no store writes \(notes.txt\)"):
        remove_store(state)
    assert (state / "postgres" / "notes.txt").exists()


@pytest.mark.integration
def test_ingest_delete_store_names_the_folders_asks_and_deletes_them_for_good(tmp_path: Path) -> None:
    state = _private_state(tmp_path)
    server = _store_with_a_table(state)
    runner = CliRunner()
    env = {"INGEST_STATE_DIR": str(state)}
    try:
        kept = runner.invoke(main, ["delete-store"], input="n\n", env=env)
        assert kept.exit_code == 1 and str(server.home) in kept.output and "Aborted" in kept.output
        assert (server.data / "PG_VERSION").exists()
        deleted = runner.invoke(main, ["delete-store", "--yes"], env=env)
        assert deleted.exit_code == 0, deleted.output
        assert not server.home.exists() and not (state / "postgres.password").exists()
        again = runner.invoke(main, ["delete-store", "--yes"], env=env)
        assert again.exit_code == 0 and "nothing deleted" in again.output
    finally:
        if server.home.exists():
            remove_store(state)


@pytest.mark.integration
@as_root
def test_ingest_delete_store_finds_the_store_that_outlived_make_clean(tmp_path: Path) -> None:
    """`make clean` removes ./.ingest, password and all; the data under /var/lib stays, and is
    what the command is for."""
    state = _private_state(tmp_path)
    server = _store_with_a_table(state)
    try:
        shutil.rmtree(state)  # what `make clean` does
        deleted = CliRunner().invoke(main, ["delete-store", "--yes"], env={"INGEST_STATE_DIR": str(state)})
        assert deleted.exit_code == 0 and str(server.home) in deleted.output, deleted.output
        assert not server.home.exists()
    finally:
        if server.home.exists():
            remove_store(state)
