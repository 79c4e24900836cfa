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
