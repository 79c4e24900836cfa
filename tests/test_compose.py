"""docker-compose.yml agrees with the CLI and the settings (no Docker engine runs here)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT
from worker.cli import main as cli
from worker.settings import Settings

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _env(service: str) -> dict[str, str]:
    return SERVICES[service].get("environment", {})


def test_compose_has_redis_worker_watcher_and_a_flower_profile() -> None:
    assert {"redis", "worker", "watcher", "flower"} <= set(SERVICES)
    assert SERVICES["flower"]["profiles"] == ["flower"]


def test_redis_persists_with_aof_never_evicts_and_is_not_published() -> None:
    redis = SERVICES["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    assert "--requirepass" in command
    assert "ports" not in redis
    assert "healthcheck" in redis
    assert any(v.endswith(":/data") for v in redis["volumes"])


def test_worker_and_watcher_commands_are_ingest_subcommands() -> None:
    assert SERVICES["worker"]["command"][0] in cli.commands
    assert SERVICES["watcher"]["command"][0] in cli.commands
    assert SERVICES["worker"]["command"][0] == "worker"
    assert SERVICES["watcher"]["command"][0] == "watch"


def test_every_ingest_variable_in_compose_is_a_setting() -> None:
    fields = {f"INGEST_{name.upper()}" for name in Settings.model_fields}
    for service in ("worker", "watcher"):
        unknown = {k for k in _env(service) if k.startswith("INGEST_")} - fields
        assert unknown == set(), f"{service}: {unknown}"


def test_watcher_mounts_the_inbox_and_records_where_its_settings_point() -> None:
    env = _env("watcher")
    targets = {v.split(":")[-1] for v in SERVICES["watcher"]["volumes"]}
    assert env["INGEST_INBOX"] in targets
    assert env["INGEST_RECORDS_DIR"] in targets


def test_worker_mounts_records_and_needs_no_inbox() -> None:
    env = _env("worker")
    targets = {v.split(":")[-1] for v in SERVICES["worker"]["volumes"]}
    assert targets == {env["INGEST_RECORDS_DIR"]}


def test_services_reach_redis_by_its_service_name_with_a_password() -> None:
    for service in ("worker", "watcher"):
        assert re.match(r"redis://:[^@]+@redis:6379/\d+$", _env(service)["INGEST_REDIS_URL"])


def test_depends_on_names_only_defined_services() -> None:
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on undefined {dependency}"


def test_containers_run_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    for service in ("worker", "watcher"):
        assert not SERVICES[service]["user"].startswith("0")


@pytest.mark.skipif(shutil.which("check-jsonschema") is None and not (ROOT / ".venv/bin/check-jsonschema").exists(),
                    reason="check-jsonschema not installed")
def test_compose_file_is_valid_against_the_compose_spec() -> None:
    exe = shutil.which("check-jsonschema") or str(ROOT / ".venv/bin/check-jsonschema")
    result = subprocess.run([exe, "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_postgres_keeps_its_data_requires_a_password_and_is_not_published() -> None:
    postgres = SERVICES["postgres"]
    assert "${POSTGRES_PASSWORD:?" in postgres["environment"]["POSTGRES_PASSWORD"]  # no default: must be set
    assert "scram-sha-256" in postgres["environment"]["POSTGRES_INITDB_ARGS"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "ports" not in postgres


def test_workers_write_to_the_compose_postgres_with_its_password_once_it_is_healthy() -> None:
    env = _env("worker")
    assert re.match(r"postgresql://ingest:\$\{POSTGRES_PASSWORD:\?[^}]*\}@postgres:5432/ingest$", env["INGEST_POSTGRES_URL"])
    assert "postgres" in env["INGEST_SINKS"].split("-", 1)[-1].split(",")
    assert SERVICES["worker"]["depends_on"]["postgres"]["condition"] == "service_healthy"
