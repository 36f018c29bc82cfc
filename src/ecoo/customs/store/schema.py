"""The customs service's tables and their numbered migrations.

Append to :data:`MIGRATIONS`, never edit a released one. Every table is prefixed ``customs_``, so a
customs service may share a PostgreSQL database with a chamber service without a clash. Times are
Unix seconds (float); dates of declarations are ISO strings (``YYYY-MM-DD``); leaves, hashes and
transaction hashes are 0x-prefixed lower-case hex; addresses are EIP-55.
"""

from __future__ import annotations

import time

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection

metadata = MetaData()

schema_version = Table(
    "customs_schema_version", metadata, Column("version", Integer, primary_key=True), Column("applied_at", Float)
)

# -- accounts, tokens, audit, verifications (engineer: core) ------------------------------------------

accounts = Table(
    "customs_accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),  # argon2id, encoded with its parameters
    Column("role", String(16), nullable=False),  # officer | admin
    Column("created_at", Float, nullable=False),
    Column("disabled_at", Float),
    Column("session_generation", Integer, nullable=False, default=0),  # bumped on sign-out: ends every session
)

tokens = Table(
    "customs_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False),
    Column("role", String(16), nullable=False),  # officer | admin
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the token
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
    Column("last_used_at", Float),
)

audit = Table(
    "customs_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", Float, nullable=False),
    Column("actor", String(160), nullable=False),  # "account:alice", "token:3:gateway", "system"
    Column("action", String(64), nullable=False),
    Column("subject", String(256), nullable=False, default=""),
    Column("detail", Text),  # JSON
)

verifications = Table(
    "customs_verifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", Float, nullable=False),
    Column("actor", String(160), nullable=False),
    Column("source", String(16), nullable=False),  # api | page | declaration
    Column("declaration_id", Integer),  # set when the verification was part of a declaration
    Column("verdict", String(32), nullable=False),  # Verdict.value
    Column("failed_check", String(64)),  # the first check that failed, if any
    Column("chain_id", BigInteger),
    Column("registry", String(42)),
    Column("issuer", String(42)),  # the key that signed and anchored
    Column("leaf", String(66)),
    Column("certificate_number", String(128)),
    Column("scheme", String(32)),
    Column("export_country", String(2)),
    Column("import_country", String(2)),
    Column("chamber", String(256)),  # the issuer's name as the certificate states it
)
Index("customs_verifications_at", verifications.c.at)

# -- declarations and the watch list they feed (engineer: declarations) --------------------------------

declarations = Table(
    "customs_declarations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(128), nullable=False),
    Column("salt", String(66), nullable=False),  # 0x + 32 bytes: declaration_hash = keccak(salt ‖ reference)
    Column("declaration_hash", String(66), nullable=False),
    Column("importer", Text),  # JSON
    Column("port_of_entry", String(16)),
    Column("declared_on", String(10), nullable=False),  # YYYY-MM-DD
    Column("created_at", Float, nullable=False),
    Column("actor", String(160), nullable=False),
    Column("outcome", String(24), nullable=False),  # accepted | partly_accepted | rejected
    Column("answer", Text),  # the API's answer (JSON), kept as given
    # The reference once more, unique: a retried declaration finds the first (schema 2). Null only
    # on the later duplicates an earlier version let in (migration 2 keeps the first of each).
    Column("reference_once", String(128)),
    Column("content_hash", String(66)),  # SHA-256 of the declaration as sent: a retry must be the same
)
Index("customs_declarations_created", declarations.c.created_at)
Index("customs_declarations_reference_once", declarations.c.reference_once, unique=True)

declaration_lines = Table(
    "customs_declaration_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("declaration_id", Integer, ForeignKey("customs_declarations.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("chain_id", BigInteger),
    Column("registry", String(42)),
    Column("issuer", String(42)),
    Column("leaf", String(66)),
    Column("item", Integer),
    Column("hs_code", String(12)),
    Column("quantity", String(40)),  # decimal as declared
    Column("unit", String(8)),
    Column("preference", String(32)),  # the scheme whose preference is claimed, or null
    Column("decision", String(8), nullable=False),  # accept | reject
    Column("reasons", Text),  # JSON list of {code, message}
    Column("record_kind", String(16)),  # utilisation | rejection
    Column("record_tx", String(66)),
    Column("record_state", String(16)),  # not_sent | sent | confirmed | failed
    Column("record_error", Text),
    # The record's recovery (declaration_records, record_recovery): the certified quantity a
    # utilisation states (thousandths, decimal digits: a uint128), the transactions sent, when the
    # recovery looks next (null: never: settled deep enough, or no key), who is sending it now (a
    # claim that expires), the block to search its events from and the block that holds it.
    Column("record_certified", String(40)),
    Column("record_attempts", Integer, nullable=False, default=0),
    Column("record_next_at", Float),
    Column("record_claim", String(64)),
    Column("record_claim_until", Float),
    Column("record_from_block", BigInteger),
    Column("record_block", BigInteger),
    UniqueConstraint("declaration_id", "line_no", name="customs_declaration_lines_once"),
)
Index("customs_declaration_lines_due", declaration_lines.c.record_next_at)

declaration_receipts = Table(
    "customs_declaration_receipts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("declaration_id", Integer, ForeignKey("customs_declarations.id"), nullable=False),
    Column("chain_id", BigInteger, nullable=False),
    Column("registry", String(42), nullable=False),
    Column("issuer", String(42), nullable=False),
    Column("leaf", String(66), nullable=False),
    Column("record_tx", String(66)),
    Column("record_state", String(16), nullable=False),  # not_sent | sent | confirmed | failed
    Column("record_error", Text),
    Column("record_attempts", Integer, nullable=False, default=0),
    Column("record_next_at", Float),
    Column("record_claim", String(64)),
    Column("record_claim_until", Float),
    Column("record_from_block", BigInteger),
    Column("record_block", BigInteger),
    UniqueConstraint("declaration_id", "chain_id", "registry", "leaf", name="customs_declaration_receipts_once"),
)
Index("customs_declaration_receipts_due", declaration_receipts.c.record_next_at)

watched = Table(
    "customs_watched",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("registry", String(42), nullable=False),
    Column("issuer", String(42), nullable=False),  # the key that anchored the certificate
    Column("leaf", String(66), nullable=False),
    Column("certificate_number", String(128), nullable=False),
    Column("chamber", String(256)),
    Column("declaration_id", Integer, ForeignKey("customs_declarations.id")),
    Column("accepted_at", Float, nullable=False),
    # The block whose state the verification read (schema 2): the watcher looks back from the
    # block after it, so nothing revoked between the verification and the watch is missed; and
    # when that look back was done (null: not yet; each row on its own, as ids may commit out of
    # order on PostgreSQL).
    Column("verified_block", BigInteger),
    Column("looked_back_at", Float),
    UniqueConstraint("chain_id", "registry", "leaf", name="customs_watched_once"),
)

# -- the watcher, alerts and webhooks (engineer: alerts) ----------------------------------------------

watch_cursors = Table(
    "customs_watch_cursors",
    metadata,
    Column("chain_id", BigInteger, primary_key=True),
    Column("registry", String(42), primary_key=True),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", String(66), nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Column("start_block", BigInteger, nullable=False),  # where watching began: a deep reorganisation rewinds here
    Column("watched_id", Integer, nullable=False, default=0),  # unused since schema 2 (customs_watched.looked_back_at)
    Column("checked_at", Float),  # the last pass that reached the registry's nodes
    Column("last_error", Text),  # why the last pass failed (no secrets: node URLs redacted), null when it did not
)

alerts = Table(
    "customs_alerts",
    metadata,
    Column("id", Integer, primary_key=True),  # the feed's cursor
    Column("at", Float, nullable=False),
    Column("kind", String(32), nullable=False),  # revoked_fraud | revoked_error | cancelled | superseded | ...
    Column("chain_id", BigInteger, nullable=False),
    Column("registry", String(42), nullable=False),
    Column("issuer", String(42), nullable=False),
    Column("leaf", String(66), nullable=False),
    Column("certificate_number", String(128)),
    Column("chamber", String(256)),  # as the watched certificate names its issuer
    Column("declaration_id", Integer),  # the declaration that put the certificate on the watch list
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", String(66), nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("detail", Text),  # JSON
    UniqueConstraint("chain_id", "registry", "tx_hash", "log_index", "leaf", name="customs_alerts_once"),
)
Index("customs_alerts_at", alerts.c.at)  # the statistics' date range

webhooks = Table(
    "customs_webhooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("secret", String(128), nullable=False),  # HMAC key; needed in clear to sign (say so in the docs)
    Column("created_at", Float, nullable=False),
    Column("disabled_at", Float),
)

deliveries = Table(
    "customs_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("webhook_id", Integer, ForeignKey("customs_webhooks.id"), nullable=False),
    Column("alert_id", Integer, ForeignKey("customs_alerts.id"), nullable=False),
    Column("state", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", Float, nullable=False),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("delivered_at", Float),
    Column("created_at", Float, nullable=False),
    Column("attempt_log", Text),  # JSON list of {at, status, error, ms}: one entry per attempt
    UniqueConstraint("webhook_id", "alert_id", name="customs_deliveries_once"),
)
Index("customs_deliveries_due", deliveries.c.state, deliveries.c.next_at)


def migration_1_tables(conn: Connection) -> None:
    metadata.create_all(conn, tables=[t for t in metadata.sorted_tables if t is not schema_version])


def _add_columns(conn: Connection, table: Table, names: tuple[str, ...]) -> None:
    """Add ``table``'s columns ``names`` where missing (a database made by schema 1 of an earlier
    version; one made now has them from migration 1)."""
    present = {column["name"] for column in inspect(conn).get_columns(table.name)}
    for name in names:
        if name not in present:
            kind = table.c[name].type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))


def migration_2_unique_references(conn: Connection) -> None:
    """Schema 2: a declaration's reference is unique (a retried POST finds the first declaration
    instead of recording utilisation twice) and each watched certificate keeps its verification's
    block and its own look-back mark. The first declaration of each reference keeps it; later
    duplicates stay as they are, outside the constraint. Watched rows the cursor's old mark
    covered count as looked back."""
    _add_columns(conn, declarations, ("reference_once", "content_hash"))
    _add_columns(conn, watched, ("verified_block", "looked_back_at"))
    taken = set(conn.execute(select(declarations.c.reference_once).where(declarations.c.reference_once.is_not(None))).scalars())
    firsts = conn.execute(
        select(declarations.c.reference, func.min(declarations.c.id)).group_by(declarations.c.reference)
    ).all()
    for reference, first in firsts:
        if reference not in taken:
            conn.execute(declarations.update().where(declarations.c.id == first).values(reference_once=reference))
    for index in declarations.indexes:
        if index.name == "customs_declarations_reference_once":
            index.create(conn, checkfirst=True)
    now = time.time()
    for cursor in conn.execute(select(watch_cursors.c.chain_id, watch_cursors.c.registry, watch_cursors.c.watched_id)).all():
        conn.execute(
            watched.update()
            .where(
                watched.c.chain_id == cursor.chain_id,
                func.lower(watched.c.registry) == str(cursor.registry).lower(),
                watched.c.id <= int(cursor.watched_id or 0),
                watched.c.looked_back_at.is_(None),
            )
            .values(looked_back_at=now)
        )


MIGRATIONS = [migration_1_tables, migration_2_unique_references]


def current_version(conn: Connection) -> int:
    """The schema version this database has reached (0: none)."""
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
