"""The store's tables and its numbered schema migrations.

Schema changes are numbered migrations recorded in ``schema_version``; :func:`migrate` applies the
missing ones. Append to :data:`MIGRATIONS`, never edit a released one: a database keeps the
version it reached, and only the migrations after it run.
"""

from __future__ import annotations

import time
from collections.abc import Callable

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


#: Numbered schema migrations (number = position + 1); append, never edit a released one.
MIGRATIONS: list[Callable[[Connection], None]] = [migration_1_tables, migration_2_list_index, migration_3_token_sessions]


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
