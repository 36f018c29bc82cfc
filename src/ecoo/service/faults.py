"""A test seam for the fault-injection suite (tests/faults): kill this process at a named step.

Off unless the environment variable ``ECOO_FAULT_AT`` is set; nothing else changes behaviour. It
names one step, optionally with a detail the step reports::

    ECOO_FAULT_AT=anchor.before_send                     every time the worker is about to anchor
    ECOO_FAULT_AT=intent.after_send:SUSPEND              only after a suspend's transaction went out
    ECOO_FAULT_AT=follow.before_commit:BatchAnchored     only when the follower records an anchor

When the running step matches, the process sends itself SIGKILL (no cleanup, no flush, no
rollback other than the database's own), as a power cut or the kernel's OOM killer would. The
steps: ``anchor.before_send``, ``anchor.after_send`` (the hash is stored, the receipt is not
awaited), ``intent.before_send``, ``intent.after_send`` (details: the intent's kind),
``follow.before_commit`` (details: the names of the events being recorded; inside the
follower's transaction, before it commits).

The variable is read once, on the first step reached (so that a process forked from one that
imported this module still reads its own environment).
"""

from __future__ import annotations

import functools
import os
import signal
import sys

#: The environment variable naming the step to die at.
FAULT_ENV = "ECOO_FAULT_AT"


@functools.cache
def armed_fault() -> tuple[str, str]:
    """(step, detail) that ``ECOO_FAULT_AT`` arms; ("", "") when it is unset."""
    step, _, detail = os.environ.get(FAULT_ENV, "").strip().partition(":")
    return step, detail


def fault_point(name: str, *details: str) -> None:
    """Die here (SIGKILL) if ``ECOO_FAULT_AT`` names this step (and, if it gives one, a detail
    among ``details``); otherwise do nothing."""
    step, detail = armed_fault()
    if step != name or (detail and detail not in details):
        return
    sys.stderr.write(f"ecoo fault injection: SIGKILL at {name} {' '.join(details)}\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
