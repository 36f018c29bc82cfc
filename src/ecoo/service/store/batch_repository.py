"""Batches: a Merkle root over a chamber's PENDING certificates, from PREPARED through SENT to ANCHORED."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update

from ..status import BatchStatus, CertificateStatus
from .engine import Database, insert_id
from .errors import StoreError
from .rows import BatchRow
from .schema import batches, certificates, chamber_keys


class BatchRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def chambers_with_pending(self) -> list[int]:
        """Chambers with anchoring to do: unbatched PENDING certificates, or a batch not yet anchored."""
        with self.db.transaction() as conn:
            pending = select(certificates.c.chamber_id).where(
                certificates.c.status == CertificateStatus.PENDING, certificates.c.batch_id.is_(None)
            )
            open_batches = select(batches.c.chamber_id).where(batches.c.status.in_([BatchStatus.PREPARED, BatchStatus.SENT]))
            ids = conn.execute(pending.union(open_batches)).scalars().all()
            return sorted(set(ids))

    def unanchored(self, chamber_id: int) -> list[BatchRow]:
        """Batches created but not yet known to be anchored (a restart resumes them)."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(batches)
                .where(batches.c.chamber_id == chamber_id, batches.c.status.in_([BatchStatus.PREPARED, BatchStatus.SENT]))
                .order_by(batches.c.id)
            ).all()
            return [BatchRow.from_row(r) for r in rows]

    def get(self, batch_id: int) -> BatchRow | None:
        with self.db.transaction() as conn:
            row = conn.execute(select(batches).where(batches.c.id == batch_id)).first()
            return BatchRow.from_row(row) if row else None

    def by_root(self, issuer: str, root: str) -> BatchRow | None:
        """The batch of ``root`` signed by the key ``issuer``."""
        with self.db.transaction() as conn:
            row = conn.execute(
                select(batches)
                .join(chamber_keys, chamber_keys.c.id == batches.c.key_id)
                .where(batches.c.root == root.lower(), func.lower(chamber_keys.c.address) == issuer.lower())
            ).first()
            return BatchRow.from_row(row) if row else None

    def transaction_of_root(self, root: str) -> str | None:
        """The anchoring transaction of an anchored batch with this root, if this service made it."""
        with self.db.transaction() as conn:
            value = conn.execute(
                select(batches.c.tx_hash).where(batches.c.root == root.lower(), batches.c.status == BatchStatus.ANCHORED)
            ).scalar()
            return str(value) if value else None

    def create_batch(self, chamber_id: int, key_id: int, root: str, certificate_ids: Sequence[int]) -> int:
        """Record a batch and assign its certificates — before anything is sent to the chain."""
        with self.db.transaction() as conn:
            batch_id = insert_id(
                conn,
                batches.insert().values(
                    chamber_id=chamber_id,
                    key_id=key_id,
                    root=root,
                    status=BatchStatus.PREPARED,
                    attempts=0,
                    created_at=time.time(),
                ),
            )
            assigned = conn.execute(
                update(certificates)
                .where(
                    certificates.c.id.in_(list(certificate_ids)),
                    certificates.c.batch_id.is_(None),
                    certificates.c.status == CertificateStatus.PENDING,
                )
                .values(batch_id=batch_id)
            ).rowcount
            if assigned != len(certificate_ids):
                raise StoreError("pending certificates changed while a batch was being formed")  # rolls back
            return batch_id

    def dissolve(self, batch_id: int) -> bool:
        """Give a batch that never reached the chain back to PENDING: its certificates are unassigned
        (to be batched again) and the batch is marked DISSOLVED. Only a batch not anchored."""
        with self.db.transaction() as conn:
            changed = conn.execute(
                update(batches)
                .where(batches.c.id == batch_id, batches.c.status != BatchStatus.ANCHORED)
                .values(status=BatchStatus.DISSOLVED, last_error="dissolved: signed by a retired key")
            ).rowcount
            if changed:
                conn.execute(update(certificates).where(certificates.c.batch_id == batch_id).values(batch_id=None))
            return bool(changed)

    def batch_attempt(self, batch_id: int, error: str | None, tx_hash: str | None = None) -> None:
        """Count an anchoring attempt; with ``tx_hash`` the transaction went out (SENT)."""
        with self.db.transaction() as conn:
            values: dict[str, Any] = {"attempts": batches.c.attempts + 1, "last_error": error}
            if tx_hash:
                values.update(tx_hash=tx_hash, status=BatchStatus.SENT)
            conn.execute(update(batches).where(batches.c.id == batch_id).values(**values))
