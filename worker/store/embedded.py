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

from ..service.embedded import EmbeddedServer, PortTaken, die_with_parent, free_port, logged_since, server_for

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
        self.port_chosen = port is None
        self.process: subprocess.Popen[bytes] | None = None
        self.account = _run_as()
        self.home = self.state_dir / "postgres"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.account is not None and not _reachable_by_others(self.home):
            # The server's account cannot reach the state folder (it is 0700, as it holds the
            # Redis password and AOF): keep the data in a folder of its own under /var/lib (we
            # are root; it survives reboots, unlike /tmp) rather than open the state folder up.
            self.home = system_home(self.state_dir)
            log.warning("%s is not reachable by %s; PostgreSQL data goes to %s", self.state_dir, SYSTEM_USER, self.home)
        self.data = self.home / "data"

    @property
    def password(self) -> str:
        """Kept in the state folder (0600). Data kept outside it (as root, under /var/lib) keeps a
        copy beside it, readable by root alone: removing the state folder (`make clean`) must not
        leave a server whose password is lost, which would refuse every later start."""
        path = self.state_dir / "postgres.password"
        kept = self.home / "password" if self.home.parent == SYSTEM_DATA else None
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            known = kept is not None and kept.exists() and (self.data / "PG_VERSION").exists()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(kept.read_text().strip() if known else secrets.token_urlsafe(24))
        password = path.read_text().strip()
        if kept is not None and not kept.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(password)
        return password

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
        return self._on_a_free_port(lambda: self._start(timeout))

    def _port_taken(self, logged: int) -> bool:
        """Our server exited for want of its port (then whatever answered there was another's)."""
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(2)  # a server that cannot bind exits at once
            if self.process.poll() is None:
                return False
        return b"Address already in use" in logged_since(self.home / "postgres.log", logged)

    def _start(self, timeout: float) -> str:
        import psycopg

        self._init()
        logged = (self.home / "postgres.log").stat().st_size if (self.home / "postgres.log").exists() else 0
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
                if self._port_taken(logged):
                    self.process = None
                    raise PortTaken(f"postgres could not bind 127.0.0.1:{self.port}: another process has it")
                raise RuntimeError(f"postgres exited at start; see {self.home / 'postgres.log'}")
            try:
                with psycopg.connect(admin, connect_timeout=2, autocommit=True) as conn:
                    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
                        conn.execute(f"CREATE DATABASE {DATABASE}")
                break
            except psycopg.OperationalError as exc:
                if "password authentication failed" in str(exc):
                    if self._port_taken(logged):  # another server answered on the port we chose
                        self.process = None
                        raise PortTaken(f"postgres could not bind 127.0.0.1:{self.port}: another process has it") from None
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


def system_home(state_dir: Path) -> Path:
    """Where the store of ``state_dir`` keeps its data when the server's account cannot reach it."""
    return SYSTEM_DATA / hashlib.sha256(str(Path(state_dir).resolve()).encode()).hexdigest()[:12]


STORE_FILES = {"data", "postgres.log", "password", "pwfile"}  # all a store's folder holds (see _init)


def store_folders(state_dir: Path) -> list[Path]:
    """The folders holding the store of ``state_dir`` (inside it, or as root under SYSTEM_DATA).

    Nothing else: each is a fixed name in ``state_dir`` or SYSTEM_DATA. Refuses (ValueError) what
    must not be deleted: a symbolic link (never followed: it could point anywhere, and a store
    never makes one), what is not a folder holding only files a store writes, a running store."""
    state_dir = Path(state_dir).resolve()
    found = []
    for folder in (state_dir / "postgres", system_home(state_dir)):
        if folder.is_symlink():
            raise ValueError(f"{folder} is a symbolic link: not deleting it or what it points to")
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise ValueError(f"{folder} is not a store's folder: not deleting it")
        if foreign := sorted(set(os.listdir(folder)) - STORE_FILES):
            raise ValueError(f"{folder} holds what no store writes ({', '.join(foreign[:3])}): not deleting it")
        if (pid := _running_pid(folder / "data")) is not None:
            raise ValueError(f"the store in {folder} is running (PostgreSQL pid {pid}): stop it first")
        found.append(folder)
    return found


def _running_pid(data: Path) -> int | None:
    """The pid of a PostgreSQL serving ``data``, from its postmaster.pid (None once it stopped)."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    comm = Path(f"/proc/{pid}/comm")
    try:
        return pid if comm.read_text().strip() == "postgres" else None
    except OSError:
        return None


def remove_store(state_dir: Path) -> list[Path]:
    """Delete for good the store of ``state_dir``: its data (as root kept under SYSTEM_DATA, where
    it outlives the state folder), its password and its URL file; the folders and files deleted.

    For a test's or a bench's throw-away store once it stopped, and `ingest delete-store`.
    Everything is checked before anything is deleted: a running server, a symbolic link, or a
    folder that is not a store's is refused (see ``store_folders``)."""
    state_dir = Path(state_dir).resolve()
    removed = []
    for folder in store_folders(state_dir):
        shutil.rmtree(folder)  # refuses a symlink; removes links inside it, never what they point to
        removed.append(folder)
    for name in ("postgres.password", URL_FILE):
        path = state_dir / name
        if path.is_symlink() or path.is_file():
            path.unlink()
            removed.append(path)
    return removed


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
