"""The webhooks and the log of their deliveries.

A delivery row is queued for every enabled webhook in the transaction that writes its alert
(:meth:`ecoo.customs.alert_repository.AlertRepository.record`); here they are claimed one attempt
at a time and each attempt is logged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Row

from .alert_repository import DELIVERED, FAILED, PENDING, Alert, iso_time
from .store import CustomsDatabase, insert_id
from .store.schema import alerts, deliveries, webhooks


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    created_at: float
    disabled_at: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "createdAt": iso_time(self.created_at),
            "disabledAt": iso_time(self.disabled_at),
            "enabled": self.disabled_at is None,
        }


@dataclass(frozen=True)
class Delivery:
    id: int
    webhook_id: int
    alert_id: int
    state: str
    attempts: int
    next_at: float
    last_status: int | None
    last_error: str | None
    delivered_at: float | None
    created_at: float
    attempt_log: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhook": self.webhook_id,
            "alert": self.alert_id,
            "state": self.state,
            "attempts": self.attempts,
            "nextAttemptAt": iso_time(self.next_at) if self.state == PENDING else None,
            "lastStatus": self.last_status,
            "lastError": self.last_error,
            "deliveredAt": iso_time(self.delivered_at),
            "createdAt": iso_time(self.created_at),
            "log": [{**entry, "at": iso_time(entry.get("at"))} for entry in self.attempt_log],
        }


@dataclass(frozen=True)
class DueDelivery:
    """A delivery claimed for one attempt: where to, with which secret, what."""

    id: int
    attempts: int  # made before this one
    url: str
    secret: str
    alert: Alert


def _delivery_of(row: Row[Any]) -> Delivery:
    return Delivery(
        id=int(row.id),
        webhook_id=int(row.webhook_id),
        alert_id=int(row.alert_id),
        state=str(row.state),
        attempts=int(row.attempts),
        next_at=float(row.next_at),
        last_status=row.last_status,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        created_at=float(row.created_at),
        attempt_log=tuple(json.loads(row.attempt_log or "[]")),
    )


class WebhookRepository:
    def __init__(self, db: CustomsDatabase) -> None:
        self.db = db

    @contextmanager
    def _conn(self, conn: Connection | None) -> Iterator[Connection]:
        """``conn`` when the caller holds a transaction (to audit inside it), else a new one."""
        if conn is not None:
            yield conn
            return
        with self.db.transaction() as own:
            yield own

    # -- webhooks ----------------------------------------------------------------------------------

    def create_webhook(self, url: str, secret: str, conn: Connection | None = None) -> int:
        with self._conn(conn) as c:
            return insert_id(c, webhooks.insert().values(url=url, secret=secret, created_at=time.time()))

    def webhooks(self) -> list[Webhook]:
        with self.db.transaction() as conn:
            rows = conn.execute(select(webhooks).order_by(webhooks.c.id)).all()
        return [Webhook(int(r.id), str(r.url), float(r.created_at), r.disabled_at) for r in rows]

    def webhook(self, webhook_id: int) -> Webhook | None:
        return next((hook for hook in self.webhooks() if hook.id == webhook_id), None)

    def disable_webhook(self, webhook_id: int, conn: Connection | None = None) -> bool:
        """Disable a webhook and give up its pending deliveries; False if there is no such enabled one."""
        now = time.time()
        with self._conn(conn) as c:
            changed = c.execute(
                update(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.disabled_at.is_(None)).values(disabled_at=now)
            ).rowcount
            c.execute(
                update(deliveries)
                .where(deliveries.c.webhook_id == webhook_id, deliveries.c.state == PENDING)
                .values(state=FAILED, last_error="the webhook was disabled")
            )
            return bool(changed)

    def deliveries(self, webhook_id: int, limit: int = 100) -> list[Delivery]:
        """The webhook's delivery log, newest first."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(deliveries).where(deliveries.c.webhook_id == webhook_id).order_by(deliveries.c.id.desc()).limit(limit)
            ).all()
        return [_delivery_of(r) for r in rows]

    def claim_due(self, now: float, hold: float, limit: int = 20) -> list[DueDelivery]:
        """Claim up to ``limit`` deliveries due at ``now`` for one attempt each: their next attempt
        moves ``hold`` seconds on (compare-and-set), so another process does not send them too,
        and a process that dies mid-attempt leaves them to be tried again then."""
        claimed: list[DueDelivery] = []
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(deliveries, webhooks.c.url, webhooks.c.secret)
                .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
                .where(deliveries.c.state == PENDING, deliveries.c.next_at <= now, webhooks.c.disabled_at.is_(None))
                .order_by(deliveries.c.next_at, deliveries.c.id)
                .limit(limit)
            ).all()
            for row in rows:
                taken = conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == row.id, deliveries.c.state == PENDING, deliveries.c.next_at == row.next_at)
                    .values(next_at=now + hold)
                ).rowcount
                alert = conn.execute(select(alerts).where(alerts.c.id == row.alert_id)).first()
                if taken and alert is not None:
                    claimed.append(
                        DueDelivery(int(row.id), int(row.attempts), str(row.url), str(row.secret), Alert.from_row(alert))
                    )
        return claimed

    def finish_attempt(
        self, delivery_id: int, *, at: float, status: int | None, error: str | None, ms: int, next_at: float | None
    ) -> str:
        """Log one attempt: delivered when it got a 2xx (``error`` None), else tried again at
        ``next_at``, or failed for good when that is None. Returns the delivery's new state."""
        with self.db.transaction() as conn:
            row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
            if row is None or row.state != PENDING:
                return str(row.state) if row is not None else FAILED
            log = [*json.loads(row.attempt_log or "[]"), {"at": at, "status": status, "error": error, "ms": ms}]
            state = DELIVERED if error is None else (PENDING if next_at is not None else FAILED)
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    state=state,
                    attempts=int(row.attempts) + 1,
                    next_at=next_at if next_at is not None else at,
                    last_status=status,
                    last_error=error,
                    delivered_at=at if state == DELIVERED else None,
                    attempt_log=json.dumps(log),
                )
            )
            return state
