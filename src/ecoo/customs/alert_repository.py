"""The watch list's tables: a cursor and lease per followed registry, the alerts, the webhooks and
their deliveries.

An alert is written in the same transaction that moves its registry's cursor past the event, and
each delivery of it (one per enabled webhook) in that transaction too: an event is never alerted
without the cursor moving, the cursor never moves without the alert, and a restart resumes from
the cursor. The alerts table is unique on (chain id, registry, transaction, log index, leaf), so
reading a range again (a reorganisation, a look back for a newly watched certificate) never alerts
twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from ..errors import CursorMovedError
from ..hashing import checksum_address
from .store import CustomsDatabase, insert_id
from .store.schema import alerts, deliveries, watch_cursors, watched, webhooks

#: Delivery states.
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def iso_time(at: float | None) -> str | None:
    """Unix seconds as the API writes times: RFC 3339, UTC, seconds."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class WatchCursor:
    """How far the watcher has read one registry, and who holds its lease."""

    chain_id: int
    registry: str
    block_number: int
    block_hash: str | None  # None: nothing read yet (the block before ``start_block``)
    start_block: int
    watched_id: int
    updated_at: float
    checked_at: float | None
    last_error: str | None
    lease_owner: str | None
    lease_until: float | None


@dataclass(frozen=True)
class WatchedCertificate:
    id: int
    chain_id: int
    registry: str
    issuer: str
    leaf: str
    certificate_number: str
    chamber: str | None
    declaration_id: int | None
    accepted_at: float
    verified_block: int | None = None  # the block whose state its verification read (None: a row of schema 1)


@dataclass(frozen=True)
class Finding:
    """One registry event that changes trust, before it is matched with the watch list: it
    concerns the certificate ``leaf`` of ``issuers`` (one key), or, without a leaf, every
    certificate anchored by any of ``issuers`` (lower-case addresses)."""

    kind: str
    name: str  # the registry event
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    issuers: tuple[str, ...]
    leaf: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Alert:
    id: int
    at: float
    kind: str
    chain_id: int
    registry: str
    issuer: str
    leaf: str
    certificate_number: str | None
    chamber: str | None
    declaration_id: int | None
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    detail: dict[str, Any]

    @classmethod
    def from_row(cls, row: Row[Any]) -> Alert:
        return cls(
            id=int(row.id),
            at=float(row.at),
            kind=str(row.kind),
            chain_id=int(row.chain_id),
            registry=str(row.registry),
            issuer=str(row.issuer),
            leaf=str(row.leaf),
            certificate_number=row.certificate_number,
            chamber=row.chamber,
            declaration_id=row.declaration_id,
            block_number=int(row.block_number),
            block_hash=str(row.block_hash),
            tx_hash=str(row.tx_hash),
            log_index=int(row.log_index),
            detail=json.loads(row.detail) if row.detail else {},
        )

    @property
    def message(self) -> str:
        """The alert in one sentence, for officers."""
        what = {
            "revoked_fraud": "was revoked by its issuer for fraud",
            "revoked_error": "was revoked by its issuer as issued in error",
            "cancelled": "was cancelled by its issuer",
            "superseded": f"was superseded by certificate {self.detail.get('successor') or '(not named)'}",
            "suspended": "was suspended",
            "issuer_suspended": f"stands on the accreditation of key {self.detail.get('suspendedKey')}, which the authority suspended",
            "key_rotated": f"was signed by a key the authority retired (rotated to {self.detail.get('newKey')})",
        }.get(self.kind, f"changed on the registry ({self.kind})")
        by = f" ({self.chamber})" if self.chamber else ""
        return f"Certificate {self.certificate_number or self.leaf}{by} {what}."

    def to_json(self) -> dict[str, Any]:
        """The alert as the feed and the webhooks give it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "message": self.message,
            "at": iso_time(self.at),
            "certificate": {
                "number": self.certificate_number,
                "chamber": self.chamber,
                "chainId": self.chain_id,
                "registry": self.registry,
                "issuer": self.issuer,
                "leaf": self.leaf,
            },
            "declarationId": self.declaration_id,
            "event": {
                "name": self.detail.get("event"),
                "block": self.block_number,
                "blockHash": self.block_hash,
                "tx": self.tx_hash,
                "logIndex": self.log_index,
            },
            "detail": {k: v for k, v in self.detail.items() if k != "event"},
        }


def _cursor_of(row: Row[Any]) -> WatchCursor:
    return WatchCursor(
        chain_id=int(row.chain_id),
        registry=str(row.registry),
        block_number=int(row.block_number),
        block_hash=row.block_hash or None,
        start_block=int(row.start_block),
        watched_id=int(row.watched_id or 0),
        updated_at=float(row.updated_at),
        checked_at=row.checked_at,
        last_error=row.last_error,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
    )


class AlertRepository:
    def __init__(self, db: CustomsDatabase) -> None:
        self.db = db

    # -- the watch list ----------------------------------------------------------------------------

    def watched_registries(self) -> list[tuple[int, str]]:
        """(chain id, EIP-55 registry) of every registry a watched certificate is anchored on."""
        with self.db.transaction() as conn:
            rows = conn.execute(select(watched.c.chain_id, watched.c.registry).distinct()).all()
        return sorted({(int(r.chain_id), checksum_address(str(r.registry))) for r in rows})

    def watched_since(self, chain_id: int, registry: str, after_id: int) -> list[WatchedCertificate]:
        """The registry's watched certificates added after row ``after_id``, oldest first."""
        return self._watched(chain_id, registry, watched.c.id > after_id)

    def not_looked_back(self, chain_id: int, registry: str) -> list[WatchedCertificate]:
        """The registry's watched certificates not yet looked back for, oldest first (each row on
        its own: on PostgreSQL a smaller id may commit after a larger one)."""
        return self._watched(chain_id, registry, watched.c.looked_back_at.is_(None))

    def _watched(self, chain_id: int, registry: str, condition: Any) -> list[WatchedCertificate]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(watched)
                .where(watched.c.chain_id == chain_id, func.lower(watched.c.registry) == registry.lower(), condition)
                .order_by(watched.c.id)
            ).all()
        return [
            WatchedCertificate(
                id=int(r.id),
                chain_id=int(r.chain_id),
                registry=str(r.registry),
                issuer=str(r.issuer),
                leaf=str(r.leaf).lower(),
                certificate_number=str(r.certificate_number),
                chamber=r.chamber,
                declaration_id=r.declaration_id,
                accepted_at=float(r.accepted_at),
                verified_block=int(r.verified_block) if r.verified_block is not None else None,
            )
            for r in rows
        ]

    # -- cursor and lease --------------------------------------------------------------------------

    def cursors(self) -> list[WatchCursor]:
        with self.db.transaction() as conn:
            rows = conn.execute(select(watch_cursors).order_by(watch_cursors.c.chain_id, watch_cursors.c.registry)).all()
        return [_cursor_of(r) for r in rows]

    def cursor(self, chain_id: int, registry: str) -> WatchCursor | None:
        with self.db.transaction() as conn:
            row = conn.execute(select(watch_cursors).where(*self._key(chain_id, registry))).first()
        return _cursor_of(row) if row is not None else None

    @staticmethod
    def _key(chain_id: int, registry: str) -> tuple[Any, Any]:
        return watch_cursors.c.chain_id == chain_id, watch_cursors.c.registry == checksum_address(registry)

    def acquire_lease(self, chain_id: int, registry: str, start_block: int, owner: str, seconds: float) -> bool:
        """Claim the registry for ``owner`` (created at ``start_block`` if new); renews the owner's
        own claim; False while another owner's claim lasts."""
        now = time.time()
        with self.db.transaction() as conn:
            if conn.execute(select(watch_cursors.c.chain_id).where(*self._key(chain_id, registry))).first() is None:
                try:
                    with conn.begin_nested():  # another process may create it at the same moment
                        conn.execute(
                            watch_cursors.insert().values(
                                chain_id=chain_id,
                                registry=checksum_address(registry),
                                block_number=start_block - 1,
                                block_hash="",
                                start_block=start_block,
                                watched_id=0,
                                updated_at=now,
                            )
                        )
                except IntegrityError:
                    pass  # it did: claim the row it made
            claimed = conn.execute(
                update(watch_cursors)
                .where(
                    *self._key(chain_id, registry),
                    or_(
                        watch_cursors.c.lease_until.is_(None),
                        watch_cursors.c.lease_until < now,
                        watch_cursors.c.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=now + seconds)
            ).rowcount
            return bool(claimed)

    def release_lease(self, chain_id: int, registry: str, owner: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                update(watch_cursors)
                .where(*self._key(chain_id, registry), watch_cursors.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def note_error(self, chain_id: int, registry: str, error: str | None) -> None:
        """Why the last pass over this registry failed (None: it did not), for the alerts page."""
        with self.db.transaction() as conn:
            values: dict[str, Any] = {"last_error": error}
            if error is None:
                values["checked_at"] = time.time()
            conn.execute(update(watch_cursors).where(*self._key(chain_id, registry)).values(**values))

    def alert_blocks(self, chain_id: int, registry: str, at_most: int) -> list[tuple[int, str]]:
        """(block, hash) of the blocks at or below ``at_most`` holding alerts, newest first: the
        places a reorganisation's fork point can be found from."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(alerts.c.block_number, alerts.c.block_hash)
                .where(
                    alerts.c.chain_id == chain_id,
                    alerts.c.registry == checksum_address(registry),
                    alerts.c.block_number <= at_most,
                )
                .distinct()
                .order_by(alerts.c.block_number.desc())
            ).all()
        return [(int(r.block_number), str(r.block_hash)) for r in rows]

    def rewind(self, chain_id: int, registry: str, block: int, block_hash: str | None, *, after: int) -> None:
        """Put the cursor back at ``block`` (a reorganisation replaced the blocks above it), unless
        another pass moved it from ``after`` meanwhile. Alerts stay: they were from confirmed
        blocks and may have been delivered; reading again adds only what is new."""
        with self.db.transaction() as conn:
            moved = conn.execute(
                update(watch_cursors)
                .where(*self._key(chain_id, registry), watch_cursors.c.block_number == after)
                .values(block_number=block, block_hash=block_hash or "", updated_at=time.time())
            ).rowcount
            if not moved:
                raise CursorMovedError(f"the watch cursor of {registry} on chain {chain_id} moved during this pass")

    # -- recording ---------------------------------------------------------------------------------

    def record(
        self,
        chain_id: int,
        registry: str,
        findings: Sequence[Finding],
        block: int,
        block_hash: str,
        *,
        after: int,
        only: Collection[int] | None = None,
        looked_back: Collection[int] = (),
    ) -> list[int]:
        """Turn ``findings`` (read up to ``block``) into alerts for the watched certificates they
        concern (only the rows ``only`` names, when given), queue their deliveries, and move the
        cursor to ``block`` (and mark the watched rows ``looked_back`` as looked back for), all in one transaction and
        only if the cursor is still at ``after`` (else CursorMovedError: a pass that lost its lease
        never writes over another's). Returns the new alerts' ids."""
        now = time.time()
        created: list[int] = []
        with self.db.transaction() as conn:
            at = conn.execute(select(watch_cursors.c.block_number).where(*self._key(chain_id, registry))).scalar()
            if at != after:
                raise CursorMovedError(f"the watch cursor of {registry} on chain {chain_id} moved from {after} to {at}")
            if findings and conn.dialect.name == "postgresql":
                # Alert ids are the feed's cursor: a client that has seen id n must never find a
                # smaller id later. PostgreSQL hands out ids before commit, so writers of alerts
                # (one process per registry) take turns; SQLite's write lock does this already.
                conn.execute(text("LOCK TABLE customs_alerts IN SHARE ROW EXCLUSIVE MODE"))
            hooks = conn.execute(select(webhooks.c.id).where(webhooks.c.disabled_at.is_(None))).scalars().all()
            for finding in findings:
                for certificate in self._concerned(conn, chain_id, registry, finding):
                    if only is not None and int(certificate.id) not in only:
                        continue
                    alert_id = self._insert_alert(conn, chain_id, registry, finding, certificate, now)
                    if alert_id is None:
                        continue
                    created.append(alert_id)
                    for hook in hooks:
                        conn.execute(
                            deliveries.insert().values(
                                webhook_id=hook, alert_id=alert_id, state=PENDING, attempts=0, next_at=now, created_at=now
                            )
                        )
            values: dict[str, Any] = {
                "block_number": block,
                "block_hash": block_hash,
                "updated_at": now,
                "checked_at": now,
                "last_error": None,
            }
            conn.execute(update(watch_cursors).where(*self._key(chain_id, registry)).values(**values))
            if looked_back:
                conn.execute(update(watched).where(watched.c.id.in_(list(looked_back))).values(looked_back_at=now))
        return created

    @staticmethod
    def _concerned(conn: Connection, chain_id: int, registry: str, finding: Finding) -> list[Row[Any]]:
        """The watched certificates of this registry a finding is about: on chain a certificate's
        status belongs to (the key that anchored it, its leaf)."""
        query = select(watched).where(
            watched.c.chain_id == chain_id,
            func.lower(watched.c.registry) == registry.lower(),
            func.lower(watched.c.issuer).in_(list(finding.issuers)),
        )
        if finding.leaf is not None:
            query = query.where(watched.c.leaf == finding.leaf.lower())
        return list(conn.execute(query.order_by(watched.c.id)).all())

    @staticmethod
    def _insert_alert(
        conn: Connection, chain_id: int, registry: str, finding: Finding, certificate: Row[Any], now: float
    ) -> int | None:
        """The new alert's id, or None when this event already alerted this certificate."""
        key = (
            alerts.c.chain_id == chain_id,
            alerts.c.registry == checksum_address(registry),
            alerts.c.tx_hash == finding.tx_hash,
            alerts.c.log_index == finding.log_index,
            alerts.c.leaf == str(certificate.leaf).lower(),
        )
        if conn.execute(select(alerts.c.id).where(*key)).first() is not None:
            return None
        try:
            with conn.begin_nested():  # a second process that ignored its lease: the unique key decides
                return insert_id(
                    conn,
                    alerts.insert().values(
                        at=now,
                        kind=finding.kind,
                        chain_id=chain_id,
                        registry=checksum_address(registry),
                        issuer=checksum_address(str(certificate.issuer)),
                        leaf=str(certificate.leaf).lower(),
                        certificate_number=certificate.certificate_number,
                        chamber=certificate.chamber,
                        declaration_id=certificate.declaration_id,
                        block_number=finding.block_number,
                        block_hash=finding.block_hash,
                        tx_hash=finding.tx_hash,
                        log_index=finding.log_index,
                        detail=json.dumps({"event": finding.name, **finding.detail}, sort_keys=True),
                    ),
                )
        except IntegrityError:
            return None

    # -- the feed ----------------------------------------------------------------------------------

    def alerts_after(self, after: int, limit: int) -> list[Alert]:
        """Alerts with an id above ``after``, oldest first (the feed's order: ids only grow)."""
        with self.db.transaction() as conn:
            rows = conn.execute(select(alerts).where(alerts.c.id > after).order_by(alerts.c.id).limit(limit)).all()
        return [Alert.from_row(r) for r in rows]

    def latest_alerts(self, before: int | None, limit: int) -> list[Alert]:
        """The newest alerts (below id ``before`` when given), newest first: the page's order."""
        query = select(alerts)
        if before is not None:
            query = query.where(alerts.c.id < before)
        with self.db.transaction() as conn:
            rows = conn.execute(query.order_by(alerts.c.id.desc()).limit(limit)).all()
        return [Alert.from_row(r) for r in rows]

    def alert(self, alert_id: int) -> Alert | None:
        with self.db.transaction() as conn:
            row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
        return Alert.from_row(row) if row is not None else None
