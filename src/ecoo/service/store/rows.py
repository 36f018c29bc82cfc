"""Immutable records for the store's rows, as its repositories return them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from ...documents import hex_bytes
from ...registry import CertificateQuery
from ..status import AuditAction, BatchStatus, CertificateStatus, IntentKind, IntentState


@dataclass(frozen=True)
class Chamber:
    """A chamber with its current (newest unretired) signing key."""

    id: int
    name: str
    country: str
    accreditation_code: str
    key_id: int
    address: str


class ChamberKey(NamedTuple):
    """A signing key as stored: the address and its encrypted private key (a tuple, so it unpacks)."""

    address: str
    ciphertext: bytes
    chamber_id: int


class TokenOwner(NamedTuple):
    """Whom a live API token acts for (a tuple, so it unpacks)."""

    chamber_id: int
    token_id: int


@dataclass(frozen=True)
class CertificateRow:
    id: int
    chamber_id: int
    key_id: int
    number: str
    status: CertificateStatus
    reason: str | None
    scheme: str
    export_country: str
    destination: str
    issue_date: str
    data: dict[str, Any]
    salts: dict[str, str]
    leaf: str
    signature: str
    batch_id: int | None
    document: dict[str, Any] | None
    successor_leaf: str | None
    created_at: float
    issued_at: float | None

    @property
    def leaf_bytes(self) -> bytes:
        return hex_bytes(self.leaf, 32)

    @property
    def signature_bytes(self) -> bytes:
        return hex_bytes(self.signature, 65)

    def query(self, issuer: str, root: str) -> CertificateQuery:
        """The registry query for this certificate in the batch ``root`` of ``issuer``, with the
        Merkle path of its issued document (none while it has no document)."""
        path = tuple(hex_bytes(node, 32) for node in self.document["proof"]["merklePath"]) if self.document else ()
        return CertificateQuery(issuer=issuer, root=hex_bytes(root, 32), leaf=self.leaf_bytes, proof=path)

    @property
    def salt_bytes(self) -> dict[str, bytes]:
        return {name: hex_bytes(value, 32) for name, value in self.salts.items()}

    @classmethod
    def from_row(cls, row: Any) -> CertificateRow:
        """The record of a ``certificates`` row (its JSON columns decoded)."""
        return cls(
            id=row.id,
            chamber_id=row.chamber_id,
            key_id=row.key_id,
            number=row.number,
            status=CertificateStatus(row.status),
            reason=row.reason,
            scheme=row.scheme,
            export_country=row.export_country,
            destination=row.destination,
            issue_date=row.issue_date,
            data=json.loads(row.data),
            salts=json.loads(row.salts),
            leaf=row.leaf,
            signature=row.signature,
            batch_id=row.batch_id,
            document=json.loads(row.document) if row.document else None,
            successor_leaf=row.successor_leaf,
            created_at=row.created_at,
            issued_at=row.issued_at,
        )


@dataclass(frozen=True)
class BatchRow:
    id: int
    chamber_id: int
    key_id: int
    root: str
    status: BatchStatus
    tx_hash: str | None
    block_number: int | None
    attempts: int
    last_error: str | None
    created_at: float
    anchored_at: float | None

    @property
    def root_bytes(self) -> bytes:
        return hex_bytes(self.root, 32)

    @classmethod
    def from_row(cls, row: Any) -> BatchRow:
        """The record of a ``batches`` row."""
        return cls(
            id=row.id,
            chamber_id=row.chamber_id,
            key_id=row.key_id,
            root=row.root,
            status=BatchStatus(row.status),
            tx_hash=row.tx_hash,
            block_number=row.block_number,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            anchored_at=row.anchored_at,
        )

    def as_dict(self) -> dict[str, Any]:
        """The row as a column → value mapping (the shape ``Store.open_batches``/``batch_of`` return)."""
        return asdict(self)


@dataclass(frozen=True)
class AuditEvent:
    """One entry of a certificate's audit trail."""

    action: AuditAction
    actor: str  # "token:<id>", "worker", "cli"
    reason: str | None
    tx_hash: str | None
    at: float

    @classmethod
    def from_row(cls, row: Any) -> AuditEvent:
        """The record of an ``audit_events`` row."""
        return cls(action=AuditAction(row.action), actor=row.actor, reason=row.reason, tx_hash=row.tx_hash, at=row.at)

    def as_dict(self) -> dict[str, Any]:
        """The shape ``Store.audit_trail`` returns (the API's audit entry, before formatting ``at``)."""
        return {"action": self.action, "actor": self.actor, "reason": self.reason, "tx": self.tx_hash, "at": self.at}


@dataclass(frozen=True)
class IntentRow:
    """A change a chamber asked for, from the request that stored it to the event that completes it."""

    id: int
    chamber_id: int
    certificate_id: int | None
    kind: IntentKind
    state: IntentState
    revocation_reason: int | None
    reason: str | None
    successor_leaf: str | None
    new_address: str | None
    actor: str
    attempts: int
    tx_hash: str | None
    last_error: str | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: Any) -> IntentRow:
        """The record of an ``intents`` row (the new key's ciphertext stays in the table)."""
        return cls(
            id=row.id,
            chamber_id=row.chamber_id,
            certificate_id=row.certificate_id,
            kind=IntentKind(row.kind),
            state=IntentState(row.state),
            revocation_reason=row.revocation_reason,
            reason=row.reason,
            successor_leaf=row.successor_leaf,
            new_address=row.new_address,
            actor=row.actor,
            attempts=row.attempts,
            tx_hash=row.tx_hash,
            last_error=row.last_error,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class Cursor:
    """How far the chain follower has read a registry: a confirmed block and its hash."""

    registry: str
    chain_id: int
    block_number: int
    block_hash: str | None
    divergent: int
    reconciled_at: float | None
