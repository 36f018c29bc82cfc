"""Persistence: SQLite by default, PostgreSQL when DATABASE_URL says so (SQLAlchemy Core).

The store owns its engine; every method is one transaction. Schema changes are numbered
migrations recorded in ``schema_version``; `Store.migrate()` applies the missing ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ..errors import EcooError

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, primary_key=True), Column("applied_at", Float))

chambers = Table(
    "chambers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(256), nullable=False),
    Column("country", String(2), nullable=False),
    Column("accreditation_code", String(256), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("lease_owner", String(64)),  # the worker anchoring for this chamber now
    Column("lease_until", Float),
)

chamber_keys = Table(
    "chamber_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chamber_id", Integer, ForeignKey("chambers.id"), nullable=False),
    Column("address", String(42), nullable=False, unique=True),
    Column("ciphertext", LargeBinary, nullable=False),  # AES-GCM under the master key
    Column("created_at", Float, nullable=False),
    Column("retired_at", Float),  # set by key rotation; the newest unretired key signs
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chamber_id", Integer, ForeignKey("chambers.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(128), nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

batches = Table(
    "batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chamber_id", Integer, ForeignKey("chambers.id"), nullable=False),
    Column("key_id", Integer, ForeignKey("chamber_keys.id"), nullable=False),
    Column("root", String(66), nullable=False),
    Column("status", String(16), nullable=False),  # PREPARED, SENT, ANCHORED
    Column("tx_hash", String(66)),
    Column("block_number", Integer),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Column("anchored_at", Float),
    UniqueConstraint("key_id", "root", name="uq_batches_key_root"),
)

certificates = Table(
    "certificates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chamber_id", Integer, ForeignKey("chambers.id"), nullable=False),
    Column("key_id", Integer, ForeignKey("chamber_keys.id"), nullable=False),
    Column("number", String(128), nullable=False),
    # Idempotency: the certificate number for originals; a certified copy or amendment gets its own.
    Column("idempotency_key", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # PENDING ISSUED SUSPENDED REVOKED CANCELLED SUPERSEDED
    Column("reason", Text),
    Column("scheme", String(32), nullable=False),
    Column("export_country", String(2), nullable=False),
    Column("destination", String(2), nullable=False),
    Column("issue_date", String(10), nullable=False),
    Column("data", Text, nullable=False),
    Column("salts", Text, nullable=False),
    Column("leaf", String(66), nullable=False, unique=True),
    Column("signature", String(132), nullable=False),
    Column("batch_id", Integer, ForeignKey("batches.id")),
    Column("document", Text),  # the issued JSON, once anchored
    Column("successor_leaf", String(66)),
    Column("created_at", Float, nullable=False),
    Column("issued_at", Float),
    UniqueConstraint("chamber_id", "idempotency_key", name="uq_certificates_chamber_key"),
    Index("ix_certificates_chamber_status", "chamber_id", "status"),
    Index("ix_certificates_chamber_number", "chamber_id", "number"),
    Index("ix_certificates_chamber_issue_date", "chamber_id", "issue_date"),
    Index("ix_certificates_chamber_destination", "chamber_id", "destination"),
    Index("ix_certificates_batch", "batch_id"),
    # Listing is newest first within a chamber; without this the planner sorts the whole chamber.
    Index("ix_certificates_chamber_id", "chamber_id", "id"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chamber_id", Integer, ForeignKey("chambers.id"), nullable=False),
    Column("certificate_id", Integer, ForeignKey("certificates.id")),
    Column("action", String(32), nullable=False),
    Column("actor", String(128), nullable=False),  # "token:<id>", "worker", "cli"
    Column("reason", Text),
    Column("tx_hash", String(66)),
    Column("at", Float, nullable=False),
    Index("ix_audit_certificate", "certificate_id"),
)


def _migration_1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[chambers, chamber_keys, api_tokens, batches, certificates, audit_events])


def _migration_2(conn: Connection) -> None:
    # (chamber_id, id): list queries stay flat as the store grows (docs/benchmarks.md, "Growth").
    for index in certificates.indexes:
        if index.name == "ix_certificates_chamber_id":
            index.create(conn, checkfirst=True)


#: Numbered schema migrations; append, never edit a released one.
MIGRATIONS: list[Callable[[Connection], None]] = [_migration_1, _migration_2]


class StoreError(EcooError):
    """A database operation failed for a reason the caller should report."""


class DuplicateCertificateError(StoreError):
    """The chamber already has a certificate with this number."""

    def __init__(self, number: str, existing_id: int) -> None:
        self.number, self.existing_id = number, existing_id
        super().__init__(f"certificate {number!r} already exists (id {existing_id}); it is never issued twice")


@dataclass(frozen=True)
class Chamber:
    id: int
    name: str
    country: str
    accreditation_code: str
    key_id: int
    address: str


@dataclass(frozen=True)
class CertificateRow:
    id: int
    chamber_id: int
    key_id: int
    number: str
    status: str
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


def _certificate(row: Any) -> CertificateRow:
    return CertificateRow(
        id=row.id,
        chamber_id=row.chamber_id,
        key_id=row.key_id,
        number=row.number,
        status=row.status,
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


def _insert_id(conn: Connection, statement: Any) -> int:
    key = conn.execute(statement).inserted_primary_key
    if key is None:
        raise StoreError("the database returned no id for an insert")
    return int(key[0])


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take over
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA foreign_keys=ON")
            dbapi_connection.execute("PRAGMA busy_timeout=30000")

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Take the write lock up front: no two transactions interleave read-then-write.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- schema ----------------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply missing migrations; returns the schema version."""
        with self.transaction() as conn:
            schema_version.create(conn, checkfirst=True)
            current = conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
            for number, migration in enumerate(MIGRATIONS, 1):
                if number > current:
                    migration(conn)
                    conn.execute(schema_version.insert().values(version=number, applied_at=time.time()))
            return len(MIGRATIONS)

    def version(self) -> int:
        with self.transaction() as conn:
            return int(conn.execute(select(func.max(schema_version.c.version))).scalar() or 0)

    # -- chambers, keys, tokens --------------------------------------------------------------------

    def create_chamber(self, name: str, country: str, code: str, encrypt: Callable[[int], tuple[str, bytes]]) -> Chamber:
        """Create a chamber; ``encrypt(chamber_id)`` returns (address, ciphertext) of its new key."""
        with self.transaction() as conn:
            chamber_id = _insert_id(
                conn, chambers.insert().values(name=name, country=country, accreditation_code=code, created_at=time.time())
            )
            address, ciphertext = encrypt(chamber_id)
            key_id = _insert_id(
                conn,
                chamber_keys.insert().values(
                    chamber_id=chamber_id, address=address, ciphertext=ciphertext, created_at=time.time()
                ),
            )
        return Chamber(chamber_id, name, country, code, key_id, address)

    def add_key(self, chamber_id: int, address: str, ciphertext: bytes) -> int:
        """A new signing key (rotation): older keys are retired, and stay for their history."""
        now = time.time()
        with self.transaction() as conn:
            conn.execute(
                update(chamber_keys)
                .where(chamber_keys.c.chamber_id == chamber_id, chamber_keys.c.retired_at.is_(None))
                .values(retired_at=now)
            )
            return int(
                _insert_id(
                    conn,
                    chamber_keys.insert().values(chamber_id=chamber_id, address=address, ciphertext=ciphertext, created_at=now),
                )
            )

    def resign_pending(self, chamber_id: int, key_id: int, signatures: dict[int, str]) -> int:
        """Move not-yet-batched PENDING certificates to a new key with their new signatures."""
        changed = 0
        with self.transaction() as conn:
            for certificate_id, signature in signatures.items():
                changed += conn.execute(
                    update(certificates)
                    .where(
                        certificates.c.id == certificate_id,
                        certificates.c.chamber_id == chamber_id,
                        certificates.c.status == "PENDING",
                        certificates.c.batch_id.is_(None),
                    )
                    .values(key_id=key_id, signature=signature)
                ).rowcount
        return changed

    def _chamber_row(self, conn: Connection, chamber_id: int) -> Chamber | None:
        row = conn.execute(
            select(chambers, chamber_keys.c.id.label("key_id"), chamber_keys.c.address)
            .join(chamber_keys, chamber_keys.c.chamber_id == chambers.c.id)
            .where(chambers.c.id == chamber_id, chamber_keys.c.retired_at.is_(None))
        ).first()
        if row is None:
            return None
        return Chamber(row.id, row.name, row.country, row.accreditation_code, row.key_id, row.address)

    def chamber(self, chamber_id: int) -> Chamber | None:
        with self.transaction() as conn:
            return self._chamber_row(conn, chamber_id)

    def chambers(self) -> list[Chamber]:
        with self.transaction() as conn:
            ids = conn.execute(select(chambers.c.id).order_by(chambers.c.id)).scalars().all()
            return [c for c in (self._chamber_row(conn, i) for i in ids) if c is not None]

    def key(self, key_id: int) -> tuple[str, bytes, int]:
        """(address, ciphertext, chamber id) of a key."""
        with self.transaction() as conn:
            row = conn.execute(select(chamber_keys).where(chamber_keys.c.id == key_id)).one()
            return row.address, row.ciphertext, row.chamber_id

    def chamber_by_address(self, address: str) -> int | None:
        with self.transaction() as conn:
            value = conn.execute(
                select(chamber_keys.c.chamber_id).where(func.lower(chamber_keys.c.address) == address.lower())
            ).scalar()
            return int(value) if value is not None else None

    def add_token(self, chamber_id: int, token_hash: str, label: str = "") -> int:
        with self.transaction() as conn:
            return int(
                _insert_id(
                    conn,
                    api_tokens.insert().values(chamber_id=chamber_id, token_hash=token_hash, label=label, created_at=time.time()),
                )
            )

    def revoke_token(self, token_id: int) -> bool:
        with self.transaction() as conn:
            result = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
            return bool(result.rowcount)

    def token_owner(self, token_hash: str) -> tuple[int, int] | None:
        """(chamber id, token id) of a live token."""
        with self.transaction() as conn:
            row = conn.execute(
                select(api_tokens.c.chamber_id, api_tokens.c.id).where(
                    api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None)
                )
            ).first()
            return (row.chamber_id, row.id) if row else None

    # -- certificates ----------------------------------------------------------------------------

    def insert_certificates(self, chamber: Chamber, rows: Sequence[dict[str, Any]], actor: str) -> list[int]:
        """Store new certificates as PENDING (all or none). Raises DuplicateCertificateError."""
        now = time.time()
        ids: list[int] = []
        try:
            with self.transaction() as conn:
                existing = dict(
                    conn.execute(
                        select(certificates.c.idempotency_key, certificates.c.id).where(
                            certificates.c.chamber_id == chamber.id,
                            certificates.c.idempotency_key.in_([row["idempotency_key"] for row in rows]),
                        )
                    ).all()
                )
                for row in rows:
                    if row["idempotency_key"] in existing:
                        raise DuplicateCertificateError(row["number"], int(existing[row["idempotency_key"]]))
                    values = {**row, "chamber_id": chamber.id, "key_id": chamber.key_id, "status": "PENDING", "created_at": now}
                    values["data"] = json.dumps(row["data"], ensure_ascii=False)
                    values["salts"] = json.dumps(row["salts"])
                    new_id = int(_insert_id(conn, certificates.insert().values(**values)))
                    ids.append(new_id)
                    self._audit(conn, chamber.id, new_id, "CREATED", actor, None, None)
        except IntegrityError as exc:  # a concurrent insert of the same number won the race
            number = rows[0]["number"] if len(rows) == 1 else "(one of the batch)"
            raise DuplicateCertificateError(number, -1) from exc
        return ids

    def get_certificate(self, certificate_id: int, chamber_id: int | None = None) -> CertificateRow | None:
        with self.transaction() as conn:
            query = select(certificates).where(certificates.c.id == certificate_id)
            if chamber_id is not None:
                query = query.where(certificates.c.chamber_id == chamber_id)
            row = conn.execute(query).first()
            return _certificate(row) if row else None

    def get_certificates(self, certificate_ids: Sequence[int]) -> list[CertificateRow]:
        """The certificates with these ids, in that order (one query)."""
        with self.transaction() as conn:
            rows = conn.execute(select(certificates).where(certificates.c.id.in_(list(certificate_ids)))).all()
        by_id = {row.id: _certificate(row) for row in rows}
        return [by_id[i] for i in certificate_ids if i in by_id]

    def find_by_leaf(self, leaf: str) -> CertificateRow | None:
        with self.transaction() as conn:
            row = conn.execute(select(certificates).where(certificates.c.leaf == leaf.lower())).first()
            return _certificate(row) if row else None

    def find_by_number(self, chamber_id: int, number: str) -> list[CertificateRow]:
        with self.transaction() as conn:
            rows = conn.execute(
                select(certificates)
                .where(certificates.c.chamber_id == chamber_id, certificates.c.number == number)
                .order_by(certificates.c.id)
            ).all()
            return [_certificate(r) for r in rows]

    def list_certificates(
        self,
        chamber_id: int,
        *,
        number: str | None = None,
        status: str | None = None,
        destination: str | None = None,
        issued_from: str | None = None,
        issued_to: str | None = None,
        limit: int = 50,
        after_id: int | None = None,
    ) -> list[CertificateRow]:
        conditions = [certificates.c.chamber_id == chamber_id]
        if number:
            conditions.append(certificates.c.number == number)
        if status:
            conditions.append(certificates.c.status == status)
        if destination:
            conditions.append(certificates.c.destination == destination)
        if issued_from:
            conditions.append(certificates.c.issue_date >= issued_from)
        if issued_to:
            conditions.append(certificates.c.issue_date <= issued_to)
        if after_id is not None:
            conditions.append(certificates.c.id < after_id)
        with self.transaction() as conn:
            rows = conn.execute(
                select(certificates).where(and_(*conditions)).order_by(certificates.c.id.desc()).limit(limit)
            ).all()
            return [_certificate(r) for r in rows]

    def set_status(
        self,
        certificate_id: int,
        status: str,
        reason: str | None,
        actor: str,
        tx_hash: str | None,
        successor_leaf: str | None = None,
        expect: Sequence[str] | None = None,
    ) -> bool:
        """Change a certificate's status (and audit it); with ``expect`` only from those states."""
        with self.transaction() as conn:
            query = update(certificates).where(certificates.c.id == certificate_id)
            if expect:
                query = query.where(certificates.c.status.in_(list(expect)))
            values: dict[str, Any] = {"status": status, "reason": reason}
            if successor_leaf:
                values["successor_leaf"] = successor_leaf
            if not conn.execute(query.values(**values)).rowcount:
                return False
            chamber_id = conn.execute(select(certificates.c.chamber_id).where(certificates.c.id == certificate_id)).scalar_one()
            self._audit(conn, chamber_id, certificate_id, status, actor, reason, tx_hash)
            return True

    def withdraw(self, certificate_id: int, reason: str, actor: str) -> bool:
        """Cancel a certificate that was never batched and free its number for a retry."""
        with self.transaction() as conn:
            result = conn.execute(
                update(certificates)
                .where(certificates.c.id == certificate_id, certificates.c.status == "PENDING", certificates.c.batch_id.is_(None))
                .values(
                    status="CANCELLED",
                    reason=reason,
                    idempotency_key=certificates.c.idempotency_key + f"#withdrawn-{certificate_id}",
                )
            )
            if not result.rowcount:
                return False
            chamber_id = conn.execute(select(certificates.c.chamber_id).where(certificates.c.id == certificate_id)).scalar_one()
            self._audit(conn, chamber_id, certificate_id, "CANCELLED", actor, reason, None)
            return True

    def audit_trail(self, certificate_id: int) -> list[dict[str, Any]]:
        with self.transaction() as conn:
            rows = conn.execute(
                select(audit_events).where(audit_events.c.certificate_id == certificate_id).order_by(audit_events.c.id)
            ).all()
            return [{"action": r.action, "actor": r.actor, "reason": r.reason, "tx": r.tx_hash, "at": r.at} for r in rows]

    def _audit(
        self,
        conn: Connection,
        chamber_id: int,
        certificate_id: int | None,
        action: str,
        actor: str,
        reason: str | None,
        tx_hash: str | None,
    ) -> None:
        conn.execute(
            audit_events.insert().values(
                chamber_id=chamber_id,
                certificate_id=certificate_id,
                action=action,
                actor=actor,
                reason=reason,
                tx_hash=tx_hash,
                at=time.time(),
            )
        )

    # -- anchoring -------------------------------------------------------------------------------

    def chambers_with_pending(self) -> list[int]:
        with self.transaction() as conn:
            pending = select(certificates.c.chamber_id).where(
                certificates.c.status == "PENDING", certificates.c.batch_id.is_(None)
            )
            open_batches = select(batches.c.chamber_id).where(batches.c.status != "ANCHORED")
            ids = conn.execute(pending.union(open_batches)).scalars().all()
            return sorted(set(ids))

    def acquire_lease(self, chamber_id: int, owner: str, seconds: float) -> bool:
        """Claim the chamber's anchoring for ``seconds``: one worker per chamber, so one nonce sequence."""
        now = time.time()
        with self.transaction() as conn:
            result = conn.execute(
                update(chambers)
                .where(
                    chambers.c.id == chamber_id,
                    or_(chambers.c.lease_until.is_(None), chambers.c.lease_until < now, chambers.c.lease_owner == owner),
                )
                .values(lease_owner=owner, lease_until=now + seconds)
            )
            return bool(result.rowcount)

    def release_lease(self, chamber_id: int, owner: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                update(chambers)
                .where(chambers.c.id == chamber_id, chambers.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def open_batches(self, chamber_id: int) -> list[dict[str, Any]]:
        """Batches created but not yet known to be anchored (a restart resumes them)."""
        with self.transaction() as conn:
            rows = conn.execute(
                select(batches).where(batches.c.chamber_id == chamber_id, batches.c.status != "ANCHORED").order_by(batches.c.id)
            ).all()
            return [dict(r._mapping) for r in rows]

    def pending(self, chamber_id: int, limit: int) -> list[CertificateRow]:
        with self.transaction() as conn:
            rows = conn.execute(
                select(certificates)
                .where(
                    certificates.c.chamber_id == chamber_id, certificates.c.status == "PENDING", certificates.c.batch_id.is_(None)
                )
                .order_by(certificates.c.id)
                .limit(limit)
            ).all()
            return [_certificate(r) for r in rows]

    def create_batch(self, chamber_id: int, key_id: int, root: str, certificate_ids: Sequence[int]) -> int:
        """Record a batch and assign its certificates — before anything is sent to the chain."""
        with self.transaction() as conn:
            batch_id = int(
                _insert_id(
                    conn,
                    batches.insert().values(
                        chamber_id=chamber_id, key_id=key_id, root=root, status="PREPARED", attempts=0, created_at=time.time()
                    ),
                )
            )
            assigned = conn.execute(
                update(certificates)
                .where(
                    certificates.c.id.in_(list(certificate_ids)),
                    certificates.c.batch_id.is_(None),
                    certificates.c.status == "PENDING",
                )
                .values(batch_id=batch_id)
            ).rowcount
            if assigned != len(certificate_ids):
                raise StoreError("pending certificates changed while a batch was being formed")  # rolls back
            return batch_id

    def batch_transaction(self, root: str) -> str | None:
        """The anchoring transaction of an anchored batch with this root, if this service made it."""
        with self.transaction() as conn:
            value = conn.execute(
                select(batches.c.tx_hash).where(batches.c.root == root.lower(), batches.c.status == "ANCHORED")
            ).scalar()
            return str(value) if value else None

    def batch_of(self, batch_id: int) -> dict[str, Any] | None:
        with self.transaction() as conn:
            row = conn.execute(select(batches).where(batches.c.id == batch_id)).first()
            return dict(row._mapping) if row else None

    def batch_certificates(self, batch_id: int) -> list[CertificateRow]:
        with self.transaction() as conn:
            rows = conn.execute(select(certificates).where(certificates.c.batch_id == batch_id).order_by(certificates.c.id)).all()
            return [_certificate(r) for r in rows]

    def batch_attempt(self, batch_id: int, error: str | None, tx_hash: str | None = None) -> None:
        with self.transaction() as conn:
            values: dict[str, Any] = {"attempts": batches.c.attempts + 1, "last_error": error}
            if tx_hash:
                values.update(tx_hash=tx_hash, status="SENT")
            conn.execute(update(batches).where(batches.c.id == batch_id).values(**values))

    def finish_batch(self, batch_id: int, tx_hash: str | None, block: int, documents: dict[int, dict[str, Any]]) -> None:
        """Mark the batch anchored and its certificates ISSUED with their documents, in one transaction."""
        now = time.time()
        with self.transaction() as conn:
            conn.execute(
                update(batches)
                .where(batches.c.id == batch_id)
                .values(status="ANCHORED", tx_hash=tx_hash, block_number=block, anchored_at=now)
            )
            # A batch belongs to one chamber: its certificates' too.
            chamber_id = conn.execute(select(batches.c.chamber_id).where(batches.c.id == batch_id)).scalar_one()
            for certificate_id, document in documents.items():
                result = conn.execute(
                    update(certificates)
                    .where(certificates.c.id == certificate_id, certificates.c.status == "PENDING")
                    .values(status="ISSUED", document=json.dumps(document, ensure_ascii=False), issued_at=now)
                )
                if result.rowcount:
                    self._audit(conn, chamber_id, certificate_id, "ISSUED", "worker", None, tx_hash)
                else:  # revoked or cancelled while pending: still anchored, keep its status, record the proof
                    conn.execute(
                        update(certificates)
                        .where(certificates.c.id == certificate_id)
                        .values(document=json.dumps(document, ensure_ascii=False), issued_at=now)
                    )

    def counts(self, chamber_id: int) -> dict[str, int]:
        with self.transaction() as conn:
            rows = conn.execute(
                select(certificates.c.status, func.count())
                .where(certificates.c.chamber_id == chamber_id)
                .group_by(certificates.c.status)
            ).all()
            return {status: int(count) for status, count in rows}
