"""The audit trail: who changed a certificate's status, when, why and in which transaction."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .engine import Database
from .rows import AuditEvent
from .schema import audit_events


def record_event(
    conn: Connection,
    chamber_id: int,
    certificate_id: int | None,
    action: str,
    actor: str,
    reason: str | None,
    tx_hash: str | None,
) -> None:
    """Append an audit event inside the caller's transaction, so it commits with the change it records."""
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


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def events(self, certificate_id: int) -> list[AuditEvent]:
        """A certificate's audit trail, oldest first."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(audit_events).where(audit_events.c.certificate_id == certificate_id).order_by(audit_events.c.id)
            ).all()
            return [AuditEvent.from_row(r) for r in rows]
