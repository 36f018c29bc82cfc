"""The customs service's audit trail: who did what, to what, when — every action, appended only.

:func:`record` works inside the caller's transaction, so that a change and its audit row commit
(or roll back) together; ``ecoo.customs.auth.audit`` calls it with the request's actor.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .accounts import Actor
from .store.schema import audit

__all__ = ["AuditRow", "audit_rows", "record"]

MAX_SUBJECT = 256
MAX_ACTOR = 160


def printable(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, each control character shown as ``?``: a subject may come
    from a request (a path, a username typed at sign-in), and PostgreSQL refuses a NUL in text."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def record(conn: Connection, actor: Actor | str, action: str, subject: str = "", detail: dict[str, Any] | None = None) -> None:
    """Append one audit row for ``actor`` (an :class:`Actor` or its label) inside ``conn``'s transaction."""
    conn.execute(
        audit.insert().values(
            at=time.time(),
            actor=printable(actor.label if isinstance(actor, Actor) else actor, MAX_ACTOR),
            action=action,
            subject=printable(subject, MAX_SUBJECT),
            detail=json.dumps(detail, sort_keys=True, default=str) if detail is not None else None,
        )
    )


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: float
    actor: str
    action: str
    subject: str
    detail: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "detail": self.detail,
        }


def audit_rows(conn: Connection, *, action: str | None = None, after: int = 0, limit: int = 1000) -> list[AuditRow]:
    """Audit rows after id ``after`` (oldest first), of one ``action`` if given."""
    query = select(audit).where(audit.c.id > after).order_by(audit.c.id).limit(limit)
    if action is not None:
        query = query.where(audit.c.action == action)
    return [
        AuditRow(row.id, row.at, row.actor, row.action, row.subject or "", json.loads(row.detail) if row.detail else None)
        for row in conn.execute(query).all()
    ]
