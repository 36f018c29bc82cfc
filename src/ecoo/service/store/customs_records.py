"""What customs recorded on the registry against this service's certificates: receipts,
utilisation of an item's quantity, and rejections (issue 10).

The chain follower stores them with the other registry events of the same pass, in the same
transaction (:func:`store_customs_records`), and forgets them with the other events above the block
a reorganisation rewound to (:func:`forget_customs_records`): the table is a projection of the
chain like a certificate's status, never written from anything else. Records are keyed as the
registry keys them, by (issuer = the key that anchored the certificate, leaf).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from ...registry import RegistryEvent
from .engine import Database
from .schema import batches, certificates, chamber_keys, customs_records

#: The registry's customs events and the kind of record each stores.
CUSTOMS_EVENTS = {
    "CertificateReceived": "received",
    "CertificateUtilised": "utilised",
    "CertificateRejected": "rejected",
}


@dataclass(frozen=True)
class CustomsRecordRow:
    """One customs record as the follower stored it (quantities in thousandths of the item's unit)."""

    kind: str  # received, utilised, rejected
    issuer: str
    leaf: str
    customs: str
    declaration_hash: str
    block_number: int
    tx_hash: str
    log_index: int
    at: float | None
    item: int | None = None
    quantity: int | None = None
    utilised: int | None = None
    certified: int | None = None
    code: int | None = None

    @classmethod
    def from_row(cls, row: Any) -> CustomsRecordRow:
        def units(value: str | None) -> int | None:
            return int(value) if value is not None else None

        return cls(
            kind=str(row.kind),
            issuer=str(row.issuer),
            leaf=str(row.leaf),
            customs=str(row.customs),
            declaration_hash=str(row.declaration_hash),
            block_number=int(row.block_number),
            tx_hash=str(row.tx_hash),
            log_index=int(row.log_index),
            at=float(row.at) if row.at is not None else None,
            item=int(row.item) if row.item is not None else None,
            quantity=units(row.quantity),
            utilised=units(row.utilised),
            certified=units(row.certified),
            code=int(row.code) if row.code is not None else None,
        )


@dataclass(frozen=True)
class ItemRecorded:
    """An item's utilisation as its newest record states it (thousandths)."""

    item: int
    certified: int
    utilised: int

    @property
    def remaining(self) -> int:
        return self.certified - self.utilised


@dataclass(frozen=True)
class CertificateCustoms:
    """Every customs record of one certificate, in chain order."""

    records: tuple[CustomsRecordRow, ...] = ()

    def of_kind(self, kind: str) -> list[CustomsRecordRow]:
        return [record for record in self.records if record.kind == kind]

    @property
    def receipts(self) -> list[CustomsRecordRow]:
        return self.of_kind("received")

    @property
    def rejections(self) -> list[CustomsRecordRow]:
        return self.of_kind("rejected")

    @property
    def items(self) -> list[ItemRecorded]:
        """Per item (by number), the newest utilisation record's totals: the registry's state."""
        newest: dict[int, ItemRecorded] = {}
        for record in self.of_kind("utilised"):
            assert record.item is not None and record.certified is not None and record.utilised is not None
            newest[record.item] = ItemRecorded(record.item, record.certified, record.utilised)
        return [newest[item] for item in sorted(newest)]

    def __bool__(self) -> bool:
        return bool(self.records)


def _units(value: int | None) -> str | None:
    return str(value) if value is not None else None


def store_customs_records(conn: Connection, registry: str, events: Iterable[RegistryEvent], times: Mapping[int, float]) -> int:
    """Store the customs records among ``events`` (new ones: the caller stores each log once) in
    ``conn``'s transaction; ``times`` holds the time of each block that has one. Returns how many."""
    count = 0
    for event in events:
        kind = CUSTOMS_EVENTS.get(event.name)
        if kind is None:
            continue
        conn.execute(
            customs_records.insert().values(
                registry=registry.lower(),
                kind=kind,
                issuer=event.issuer.lower(),
                leaf=event.subject.lower(),
                customs=(event.customs or "").lower(),
                item=event.item,
                quantity=_units(event.quantity),
                utilised=_units(event.utilised),
                certified=_units(event.certified),
                code=event.code,
                declaration_hash=(event.declaration_hash or "").lower(),
                block_number=event.block_number,
                block_hash=event.block_hash,
                tx_hash=event.tx_hash,
                log_index=event.log_index,
                at=times.get(event.block_number),
            )
        )
        count += 1
    return count


def forget_customs_records(conn: Connection, registry: str, block: int) -> int:
    """Forget the records above ``block`` (a reorganisation removed them, or they are to be read
    again), in ``conn``'s transaction; returns how many."""
    return int(
        conn.execute(
            delete(customs_records).where(customs_records.c.registry == registry.lower(), customs_records.c.block_number > block)
        ).rowcount
    )


class CustomsRecordsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def for_certificates(self, certificate_ids: Sequence[int]) -> dict[int, CertificateCustoms]:
        """The customs records of these certificates (by id; a certificate without any is left out),
        matched on (the key that anchored its batch, its leaf), in two queries."""
        if not certificate_ids:
            return {}
        with self.db.transaction() as conn:
            keys = conn.execute(
                select(certificates.c.id, certificates.c.leaf, chamber_keys.c.address)
                .join(batches, batches.c.id == certificates.c.batch_id)
                .join(chamber_keys, chamber_keys.c.id == batches.c.key_id)
                .where(certificates.c.id.in_(list(certificate_ids)))
            ).all()
            wanted = {(str(r.address).lower(), str(r.leaf).lower()): int(r.id) for r in keys}
            if not wanted:
                return {}
            rows = conn.execute(
                select(customs_records)
                .where(customs_records.c.leaf.in_([leaf for _, leaf in wanted]))  # stored lower-case
                .order_by(customs_records.c.block_number, customs_records.c.log_index)
            ).all()
        found: dict[int, list[CustomsRecordRow]] = {}
        for row in rows:
            certificate_id = wanted.get((str(row.issuer), str(row.leaf)))
            if certificate_id is not None:  # the same leaf under another key is another record
                found.setdefault(certificate_id, []).append(CustomsRecordRow.from_row(row))
        return {cid: CertificateCustoms(tuple(records)) for cid, records in found.items()}

    def count(self) -> int:
        with self.db.transaction() as conn:
            return int(conn.execute(select(func.count()).select_from(customs_records)).scalar() or 0)
