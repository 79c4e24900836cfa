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

TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(TEXT)
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
    assert "requirepass $$REDIS_PASSWORD" in command
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
    for service in ("worker", "watcher", "web"):
        assert re.match(r"redis://:[^@]+@redis:6379/\d+$", _env(service)["INGEST_REDIS_URL"])


def test_depends_on_names_only_defined_services() -> None:
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on undefined {dependency}"


def test_containers_run_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    for service in ("worker", "watcher", "web"):
        assert not SERVICES[service]["user"].startswith("0")


@pytest.mark.skipif(shutil.which("check-jsonschema") is None and not (ROOT / ".venv/bin/check-jsonschema").exists(),
                    reason="check-jsonschema not installed")
def test_compose_file_is_valid_against_the_compose_spec() -> None:
    exe = shutil.which("check-jsonschema") or str(ROOT / ".venv/bin/check-jsonschema")
    result = subprocess.run([exe, "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _argv(service: str) -> list[str]:
    """Every command line compose starts in ``service``: its command and its healthcheck."""
    definition = SERVICES[service]
    return [*definition.get("command", []), *definition.get("healthcheck", {}).get("test", [])]


def test_redis_password_is_required_never_defaulted() -> None:
    uses = re.findall(r"\$\{REDIS_PASSWORD([^}]*)\}", TEXT)
    assert uses and all(use.startswith(":?") for use in uses), uses


def test_the_redis_password_is_on_no_command_line() -> None:
    for service in SERVICES:
        for arg in _argv(service):
            assert "${REDIS_PASSWORD" not in arg, service  # compose would paste it into argv
            assert not re.search(r"--requirepass|--broker|redis-cli .*-a |://:", arg), service
    script = SERVICES["redis"]["command"][-1]
    assert re.search(r"exec redis-server - .*<<EOF\nrequirepass \$\$REDIS_PASSWORD\n(.*\n)*EOF", script)


def test_redis_disables_the_commands_that_reach_files_or_code() -> None:
    script = SERVICES["redis"]["command"][-1]
    for command in ("CONFIG", "DEBUG", "MODULE", "SHUTDOWN", "REPLICAOF", "SLAVEOF", "ACL"):
        assert f'rename-command {command} ""' in script


def test_worker_and_watcher_have_healthchecks_on_their_health_endpoint() -> None:
    for service, port in (("worker", "INGEST_WORKER_METRICS_PORT"), ("watcher", "INGEST_METRICS_PORT")):
        test = " ".join(SERVICES[service]["healthcheck"]["test"])
        assert "http://127.0.0.1:" in test and "/healthz" in test and port in test


def test_every_service_has_a_memory_limit() -> None:
    for name, service in SERVICES.items():
        assert re.fullmatch(r"\d+[kmg]", str(service.get("mem_limit", ""))), name


def test_every_service_drops_capabilities_privilege_escalation_and_writes_only_its_volumes() -> None:
    for name, service in SERVICES.items():
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["read_only"] is True, name


def test_state_dir_and_home_are_on_a_tmpfs_so_any_uid_can_write_them() -> None:
    for service in ("worker", "watcher", "web"):
        tmpfs = [entry.split(":")[0] for entry in SERVICES[service]["tmpfs"]]
        for variable in ("INGEST_STATE_DIR", "HOME"):
            assert any(_env(service)[variable].startswith(mount + "/") or _env(service)[variable] == mount
                       for mount in tmpfs), (service, variable)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"INGEST_STATE_DIR=/tmp/", dockerfile) and "/home/" not in dockerfile.split("USER")[-1]

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


def test_the_web_view_runs_ingest_web_and_is_published_on_this_host_only() -> None:
    web = SERVICES["web"]
    assert web["command"] == ["web"] and "web" in cli.commands
    assert web["ports"] and all(port.startswith("127.0.0.1:") for port in web["ports"])
    assert {"redis", "postgres"} <= set(web["depends_on"])


def test_the_web_view_listens_beyond_loopback_only_with_a_required_token() -> None:
    env = _env("web")
    assert env["INGEST_WEB_HOST"] == "0.0.0.0"  # reachable on the compose network and the published port
    assert env["INGEST_WEB_TOKEN"].startswith("${INGEST_WEB_TOKEN:?")  # no default: compose refuses without it
    assert {k for k in env if k.startswith("INGEST_")} <= {f"INGEST_{name.upper()}" for name in Settings.model_fields}


def test_the_web_view_healthcheck_sends_the_token_from_the_environment() -> None:
    test = " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/" in test and "Bearer" in test and "os.environ['INGEST_WEB_TOKEN']" in test
    assert "${INGEST_WEB_TOKEN" not in test  # never pasted into a command line


def test_the_readme_quick_start_sets_every_variable_compose_requires() -> None:
    """A reader pastes the README's compose block as it is: `docker compose up` must not stop on
    a required variable the block left unset."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploy and scale with docker compose", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    exported = set(re.findall(r"^export (\w+)=", block, re.M))
    required = set(re.findall(r"\$\{(\w+):\?", TEXT))
    assert required - exported == set()


def test_docker_stop_gives_the_worker_the_grace_ingest_run_gives_it_to_finish_its_tasks() -> None:
    from worker.cli import WORKER_GRACE

    assert COMPOSE["services"]["worker"]["stop_grace_period"] == f"{WORKER_GRACE:.0f}s"
