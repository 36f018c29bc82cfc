"""The store on its own, on SQLite and on a real PostgreSQL: records, statuses as stored, the
token check the dashboard uses, and the batch lifecycle (the service tests cover the rest)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ecoo.errors import IntentConflictError
from ecoo.registry import RegistryEvent
from ecoo.service.status import AuditAction, BatchStatus, CertificateStatus, IntentKind, IntentState
from ecoo.service.store import (
    MIGRATIONS,
    BatchRow,
    Chamber,
    ChamberKey,
    DuplicateCertificateError,
    Store,
    StoreError,
    TokenOwner,
    audit_events,
    batches,
    certificates,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else f"sqlite:///{tmp_path / 'store.db'}"
    instance = Store(url)
    assert instance.migrate() == len(MIGRATIONS)
    yield instance
    instance.close()


def new_chamber(store: Store, name: str = "Chamber") -> Chamber:
    address = "0x" + secrets.token_hex(20)
    return store.create_chamber(name, "TH", "CODE", lambda chamber_id: (address, b"ciphertext-%d" % chamber_id))


def certificate_row(number: str) -> dict[str, Any]:
    return {
        "number": number,
        "idempotency_key": number,
        "scheme": "RCEP",
        "export_country": "TH",
        "destination": "JP",
        "issue_date": "2026-01-15",
        "data": {"certificateNumber": number, "note": "ü"},
        "salts": {"/certificateNumber": "0x00"},
        "leaf": "0x" + secrets.token_hex(32),
        "signature": "0x" + secrets.token_hex(65),
    }


def stored(store: Store, column: Any, where: Any) -> list[Any]:
    """Raw column values, as the database holds them."""
    with store.transaction() as conn:
        return list(conn.execute(select(column).where(where)).scalars())


def test_migrate_is_idempotent(store: Store) -> None:
    assert store.migrate() == store.version() == len(MIGRATIONS) == 6


def test_api_token_active(store: Store) -> None:
    chamber, other = new_chamber(store, "one"), new_chamber(store, "two")
    token_id = store.add_token(chamber.id, "a" * 64, "ci")
    assert store.api_token_active(token_id, chamber.id)
    assert not store.api_token_active(token_id, other.id)  # another chamber's token id
    assert not store.api_token_active(token_id + 1000, chamber.id)  # no such token
    assert store.token_owner("a" * 64) == TokenOwner(chamber.id, token_id) == (chamber.id, token_id)
    assert store.revoke_token(token_id) and not store.revoke_token(token_id)
    assert not store.api_token_active(token_id, chamber.id)
    assert store.token_owner("a" * 64) is None


def test_keys_are_records_that_still_unpack(store: Store) -> None:
    chamber = new_chamber(store)
    key = store.key(chamber.key_id)
    assert isinstance(key, ChamberKey) and key.chamber_id == chamber.id and key.address == chamber.address
    address, ciphertext, chamber_id = key
    assert (address, ciphertext, chamber_id) == (chamber.address, b"ciphertext-%d" % chamber.id, chamber.id)
    new_key = store.add_key(chamber.id, "0x" + "ab" * 20, b"new")
    assert store.chamber(chamber.id) == Chamber(chamber.id, "Chamber", "TH", "CODE", new_key, "0x" + "ab" * 20)
    assert store.chamber_by_address(("0x" + "ab" * 20).upper()) == chamber.id
    assert store.chambers() == [store.chamber(chamber.id)]


def test_certificate_lifecycle_and_stored_statuses(store: Store) -> None:
    chamber = new_chamber(store)
    (first, second) = store.insert_certificates(chamber, [certificate_row("N-1"), certificate_row("N-2")], "token:1")
    with pytest.raises(DuplicateCertificateError) as duplicate:
        store.insert_certificates(chamber, [certificate_row("N-1")], "token:1")
    assert duplicate.value.existing_id == first
    row = store.get_certificate(first)
    assert row is not None and row.status is CertificateStatus.PENDING and row.data["note"] == "ü"
    assert store.get_certificate(first, chamber.id + 1) is None
    assert [r.id for r in store.get_certificates([second, first])] == [second, first]
    assert store.find_by_leaf(row.leaf.upper().replace("0X", "0x")) == row
    assert [r.id for r in store.list_certificates(chamber.id)] == [second, first]
    assert [r.id for r in store.list_certificates(chamber.id, after_id=second)] == [first]

    assert store.withdraw(second, "typo", "token:1") and not store.withdraw(second, "typo", "token:1")
    store.insert_certificates(chamber, [certificate_row("N-2")], "token:1")  # a withdrawn number is free again
    assert not store.cancel_unbatched(second, "x", "cli")  # withdrawn already
    assert store.chambers_with_pending() == [chamber.id]

    pending = store.pending(chamber.id, 10)
    batch_id = store.create_batch(chamber.id, chamber.key_id, "0x" + "11" * 32, [r.id for r in pending])
    batch = store.batch_of(batch_id)
    assert batch is not None and batch["status"] == "PREPARED" and batch["attempts"] == 0
    assert set(batch) == {column.name for column in batches.columns}
    assert store.batch_repository.get(batch_id) == BatchRow(**batch)
    assert store.open_batches(chamber.id) == [batch]
    with pytest.raises(StoreError):  # already batched: the whole batch rolls back
        store.create_batch(chamber.id, chamber.key_id, "0x" + "22" * 32, [first])

    store.batch_attempt(batch_id, "timeout")
    store.batch_attempt(batch_id, None, tx_hash="0x" + "33" * 32)
    assert stored(store, batches.c.status, batches.c.id == batch_id) == ["SENT"]
    # The chain follower records the anchor and a suspension: the projection is the only writer.
    registry, block = "0x" + "ee" * 20, "0x" + "bb" * 32
    chains = store.chain_repository
    assert chains.acquire_lease(registry, 31337, 1, "follower-1", 60) and not chains.acquire_lease(registry, 31337, 1, "other", 60)

    def event(name: str, subject: str, log_index: int, tx: str) -> RegistryEvent:
        return RegistryEvent(name, 7, block, tx, log_index, chamber.address, subject)

    anchor = event("BatchAnchored", "0x" + "11" * 32, 0, "0x" + "33" * 32)
    projected = chains.record(registry, [anchor], 7, block, {batch_id: {r.id: {"id": r.id} for r in pending}})
    assert projected.issued == 2 and store.open_batches(chamber.id) == [] and store.chambers_with_pending() == []
    assert store.batch_transaction("0x" + "11" * 32) == "0x" + "33" * 32
    assert [r.document for r in store.batch_certificates(batch_id)] == [{"id": r.id} for r in pending]
    first_leaf = store.get_certificate(first).leaf  # type: ignore[union-attr]
    intent = store.intent_repository.create(chamber.id, first, IntentKind.SUSPEND, "token:1", reason="enquiry")
    assert store.intent_repository.mark_sent(intent.id, "0xtx")
    with pytest.raises(IntentConflictError):  # one open change per certificate
        store.intent_repository.create(chamber.id, first, IntentKind.LIFT, "token:1")
    chains.record(registry, [event("CertificateSuspended", first_leaf, 1, "0xtx")], 8, block, {})
    assert store.intent_repository.get(intent.id).state is IntentState.DONE  # type: ignore[union-attr]
    assert chains.cursor(registry).block_number == 8  # type: ignore[union-attr]
    chains.release_lease(registry, "follower-1")
    assert store.counts(chamber.id) == {"SUSPENDED": 1, "ISSUED": 1, "CANCELLED": 1}
    assert sorted(stored(store, certificates.c.status, certificates.c.chamber_id == chamber.id)) == [
        "CANCELLED",
        "ISSUED",
        "SUSPENDED",
    ]
    trail = store.audit_trail(first)
    assert [(e["action"], e["actor"], e["tx"]) for e in trail] == [
        ("CREATED", "token:1", None),
        ("ISSUED", "worker", "0x" + "33" * 32),
        ("REQUESTED", "token:1", None),
        ("SUSPENDED", "token:1", "0xtx"),
    ]
    assert [e.action for e in store.audit_repository.events(first)] == [
        AuditAction.CREATED,
        AuditAction.ISSUED,
        AuditAction.REQUESTED,
        AuditAction.SUSPENDED,
    ]
    assert all(type(action) is str for action in stored(store, audit_events.c.action, audit_events.c.certificate_id == first))
    anchored = store.batch_repository.get(batch_id)
    assert anchored is not None and anchored.status is BatchStatus.ANCHORED and anchored.block_number == 7


def test_resign_pending_moves_only_unbatched_certificates(store: Store) -> None:
    chamber = new_chamber(store)
    (first,) = store.insert_certificates(chamber, [certificate_row("R-1")], "cli")
    new_key = store.add_key(chamber.id, "0x" + "cd" * 20, b"new")
    assert store.resign_pending(chamber.id, new_key, {first: "0xsig"}) == 1
    row = store.get_certificate(first)
    assert row is not None and row.key_id == new_key and row.signature == "0xsig"


def test_lease_is_held_by_one_owner(store: Store) -> None:
    chamber = new_chamber(store)
    assert store.acquire_lease(chamber.id, "worker-a", 60)
    assert not store.acquire_lease(chamber.id, "worker-b", 60)
    assert store.acquire_lease(chamber.id, "worker-a", 60)  # renewal
    store.release_lease(chamber.id, "worker-a")
    assert store.acquire_lease(chamber.id, "worker-b", 60)
