"""A managed Anvil node: started on a free loopback port, its chain state kept in a file.

The state file is written every ``state_interval`` seconds and on a clean stop, so a restart
finds every anchored certificate again (a crash loses at most the last interval). Before each start
the stale genesis blocks Anvil leaves in it are removed (:mod:`ecoo.anvil_state`), so that block 0,
and with it the registry deployment recorded for the chain, stays the same for any number of
restarts.

:func:`start_node` and :func:`stop_node` are the bookkeeping of the node the ``ecoo node``, ``up``
and ``demo`` commands run: its URL is recorded in ``<data dir>/node.json`` while it runs, which is
where the other commands find it (:meth:`ecoo.settings.Settings.resolve_rpc_url`). They run one
at a time per data directory (:mod:`ecoo.datadir_lock`), and on port 8545 unless told otherwise:
a restart waits for the port rather than moving to another, because ``ecoo serve`` and other
tools look for the node there.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING

from .anvil_state import prune_stale_genesis
from .datadir_lock import DataDirLock
from .errors import AnvilError, ConfigurationError

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger(__name__)

ANVIL_CHAIN_ID = 31337
DEFAULT_PORT = 8545
#: The chain state of the commands' node, in the data directory.
STATE_FILE_NAME = "anvil-state.json"
#: How long a node start waits for its port to be released (by a node that is still stopping).
PORT_WAIT_SECONDS = 15.0


#: npm's name for this machine's platform and architecture, as @foundry-rs/anvil names its packages.
_NPM_PLATFORM = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
_NPM_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
    platform.machine().lower(), platform.machine().lower()
)


def find_anvil() -> str:
    """``$ECOO_ANVIL``, else the Anvil binary npm installed for the project (or the working
    directory), else ``anvil`` on PATH.

    npm's ``node_modules/.bin/anvil`` is a Node.js wrapper that forwards SIGTERM to the real binary
    and exits at once, while Anvil is still saving its state and holding its port: a node stopped
    through it is not stopped yet. So the binary of the platform package the wrapper would run,
    ``@foundry-rs/anvil-<os>-<arch>/bin/anvil``, is preferred; the wrapper only if it is missing."""
    explicit = os.environ.get("ECOO_ANVIL")
    if explicit:
        return explicit
    bases = [Path.cwd(), *Path(__file__).resolve().parents]
    for base in bases:
        modules = base / "node_modules"
        binary = modules / "@foundry-rs" / f"anvil-{_NPM_PLATFORM}-{_NPM_ARCH}" / "bin" / "anvil"
        for candidate in (binary, modules / ".bin" / "anvil"):
            if candidate.is_file():
                return str(candidate)
    found = shutil.which("anvil")
    if found:
        return found
    raise ConfigurationError(
        "anvil not found: run `npm ci` in the ecoo checkout (it installs @foundry-rs/anvil) or set ECOO_ANVIL"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``port`` (so that a node can bind it).

    Probed with SO_REUSEADDR, as Anvil binds: connections of a node that just stopped linger in
    TIME_WAIT for a minute, which keeps a plain bind out but not the node's."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = PORT_WAIT_SECONDS) -> None:
    """Return once ``port`` is free; AnvilError if it is still in use after ``timeout`` seconds.

    A node stopped a moment ago (by a restart, or by the death of the process that ran it) may
    still be saving its state and holding the port; a new one must neither start beside it on the
    same state file nor drift to another port."""
    deadline = time.monotonic() + timeout
    while not (port_free(port, host) and rpc_answers(f"http://{host}:{port}", 0.3) is None):
        if time.monotonic() >= deadline:
            chain_id = rpc_answers(f"http://{host}:{port}", 0.3)
            user = f"a node of chain {chain_id} answers there" if chain_id is not None else "another program listens there"
            raise AnvilError(f"port {port} is still in use after {timeout:.0f} s ({user}); stop it, or pick another port")
        time.sleep(0.1)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the node when the process that started it dies, so none is orphaned."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def rpc_answers(url: str, timeout: float = 1.0) -> int | None:
    """The chain id the node at ``url`` reports, or None if nothing answers."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(json.loads(response.read())["result"], 16)
    except (OSError, ValueError, KeyError, urllib.error.URLError):
        return None


class ManagedAnvil:
    """An Anvil child process. Use as a context manager, or call :meth:`start` and :meth:`stop`."""

    def __init__(
        self,
        state_file: Path | None = None,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        binary: str | None = None,
        chain_id: int = ANVIL_CHAIN_ID,
        state_interval: int = 1,
        log_file: Path | None = None,
        extra_args: tuple[str, ...] = (),
        inherit_fds: tuple[int, ...] = (),
    ) -> None:
        self.state_file = state_file
        self.host = host
        self.port = port
        self.binary = binary
        self.chain_id = chain_id
        self.state_interval = state_interval
        self.log_file = log_file
        self.extra_args = extra_args
        # Open files the node keeps while it runs (the data directory's lock: held until the node
        # has saved its state and exited, even if the process that started it dies first).
        self.inherit_fds = inherit_fds
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise AnvilError("anvil is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        args = [self.binary or find_anvil(), "--host", self.host, "--port", str(self.port), "--chain-id", str(self.chain_id)]
        if self.state_file is not None:
            self.state_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the data dir: owner-only
            args += ["--state", str(self.state_file), "--state-interval", str(self.state_interval)]
        return args + list(self.extra_args)

    def start(self, timeout: float = 30.0) -> ManagedAnvil:
        if self.running:
            return self
        if self.port is not None:
            if rpc_answers(f"http://{self.host}:{self.port}") is not None:
                raise AnvilError(f"port {self.port} already serves a node; stop it or pick another port")
            return self._start_once(timeout)
        # A free port can be taken by another process between our check and Anvil's bind: retry.
        for attempt in range(3):
            self.port = free_port(self.host)
            try:
                return self._start_once(timeout)
            except AnvilError:
                self.port = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> ManagedAnvil:
        command = self.command()
        if self.state_file is not None:
            prune_stale_genesis(self.state_file)
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
                pass_fds=self.inherit_fds,
            )
        except OSError as exc:
            raise AnvilError(f"cannot run {command[0]}: {exc}") from exc
        finally:
            if self.log_file:
                output.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                where = f"; see {self.log_file}" if self.log_file else ""
                raise AnvilError(f"anvil exited with code {self._process.returncode} while starting{where}")
            if rpc_answers(self.url, timeout=0.5) == self.chain_id:
                log.info("anvil %s serving %s", self._process.pid, self.url)
                return self
            time.sleep(0.05)
        self.stop()
        raise AnvilError(f"anvil did not answer at {self.url} within {timeout:.0f} s")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop cleanly (SIGTERM: Anvil writes its state file), killing it only if it hangs."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("anvil %s did not stop in %.0f s; killing it (state since the last dump is lost)", process.pid, timeout)
            process.kill()
            process.wait()
        # A wrapper (ECOO_ANVIL, or npm's) may exit before the node it runs: stopped means the
        # port is free again, so that a restart finds it so.
        if self.port is not None:
            with contextlib.suppress(AnvilError):
                wait_for_port(self.port, self.host, timeout)

    def __enter__(self) -> ManagedAnvil:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def start_node(
    settings: Settings,
    state_file: Path | None = None,
    *,
    port: int | None = None,
    fresh: bool = False,
    lock: DataDirLock,
    port_wait: float = PORT_WAIT_SECONDS,
) -> ManagedAnvil:
    """Start the commands' managed Anvil and record its URL in ``settings.node_file`` and in the
    data directory's ``lock`` (held by the caller; the node holds it too, until it exits).

    ``state_file`` defaults to ``<data dir>/anvil-state.json`` (``fresh`` deletes it first: a new,
    empty chain); ``port`` to 8545, the port every tool expects. A port still in use, by a node
    that is stopping, is waited for up to ``port_wait`` seconds, then an AnvilError. The node logs
    to ``<data dir>/anvil.log``."""
    state = state_file or settings.data_dir / STATE_FILE_NAME
    port = DEFAULT_PORT if port is None else port
    wait_for_port(port, timeout=port_wait)
    if fresh and state.exists():
        state.unlink()
    node = ManagedAnvil(state, port=port, log_file=settings.data_dir / "anvil.log", inherit_fds=(lock.fileno,)).start()
    settings.node_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the data dir: owner-only
    settings.node_file.write_text(json.dumps({"url": node.url, "pid": os.getpid()}), encoding="utf-8")
    lock.record(node.url)
    return node


def stop_node(settings: Settings, node: ManagedAnvil) -> None:
    """Stop a node :func:`start_node` started (it saves its state) and remove its record."""
    node.stop()
    settings.node_file.unlink(missing_ok=True)


@contextmanager
def running_node(
    settings: Settings,
    state_file: Path | None = None,
    *,
    port: int | None = None,
    fresh: bool = False,
    lock: DataDirLock | None = None,
    command: str = "ecoo node",
) -> Iterator[ManagedAnvil]:
    """:func:`start_node` on entry, :func:`stop_node` on exit, whatever ends the block. Without a
    ``lock`` held by the caller, the data directory's lock is taken (as ``command``) for the block:
    DataDirectoryInUseError, before anything changes, if another process holds it."""
    with contextlib.ExitStack() as stack:
        if lock is None:
            lock = stack.enter_context(DataDirLock(settings.data_dir, command))
        node = start_node(settings, state_file, port=port, fresh=fresh, lock=lock)
        try:
            yield node
        finally:
            stop_node(settings, node)


def sigterm_as_interrupt() -> None:
    """Treat SIGTERM like Ctrl-C from now on, so that ``finally`` blocks stop a node cleanly (it
    saves its state) when a service manager or a test stops the process."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def wait_until_stopped(node: ManagedAnvil) -> None:
    """Block until Ctrl-C or SIGTERM (see :func:`sigterm_as_interrupt`), or until the node dies."""
    sys.stdout.flush()
    try:
        while node.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
