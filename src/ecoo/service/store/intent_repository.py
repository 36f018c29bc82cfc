"""Intents: every change a chamber asks of the registry, stored before anything is sent.

An intent is QUEUED when stored, SENT once its transaction is with the node, DONE when the chain
follower sees the registry's event, FAILED when the registry refuses it or it is given up. A
certificate has at most one open (QUEUED or SENT) intent: the ``open_certificate`` column holds
its id while the intent is open and is unique.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..status import AuditAction, IntentKind, IntentState
from .audit_repository import record_event
from .engine import Database, insert_id
from .errors import IntentConflictError
from .rows import IntentRow
from .schema import intents

OPEN_STATES = (IntentState.QUEUED, IntentState.SENT)


def complete_intents(conn: Connection, certificate_id: int, kinds: tuple[IntentKind, ...], tx_hash: str) -> list[IntentRow]:
    """Mark the certificate's open intents of ``kinds`` DONE (the follower saw their event), inside
    the caller's transaction; returns them as they were."""
    rows = conn.execute(
        select(intents).where(
            intents.c.certificate_id == certificate_id, intents.c.kind.in_(list(kinds)), intents.c.state.in_(OPEN_STATES)
        )
    ).all()
    if rows:
        conn.execute(
            update(intents)
            .where(intents.c.id.in_([row.id for row in rows]))
            .values(state=IntentState.DONE, open_certificate=None, tx_hash=tx_hash, last_error=None, updated_at=time.time())
        )
    return [IntentRow.from_row(row) for row in rows]


class IntentRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        chamber_id: int,
        certificate_id: int | None,
        kind: IntentKind,
        actor: str,
        **values: Any,
    ) -> IntentRow:
        """Store a QUEUED intent (and audit the request). ``values``: revocation_reason, reason,
        successor_leaf, new_address, new_ciphertext. Raises IntentConflictError when the
        certificate already has an open intent."""
        now = time.time()
        try:
            with self.db.transaction() as conn:
                intent_id = insert_id(
                    conn,
                    intents.insert().values(
                        chamber_id=chamber_id,
                        certificate_id=certificate_id,
                        open_certificate=certificate_id,
                        kind=kind,
                        state=IntentState.QUEUED,
                        actor=actor,
                        attempts=0,
                        created_at=now,
                        updated_at=now,
                        **values,
                    ),
                )
                if certificate_id is not None:
                    note = f"{kind.lower()}" + (f": {values['reason']}" if values.get("reason") else "")
                    record_event(conn, chamber_id, certificate_id, AuditAction.REQUESTED, actor, note, None)
                row = conn.execute(select(intents).where(intents.c.id == intent_id)).one()
                return IntentRow.from_row(row)
        except IntegrityError as exc:
            raise IntentConflictError(f"certificate {certificate_id} already has an open intent") from exc

    def get(self, intent_id: int) -> IntentRow | None:
        with self.db.transaction() as conn:
            row = conn.execute(select(intents).where(intents.c.id == intent_id)).first()
            return IntentRow.from_row(row) if row else None

    def latest_for(self, certificate_id: int) -> IntentRow | None:
        """The certificate's newest intent, whatever its state."""
        with self.db.transaction() as conn:
            row = conn.execute(
                select(intents).where(intents.c.certificate_id == certificate_id).order_by(intents.c.id.desc()).limit(1)
            ).first()
            return IntentRow.from_row(row) if row else None

    def open_for(self, certificate_id: int) -> IntentRow | None:
        """The certificate's open intent, if it has one."""
        with self.db.transaction() as conn:
            row = conn.execute(select(intents).where(intents.c.open_certificate == certificate_id)).first()
            return IntentRow.from_row(row) if row else None

    def open_intents(self, chamber_id: int | None = None) -> list[IntentRow]:
        """Open intents (QUEUED or SENT), oldest first; of one chamber if given."""
        query = select(intents).where(intents.c.state.in_(OPEN_STATES)).order_by(intents.c.id)
        if chamber_id is not None:
            query = query.where(intents.c.chamber_id == chamber_id)
        with self.db.transaction() as conn:
            return [IntentRow.from_row(row) for row in conn.execute(query).all()]

    def chambers_with_open(self) -> list[int]:
        with self.db.transaction() as conn:
            query = select(intents.c.chamber_id).where(intents.c.state.in_(OPEN_STATES)).distinct()
            return sorted(int(i) for i in conn.execute(query).scalars().all())

    def new_key(self, intent_id: int) -> tuple[str, bytes]:
        """The (address, ciphertext) a ROTATE intent stored."""
        with self.db.transaction() as conn:
            row = conn.execute(select(intents.c.new_address, intents.c.new_ciphertext).where(intents.c.id == intent_id)).one()
            return str(row.new_address), bytes(row.new_ciphertext)

    def _set(self, intent_id: int, only_open: bool = True, **values: Any) -> bool:
        query = update(intents).where(intents.c.id == intent_id)
        if only_open:
            query = query.where(intents.c.state.in_(OPEN_STATES))
        with self.db.transaction() as conn:
            return bool(conn.execute(query.values(updated_at=time.time(), **values)).rowcount)

    def claim(self, intent_id: int, seconds: float) -> IntentRow | None:
        """Claim an open intent for sending (one sender at a time, across threads and processes):
        the intent as it is now, or None when it is closed or another sender has it."""
        now = time.time()
        with self.db.transaction() as conn:
            claimed = conn.execute(
                update(intents)
                .where(
                    intents.c.id == intent_id,
                    intents.c.state.in_(OPEN_STATES),
                    or_(intents.c.claimed_until.is_(None), intents.c.claimed_until < now),
                )
                .values(claimed_until=now + seconds)
            ).rowcount
            if not claimed:
                return None
            return IntentRow.from_row(conn.execute(select(intents).where(intents.c.id == intent_id)).one())

    def release(self, intent_id: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(update(intents).where(intents.c.id == intent_id).values(claimed_until=None))

    def mark_sent(self, intent_id: int, tx_hash: str) -> bool:
        """Its transaction is with the node (one more attempt)."""
        return self._set(
            intent_id, state=IntentState.SENT, tx_hash=tx_hash, attempts=intents.c.attempts + 1, last_error=None
        )

    def requeue(self, intent_id: int, error: str) -> bool:
        """Send it again: its transaction was dropped, or could not be sent."""
        return self._set(intent_id, state=IntentState.QUEUED, tx_hash=None, last_error=error)

    def note_error(self, intent_id: int, error: str) -> bool:
        """Keep it as it is, with why the last attempt did not get through."""
        return self._set(intent_id, last_error=error)

    def mark_done(self, intent_id: int, note: str) -> bool:
        """Close it as done without an event of its own (the certificate already has its outcome)."""
        return self._set(intent_id, state=IntentState.DONE, open_certificate=None, last_error=note)

    def mark_failed(self, intent_id: int, error: str) -> bool:
        """The registry refused it, or it was given up: it is closed with ``error``."""
        with self.db.transaction() as conn:
            row = conn.execute(select(intents).where(intents.c.id == intent_id, intents.c.state.in_(OPEN_STATES))).first()
            if row is None:
                return False
            closed = conn.execute(
                update(intents)
                .where(intents.c.id == intent_id, intents.c.state.in_(OPEN_STATES))  # never over a DONE
                .values(state=IntentState.FAILED, open_certificate=None, last_error=error, updated_at=time.time())
            ).rowcount
            if not closed:
                return False
            if row.certificate_id is not None:
                note = f"{str(row.kind).lower()} failed: {error}"
                record_event(conn, row.chamber_id, row.certificate_id, AuditAction.REQUEST_FAILED, "worker", note, row.tx_hash)
            return True
