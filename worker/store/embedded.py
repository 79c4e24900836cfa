"""A real PostgreSQL server for the embedded default (`make run`, `ingest process`, the tests).

The binaries come from the ``pgserver`` wheel (PostgreSQL 16), or a Debian ``postgresql``
on the machine: this module is the one place that knows, so either can replace the other.
pgserver's own start-up is not used: it trusts every local connection and opens its socket
folder to all users. Here the server requires a password (SCRAM), listens on 127.0.0.1 only
(no Unix socket), keeps its data in ``<state_dir>/postgres`` and dies with its parent.
PostgreSQL refuses to run as root, so as root it runs as a system user of its own.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import logging
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

from ..service.embedded import EmbeddedServer, die_with_parent, free_port, server_for

log = logging.getLogger(__name__)

URL_FILE = "postgres.url"
SYSTEM_USER = "ingest-postgres"  # who runs the server when we are root
SYSTEM_DATA = Path("/var/lib/ingest-postgres")  # its data then, when it cannot reach the state folder
DATABASE = USER = "ingest"


def bin_dir() -> Path:
    """Folder of `initdb` and `postgres`: the pgserver wheel's, else a Debian/PATH install."""
    with contextlib.suppress(ImportError):
        import importlib.util

        spec = importlib.util.find_spec("pgserver")
        if spec and spec.origin:
            candidate = Path(spec.origin).parent / "pginstall" / "bin"
            if (candidate / "postgres").exists():
                return candidate
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "postgres").exists():
            return Path(candidate)
    found = shutil.which("postgres")
    if not found:
        raise RuntimeError("no PostgreSQL binaries: install the package (`make install`) or set INGEST_POSTGRES_URL")
    return Path(found).parent


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged account the server runs as when we are root (created once)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                       check=True, capture_output=True)
        return pwd.getpwnam(SYSTEM_USER)


def _reachable_by_others(path: Path) -> bool:
    """Can another account reach ``path`` (search permission on every folder above it)?"""
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in path.resolve().parents)


class EmbeddedPostgres(EmbeddedServer):
    """Start and stop a private PostgreSQL whose data lives in ``state_dir/postgres``."""

    url_file = URL_FILE
    stop_signal = signal.SIGINT  # fast shutdown: roll back open transactions, checkpoint

    def __init__(self, state_dir: Path, *, port: int | None = None) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.account = _run_as()
        self.home = self.state_dir / "postgres"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.account is not None and not _reachable_by_others(self.home):
            # The server's account cannot reach the state folder (it is 0700, as it holds the
            # Redis password and AOF): keep the data in a folder of its own under /var/lib (we
            # are root; it survives reboots, unlike /tmp) rather than open the state folder up.
            digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:12]
            self.home = SYSTEM_DATA / digest
            log.warning("%s is not reachable by %s; PostgreSQL data goes to %s", self.state_dir, SYSTEM_USER, self.home)
        self.data = self.home / "data"

    @property
    def password(self) -> str:
        """Generated once and kept (0600) in the state folder and beside the data it opens: data
        kept under /var/lib outlives a state folder deleted and made again, and must still open."""
        path = self.state_dir / "postgres.password"
        kept = self.home / "postgres.password"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(kept.read_text() if kept.exists() else secrets.token_urlsafe(24))
        return path.read_text().strip()

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def _child(self) -> None:
        if self.account is not None:
            os.setgroups([])
            os.setgid(self.account.pw_gid)
            os.setuid(self.account.pw_uid)
        die_with_parent()  # after setuid, which clears the parent-death signal

    def _init(self) -> None:
        """initdb with a password for the one user and SCRAM for every connection."""
        password = self.password
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)
        if self.account is not None:
            os.chown(self.home, self.account.pw_uid, self.account.pw_gid)
        kept = self.home / "postgres.password"
        if not kept.exists():
            fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(password)
        if (self.data / "PG_VERSION").exists():
            return
        pwfile = self.home / "pwfile"
        pwfile.write_text(password + "\n")
        if self.account is not None:
            os.chown(pwfile, self.account.pw_uid, self.account.pw_gid)
        pwfile.chmod(0o600)
        try:
            subprocess.run(
                [str(bin_dir() / "initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}",
                 "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--encoding=UTF8",
                 "--locale=C", "--no-sync"],
                check=True, capture_output=True, preexec_fn=self._child, cwd=self.home,
            )
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"initdb failed: {exc.stderr.decode(errors='replace')[-2000:]}") from None
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self, timeout: float = 20.0) -> str:
        import psycopg

        self._init()
        logfile = open(self.home / "postgres.log", "ab")
        self.process = subprocess.Popen(
            [str(bin_dir() / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port),
             "-c", "unix_socket_directories=", "-c", "password_encryption=scram-sha-256",
             "-c", "max_connections=200", "-c", "synchronous_commit=on"],
            stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT,
            preexec_fn=self._child, start_new_session=True, cwd=self.home,
        )
        logfile.close()
        deadline = time.monotonic() + timeout
        admin = self.url.rsplit("/", 1)[0] + "/postgres"
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited at start; see {self.home / 'postgres.log'}")
            try:
                with psycopg.connect(admin, connect_timeout=2, autocommit=True) as conn:
                    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
                        conn.execute(f"CREATE DATABASE {DATABASE}")
                break
            except psycopg.OperationalError as exc:
                if "password authentication failed" in str(exc):
                    self.stop()
                    raise RuntimeError(
                        f"the PostgreSQL data in {self.data} was made with another password than "
                        f"{self.state_dir / 'postgres.password'} (a state folder deleted before this "
                        f"version kept the password beside the data): move {self.home} away to start "
                        f"afresh, then `ingest load` the records folder") from None
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"postgres did not answer within {timeout}s; see {self.home / 'postgres.log'}") from None
                time.sleep(0.05)
        url_file = self.state_dir / URL_FILE
        fd = os.open(url_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the password
        with os.fdopen(fd, "w") as handle:
            handle.write(self.url)
        log.info("embedded PostgreSQL on 127.0.0.1:%d (data in %s)", self.port, self.data)
        return self.url

    def stop(self, timeout: float = 20.0) -> None:
        super().stop(timeout)

    def remove_data(self) -> None:
        """Delete the server's data (a test's throw-away server, after ``stop``)."""
        shutil.rmtree(self.home, ignore_errors=True)
        (self.state_dir / "postgres.password").unlink(missing_ok=True)


def running_embedded_url(state_dir: Path) -> str | None:
    """The URL of an embedded PostgreSQL already serving ``state_dir`` (started by `ingest run`)."""
    import psycopg

    path = Path(state_dir) / URL_FILE
    if not path.exists():
        return None
    url = path.read_text().strip()
    try:
        with psycopg.connect(url, connect_timeout=1):
            return url
    except psycopg.Error:
        return None


def postgres_for(settings_url: str | None, state_dir: Path, needed: bool = True):
    """Yield a PostgreSQL URL: the configured one, a running embedded one, or a new embedded one
    (None when not ``needed``)."""
    if not needed:
        return contextlib.nullcontext(settings_url)
    running = None if settings_url else running_embedded_url(state_dir)
    return server_for(settings_url, running, lambda: EmbeddedPostgres(state_dir))
