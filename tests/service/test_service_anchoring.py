"""The anchoring worker under faults: the chain going down and coming back, a restart in the
middle of a batch, concurrent issuers and concurrent workers. Nothing is lost; nothing is
anchored twice."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from ecoo.anvil import ManagedAnvil
from ecoo.service.app import create_app
from ecoo.service.store import Store
from tests.support.service import ServiceHarness, make_service


def _statuses(service: ServiceHarness) -> dict[str, int]:
    return dict(service.app.extensions["ecoo"].store.counts(service.chamber_id))


def _anchors_sent(service: ServiceHarness) -> int:
    registry = service.app.extensions["ecoo"].chain.registry()
    # "pending": a transaction the node has accepted counts before its block is mined (a test that
    # stops right after the send reads the count at once).
    return int(registry.w3.eth.get_transaction_count(service.address, "pending"))


def test_chain_down_then_back_loses_nothing_and_anchors_once(tmp_path: Path, own_chain: ManagedAnvil) -> None:
    service = make_service(tmp_path, own_chain)
    service.create(service.certificate("DOWN-0"))  # resolves the registry while the chain is up
    service.anchor()
    document = service.client.get("/api/v1/certificates/1/document", headers=service.auth).json
    nonce_before = _anchors_sent(service)

    own_chain.stop()
    for i in range(1, 4):
        service.create(service.certificate(f"DOWN-{i}"))  # issuing never waits on the chain
    worker = service.worker
    assert worker.run_once(force=True) == 0
    assert worker.failures >= 1 and "no Ethereum node answers" in (worker.last_error or "")
    assert _statuses(service) == {"ISSUED": 1, "PENDING": 3}
    unavailable = service.client.post("/api/v1/verify", json=document)
    assert unavailable.status_code == 503 and unavailable.json["verdict"] == "UNAVAILABLE"
    assert "REVOKED" not in unavailable.get_data(as_text=True)
    assert service.client.get("/api/v1/health").json["worker"]["failures"] >= 1

    own_chain.start()  # same port, same saved state
    assert worker.run_once(force=True) == 3
    assert _statuses(service) == {"ISSUED": 4}
    assert _anchors_sent(service) == nonce_before + 1
    assert worker.run_once(force=True) == 0 and _anchors_sent(service) == nonce_before + 1
    assert service.client.post("/api/v1/verify", json=document).json["verdict"] == "VALID"


def test_backoff_grows_and_is_capped(service: ServiceHarness) -> None:
    worker = service.worker
    delays = []
    for failures in range(0, 12):
        worker.failures = failures
        delays.append(worker.backoff())
    assert delays == sorted(delays) and delays[-1] == service.settings.max_backoff


class Crash(Exception):
    """Stands for the process dying at this point."""


@pytest.mark.parametrize("crash_point", ["before_send", "after_send", "before_projection"])
def test_restart_mid_batch_loses_nothing_and_anchors_once(
    crash_point: str, service: ServiceHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash before the anchor is sent, after it is sent (before its hash is stored), and after
    its receipt (before the follower records it): a restart anchors each root exactly once."""
    for i in range(3):
        service.create(service.certificate(f"CRASH-{i}"))
    nonce_before = _anchors_sent(service)
    services = service.app.extensions["ecoo"]
    registry = services.chain.registry()

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise Crash()

    if crash_point == "before_send":
        monkeypatch.setattr(registry, "anchor", crash)
    elif crash_point == "after_send":
        attempt = services.store.batch_attempt
        monkeypatch.setattr(  # the on_sent hook (a hash given): the hash is not stored
            services.store, "batch_attempt", lambda batch, error, tx_hash=None: crash() if tx_hash else attempt(batch, error, tx_hash)
        )
    else:
        record = services.store.chain_repository.record
        monkeypatch.setattr(
            services.store.chain_repository, "record", lambda r, events, *a, **k: crash() if events else record(r, events, *a, **k)
        )
    with pytest.raises(Crash):
        service.worker.run_once(force=True)
    monkeypatch.undo()
    batch = services.store.batch_of(1)
    assert _statuses(service) == {"PENDING": 3}, batch
    assert batch is not None and batch["last_error"] is None, batch  # the crash, not a failed send
    assert _anchors_sent(service) == nonce_before + (0 if crash_point == "before_send" else 1)

    # "Restart": a new application on the same database and chain.
    restarted = create_app(service.settings)
    assert restarted.extensions["ecoo"].worker.run_once(force=True) == 3
    store: Store = restarted.extensions["ecoo"].store
    assert store.counts(service.chamber_id) == {"ISSUED": 3}
    assert _anchors_sent(service) == nonce_before + 1  # exactly one anchoring transaction in total
    client = restarted.test_client()
    document = client.get("/api/v1/certificates/2/document", headers=service.auth).json
    assert client.post("/api/v1/verify", json=document).json["verdict"] == "VALID"
    audit = client.get("/api/v1/certificates/2", headers=service.auth).json["audit"]
    assert audit[-1]["action"] == "ISSUED" and audit[-1]["tx"].startswith("0x")
    store.close()


def test_concurrent_issuers_and_workers(service: ServiceHarness) -> None:
    errors: list[Any] = []

    def issue(prefix: str) -> None:
        client = service.app.test_client()
        for i in range(10):
            response = client.post("/api/v1/certificates", json=service.certificate(f"{prefix}-{i}"), headers=service.auth)
            if response.status_code != 202:
                errors.append(response.json)

    threads = [threading.Thread(target=issue, args=(f"T{t}",)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    # Two workers (as two service processes would run) race for the same chamber.
    second_app = create_app(service.settings)
    second = second_app.extensions["ecoo"].worker
    results: list[int] = []
    racers = [threading.Thread(target=lambda w=w: results.append(w.run_once(force=True))) for w in (service.worker, second)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(120)
    while service.worker.run_once(force=True):
        pass
    second_app.extensions["ecoo"].store.close()
    assert _statuses(service) == {"ISSUED": 60}
    store = service.app.extensions["ecoo"].store
    rows = store.list_certificates(service.chamber_id, limit=500)
    roots = {row.document["proof"]["root"] for row in rows if row.document}
    assert _anchors_sent(service) >= len(roots)
    registry = service.app.extensions["ecoo"].chain.registry()
    for root in roots:  # every root anchored, and by this chamber's key
        assert registry.get_anchor(service.address, bytes.fromhex(root[2:])) is not None


def test_batches_respect_size_and_window(tmp_path: Path, anvil_node: ManagedAnvil) -> None:
    service = make_service(tmp_path, anvil_node, batch_size=4, batch_window=3600.0)
    for i in range(6):
        service.create(service.certificate(f"W-{i}"))
    worker = service.worker
    assert worker.run_once() == 4  # a full batch goes at once
    assert worker.run_once() == 0  # the remaining two wait for the window
    assert worker.run_once(force=True) == 2


def test_keys_are_encrypted_at_rest(tmp_path: Path, anvil_node: ManagedAnvil) -> None:
    from ecoo.service.vault import KeyVault, VaultError

    service = make_service(tmp_path, anvil_node)  # SQLite: the whole database is one file to search

    store = service.app.extensions["ecoo"].store
    address, ciphertext, chamber_id = store.key(1)
    vault = service.app.extensions["ecoo"].vault
    key = vault.decrypt(ciphertext, chamber_id)
    assert key not in ciphertext and key.hex() not in ciphertext.hex()
    database = Path(service.settings.database_url.split("///", 1)[1])
    raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert key not in raw and key.hex().encode() not in raw
    with pytest.raises(VaultError):
        KeyVault(b"\x01" * 32).decrypt(ciphertext, chamber_id)
    with pytest.raises(VaultError):  # a ciphertext moved to another chamber's row does not decrypt
        vault.decrypt(ciphertext, chamber_id + 1)
    assert "hidden" in repr(vault)
    assert Web3.is_checksum_address(address)
    store.close()


def test_key_rotation_keeps_history_and_re_signs_pending(service: ServiceHarness) -> None:
    from ecoo.signers import unlocked_signer

    services = service.app.extensions["ecoo"]
    old_doc = service.issue("ROT-1")
    pending = service.create(service.certificate("ROT-2"))
    chamber = services.store.chamber(service.chamber_id)
    authority = unlocked_signer(services.chain.registry().w3)
    new_address = services.issuance.rotate_key(chamber, authority, fund_from=authority)
    assert services.store.chamber(service.chamber_id).address == new_address
    assert service.anchor() == 1
    new_doc = service.client.get(f"/api/v1/certificates/{pending['id']}/document", headers=service.auth).json
    assert new_doc["proof"]["issuer"] == new_address
    verdicts = service.client.post("/api/v1/verify/batch", json={"documents": [old_doc, new_doc]}).json["reports"]
    assert [r["verdict"] for r in verdicts] == ["VALID", "VALID"]
    assert "rotated" in verdicts[0]["checks"][5]["message"]
    # The new key acts for certificates anchored by the old one.
    revoked = service.client.post("/api/v1/certificates/1/revoke", json={"reason": "error"}, headers=service.auth)
    assert revoked.status_code == 200
    assert service.client.post("/api/v1/verify", json=old_doc).json["verdict"] == "REVOKED"


def test_migrations_upgrade_an_old_schema(tmp_path: Path) -> None:
    """A database at schema 1 (before the list index) is brought up to date, idempotently."""
    from sqlalchemy import inspect

    from ecoo.service import store as store_module

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store(url)
    with old.transaction() as conn:
        store_module.schema_version.create(conn, checkfirst=True)
        store_module._migration_1(conn)
        conn.execute(store_module.schema_version.insert().values(version=1, applied_at=0.0))
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_certificates_chamber_id")
    assert old.version() == 1
    assert old.migrate() == 6 and old.migrate() == 6 and old.version() == 6
    indexes = {index["name"] for index in inspect(old.engine).get_indexes("certificates")}
    assert "ix_certificates_chamber_id" in indexes
    assert "customs_records" in inspect(old.engine).get_table_names()
    old.close()
