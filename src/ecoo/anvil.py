"""A managed Anvil node: started on a free loopback port, its chain state kept in a file.

The state file is written every ``state_interval`` seconds and on a clean stop, so a restart
finds every anchored certificate again (a crash loses at most the last interval).

:func:`start_node` and :func:`stop_node` are the bookkeeping of the node the ``ecoo node``, ``up``
and ``demo`` commands run: its URL is recorded in ``<data dir>/node.json`` while it runs, which is
where the other commands find it (:meth:`ecoo.settings.Settings.resolve_rpc_url`).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
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

from .errors import AnvilError, ConfigurationError

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger(__name__)

ANVIL_CHAIN_ID = 31337
DEFAULT_PORT = 8545
#: The chain state of the commands' node, in the data directory.
STATE_FILE_NAME = "anvil-state.json"


def find_anvil() -> str:
    """``$ECOO_ANVIL``, else ``node_modules/.bin/anvil`` of the project (or the working directory),
    else ``anvil`` on PATH."""
    explicit = os.environ.get("ECOO_ANVIL")
    if explicit:
        return explicit
    bases = [Path.cwd(), *Path(__file__).resolve().parents]
    for base in bases:
        candidate = base / "node_modules" / ".bin" / "anvil"
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
    """Whether nothing listens on ``port`` (so that a node can bind it)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


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
    ) -> None:
        self.state_file = state_file
        self.host = host
        self.port = port
        self.binary = binary
        self.chain_id = chain_id
        self.state_interval = state_interval
        self.log_file = log_file
        self.extra_args = extra_args
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
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent
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

    def __enter__(self) -> ManagedAnvil:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def start_node(
    settings: Settings, state_file: Path | None = None, *, port: int | None = None, fresh: bool = False
) -> ManagedAnvil:
    """Start the commands' managed Anvil and record its URL in ``settings.node_file``.

    ``state_file`` defaults to ``<data dir>/anvil-state.json`` (``fresh`` deletes it first: a new,
    empty chain); ``port`` to 8545 when nothing uses it (the port every tool expects), else any
    free port. The node logs to ``<data dir>/anvil.log``."""
    state = state_file or settings.data_dir / STATE_FILE_NAME
    if fresh and state.exists():
        state.unlink()
    if port is None:
        default_free = rpc_answers(f"http://127.0.0.1:{DEFAULT_PORT}", 0.3) is None and port_free(DEFAULT_PORT)
        port = DEFAULT_PORT if default_free else free_port()
    node = ManagedAnvil(state, port=port, log_file=settings.data_dir / "anvil.log").start()
    settings.node_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the data dir: owner-only
    settings.node_file.write_text(json.dumps({"url": node.url, "pid": os.getpid()}), encoding="utf-8")
    return node


def stop_node(settings: Settings, node: ManagedAnvil) -> None:
    """Stop a node :func:`start_node` started (it saves its state) and remove its record."""
    node.stop()
    settings.node_file.unlink(missing_ok=True)


@contextmanager
def running_node(
    settings: Settings, state_file: Path | None = None, *, port: int | None = None, fresh: bool = False
) -> Iterator[ManagedAnvil]:
    """:func:`start_node` on entry, :func:`stop_node` on exit, whatever ends the block."""
    node = start_node(settings, state_file, port=port, fresh=fresh)
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
