"""Persistence: SQLite by default, PostgreSQL when DATABASE_URL says so (SQLAlchemy Core).

The store owns its engine; every method is one transaction. Schema changes are numbered
migrations recorded in ``schema_version``; `Store.migrate()` applies the missing ones.

Modules: :mod:`.schema` (tables, migrations), :mod:`.engine` (engine, connections), :mod:`.rows`
(records), one repository per aggregate (:mod:`.chamber_repository` — chambers, keys, API tokens
and the anchoring lease —, :mod:`.certificate_repository`, :mod:`.batch_repository`,
:mod:`.audit_repository`, :mod:`.intent_repository` — changes asked of the registry —,
:mod:`.chain_repository` — the chain follower's cursor, events and the projection —,
:mod:`.customs_records` — what customs recorded against the certificates, projected by the
follower), and :mod:`.facade` (`Store`, which keeps the methods callers use).
"""

from __future__ import annotations

from .customs_records import CertificateCustoms, CustomsRecordRow, ItemRecorded
from .engine import Database, make_engine
from .errors import DuplicateCertificateError, StoreError
from .facade import Store
from .rows import AuditEvent, BatchRow, CertificateRow, Chamber, ChamberKey, Cursor, IntentRow, TokenOwner
from .schema import (
    MIGRATIONS,
    api_tokens,
    audit_events,
    batches,
    certificates,
    chain_cursor,
    chain_events,
    chamber_keys,
    chambers,
    intents,
    metadata,
    migration_1_tables,
    schema_version,
    token_sessions,
)

# The name tests/service/test_service_anchoring.py still uses for migration 1 (it could say MIGRATIONS[0]).
_migration_1 = migration_1_tables

__all__ = [
    "MIGRATIONS",
    "AuditEvent",
    "BatchRow",
    "CertificateCustoms",
    "CertificateRow",
    "Chamber",
    "ChamberKey",
    "Cursor",
    "CustomsRecordRow",
    "IntentRow",
    "ItemRecorded",
    "Database",
    "DuplicateCertificateError",
    "Store",
    "StoreError",
    "TokenOwner",
    "api_tokens",
    "audit_events",
    "batches",
    "certificates",
    "chamber_keys",
    "chain_cursor",
    "chain_events",
    "chambers",
    "intents",
    "make_engine",
    "metadata",
    "schema_version",
    "token_sessions",
]
