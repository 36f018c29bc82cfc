"""One managed node per data directory: an advisory lock on ``<data dir>/instance.lock``.

``ecoo node``, ``ecoo up`` and ``ecoo demo`` each run a node on the data directory's state file
and record it in ``node.json``; two at once would load the same state file into two nodes, delete
each other's record and overwrite the deployment record. The first takes the lock (``flock``: the
kernel releases it when the holder dies, so it never goes stale) and writes its pid and node URL
into the lock file; a second one reads them, says who runs, and exits before it changes anything.
The node inherits the lock: if the process that started it is killed, the node (told to stop by
the kernel, see ecoo.anvil) holds it until it has saved its state and exited, and a new start
waits for that, briefly, instead of refusing.

The lock file is never deleted: a process waiting on a deleted file could lock it while a third
one locks its replacement.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from types import TracebackType

from .errors import DataDirectoryInUseError

LOCK_FILE_NAME = "instance.lock"
#: How long a start waits for the node of a process that died to save its state and let go.
ORPHAN_WAIT_SECONDS = 15.0


def _holder(path: Path) -> tuple[str, int, str | None] | None:
    """The command, pid and node URL the lock file at ``path`` records, if it is readable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return str(record["command"]), int(record["pid"]), record.get("url")
    except (OSError, ValueError, KeyError, TypeError):
        return None


def describe_holder(path: Path) -> str:
    """Who holds the lock at ``path``, as its lock file says: command, pid and node URL."""
    holder = _holder(path)
    if holder is None:
        return "another ecoo process"
    command, pid, url = holder
    return f"{command} (pid {pid}, node {url or 'starting'})"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


class DataDirLock:
    """The data directory's lock, held by one process. Use as a context manager, or call
    :meth:`acquire` and :meth:`release`."""

    def __init__(self, data_dir: Path, command: str) -> None:
        self.data_dir = data_dir
        self.command = command
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.data_dir / LOCK_FILE_NAME

    @property
    def fileno(self) -> int:
        """The lock's open file: a child process that inherits it holds the lock until it exits."""
        if self._fd is None:
            raise RuntimeError("the data directory lock is not held")
        return self._fd

    def acquire(self, orphan_wait: float = ORPHAN_WAIT_SECONDS) -> DataDirLock:
        """Take the lock, or raise DataDirectoryInUseError naming the holder: at once while the
        recorded holder lives; after up to ``orphan_wait`` seconds if it is dead (its node is
        still saving its state)."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the data dir: owner-only
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + orphan_wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(self.path)
                if (holder is None or _alive(holder[1])) or time.monotonic() >= deadline:
                    os.close(fd)
                    raise DataDirectoryInUseError(str(self.data_dir), describe_holder(self.path)) from None
                time.sleep(0.1)
        self._fd = fd
        self.record(None)
        return self

    def record(self, url: str | None) -> None:
        """Write who holds the lock (this process, ``url``: its node once started) for a second one."""
        text = json.dumps({"command": self.command, "pid": os.getpid(), "url": url}).encode()
        os.pwrite(self.fileno, text, 0)  # then cut what is left of an older record: never empty
        os.ftruncate(self.fileno, len(text))

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
