"""Scenario 2: the database fails right after a transaction went to the chain, and finding 2 of
issue 9 (a reason PostgreSQL cannot store).

In-process, so that the failure hits one exact store call: the follower's record of the mined
transaction (on PostgreSQL for real: every backend of the service's database is terminated in the
middle of that transaction; on SQLite an OperationalError is raised there), or the store of the
transaction's hash (an OperationalError: the hash is never written). The request answers 500; then
the worker's passes must make the API show the chain's status, with nothing sent twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

import ecoo.service.store.chain_repository as chain_repository
from ecoo.registry import CertificateQuery, CertificateStatus

from .harness import InProcessService, World
from .invariant import check_invariant

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def database_dies(world: World) -> None:
    """The database connection in use fails now: for real on PostgreSQL, raised on SQLite."""
    if world.kind == "postgres":
        from tests.support.postgres import libpq_url

        with psycopg.connect(libpq_url(world.database_url), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        return
    raise OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))


def once(action: Callable[[], None]) -> Callable[..., None]:
    fired: list[bool] = []

    def fault(name: str, *details: str) -> None:
        if details and not fired:
            fired.append(True)
            action()

    return fault


def chain_state(world: World, service: InProcessService, certificate_id: int) -> Any:
    document = service.call("GET", f"/api/v1/certificates/{certificate_id}/document").body
    proof = document["proof"]
    row = service.objects.store.get_certificate(certificate_id)
    return world.registry.verify_certificate(
        CertificateQuery(
            issuer=proof["issuer"],
            root=bytes.fromhex(proof["root"][2:]),
            leaf=row.leaf_bytes,
            proof=tuple(bytes.fromhex(p[2:]) for p in proof["merklePath"]),
        )
    )


def issued(world: World, service: InProcessService, count: int) -> list[int]:
    ids = world.create(service, count)
    service.passes(1)
    world.wait_status(service, ids, "ISSUED", timeout=0)
    return ids


def test_database_fails_while_the_follower_records_a_suspension(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    service = world.in_process()
    (cid,) = issued(world, service, 1)
    monkeypatch.setattr(chain_repository, "fault_point", once(lambda: database_dies(world)))
    answer = service.call("POST", f"/api/v1/certificates/{cid}/suspend", {"reason": "enquiry"})
    # The suspension is on chain; its record failed: a 500, or the change answered as in flight.
    assert answer.status in (200, 202, 500), answer
    assert chain_state(world, service, cid).status == CertificateStatus.SUSPENDED
    monkeypatch.undo()
    service.passes(2)
    check_invariant(world, service, {cid: "SUSPENDED"})
    # Nothing is stuck (finding 2 had lift 409 not_suspended and suspend 409 registry_refused).
    assert service.call("POST", f"/api/v1/certificates/{cid}/lift").status == 200
    check_invariant(world, service, {cid: "ISSUED"})


def test_database_fails_while_the_follower_records_an_anchor(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    service = world.in_process()
    ids = world.create(service, 3)
    monkeypatch.setattr(chain_repository, "fault_point", once(lambda: database_dies(world)))
    with pytest.raises(OperationalError):
        service.objects.worker.run_once(force=True)
    monkeypatch.undo()
    service.passes(2)
    report = check_invariant(world, service, {cid: "ISSUED" for cid in ids})
    assert report.anchors == 1


def failing(method: Callable[..., Any], when: Callable[..., bool]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        if when(*args, **kwargs):
            raise OperationalError("UPDATE", {}, sqlite3.OperationalError("disk I/O error"))
        return method(*args, **kwargs)

    return call


def test_database_fails_storing_the_hash_of_a_sent_revocation(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    service = world.in_process()
    cid, other = issued(world, service, 2)
    intents = service.objects.store.intent_repository
    monkeypatch.setattr(intents, "mark_sent", failing(intents.mark_sent, lambda *a, **k: True))
    answer = service.call("POST", f"/api/v1/certificates/{cid}/revoke", {"reason": "fraud"})
    assert answer.status == 500, answer  # sent and mined; the hash was never stored
    assert chain_state(world, service, cid).status == CertificateStatus.REVOKED
    monkeypatch.undo()
    service.passes(2)
    check_invariant(world, service, {cid: "REVOKED", other: "ISSUED"})


def test_database_fails_storing_the_hash_of_a_sent_anchor(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    service = world.in_process()
    ids = world.create(service, 2)
    store = service.objects.store
    monkeypatch.setattr(store, "batch_attempt", failing(store.batch_attempt, lambda batch, error, tx=None: tx is not None))
    with pytest.raises(OperationalError):
        service.objects.worker.run_once(force=True)
    monkeypatch.undo()
    service.passes(2)
    report = check_invariant(world, service, {cid: "ISSUED" for cid in ids})
    assert report.anchors == 1  # the unstored hash did not make the worker anchor the root again


def test_a_reason_the_database_cannot_store_is_refused_before_anything_is_sent(world: World) -> None:
    """Issue 9, finding 2: on PostgreSQL a NUL byte in the reason suspended on chain, then the
    database write failed (500): chain SUSPENDED, API ISSUED, lift and suspend 409 for ever."""
    service = world.in_process()
    cid, other = issued(world, service, 2)
    answer = service.call("POST", f"/api/v1/certificates/{cid}/suspend", {"reason": "enquiry\u0000x"})
    assert (answer.status, answer.body["error"]) == (400, "invalid_reason"), answer
    assert chain_state(world, service, cid).status == CertificateStatus.ACTIVE
    assert service.objects.store.intent_repository.latest_for(cid) is None  # nothing stored, nothing sent
    check_invariant(world, service, {cid: "ISSUED", other: "ISSUED"})
    assert service.call("POST", f"/api/v1/certificates/{cid}/suspend", {"reason": "enquiry"}).status == 200

    before = len(world.certificates(service))
    amended = dict(service.call("GET", f"/api/v1/certificates/{other}").body["certificate"])
    amended["certificateNumber"] += "-A"
    answer = service.call("POST", f"/api/v1/certificates/{other}/supersede", {"certificate": amended, "reason": "typo\u0000"})
    assert (answer.status, answer.body["error"]) == (400, "invalid_reason"), answer
    assert chain_state(world, service, other).status == CertificateStatus.ACTIVE
    assert len(world.certificates(service)) == before  # no replacement left PENDING
    service.passes(1)
    check_invariant(world, service, {cid: "SUSPENDED", other: "ISSUED"})
    answer = service.call("POST", f"/api/v1/certificates/{other}/supersede", {"certificate": amended, "reason": "typo"})
    assert answer.status == 202, answer
    service.passes(2)
    report = check_invariant(world, service, {cid: "SUSPENDED", other: "SUPERSEDED"})
    assert report.statuses == {"SUSPENDED": 1, "SUPERSEDED": 1, "ISSUED": 1}
