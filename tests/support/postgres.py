"""A throwaway real PostgreSQL server for the test session.

``PostgresServer`` runs ``initdb`` in a fresh temp directory and starts ``postgres`` on a free
loopback port (unix socket inside the temp directory, durability off for speed). Its ``url`` is a
SQLAlchemy URL, ``postgresql+psycopg://postgres@127.0.0.1:PORT/ecoo``; ``new_database()`` gives a
fresh, empty database per call (``CREATE DATABASE ... TEMPLATE template0``, or a template of yours).
The temp directory is on ``/dev/shm`` when it has room (see ``default_base_dir``).

Binaries: ``$ECOO_PG_BIN`` (a directory holding ``initdb`` and ``postgres``), else the newest
``/usr/lib/postgresql/*/bin``, else ``initdb`` on PATH.

Root: PostgreSQL refuses to run as root, so as root the temp directory is chowned to the
``postgres`` system user (``$ECOO_PG_USER`` to override) and ``initdb``/``postgres`` run as that
user (``subprocess`` ``user=``/``group=``/``extra_groups=[]``, applied before exec). Otherwise
everything runs as the current user.

No server is left behind:

* ``stop()`` sends SIGINT to the postmaster (what ``pg_ctl stop -m fast`` sends), waits, escalates
  to SIGQUIT (immediate) then SIGKILL, and removes the temp directory;
* a ``weakref.finalize`` (which also runs at interpreter exit) does the same if ``stop()`` is never
  called;
* if the test process dies without running Python cleanup (SIGKILL, SIGTERM, segfault) the
  postmaster gets SIGQUIT from the kernel (``PR_SET_PDEATHSIG``, set in the child after the user
  switch, since a uid change clears it) and its backends exit on postmaster death. The temp
  directory left behind in that case is removed by the next ``start()`` (``sweep_stale_dirs``).
"""

from __future__ import annotations

import ctypes
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

DIR_PREFIX = "ecoo-pg-"
OWNER_FILE = "ecoo-owner.pid"
SUPERUSER = "postgres"
DEFAULT_DATABASE = "ecoo"
SHM_MIN_FREE = 2 * 1024**3


class PostgresError(RuntimeError):
    """The throwaway PostgreSQL server could not be found, started or used."""


# -- binaries ---------------------------------------------------------------------------------


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name  # /usr/lib/postgresql/<version>/bin
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_pg_bin() -> Path:
    """The directory holding ``initdb`` and ``postgres``."""
    explicit = os.environ.get("ECOO_PG_BIN")
    if explicit:
        directory = Path(explicit)
        if not ((directory / "initdb").is_file() and (directory / "postgres").is_file()):
            raise PostgresError(f"ECOO_PG_BIN={explicit} holds no initdb and postgres")
        return directory
    candidates = [path for path in glob.glob("/usr/lib/postgresql/*/bin") if os.path.isfile(os.path.join(path, "initdb"))]
    if candidates:
        return Path(max(candidates, key=_version_key))
    initdb = shutil.which("initdb")
    if initdb and os.path.isfile(os.path.join(os.path.dirname(initdb), "postgres")):
        return Path(initdb).parent
    raise PostgresError(
        "PostgreSQL server binaries not found: `apt-get install postgresql` (Debian) "
        "or set ECOO_PG_BIN to the directory holding initdb and postgres"
    )


# -- small helpers ----------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://...`` (SQLAlchemy) -> ``postgresql://...`` (libpq/psycopg)."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        raise PostgresError(f"not a PostgreSQL URL: {url}")
    return f"postgresql://{rest}"


def with_database(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name`` (query string kept)."""
    base, _, query = url.partition("?")
    head, slash, _ = base.rpartition("/")
    if not slash or "://" not in head + "/":
        raise PostgresError(f"URL has no database part: {url}")
    return f"{head}/{name}" + (f"?{query}" if query else "")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Have Linux send SIGQUIT (immediate shutdown) to the postmaster when its parent dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGQUIT)  # PR_SET_PDEATHSIG; runs after the uid switch, which clears it
        if os.getppid() == 1:  # parent already gone between fork and prctl
            os._exit(1)


def _world_traversable(path: Path) -> bool:
    """Whether another user can reach ``path`` (every ancestor has o+x)."""
    for directory in [path, *path.parents]:
        if not os.stat(directory).st_mode & stat.S_IXOTH:
            return False
    return True


def default_base_dir() -> Path:
    """Where the temp directory goes: ``$ECOO_PG_TMPDIR``, else ``/dev/shm`` when it has room, else the
    system temp dir. A RAM-backed data directory makes CREATE DATABASE about 10x faster here (each
    fresh database is ~8 MB of files: drop them after use); Docker's default 64 MB /dev/shm is too
    small, hence the free-space check."""
    explicit = os.environ.get("ECOO_PG_TMPDIR")
    if explicit:
        return Path(explicit)
    shm = Path("/dev/shm")
    try:
        usage = shutil.disk_usage(shm)
    except OSError:
        usage = None
    if usage is not None and usage.free >= SHM_MIN_FREE and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return Path(tempfile.gettempdir())


def sweep_stale_dirs(base: Path) -> None:
    """Remove temp dirs of earlier sessions that were killed before they could clean up."""
    for directory in base.glob(f"{DIR_PREFIX}*"):
        try:
            owner = int((directory / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        try:
            postmaster = int((directory / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            postmaster = None
        if postmaster is not None and _pid_alive(postmaster):
            continue
        shutil.rmtree(directory, ignore_errors=True)


def create_database(server_url: str, name: str, *, template: str = "template0") -> str:
    """Create database ``name`` (a copy of ``template``) on the server of ``server_url``; its URL.

    ``template`` must have no open connections while this runs (PostgreSQL's rule).
    """
    with psycopg.connect(libpq_url(with_database(server_url, "postgres")), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(libpq_url(with_database(server_url, "postgres")), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _stop(process: subprocess.Popen[bytes] | None, directory: Path | None, timeout: float = 30.0) -> None:
    """Fast shutdown, then immediate, then kill; then remove ``directory``. Idempotent."""
    if process is not None and process.poll() is None:
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 10.0)):
            try:
                process.send_signal(sig)
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break
    if process is not None:
        process.poll()  # reap
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


# -- the server -------------------------------------------------------------------------------


class PostgresServer:
    """A PostgreSQL server in a temp directory. Context manager, or ``start()`` / ``stop()``."""

    def __init__(
        self,
        *,
        database: str = DEFAULT_DATABASE,
        bin_dir: Path | None = None,
        base_dir: Path | None = None,
        host: str = "127.0.0.1",
        settings: dict[str, str] | None = None,
    ) -> None:
        self.database = database
        self.bin_dir = bin_dir
        self.base_dir = base_dir
        self.host = host
        self.settings = settings or {}
        self.port: int | None = None
        self.directory: Path | None = None
        self.start_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes] | None, Path | None], None] | None = None
        self._count = 0
        self._user: pwd.struct_passwd | None = None

    # -- properties --

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the session database."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        if self.port is None:
            raise PostgresError("postgres is not started")
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{database}"

    @property
    def libpq_url(self) -> str:
        """The same URL for psycopg/libpq (``postgresql://...``)."""
        return libpq_url(self.url)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_file(self) -> Path | None:
        return self.directory / "postgres.log" if self.directory else None

    # -- lifecycle --

    def _run_as(self) -> dict[str, object]:
        """subprocess keyword arguments that drop root to the postgres user (nothing otherwise)."""
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    def _env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env["LC_ALL"] = "C"
        env.pop("LANGUAGE", None)
        if self._user is not None:
            env.update(HOME=str(self.directory), USER=self._user.pw_name, LOGNAME=self._user.pw_name)
        return env

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace") if self.log_file else ""
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _prepare_directory(self) -> None:
        if os.geteuid() == 0:
            name = os.environ.get("ECOO_PG_USER", "postgres")
            try:
                self._user = pwd.getpwnam(name)
            except KeyError as exc:
                raise PostgresError(
                    f"running as root and there is no `{name}` user to run PostgreSQL as "
                    "(PostgreSQL refuses root): create it or set ECOO_PG_USER"
                ) from exc
        base = (self.base_dir or default_base_dir()).resolve()
        if self._user is not None and not _world_traversable(base):
            base = Path("/tmp")
        sweep_stale_dirs(base)
        self.directory = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=base))
        (self.directory / OWNER_FILE).write_text(str(os.getpid()))
        (self.directory / "socket").mkdir()
        if self._user is not None:
            for path in (self.directory, self.directory / "socket"):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)

    def _initdb(self, bin_dir: Path) -> None:
        assert self.directory is not None
        command = [
            str(bin_dir / "initdb"),
            "--pgdata", str(self.directory / "data"),
            "--username", SUPERUSER,
            "--auth", "trust",
            "--encoding", "UTF8",
            "--locale", "C",
            "--no-sync",
            "--no-instructions",
        ]  # fmt: skip
        result = subprocess.run(
            command,
            cwd=self.directory,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
            **self._run_as(),  # type: ignore[arg-type]
        )
        if result.returncode != 0:
            raise PostgresError(f"initdb failed ({result.returncode}):\n{result.stdout.decode(errors='replace')}")

    def _spawn(self, bin_dir: Path, port: int) -> subprocess.Popen[bytes]:
        assert self.directory is not None and self.log_file is not None
        settings = {
            "listen_addresses": self.host,
            "port": str(port),
            "unix_socket_directories": str(self.directory / "socket"),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "timezone": "UTC",
            "log_timezone": "UTC",
            "max_connections": "200",
            **self.settings,
        }
        command = [str(bin_dir / "postgres"), "-D", str(self.directory / "data")]
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        with open(self.log_file, "ab") as log:
            return subprocess.Popen(
                command,
                cwd=self.directory,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                **self._run_as(),  # type: ignore[arg-type]
            )

    def _wait_ready(self, process: subprocess.Popen[bytes], port: int, timeout: float) -> bool:
        """True once a connection succeeds; False if the postmaster exited (e.g. port taken)."""
        deadline = time.monotonic() + timeout
        conninfo = f"postgresql://{SUPERUSER}@{self.host}:{port}/postgres?connect_timeout=2"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute("SELECT 1")
                return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise PostgresError(f"postgres did not accept connections within {timeout:.0f} s:\n{self._log_tail()}")

    def start(self, timeout: float = 30.0) -> PostgresServer:
        if self.running:
            return self
        began = time.monotonic()
        bin_dir = self.bin_dir or find_pg_bin()
        self._prepare_directory()
        try:
            self._initdb(bin_dir)
            for _attempt in range(5):  # the free port may be taken before postgres binds it
                port = free_port(self.host)
                process = self._spawn(bin_dir, port)
                self._process = process
                self._finalizer = weakref.finalize(self, _stop, process, self.directory)
                if self._wait_ready(process, port, timeout):
                    self.port = port
                    break
                self._finalizer.detach()
                self._process = None
            else:
                raise PostgresError(f"postgres exited while starting:\n{self._log_tail()}")
            create_database(self.url_for("postgres"), self.database)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Fast shutdown and remove the temp directory; idempotent."""
        if self._finalizer is not None and self._finalizer.alive:
            self._finalizer()  # runs _stop once
        else:
            _stop(self._process, self.directory)
        self._process = None
        self._finalizer = None
        self.directory = None
        self.port = None

    # -- databases --

    def new_database(self, prefix: str = "t", *, template: str = "template0") -> str:
        """A fresh database (copy of ``template``); its SQLAlchemy URL."""
        self._count += 1
        name = f"{prefix}_{self._count}_{uuid.uuid4().hex[:8]}"
        return create_database(self.url, name, template=template)

    def drop_database(self, name: str) -> None:
        drop_database(self.url, name)

    # -- context manager --

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None) -> None:
        self.stop()
