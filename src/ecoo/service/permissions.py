"""Files only their owner may read: the data directory (0700), the database and key files (0600).

They hold certificate data and the master key, so they are created with those modes (``mkdir``
and ``os.open`` with the mode, never a ``chmod`` after a window in which others could open them),
and files an older version left readable are tightened when the service starts, with a log line.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_directory(path: Path) -> Path:
    """Create ``path`` (and missing parents) owner-only; an existing one is tightened."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return tighten(path, PRIVATE_DIR)


def private_file(path: Path) -> Path:
    """Create ``path`` empty and owner-only unless it exists; an existing one is tightened."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        tighten(path, PRIVATE_FILE)
    return path


def tighten(path: Path, mode: int) -> Path:
    """Take from ``path`` every permission beyond ``mode`` (a missing path is left alone)."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return path
    if current & ~mode:
        try:
            path.chmod(current & mode)
        except OSError as exc:  # not ours (a mounted secret, say): say so, do not stop the service
            log.warning("%s is readable by others (mode %o) and cannot be tightened: %s", path, current, exc)
        else:
            log.warning("tightened the permissions of %s from %o to %o: it holds private data", path, current, current & mode)
    return path
