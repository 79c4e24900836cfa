"""The embedded PostgreSQL's data may live apart from the state folder (under /var/lib when its
system user cannot reach it): deleting the state folder to start afresh must not lock it out."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from worker.store.embedded import EmbeddedPostgres

pytestmark = pytest.mark.integration


def test_the_embedded_postgres_opens_its_kept_data_after_the_state_folder_was_deleted(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = EmbeddedPostgres(state)
    home = first.home
    try:
        with psycopg.connect(first.start(), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (n int)")
        first.stop()
        shutil.rmtree(state)  # an operator's reset of `.ingest`
        again = EmbeddedPostgres(state)
        assert again.home == home
        with psycopg.connect(again.start(timeout=60)) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)
        again.stop()
    finally:
        first.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_a_port_taken_between_finding_it_free_and_binding_it_is_replaced_by_another(tmp_path: Path) -> None:
    """Another process took the port the store found free before its server could bind it: the
    server started on that port exits, and the store starts on another instead of failing."""
    import socket

    from worker.store.embedded import remove_store

    state = tmp_path / "state"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        server = EmbeddedPostgres(state)
        server.port = squatter.getsockname()[1]
        try:
            with psycopg.connect(server.start(timeout=60), autocommit=True) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
            assert server.port != squatter.getsockname()[1]
        finally:
            server.stop()
            remove_store(state)
