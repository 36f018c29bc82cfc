"""The chain follower's tables: its cursor and lease per registry, the registry events it read,
and the projection of those events onto batches and certificates.

The projection is the only writer of a certificate's chain-backed state (ISSUED, SUSPENDED,
REVOKED, CANCELLED after anchoring, SUPERSEDED) and of a batch's ANCHORED: a certificate's status
is recomputed from the events stored for its batch's root and its leaf, so recording events,
rewinding them after a reorganisation and repairing a divergence all end in the same function.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ...registry import RegistryEvent, RevocationReason
from ..faults import fault_point
from ..status import BatchStatus, CertificateStatus, IntentKind, IntentState
from .audit_repository import record_event
from .customs_records import forget_customs_records, store_customs_records
from .engine import Database
from .errors import CursorMovedError
from .intent_repository import complete_intents
from .rows import CertificateRow, Cursor
from .schema import batches, certificates, chain_cursor, chain_events, chamber_keys, intents

#: The intent an event completes.
COMPLETES = {
    "CertificateRevoked": (IntentKind.REVOKE,),
    "CertificateSuperseded": (IntentKind.SUPERSEDE,),
    "CertificateSuspended": (IntentKind.SUSPEND,),
    "CertificateSuspensionLifted": (IntentKind.LIFT,),
}


@dataclass(frozen=True)
class Projected:
    """What one pass of the projection changed."""

    issued: int = 0  # certificates that became ISSUED
    changed: int = 0  # certificates whose status changed
    rotated: tuple[int, ...] = ()  # chambers whose new key the chain confirmed
    customs: int = 0  # customs records stored (receipt, utilisation, rejection)


def status_from_events(anchored: bool, leaf_events: Iterable[Any]) -> tuple[CertificateStatus, str | None, Any]:
    """A certificate's status from its chain events: (status, successor leaf, the deciding event)."""
    if not anchored:
        return CertificateStatus.PENDING, None, None
    status, successor, deciding = CertificateStatus.ISSUED, None, None
    for event in leaf_events:
        if event.name == "CertificateRevoked":
            reason = RevocationReason(event.reason)
            status = {RevocationReason.CANCELLED: CertificateStatus.CANCELLED}.get(reason, CertificateStatus.REVOKED)
        elif event.name == "CertificateSuperseded":
            status, successor = CertificateStatus.SUPERSEDED, event.successor
        elif event.name == "CertificateSuspended":
            status = CertificateStatus.SUSPENDED
        elif event.name == "CertificateSuspensionLifted":
            status = CertificateStatus.ISSUED
        deciding = event
    return status, successor, deciding


class ChainRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- cursor and lease ------------------------------------------------------------------------

    def cursor(self, registry: str) -> Cursor | None:
        with self.db.transaction() as conn:
            row = conn.execute(select(chain_cursor).where(chain_cursor.c.registry == registry.lower())).first()
            if row is None:
                return None
            return Cursor(row.registry, row.chain_id, row.block_number, row.block_hash, row.divergent, row.reconciled_at)

    def followed_block(self) -> int | None:
        """The newest block any process has followed up to (None before the first pass)."""
        with self.db.transaction() as conn:
            value = conn.execute(select(func.max(chain_cursor.c.block_number))).scalar()
            return int(value) if value is not None else None

    def acquire_lease(self, registry: str, chain_id: int, start_block: int, owner: str, seconds: float) -> bool:
        """Claim the following of ``registry`` (created at ``start_block`` - 1 if new) for ``seconds``."""
        now = time.time()
        with self.db.transaction() as conn:
            key = registry.lower()
            if conn.execute(select(chain_cursor.c.registry).where(chain_cursor.c.registry == key)).first() is None:
                try:
                    with conn.begin_nested():  # another process may create it at the same moment
                        conn.execute(
                            chain_cursor.insert().values(
                                registry=key, chain_id=chain_id, block_number=start_block - 1, divergent=0, updated_at=now
                            )
                        )
                except IntegrityError:
                    pass  # it did: claim the row it made
            claimed = conn.execute(
                update(chain_cursor)
                .where(
                    chain_cursor.c.registry == key,
                    or_(
                        chain_cursor.c.lease_until.is_(None),
                        chain_cursor.c.lease_until < now,
                        chain_cursor.c.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=now + seconds)
            ).rowcount
            return bool(claimed)

    def release_lease(self, registry: str, owner: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                update(chain_cursor)
                .where(chain_cursor.c.registry == registry.lower(), chain_cursor.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def set_divergent(self, registry: str, count: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                update(chain_cursor)
                .where(chain_cursor.c.registry == registry.lower())
                .values(divergent=count, reconciled_at=time.time())
            )

    def divergent(self) -> int:
        """Divergent certificates the last reconciliation found, over every registry followed."""
        with self.db.transaction() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(chain_cursor.c.divergent), 0))).scalar() or 0)

    # -- events ----------------------------------------------------------------------------------

    def known_issuers(self) -> set[str]:
        """Every key address of this service's chambers, and every new key a rotation waits for."""
        with self.db.transaction() as conn:
            keys = conn.execute(select(chamber_keys.c.address)).scalars().all()
            waiting = conn.execute(select(intents.c.new_address).where(intents.c.new_address.is_not(None))).scalars().all()
            return {str(a).lower() for a in (*keys, *waiting)}

    def event_blocks(self, registry: str, above: int) -> list[tuple[int, str]]:
        """(block, hash) of the blocks above ``above`` holding stored events, newest first."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(chain_events.c.block_number, chain_events.c.block_hash)
                .where(chain_events.c.registry == registry.lower(), chain_events.c.block_number > above)
                .distinct()
                .order_by(chain_events.c.block_number.desc())
            ).all()
            return [(int(r.block_number), str(r.block_hash)) for r in rows]

    def record(
        self,
        registry: str,
        events: list[RegistryEvent],
        block: int,
        block_hash: str | None,
        documents: Mapping[int, Mapping[int, dict[str, Any]]],
        *,
        after: int | None = None,
        times: Mapping[int, float] | None = None,
    ) -> Projected:
        """Store ``events`` (read up to ``block``), move the cursor there, and project them, all in
        one transaction. ``documents``: batch id → certificate id → its issued document, for every
        batch an event anchors; ``times``: the time of each block holding a customs record. With
        ``after`` (the block the events were read after), nothing is stored unless the cursor is
        still there (CursorMovedError): a pass that lost its lease, or raced a repair, never
        overwrites what another wrote."""
        key = registry.lower()
        with self.db.transaction() as conn:
            if after is not None:
                now_at = conn.execute(select(chain_cursor.c.block_number).where(chain_cursor.c.registry == key)).scalar()
                if now_at != after:
                    raise CursorMovedError(f"the cursor of {registry} moved from {after} to {now_at} during this pass")
            stored: list[RegistryEvent] = []
            for event in events:
                exists = conn.execute(
                    select(chain_events.c.id).where(
                        chain_events.c.registry == key,
                        chain_events.c.block_hash == event.block_hash,
                        chain_events.c.log_index == event.log_index,
                    )
                ).first()
                if exists is None:
                    conn.execute(
                        chain_events.insert().values(
                            registry=key,
                            name=event.name,
                            block_number=event.block_number,
                            block_hash=event.block_hash,
                            tx_hash=event.tx_hash,
                            log_index=event.log_index,
                            issuer=event.issuer.lower(),
                            subject=event.subject.lower(),
                            successor=event.successor,
                            reason=event.reason,
                        )
                    )
                    stored.append(event)
            conn.execute(
                update(chain_cursor)
                .where(chain_cursor.c.registry == key)
                .values(block_number=block, block_hash=block_hash, updated_at=time.time())
            )
            customs = store_customs_records(conn, key, stored, times or {})
            fault_point("follow.before_commit", *(event.name for event in stored))  # test seam: see faults.py
            projected = self._project_events(conn, key, stored, documents)
            return Projected(projected.issued, projected.changed, projected.rotated, customs)

    def rewind(self, registry: str, block: int, block_hash: str | None, *, repair: bool = False) -> int:
        """Forget the events above ``block`` (a reorganisation removed them), put the cursor there,
        undo what those events completed (the newest intent of each certificate is reopened, for the
        worker to send again; a key rotation is undone; the customs records go with their events),
        and project again; returns how many events were forgotten. With ``repair`` the events are
        only to be read again: nothing is undone or projected now (the re-read projects what
        differs, so history is not rewritten; the customs records are read again with them)."""
        key = registry.lower()
        with self.db.transaction() as conn:
            gone = conn.execute(
                select(chain_events).where(chain_events.c.registry == key, chain_events.c.block_number > block)
            ).all()
            conn.execute(delete(chain_events).where(chain_events.c.registry == key, chain_events.c.block_number > block))
            forget_customs_records(conn, key, block)
            conn.execute(
                update(chain_cursor)
                .where(chain_cursor.c.registry == key)
                .values(block_number=block, block_hash=block_hash, updated_at=time.time())
            )
            if repair:
                return len(gone)
            self._reopen(conn, [e for e in gone if e.name in COMPLETES])
            for event in gone:
                if event.name == "IssuerKeyRotated":
                    self._deactivate_key(conn, event)
            self._reproject(conn, key, [(e.name, e.subject) for e in gone])
            return len(gone)

    @staticmethod
    def _reopen(conn: Connection, gone: list[Any]) -> None:
        """The changes no longer on chain: per certificate, its newest intent among them is queued
        again (the chamber's last word; older ones it overrode stay closed)."""
        done = conn.execute(
            select(intents)
            .where(intents.c.tx_hash.in_([e.tx_hash for e in gone]), intents.c.state == IntentState.DONE)
            .order_by(intents.c.id)
        ).all()
        newest = {row.certificate_id: row for row in done}
        if not newest:
            return
        has_open = set(
            conn.execute(select(intents.c.open_certificate).where(intents.c.open_certificate.in_(list(newest)))).scalars()
        )
        for certificate_id, intent in newest.items():
            if certificate_id in has_open:
                continue  # the chamber has asked for something newer: that stands
            conn.execute(
                update(intents)
                .where(intents.c.id == intent.id)
                .values(
                    state=IntentState.QUEUED,
                    open_certificate=certificate_id,
                    tx_hash=None,
                    last_error=f"a reorganisation removed its transaction {intent.tx_hash}",
                    updated_at=time.time(),
                )
            )

    @staticmethod
    def _deactivate_key(conn: Connection, event: Any) -> None:
        """A reorganisation removed a key rotation: the old key is the chamber's again (the chain
        never retired it), the new one is set aside, and the rotation's intent is open again (the
        rotation command sends it again, with the same key)."""
        new = conn.execute(select(chamber_keys).where(func.lower(chamber_keys.c.address) == event.subject.lower())).first()
        old = conn.execute(select(chamber_keys).where(func.lower(chamber_keys.c.address) == event.issuer.lower())).first()
        if new is None or old is None:
            return
        now = time.time()
        conn.execute(update(chamber_keys).where(chamber_keys.c.id == new.id).values(retired_at=now))
        conn.execute(update(chamber_keys).where(chamber_keys.c.id == old.id).values(retired_at=None))
        conn.execute(
            update(intents)
            .where(intents.c.kind == IntentKind.ROTATE, func.lower(intents.c.new_address) == event.subject.lower())
            .values(state=IntentState.QUEUED, tx_hash=None, last_error="a reorganisation removed the rotation", updated_at=now)
        )

    def batched_certificates(self) -> list[tuple[CertificateRow, str, str]]:
        """Every certificate a batch has taken, with its batch's key address and root."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(certificates, chamber_keys.c.address.label("batch_issuer"), batches.c.root.label("batch_root"))
                .join(batches, batches.c.id == certificates.c.batch_id)
                .join(chamber_keys, chamber_keys.c.id == batches.c.key_id)
                .order_by(certificates.c.id)
            ).all()
            return [(CertificateRow.from_row(r), str(r.batch_issuer), str(r.batch_root)) for r in rows]

    def reproject_all(self, registry: str) -> int:
        """Project every certificate of this service again from the stored events (a repair);
        returns how many changed status."""
        with self.db.transaction() as conn:
            ids = conn.execute(select(certificates.c.id).where(certificates.c.batch_id.is_not(None))).scalars().all()
            return self._project_certificates(conn, registry.lower(), list(ids), {})

    # -- the projection --------------------------------------------------------------------------

    def _project_events(
        self, conn: Connection, registry: str, events: list[RegistryEvent], documents: Mapping[int, Mapping[int, dict[str, Any]]]
    ) -> Projected:
        rotated: list[int] = []
        for event in events:
            if event.name == "IssuerKeyRotated":
                chamber = self._activate_key(conn, event)
                if chamber is not None:
                    rotated.append(chamber)
            elif event.name in COMPLETES:
                row = conn.execute(
                    select(certificates.c.id)
                    .join(chamber_keys, chamber_keys.c.id == certificates.c.key_id)
                    .where(certificates.c.leaf == event.subject.lower(), func.lower(chamber_keys.c.address) == event.issuer.lower())
                ).first()
                if row is not None:  # the event is about this certificate's record, (its key, its leaf)
                    complete_intents(conn, row.id, COMPLETES[event.name], event.tx_hash)
        before = self._statuses(conn, self._affected(conn, [(e.name, e.subject) for e in events]))
        flat = {cid: doc for docs in documents.values() for cid, doc in docs.items()}
        self._project_certificates(conn, registry, list(before), flat)
        after = self._statuses(conn, list(before))
        issued = sum(1 for i in before if before[i] == CertificateStatus.PENDING and after[i] != CertificateStatus.PENDING)
        changed = sum(1 for i in before if before[i] != after[i])
        return Projected(issued=issued, changed=changed, rotated=tuple(rotated))

    def _reproject(self, conn: Connection, registry: str, subjects: list[tuple[str, str]]) -> None:
        self._project_certificates(conn, registry, self._affected(conn, subjects), {})

    @staticmethod
    def _statuses(conn: Connection, ids: list[int]) -> dict[int, CertificateStatus]:
        rows = conn.execute(select(certificates.c.id, certificates.c.status).where(certificates.c.id.in_(ids))).all()
        return {int(r.id): CertificateStatus(r.status) for r in rows}

    @staticmethod
    def _affected(conn: Connection, subjects: list[tuple[str, str]]) -> list[int]:
        """The certificates whose projection events on these (name, subject) pairs can change."""
        roots = [s.lower() for name, s in subjects if name == "BatchAnchored"]
        leaves = [s.lower() for name, s in subjects if name in COMPLETES]
        ids: set[int] = set()
        if roots:
            batch_ids = conn.execute(select(batches.c.id).where(batches.c.root.in_(roots))).scalars().all()
            ids |= set(conn.execute(select(certificates.c.id).where(certificates.c.batch_id.in_(batch_ids))).scalars().all())
        if leaves:
            ids |= set(conn.execute(select(certificates.c.id).where(certificates.c.leaf.in_(leaves))).scalars().all())
        return sorted(int(i) for i in ids)

    def _project_certificates(
        self, conn: Connection, registry: str, ids: list[int], documents: Mapping[int, dict[str, Any]]
    ) -> int:
        """Recompute each certificate's status (and its batch's) from the stored events; returns
        how many certificates changed status."""
        changed = 0
        now = time.time()
        for cid in ids:
            cert = conn.execute(
                select(certificates, batches.c.root, batches.c.status.label("batch_status"), chamber_keys.c.address)
                .join(batches, batches.c.id == certificates.c.batch_id)
                .join(chamber_keys, chamber_keys.c.id == batches.c.key_id)
                .where(certificates.c.id == cid)
            ).first()
            if cert is None:
                continue  # never batched: nothing on chain can be about it
            issuer = str(cert.address).lower()
            anchor = conn.execute(
                select(chain_events)
                .where(
                    chain_events.c.registry == registry,
                    chain_events.c.name == "BatchAnchored",
                    chain_events.c.subject == cert.root.lower(),
                    chain_events.c.issuer == issuer,
                )
                .order_by(chain_events.c.block_number, chain_events.c.log_index)
            ).first()
            leaf_events = conn.execute(
                select(chain_events)
                .where(
                    chain_events.c.registry == registry,
                    chain_events.c.subject == cert.leaf.lower(),
                    chain_events.c.issuer == issuer,  # on chain a status belongs to (issuer, leaf)
                    chain_events.c.name.in_(list(COMPLETES)),
                )
                .order_by(chain_events.c.block_number, chain_events.c.log_index)
            ).all()
            status, successor, deciding = status_from_events(anchor is not None, leaf_events)
            self._project_batch(conn, cert.batch_id, cert.batch_status, anchor, now)
            values: dict[str, Any] = {"status": status}
            if anchor is None:
                values.update(issued_at=None)
            elif cert.issued_at is None:
                values.update(issued_at=now)
            if anchor is not None and cert.document is None and cid in documents:
                values["document"] = json.dumps(documents[cid], ensure_ascii=False)
            if status == CertificateStatus.SUPERSEDED:
                values["successor_leaf"] = successor
            if status != cert.status:
                actor, reason = self._author(conn, cid, deciding, status)
                values["reason"] = reason
                changed += 1
                tx = deciding.tx_hash if deciding is not None else (anchor.tx_hash if anchor is not None else None)
                record_event(conn, cert.chamber_id, cid, status, actor, reason, tx)
            conn.execute(update(certificates).where(certificates.c.id == cid).values(**values))
        return changed

    @staticmethod
    def _project_batch(conn: Connection, batch_id: int, batch_status: str, anchor: Any, now: float) -> None:
        if anchor is not None and batch_status != BatchStatus.ANCHORED:
            conn.execute(
                update(batches)
                .where(batches.c.id == batch_id)
                .values(status=BatchStatus.ANCHORED, tx_hash=anchor.tx_hash, block_number=anchor.block_number, anchored_at=now)
            )
        elif anchor is None and batch_status == BatchStatus.ANCHORED:
            # A reorganisation took the anchor away: the worker looks up its transaction and
            # sends it again if the chain dropped it.
            conn.execute(
                update(batches)
                .where(batches.c.id == batch_id)
                .values(status=BatchStatus.SENT, block_number=None, anchored_at=None)
            )

    @staticmethod
    def _author(conn: Connection, certificate_id: int, deciding: Any, status: CertificateStatus) -> tuple[str, str | None]:
        """Who made the change the chain shows, and the words they gave: the intent it completed,
        else the registry itself (a change made outside this service)."""
        if deciding is None:
            return ("worker" if status == CertificateStatus.ISSUED else "chain"), None
        intent = conn.execute(
            select(intents.c.actor, intents.c.reason, intents.c.kind)
            .where(intents.c.certificate_id == certificate_id, intents.c.tx_hash == deciding.tx_hash)
            .order_by(intents.c.id.desc())
        ).first()
        if intent is not None:
            return intent.actor, intent.reason
        if deciding.name == "CertificateRevoked":
            return "chain", RevocationReason(deciding.reason).name.lower()
        return "chain", None

    @staticmethod
    def _activate_key(conn: Connection, event: RegistryEvent) -> int | None:
        """The chain rotated a key to one a ROTATE intent stored: it becomes the chamber's key."""
        intent = conn.execute(
            select(intents).where(
                intents.c.kind == IntentKind.ROTATE,
                func.lower(intents.c.new_address) == event.subject.lower(),
                intents.c.state.in_((IntentState.QUEUED, IntentState.SENT)),
            )
        ).first()
        if intent is None:
            return None
        now = time.time()
        conn.execute(
            update(chamber_keys)
            .where(chamber_keys.c.chamber_id == intent.chamber_id, chamber_keys.c.retired_at.is_(None))
            .values(retired_at=now)
        )
        existing = conn.execute(
            select(chamber_keys.c.id).where(func.lower(chamber_keys.c.address) == str(intent.new_address).lower())
        ).first()
        if existing is not None:  # set aside by a reorganisation, and rotated to again
            conn.execute(update(chamber_keys).where(chamber_keys.c.id == existing.id).values(retired_at=None))
        else:
            conn.execute(
                chamber_keys.insert().values(
                    chamber_id=intent.chamber_id, address=intent.new_address, ciphertext=intent.new_ciphertext, created_at=now
                )
            )
        conn.execute(
            update(intents)
            .where(intents.c.id == intent.id)
            .values(state=IntentState.DONE, tx_hash=event.tx_hash, updated_at=now, open_certificate=None)
        )
        return int(intent.chamber_id)
