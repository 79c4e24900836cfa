import socket
import stat
from pathlib import Path

import pytest
import redis

from tests.service import listening_addresses
from worker.service.embedded import EmbeddedRedis, running_embedded_url


def _raw(port: int, *commands: bytes) -> bytes:
    """Replies of a bare TCP client (no client library, no password) to inline commands."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"".join(command + b"\r\n" for command in commands))
        replies = b""
        while replies.count(b"\r\n") < len(commands):
            replies += sock.recv(4096)
    return replies


def test_embedded_redis_keeps_data_across_restart(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        redis.Redis.from_url(server.url).set("k", "v")
    with EmbeddedRedis(tmp_path) as server:
        assert redis.Redis.from_url(server.url).get("k") == b"v"


def test_embedded_redis_listens_on_loopback_only_and_never_evicts(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        assert listening_addresses(server.port) == {"127.0.0.1"}
        assert client.info("memory")["maxmemory_policy"] == "noeviction"
        assert client.info("persistence")["aof_enabled"] == 1


def test_running_embedded_server_is_found_by_its_state_dir(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        assert running_embedded_url(tmp_path) == server.url
    assert running_embedded_url(tmp_path) is None


def test_a_client_without_the_password_is_refused(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        replies = _raw(server.port, b"SET k v", b"GET k")
        assert replies.count(b"-NOAUTH") == 2
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=server.port).ping()


def test_config_set_dir_is_refused_even_with_the_password(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url)
        for command in (("CONFIG", "SET", "dir", "/tmp"), ("DEBUG", "SLEEP", "0"), ("MODULE", "LIST"),
                        ("SHUTDOWN", "NOSAVE"), ("REPLICAOF", "127.0.0.1", "1")):
            with pytest.raises(redis.ResponseError, match="unknown command"):
                client.execute_command(*command)
        assert client.ping()  # still serving


def test_the_password_is_kept_across_restarts_and_not_on_the_command_line(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        first = server.url
        cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes()
        assert server.password.encode() not in cmdline
    with EmbeddedRedis(tmp_path) as server:
        assert server.url.split("@")[0] == first.split("@")[0]
        assert redis.Redis.from_url(server.url).ping()


def test_state_dir_is_private_and_its_files_owner_only(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    (state / "appendonly.aof").write_bytes(b"")  # as an older version left it: 0644
    (state / "appendonly.aof").chmod(0o644)
    with EmbeddedRedis(state) as server:
        redis.Redis.from_url(server.url).set("queued", "the bytes of a file")
        redis.Redis.from_url(server.url).bgrewriteaof()  # a new AOF written by redis itself
        redis.Redis.from_url(server.url).save()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    files = {path.name: stat.S_IMODE(path.stat().st_mode) for path in state.iterdir()}
    assert {"appendonly.aof", "dump.rdb", "redis.conf", "redis.password"} <= set(files)
    assert set(files.values()) == {0o600}, files


def _squatted() -> socket.socket:
    """A port another process holds (listening), as one may take a port we found free."""
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    return squatter


def test_a_port_taken_between_finding_it_free_and_binding_it_is_replaced_by_another(tmp_path: Path) -> None:
    with _squatted() as squatter:
        server = EmbeddedRedis(tmp_path)  # finds a free port ...
        server.port = squatter.getsockname()[1]  # ... which another process takes meanwhile
        with server:
            assert server.port != squatter.getsockname()[1]
            assert redis.Redis.from_url(server.url).ping()
            assert running_embedded_url(tmp_path) == server.url


def test_a_configured_port_in_use_is_an_error_naming_it(tmp_path: Path) -> None:
    from worker.service.embedded import PortTaken

    with _squatted() as squatter:
        port = squatter.getsockname()[1]
        with pytest.raises(PortTaken, match=f"could not bind 127.0.0.1:{port}: another process has it"):
            EmbeddedRedis(tmp_path, port=port).start()
