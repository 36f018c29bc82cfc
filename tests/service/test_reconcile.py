"""Reconciliation and changes made outside the service: the database follows the chain.

A status written wrongly into the database is found by ``Reconciler`` / ``ecoo reconcile`` (and
counted by ``/api/v1/health`` until repaired), then repaired from the chain; a revocation the
authority makes on the registry directly reaches the API through the chain follower.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from ecoo.cli import cli
from ecoo.registry import RevocationReason
from ecoo.service.reconcile import Reconciler
from ecoo.service.store import certificates
from ecoo.signers import unlocked_signer
from tests.support.service import ServiceHarness


def _objects(service: ServiceHarness) -> Any:
    return service.app.extensions["ecoo"]


def _corrupt(service: ServiceHarness, certificate_id: int, status: str) -> None:
    """A wrong status written into the database (a bug, a hand edit, a restore of an old backup)."""
    with _objects(service).store.transaction() as conn:
        conn.execute(update(certificates).where(certificates.c.id == certificate_id).values(status=status))


def _status(service: ServiceHarness, certificate_id: int) -> str:
    return str(service.client.get(f"/api/v1/certificates/{certificate_id}", headers=service.auth).json["status"])


def test_a_divergence_is_counted_then_repaired_from_the_chain(service: ServiceHarness) -> None:
    ids = [service.create(service.certificate(f"REC-{i}"))["id"] for i in range(3)]
    service.anchor()
    suspended = service.client.post(f"/api/v1/certificates/{ids[2]}/suspend", json={"reason": "enquiry"}, headers=service.auth)
    assert suspended.status_code == 200
    objects = _objects(service)
    reconciler = Reconciler(objects.store, objects.chain.registry, objects.follower)
    clean = reconciler.run(repair=False)
    assert (clean.checked, clean.found) == (3, [])

    _corrupt(service, ids[0], "REVOKED")
    _corrupt(service, ids[2], "ISSUED")
    report = reconciler.run(repair=False)
    assert {(d.id, d.database, d.chain) for d in report.found} == {(ids[0], "REVOKED", "ISSUED"), (ids[2], "ISSUED", "SUSPENDED")}
    health = service.client.get("/api/v1/health").json
    assert health["projection"]["divergent"] == 2 and health["status"] == "degraded"

    repaired = reconciler.run(repair=True)
    assert repaired.repaired and len(repaired.found) == 2 and repaired.remaining == []
    assert [_status(service, i) for i in ids] == ["ISSUED", "ISSUED", "SUSPENDED"]
    health = service.client.get("/api/v1/health").json
    assert health["projection"]["divergent"] == 0 and health["status"] == "ok"


def test_lost_events_are_read_again(service: ServiceHarness) -> None:
    """The stored events themselves are wrong (deleted): the repair reads the registry again."""
    from sqlalchemy import delete

    from ecoo.service.store import chain_events

    created = service.create(service.certificate("REC-EVENTS"))
    service.anchor()
    assert service.client.post(f"/api/v1/certificates/{created['id']}/revoke", json={"reason": "error"}, headers=service.auth).status_code == 200
    objects = _objects(service)
    with objects.store.transaction() as conn:
        conn.execute(delete(chain_events))
    objects.store.chain_repository.reproject_all(objects.chain.registry().address)
    assert _status(service, created["id"]) == "PENDING"  # what the (now empty) events say
    report = Reconciler(objects.store, objects.chain.registry, objects.follower).run(repair=True)
    assert report.found and report.remaining == [] and _status(service, created["id"]) == "REVOKED"


def test_a_change_made_on_the_registry_directly_reaches_the_api(service: ServiceHarness) -> None:
    created = service.create(service.certificate("REC-AUTHORITY"))
    service.anchor()
    registry = _objects(service).chain.registry()
    authority = unlocked_signer(registry.w3)
    row = _objects(service).store.get_certificate(created["id"])
    registry.revoke(authority, row.leaf_bytes, RevocationReason.FRAUD, issuer=service.address)
    service.anchor()  # a worker pass follows the chain
    detail = service.client.get(f"/api/v1/certificates/{created['id']}", headers=service.auth).json
    assert detail["status"] == "REVOKED" and detail["reason"] == "fraud"
    assert detail["audit"][-1]["actor"] == "chain" and detail["audit"][-1]["tx"].startswith("0x")


@pytest.mark.parametrize("service", ["sqlite"], indirect=True)
def test_the_reconcile_command(service: ServiceHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    created = service.create(service.certificate("REC-CLI"))
    service.anchor()
    _corrupt(service, created["id"], "CANCELLED")
    settings = service.settings
    env = {
        "ECOO_RPC_URL": settings.rpc_url,
        "ECOO_DEPLOYMENTS_DIR": str(settings.deployments_dir),
        "ECOO_DATA_DIR": str(settings.data_dir),
        "ECOO_MASTER_KEY": __import__("base64").b64encode(settings.master_key).decode(),
        "DATABASE_URL": settings.database_url,
    }
    runner = CliRunner()
    checked = runner.invoke(cli, ["reconcile", "--check", "--json"], env=env)
    assert checked.exit_code == 1, checked.output
    report = json.loads(checked.stdout)
    assert report["divergent"] == [{"id": created["id"], "number": "REC-CLI", "database": "CANCELLED", "chain": "ISSUED"}]
    assert _status(service, created["id"]) == "CANCELLED" and not report["repaired"]
    repaired = runner.invoke(cli, ["reconcile"], env=env)
    assert repaired.exit_code == 0, repaired.output
    assert "1 differ from the chain" in repaired.stdout and "0 still differ" in repaired.stdout
    assert _status(service, created["id"]) == "ISSUED"


@pytest.mark.parametrize("service", ["sqlite"], indirect=True)
def test_migration_4_revokes_what_an_earlier_version_cancelled_and_anchored(service: ServiceHarness) -> None:
    """Finding 1 left databases with certificates CANCELLED in the database but anchored (VALID to
    customs). Migration 4 turns each into an intent to revoke it as Cancelled; the worker sends it."""
    from ecoo.service.app import create_app
    from ecoo.service.store import schema_version

    created = service.create(service.certificate("REC-STRANDED"))
    service.anchor()
    document = service.client.get(f"/api/v1/certificates/{created['id']}/document", headers=service.auth).json
    _corrupt(service, created["id"], "CANCELLED")  # what the first release's race left behind
    store = _objects(service).store
    with store.transaction() as conn:  # back to schema 3: the tables of migrations 4 and 5 did not exist
        for table in ("intents", "chain_events", "chain_cursor", "customs_records"):
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.execute(schema_version.delete().where(schema_version.c.version >= 4))
    assert service.client.post("/api/v1/verify", json=document).json["verdict"] == "VALID"

    upgraded = create_app(service.settings)
    objects = upgraded.extensions["ecoo"]
    assert objects.store.version() == 6
    objects.worker.run_once(force=True)
    client = upgraded.test_client()
    detail = client.get(f"/api/v1/certificates/{created['id']}", headers=service.auth).json
    assert detail["status"] == "CANCELLED" and detail["intent"] is None
    # The chain's truth first (anchored: ISSUED), then the revocation the migration asked for.
    assert [(e["action"], e["actor"]) for e in detail["audit"]][-2:] == [("ISSUED", "worker"), ("CANCELLED", "migration 4")]
    assert client.post("/api/v1/verify", json=document).json["verdict"] == "CANCELLED"
    objects.store.close()
