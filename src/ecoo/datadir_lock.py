"""One managed node per data directory: an advisory lock on ``<data dir>/instance.lock``.

``ecoo node``, ``ecoo up`` and ``ecoo demo`` each run a node on the data directory's state file
and record it in ``node.json``; two at once would load the same state file into two nodes, delete
each other's record and overwrite the deployment record. The first takes the lock (``flock``: the
kernel releases it when the holder dies, so it never goes stale) and writes its pid and node URL
into the lock file; a second one reads them, says who runs, and exits before it changes anything.

The lock file is never deleted: a process waiting on a deleted file could lock it while a third
one locks its replacement.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from types import TracebackType

from .errors import DataDirectoryInUseError

LOCK_FILE_NAME = "instance.lock"


def describe_holder(path: Path) -> str:
    """Who holds the lock at ``path``, as its lock file says: command, pid and node URL."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        command, pid, url = str(record["command"]), int(record["pid"]), record.get("url")
    except (OSError, ValueError, KeyError, TypeError):
        return "another ecoo process"
    return f"{command} (pid {pid}, node {url or 'starting'})"


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

    def acquire(self) -> DataDirLock:
        """Take the lock at once, or raise DataDirectoryInUseError naming the holder."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the data dir: owner-only
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirectoryInUseError(str(self.data_dir), describe_holder(self.path)) from None
        self._fd = fd
        self.record(None)
        return self

    def record(self, url: str | None) -> None:
        """Write who holds the lock (this process, ``url``: its node once started) for a second one."""
        text = json.dumps({"command": self.command, "pid": os.getpid(), "url": url}).encode()
        os.ftruncate(self.fileno, 0)
        os.pwrite(self.fileno, text, 0)

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
