"""The fault suite's world: a real Anvil of its own (state file, own port), a fresh registry, a
database (SQLite file or a fresh PostgreSQL database), one accredited chamber, and real service
processes on them (forked by ``service_process.py``), driven over HTTP.

:meth:`World.settle` waits (a bounded time) until nothing is PENDING and no intent is in flight;
``invariant.py`` then checks the invariant against the chain.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import requests
from flask import Flask
from web3 import Web3

from ecoo.anvil import ManagedAnvil, free_port
from ecoo.deploy import deploy_registry
from ecoo.examples import example_certificate
from ecoo.registry import Registry
from ecoo.service.app import create_app
from ecoo.service.chambers import create_chamber
from ecoo.service.config import ServiceSettings
from ecoo.service.store import Store
from ecoo.signers import unlocked_signer

ROOT = Path(__file__).resolve().parents[2]
CHAMBER = ("Department of Foreign Trade, Ministry of Commerce", "TH", "DFT-BKK")
#: How long a service may take to answer its health check after it was started.
START_TIMEOUT = 30.0
#: How long the worker passes may take to settle everything once the chain is back.
SETTLE_TIMEOUT = 45.0


class Zygote:
    """``service_process.py`` running: forks service processes on request."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.service_process"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lock = threading.Lock()

    def spawn(self, env: dict[str, str], port: int, log: Path) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        with self._lock:
            self.process.stdin.write(json.dumps({"env": env, "port": port, "log": str(log)}) + "\n")
            self.process.stdin.flush()
            answer = self.process.stdout.readline()
        if not answer.strip():
            raise RuntimeError(f"the service forker died (exit {self.process.poll()})")
        return int(answer)

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (``node_modules/.bin/anvil`` is a Node wrapper
    around the real node)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                children = [int(child) for child in handle.read().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every process under it, the deepest first: nothing gets to save state."""
    for victim in [*reversed(descendants(pid)), pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


@dataclass
class Response:
    """An HTTP answer, or none at all (``status`` 0: the connection broke, e.g. the process died)."""

    status: int
    body: Any = None

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class ServiceProcess:
    pid: int
    port: int
    log: Path
    fault: str | None
    token: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return alive(self.pid)

    def call(self, method: str, path: str, body: Any = None, *, auth: bool = True, timeout: float = 60.0) -> Response:
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        try:
            with requests.Session() as session:
                answer = session.request(method, self.url + path, json=body, headers=headers, timeout=timeout)
        except requests.RequestException:
            return Response(0)
        try:
            return Response(answer.status_code, answer.json())
        except ValueError:
            return Response(answer.status_code, answer.text)

    def kill(self) -> None:
        """SIGKILL, as ``kill -9`` does; returns once the process is gone."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.wait_dead(10.0)

    def wait_dead(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                return True
            time.sleep(0.05)
        return False

    def killed_by_fault(self) -> bool:
        """Whether the process wrote the fault hook's last words."""
        return "ecoo fault injection: SIGKILL at" in self.log.read_text(errors="replace")


class Client(Protocol):
    """A service the tests talk to: a real process (:class:`ServiceProcess`) or an app in this
    process (:class:`InProcessService`)."""

    def call(self, method: str, path: str, body: Any = None, *, auth: bool = True, timeout: float = 60.0) -> Response: ...


@dataclass
class InProcessService:
    """The service as a Flask app in the test process, its worker driven by hand (``anchor``), so
    that a test can inject a failure into one store call."""

    app: Flask
    token: str

    @property
    def objects(self) -> Any:
        return self.app.extensions["ecoo"]

    def call(self, method: str, path: str, body: Any = None, *, auth: bool = True, timeout: float = 60.0) -> Response:
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        answer = self.app.test_client().open(path, method=method, json=body, headers=headers)
        return Response(answer.status_code, answer.get_json(silent=True))

    def passes(self, count: int = 3) -> None:
        """``count`` worker passes (each follows the chain, sends, forms and anchors batches, follows)."""
        for _ in range(count):
            self.objects.worker.run_once(force=True)


@dataclass
class World:
    tmp: Path
    database_url: str
    zygote: Zygote
    kind: str  # "sqlite" or "postgres"
    anvil: ManagedAnvil = field(init=False)
    registry: Registry = field(init=False)
    env: dict[str, str] = field(init=False)
    token: str = field(init=False)
    chamber_id: int = field(init=False)
    address: str = field(init=False)
    services: list[ServiceProcess] = field(default_factory=list)
    apps: list[InProcessService] = field(default_factory=list)
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))  # thread-safe

    def __post_init__(self) -> None:
        self.anvil = ManagedAnvil(self.tmp / "chain" / "state.json", log_file=self.tmp / "anvil.log").start()
        w3 = Web3(Web3.HTTPProvider(self.anvil.url, request_kwargs={"timeout": 30}))
        deployment, _ = deploy_registry(w3, unlocked_signer(w3), deployments_dir=self.tmp / "deployments", reuse=False)
        self.registry = Registry(w3, deployment.address)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ECOO_RPC_URL": self.anvil.url,
            "ECOO_DEPLOYMENTS_DIR": str(self.tmp / "deployments"),
            "ECOO_DATA_DIR": str(self.tmp / "data"),
            "ECOO_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "ECOO_WORKER": "1",
            "ECOO_BATCH_WINDOW": "0",
            "ECOO_RECEIPT_TIMEOUT": "10",
            "DATABASE_URL": self.database_url,
        }
        created = create_chamber(self.settings(worker=False), *CHAMBER, dev=True)
        self.token, self.chamber_id, self.address = created["token"], created["chamber"], created["address"]

    def settings(self, **overrides: Any) -> ServiceSettings:
        return ServiceSettings.from_env(self.env, **overrides)

    # -- services --------------------------------------------------------------------------------

    def start(self, fault: str | None = None, *, wait: bool = True, **extra_env: str) -> ServiceProcess:
        """A new service process on this world (armed to die at ``fault``); waits for its health."""
        env = dict(self.env, **extra_env)
        if fault:
            env["ECOO_FAULT_AT"] = fault
        port = free_port()
        log = self.tmp / f"service-{len(self.services)}.log"
        pid = self.zygote.spawn(env, port, log)
        service = ServiceProcess(pid, port, log, fault, self.token)
        self.services.append(service)
        if wait:
            deadline = time.monotonic() + START_TIMEOUT
            while service.call("GET", "/api/v1/health", auth=False, timeout=2).status != 200:
                if not service.alive:
                    raise AssertionError(f"service died while starting:\n{log.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"service did not answer within {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")
                time.sleep(0.05)
        return service

    def in_process(self, **overrides: Any) -> InProcessService:
        """The service in this process, worker not started (``passes`` drives it)."""
        app = create_app(self.settings(worker=False, **overrides))
        app.config["TESTING"] = True
        service = InProcessService(app, self.token)
        self.apps.append(service)
        return service

    def close(self) -> None:
        for service in self.services:
            service.kill()
        for app in self.apps:
            app.objects.store.close()
        self.anvil.stop()

    # -- requests --------------------------------------------------------------------------------

    def certificate(self) -> dict[str, Any]:
        co = example_certificate("RCEP", issued_on=datetime.now(UTC).date())
        co["certificateNumber"] = f"TH-RCEP-2026-{next(self.numbers):07d}-{secrets.token_hex(2)}"
        return co

    def create(self, service: Client, count: int = 1) -> list[int]:
        """Post ``count`` certificates in one request; their ids (the request must be accepted)."""
        answer = service.call("POST", "/api/v1/certificates/batch", {"certificates": [self.certificate() for _ in range(count)]})
        assert answer.status == 202, answer
        return [int(c["id"]) for c in answer.body["certificates"]]

    def certificates(self, service: Client) -> dict[int, dict[str, Any]]:
        """Every certificate of the chamber as the API shows it, by id."""
        found: dict[int, dict[str, Any]] = {}
        after = ""
        while True:
            answer = service.call("GET", f"/api/v1/certificates?limit=500{after}")
            assert answer.status == 200, answer
            found.update({int(c["id"]): c for c in answer.body["certificates"]})
            if answer.body["next"] is None:
                return found
            after = f"&after={answer.body['next']}"

    def wait_status(self, service: Client, ids: list[int], status: str, timeout: float = SETTLE_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            seen = self.certificates(service)
            if all(seen[i]["status"] == status and seen[i]["intent"] is None for i in ids):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not all {status} after {timeout} s: {[(i, seen[i]['status']) for i in ids]}")
            time.sleep(0.1)

    def settle(self, service: ServiceProcess, timeout: float = SETTLE_TIMEOUT) -> float:
        """Wait until no certificate is PENDING, no intent is in flight and the service's follower
        has read the chain up to its head (after a chain that lost blocks, not beyond it); returns
        the seconds it took."""
        started = time.monotonic()
        while True:
            health = service.call("GET", "/api/v1/health", auth=False)
            seen = self.certificates(service)
            pending = [i for i, c in seen.items() if c["status"] == "PENDING"]
            in_flight = health.body["projection"]["intentsInFlight"] if health.status == 200 else -1
            if not pending and in_flight == 0 and health.status == 200 and caught_up(health.body):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(
                    f"not settled after {timeout} s: PENDING {pending}, intents in flight {in_flight}, "
                    f"health {health.body}\n{service.log.read_text(errors='replace')[-4000:]}"
                )
            time.sleep(0.2)

    def store(self) -> Store:
        """The world's database, opened by the test itself (to read what the API does not show)."""
        return Store(self.database_url)


def caught_up(health: dict[str, Any]) -> bool:
    """Whether the follower of the service whose health this is has read every confirmed block."""
    chain, projection = health["chain"], health["projection"]
    if not chain.get("reachable") or projection["followedBlock"] is None:
        return False
    return bool(projection["followedBlock"] == chain["block"] - projection["confirmations"] + 1)


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{(tmp / 'data' / 'ecoo.db').as_posix()}"
