"""Real service processes for the fault suite, forked from one process that imported the web stack.

Importing Flask, web3 and the service takes seconds on a small machine; a scenario that kills
the service at each step restarts it many times. So the suite starts this module once
(``python -m tests.faults.service_process``); it imports everything, then reads one JSON line per
service to start on stdin (``{"env": {...}, "port": N, "log": "path"}``), forks, and answers the
child's pid. Each child is a complete, independent service process — what ``ecoo serve`` runs
(``create_app`` and the threaded development server, the anchoring worker on) — with its own
environment, stdout and stderr going to ``log``. The test kills it with SIGKILL, or it kills itself
at an ``ECOO_FAULT_AT`` step (``ecoo.service.faults``).

Two settings have no environment variable yet and are overridden here for the children:
``lease_seconds`` (``FAULTS_LEASE_SECONDS``, default 1.5: a killed process's lease must not block its
successor for a minute) and ``max_backoff`` (``FAULTS_MAX_BACKOFF``, default 1: a chain that comes
back is used within a second). A crashed sender's claim on an intent expires after the lease too.

Children die with this process (``PR_SET_PDEATHSIG``), and this process ends when its stdin closes.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import sys
from typing import Any

#: Imported before any fork, so that each child starts at once.
from ecoo.service.app import create_app
from ecoo.service.config import ServiceSettings


def run_service(request: dict[str, Any]) -> None:
    """In the forked child: become the service that ``request`` describes (never returns)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no service outlives the suite
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.environ.clear()
    os.environ.update(request["env"])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(threadName)s %(name)s: %(message)s")
    settings = ServiceSettings.from_env(
        os.environ,
        lease_seconds=float(os.environ.get("FAULTS_LEASE_SECONDS", "1.5")),
        max_backoff=float(os.environ.get("FAULTS_MAX_BACKOFF", "1")),
    )
    app = create_app(settings)
    print(f"service {os.getpid()} on port {request['port']}, fault: {os.environ.get('ECOO_FAULT_AT') or 'none'}", flush=True)
    app.run(host="127.0.0.1", port=int(request["port"]), threaded=True, use_reloader=False)


def main() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                run_service(request)
            finally:
                os._exit(1)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
