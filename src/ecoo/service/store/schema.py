"""The store's tables and its numbered schema migrations.

Schema changes are numbered migrations recorded in ``schema_version``; :func:`migrate` applies the
missing ones. Append to :data:`MIGRATIONS`, never edit a released one: a database keeps the
version it reached, and only the migrations after it run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
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
    func,
    literal,
    select,
)
from sqlalchemy.engine import Connection

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
    Column("status", String(16), nullable=False),  # a BatchStatus: PREPARED, SENT, ANCHORED
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
    Column("status", String(16), nullable=False),  # a CertificateStatus
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
    # A chamber's statistics over a period (issue 11): every column the counts read, so that
    # PostgreSQL answers from the index alone instead of fetching a chamber's rows from all over
    # the table (docs/statistics.md, "Speed").
    Index("ix_certificates_statistics", "chamber_id", "issue_date", "issued_at", "status", "scheme", "destination"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chamber_id", Integer, ForeignKey("chambers.id"), nullable=False),
    Column("certificate_id", Integer, ForeignKey("certificates.id")),
    Column("action", String(32), nullable=False),  # an AuditAction
    Column("actor", String(128), nullable=False),  # "token:<id>", "worker", "cli"
    Column("reason", Text),
    Column("tx_hash", String(66)),
    Column("at", Float, nullable=False),
    Index("ix_audit_certificate", "certificate_id"),
)

# Dashboard sessions are signed cookies: the server cannot delete one. Each cookie carries the
# generation of its token's sessions when it was opened; signing out (or revoking the token)
# bumps the generation, and every cookie of an older generation is refused from then on.
token_sessions = Table(
    "token_sessions",
    metadata,
    Column("token_id", Integer, ForeignKey("api_tokens.id"), primary_key=True),
    Column("generation", Integer, nullable=False, default=0),
)


# A change the chamber asked for, stored before anything is sent to the chain (an intent). The
# chain follower completes it when it sees the registry's event; the worker sends (and re-sends)
# it. Anchoring a batch is an intent too: the batch row. ``open_certificate`` holds the
# certificate id while the intent is open (NULL after), so a certificate has one open intent at most.
intents = Table(
    "intents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chamber_id", Integer, ForeignKey("chambers.id"), nullable=False),
    Column("certificate_id", Integer, ForeignKey("certificates.id")),
    Column("open_certificate", Integer, unique=True),
    Column("kind", String(16), nullable=False),  # an IntentKind
    Column("state", String(16), nullable=False),  # an IntentState
    Column("revocation_reason", Integer),  # a RevocationReason, for REVOKE
    Column("reason", Text),  # the chamber's words
    Column("successor_leaf", String(66)),  # SUPERSEDE
    Column("new_address", String(42)),  # ROTATE: the new key, stored (encrypted) before the
    Column("new_ciphertext", LargeBinary),  # rotation is sent, so a crash cannot lose it
    Column("actor", String(128), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("tx_hash", String(66)),
    Column("last_error", Text),
    Column("claimed_until", Float),  # a sender (request or worker) is sending it until then
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_intents_chamber_state", "chamber_id", "state"),
    Index("ix_intents_certificate", "certificate_id"),
)

# Where the chain follower has read the registry up to (a confirmed block and its hash, to notice
# a reorganisation), and which service process follows it now (a lease).
chain_cursor = Table(
    "chain_cursor",
    metadata,
    Column("registry", String(42), primary_key=True),
    Column("chain_id", Integer, nullable=False),
    Column("block_number", Integer, nullable=False),
    Column("block_hash", String(66)),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Column("divergent", Integer, nullable=False, default=0),  # found by the last reconciliation
    Column("reconciled_at", Float),
    Column("updated_at", Float, nullable=False),
)

# Every registry event about this service's keys, as the follower read it: the projection's source.
chain_events = Table(
    "chain_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("registry", String(42), nullable=False),
    Column("name", String(32), nullable=False),
    Column("block_number", Integer, nullable=False),
    Column("block_hash", String(66), nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("issuer", String(42), nullable=False),
    Column("subject", String(66), nullable=False),  # root, leaf or (rotation) new key
    Column("successor", String(66)),
    Column("reason", Integer),
    UniqueConstraint("registry", "block_hash", "log_index", name="uq_chain_events_log"),
    Index("ix_chain_events_subject", "subject"),
    Index("ix_chain_events_block", "registry", "block_number"),
)


# What customs recorded on the registry against this service's certificates (receipt, utilisation
# of an item's quantity, rejection), as the follower read it: keyed by (issuer = the key that
# anchored it, leaf) as the registry keys it, and forgotten with the other events above a block a
# reorganisation removed. Quantities are the registry's integers (thousandths of the item's unit,
# uint128: kept as decimal text, which no integer column of both databases holds).
customs_records = Table(
    "customs_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("registry", String(42), nullable=False),
    Column("kind", String(16), nullable=False),  # received, utilised, rejected
    Column("issuer", String(42), nullable=False),
    Column("leaf", String(66), nullable=False),
    Column("customs", String(42), nullable=False),  # the customs key that recorded it
    Column("item", Integer),  # utilised
    Column("quantity", String(40)),  # utilised: this record's quantity
    Column("utilised", String(40)),  # utilised: the item's total after this record
    Column("certified", String(40)),  # utilised: the item's certified quantity
    Column("code", Integer),  # rejected: an ecoo.utilisation.RejectionCode
    Column("declaration_hash", String(66), nullable=False),
    Column("block_number", Integer, nullable=False),
    Column("block_hash", String(66), nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("at", Float),  # the block's time
    UniqueConstraint("registry", "block_hash", "log_index", name="uq_customs_records_log"),
    Index("ix_customs_records_leaf", "leaf", "issuer"),
    Index("ix_customs_records_block", "registry", "block_number"),
    # A chamber's statistics read its keys' records over a period (issue 11); every column they
    # read is in the index, so PostgreSQL answers from it alone (an index-only scan).
    Index("ix_customs_records_issuer_at", "issuer", "at", "kind", "code", "leaf"),
)


# The HS chapters of each certificate's items (issue 11): the statistics count certificates per
# chapter, and reading every certificate's JSON for it took seconds at a million certificates
# (docs/statistics.md, "Speed"). Written with the certificate (its items never change).
certificate_chapters = Table(
    "certificate_chapters",
    metadata,
    Column("certificate_id", Integer, ForeignKey("certificates.id"), primary_key=True),
    Column("chapter", String(2), primary_key=True),  # the first two characters of an item's hsCode
    Column("chamber_id", Integer, nullable=False),
    Column("issue_date", String(10), nullable=False),
    Index("ix_certificate_chapters_chamber_date", "chamber_id", "issue_date"),
)


def hs_chapters(data: Any) -> set[str]:
    """The chapters (first two characters of ``hsCode``) of a certificate's items; an item
    without a code (or a malformed ``items``) adds none."""
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return set()
    codes = (item.get("hsCode") for item in items if isinstance(item, dict))
    return {code[:2] for code in codes if isinstance(code, str) and code}


def chapter_rows(certificate_id: int, chamber_id: int, issue_date: str, data: Any) -> list[dict[str, Any]]:
    return [
        {"certificate_id": certificate_id, "chapter": chapter, "chamber_id": chamber_id, "issue_date": issue_date}
        for chapter in sorted(hs_chapters(data))
    ]


def migration_1_tables(conn: Connection) -> None:
    """Schema 1: every table."""
    metadata.create_all(conn, tables=[chambers, chamber_keys, api_tokens, batches, certificates, audit_events])


def migration_2_list_index(conn: Connection) -> None:
    """Schema 2: the (chamber_id, id) index, so list queries stay flat as the store grows
    (docs/benchmarks.md, "Growth")."""
    for index in certificates.indexes:
        if index.name == "ix_certificates_chamber_id":
            index.create(conn, checkfirst=True)


def migration_3_token_sessions(conn: Connection) -> None:
    """Schema 3: the generation of each API token's dashboard sessions, so that signing out or
    revoking the token ends every session opened with it (a row per existing token)."""
    token_sessions.create(conn, checkfirst=True)
    conn.execute(token_sessions.insert().from_select(["token_id", "generation"], select(api_tokens.c.id, literal(0))))


def migration_4_chain_projection(conn: Connection) -> None:
    """Schema 4: intents, the chain follower's cursor and the registry events it read. Batches
    already anchored by an earlier version keep their status; the follower reads the registry
    from its deployment block and confirms them."""
    metadata.create_all(conn, tables=[intents, chain_cursor, chain_events])
    # An earlier version could mark a certificate CANCELLED after a batch had taken it, and then
    # anchor it (issue 9, finding 1): it verified VALID. Its chamber's cancel becomes what it
    # should have been, an intent to revoke it on chain as Cancelled, which the worker sends.
    now = time.time()
    stranded = conn.execute(
        select(certificates.c.id, certificates.c.chamber_id, certificates.c.reason).where(
            certificates.c.status == "CANCELLED", certificates.c.batch_id.is_not(None)
        )
    ).all()
    for row in stranded:
        conn.execute(
            intents.insert().values(
                chamber_id=row.chamber_id,
                certificate_id=row.id,
                open_certificate=row.id,
                kind="REVOKE",
                state="QUEUED",
                revocation_reason=3,  # RevocationReason.CANCELLED
                reason=row.reason,
                actor="migration 4",
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )


def migration_5_customs_records(conn: Connection) -> None:
    """Schema 5: the customs records of this service's certificates (issue 10). The follower stores
    those of the blocks it reads from now on; records made before the upgrade come in when the
    registry is read again from its deployment (``ChainFollower.reread``)."""
    customs_records.create(conn, checkfirst=True)


def migration_6_statistics(conn: Connection) -> None:
    """Schema 6: what a chamber's statistics read (issue 11): the HS chapters of every stored
    certificate (read once from its JSON here, written with each new one from now on), and the
    index of customs records by (key, time); certificates already have (chamber_id, issue_date)."""
    certificate_chapters.create(conn, checkfirst=True)
    conn.execute(certificate_chapters.delete())  # a migration run again (its version row lost) starts afresh
    for index in (*customs_records.indexes, *certificates.indexes):
        if index.name in ("ix_customs_records_issuer_at", "ix_certificates_statistics"):
            index.create(conn, checkfirst=True)
    done = 0
    while True:
        chunk = conn.execute(
            select(certificates.c.id, certificates.c.chamber_id, certificates.c.issue_date, certificates.c.data)
            .where(certificates.c.id > done)
            .order_by(certificates.c.id)
            .limit(5_000)
        ).all()
        if not chunk:
            return
        rows = [r for c in chunk for r in chapter_rows(int(c.id), int(c.chamber_id), str(c.issue_date), json.loads(c.data))]
        if rows:
            conn.execute(certificate_chapters.insert(), rows)
        done = int(chunk[-1].id)


#: Numbered schema migrations (number = position + 1); append, never edit a released one.
MIGRATIONS: list[Callable[[Connection], None]] = [
    migration_1_tables,
    migration_2_list_index,
    migration_3_token_sessions,
    migration_4_chain_projection,
    migration_5_customs_records,
    migration_6_statistics,
]


def current_version(conn: Connection) -> int:
    """The schema version this database has reached (0: none; ``schema_version`` must exist)."""
    return int(conn.execute(select(func.max(schema_version.c.version))).scalar() or 0)


def migrate(conn: Connection) -> int:
    """Apply the missing migrations inside ``conn``'s transaction; returns the schema version."""
    schema_version.create(conn, checkfirst=True)
    current = current_version(conn)
    for number, migration in enumerate(MIGRATIONS, 1):
        if number > current:
            migration(conn)
            conn.execute(schema_version.insert().values(version=number, applied_at=time.time()))
    return len(MIGRATIONS)
