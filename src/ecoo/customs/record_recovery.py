"""The recovery of declarations' on-chain records: every record not confirmed (``not_sent`` after
a crash, ``sent`` with its outcome unknown, ``failed`` while a node was down) and every confirmed
one not yet settled deep enough is moved on by :class:`~.declaration_records.RecordSender`, the
same code the request that stored it ran: the chain is asked first, a record is sent again only
when the chain does not have it. A failed record waits a backoff that doubles with its attempts;
its state, attempts and last error show in the declaration's answer and page.

Runs in the customs background (:mod:`.background`) when the service has a customs key; without
one nothing is ever sent, and records stored then stay ``not_sent``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .declaration_records import RecordSender
from .record_repository import due_records

if TYPE_CHECKING:
    from ..registry import Registry
    from ..signers import Signer
    from .store import CustomsDatabase

__all__ = ["BATCH", "RecordRecovery"]

#: Records looked at per pass.
BATCH = 50


class RecordRecovery:
    """:meth:`run_once` is one pass over the due records; ``options`` go to the :class:`RecordSender`
    (``recheck``, ``backoff_base``, ``settle_depth`` ...: tests make them short)."""

    def __init__(
        self,
        db: CustomsDatabase,
        signer: Signer,
        sender: Callable[[int, str], Registry],
        *,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        self.db, self.clock = db, clock
        self.sending = RecordSender(db, signer, sender, owner=owner or f"recovery-{uuid.uuid4().hex[:12]}", clock=clock, **options)

    def run_once(self) -> int:
        """One step of every due record nobody else holds; returns how many were looked at."""
        with self.db.transaction() as conn:
            due = due_records(conn, self.clock(), BATCH)
        return sum(self.sending.advance(record) for record in due)
