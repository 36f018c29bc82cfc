"""Scenario 4: two service processes at once on the same database and chain, both with their
workers. Certificates and status changes arrive through both at the same time; the chamber's
lease keeps one key's transactions in one process at a time, and the follower's lease keeps one
follower per registry. No root is anchored twice, every certificate is in exactly one anchored
batch, and both processes show the chain's status."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from ecoo.merkle import MerkleTree
from ecoo.service.store.schema import chain_cursor

from .harness import InProcessService, ServiceProcess, World
from .invariant import check_invariant

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

LEASE = {"FAULTS_LEASE_SECONDS": "10"}  # longer than any pass: a lease that expires mid-pass is a misconfiguration


def in_parallel(*jobs: Callable[[], None]) -> None:
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def test_two_service_processes_share_one_database_and_chain(world: World) -> None:
    a, b = world.start(**LEASE), world.start(**LEASE)
    ids: dict[str, list[int]] = {"a": [], "b": []}

    def issue(name: str, service: ServiceProcess) -> Callable[[], None]:
        def job() -> None:
            for _ in range(15):
                answer = service.call("POST", "/api/v1/certificates", world.certificate())
                assert answer.status == 202, answer
                ids[name].append(int(answer.body["id"]))

        return job

    in_parallel(issue("a", a), issue("b", b))
    everything = ids["a"] + ids["b"]
    assert len(set(everything)) == 30
    world.wait_status(a, everything, "ISSUED")
    expected = dict.fromkeys(everything, "ISSUED")
    unexpected: list[str] = []

    def changes(service: ServiceProcess, plan: list[tuple[int, str, dict[str, str] | None, str]]) -> Callable[[], None]:
        def job() -> None:
            for cid, action, body, status in plan:
                answer = service.call("POST", f"/api/v1/certificates/{cid}/{action}", body)
                if answer.status not in (200, 202, 409):  # 409: the other process's change came first
                    unexpected.append(f"{action} {cid} through {service.url}: {answer}")
                    expected.pop(cid, None)  # an error answer says nothing of what happened
                if answer.accepted:
                    expected[cid] = status

        return job

    x, y = ids["a"], ids["b"]
    in_parallel(
        changes(
            a,
            [(c, "suspend", {"reason": "enquiry"}, "SUSPENDED") for c in x[:4]]
            + [(c, "revoke", {"reason": "fraud"}, "REVOKED") for c in y[:3]],
        ),
        changes(
            b,
            [(c, "revoke", {"reason": "error"}, "REVOKED") for c in x[4:7]] + [(c, "suspend", None, "SUSPENDED") for c in y[3:6]],
        ),
    )
    world.settle(a)
    # Each process changes what the other one did.
    in_parallel(
        changes(a, [(y[3], "lift", None, "ISSUED"), (y[4], "revoke", {"reason": "cancelled"}, "CANCELLED")]),
        changes(b, [(x[0], "lift", None, "ISSUED"), (x[1], "revoke", {"reason": "fraud"}, "REVOKED")]),
    )
    world.settle(b)
    report = check_invariant(world, a, expected)
    assert report.statuses["ISSUED"] >= 18 and report.certificates == 30
    # Both processes show the same statuses.
    assert {i: c["status"] for i, c in world.certificates(a).items()} == {
        i: c["status"] for i, c in world.certificates(b).items()
    }
    check_invariant(world, b, expected)
    # A change the chain made must not be answered 500 (see test_one_process_follows_from_two_threads_at_once).
    assert not unexpected, unexpected


def test_one_process_follows_from_two_threads_at_once(world: World) -> None:
    """The request path (``Issuance._settle``) and the worker share one ChainFollower, whose lease
    treats its own owner as a renewal: two threads of one process follow at once. Both read the
    same cursor, both insert the same event; on PostgreSQL the second insert violates
    uq_chain_events_log and the request that made a change on chain answers 500 (seen in
    test_two_service_processes_share_one_database_and_chain). Here the two threads are made to
    read the chain at the same moment, so the race is certain."""
    service = world.in_process()
    ids = world.create(service, 2)
    follower = service.objects.follower
    follower.run_once()  # the cursor exists (its creation races too: see the next test)
    registry = service.objects.chain.registry()
    together = threading.Barrier(2, timeout=2)  # broken (and no race) when the follower serialises its passes
    read = registry.events

    def events_read_together(start: int, end: int) -> Any:
        found = read(start, end)
        if found:
            with contextlib.suppress(threading.BrokenBarrierError):
                together.wait()
        return found

    registry.events = events_read_together  # type: ignore[method-assign]
    try:
        service.objects.store.create_batch(
            world.chamber_id, service.objects.store.chamber(world.chamber_id).key_id, root_of(service, ids), ids
        )
        batch = service.objects.store.batch_repository.unanchored(world.chamber_id)[0]
        key = service.objects.store.key(batch.key_id)
        registry.anchor(service.objects.vault.signer(key.ciphertext, key.chamber_id), batch.root_bytes)
        in_parallel(follower.run_once, follower.run_once)
    finally:
        del registry.events
    check_invariant(world, service, dict.fromkeys(ids, "ISSUED"))


def root_of(service: InProcessService, ids: list[int]) -> str:
    rows = service.objects.store.get_certificates(ids)
    return "0x" + MerkleTree.build([row.leaf_bytes for row in rows]).root.hex()


def test_two_threads_create_the_follower_cursor_at_once(world: World) -> None:
    """ChainRepository.acquire_lease creates the registry's cursor row when it finds none (a
    SELECT, then an INSERT): two followers starting together on a fresh database both insert it,
    and on PostgreSQL the second fails with a primary key violation (a failed worker pass or a 500
    on the first status change). Repeated, each time from no cursor."""
    service = world.in_process()
    follower = service.objects.follower
    registry = service.objects.chain.registry()
    store = service.objects.store
    failures: list[str] = []
    for _ in range(10):
        with store.transaction() as conn:
            conn.execute(chain_cursor.delete())
        together = threading.Barrier(2, timeout=2)  # broken (and no race) when the follower serialises its passes
        start = follower.start_block

        def start_together(chain: Any, start: Callable[[Any], int] = start, together: threading.Barrier = together) -> int:
            with contextlib.suppress(threading.BrokenBarrierError):
                together.wait()
            return start(chain)

        follower.start_block = start_together  # type: ignore[method-assign]
        try:
            in_parallel(
                lambda: None if follower.run_once() else None,
                lambda: None if follower.run_once() else None,
            )
        except Exception as exc:  # noqa: BLE001 - counted
            failures.append(type(exc).__name__ + ": " + str(exc).splitlines()[0])
        finally:
            del follower.start_block
    assert registry.address and not failures, failures


def test_one_of_two_processes_is_killed_under_load(world: World) -> None:
    """Certificates and status changes arrive through both processes; one is killed (SIGKILL) at an
    arbitrary moment, twice, and restarted; the other carries on. Its leases expire and the work
    it had started is finished by whichever process comes next."""
    a, b = world.start(), world.start()
    first = world.create(a, 6)
    world.wait_status(a, first, "ISSUED")
    expected = dict.fromkeys(first, "ISSUED")
    stop = threading.Event()
    lock = threading.Lock()
    services = {"a": a, "b": b}

    def load(name: str, plan: list[tuple[int, str, dict[str, str] | None, str]]) -> Callable[[], None]:
        def job() -> None:
            changes = iter(plan)
            while not stop.is_set():
                service = services[name]
                answer = service.call("POST", "/api/v1/certificates", world.certificate(), timeout=10)
                with lock:
                    if answer.accepted:
                        expected[int(answer.body["id"])] = "ISSUED"
                change = next(changes, None)
                if change is not None:
                    cid, action, body, status = change
                    answer = service.call("POST", f"/api/v1/certificates/{cid}/{action}", body, timeout=10)
                    with lock:
                        if answer.accepted:
                            expected[cid] = status
                        else:  # refused (409), or no answer from a killed process: the outcome is open
                            expected.pop(cid, None)
                time.sleep(0.05)

        return job

    def killer() -> None:
        for _ in range(2):
            time.sleep(1.2)
            services["a"].kill()
            time.sleep(0.3)
            services["a"] = world.start()
        time.sleep(1.0)
        stop.set()

    in_parallel(
        load(
            "a", [(first[0], "suspend", {"reason": "enquiry"}, "SUSPENDED"), (first[1], "revoke", {"reason": "fraud"}, "REVOKED")]
        ),
        load("b", [(first[2], "revoke", {"reason": "error"}, "REVOKED"), (first[3], "suspend", None, "SUSPENDED")]),
        killer,
    )
    world.settle(b)
    world.settle(services["a"])
    report = check_invariant(world, b, expected)
    assert report.certificates > len(first)
