"""Certificates: created PENDING, listed and looked up, moved through their statuses (audited)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError

from ..status import AuditAction, CertificateStatus
from .audit_repository import record_event
from .engine import Database, insert_id
from .errors import DuplicateCertificateError
from .rows import CertificateRow, Chamber
from .schema import certificate_chapters, certificates, chapter_rows


class CertificateRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writing -----------------------------------------------------------------------------------

    def insert_certificates(self, chamber: Chamber, rows: Sequence[dict[str, Any]], actor: str) -> list[int]:
        """Store new certificates as PENDING (all or none). Raises DuplicateCertificateError."""
        now = time.time()
        ids: list[int] = []
        try:
            with self.db.transaction() as conn:
                existing = dict(
                    conn.execute(
                        select(certificates.c.idempotency_key, certificates.c.id).where(
                            certificates.c.chamber_id == chamber.id,
                            certificates.c.idempotency_key.in_([row["idempotency_key"] for row in rows]),
                        )
                    ).all()
                )
                for row in rows:
                    if row["idempotency_key"] in existing:
                        raise DuplicateCertificateError(row["number"], int(existing[row["idempotency_key"]]))
                    values = {
                        **row,
                        "chamber_id": chamber.id,
                        "key_id": chamber.key_id,
                        "status": CertificateStatus.PENDING,
                        "created_at": now,
                    }
                    values["data"] = json.dumps(row["data"], ensure_ascii=False)
                    values["salts"] = json.dumps(row["salts"])
                    new_id = insert_id(conn, certificates.insert().values(**values))
                    chapters = chapter_rows(new_id, chamber.id, row["issue_date"], row["data"])
                    if chapters:  # for the statistics (issue 11)
                        conn.execute(certificate_chapters.insert(), chapters)
                    ids.append(new_id)
                    record_event(conn, chamber.id, new_id, AuditAction.CREATED, actor, None, None)
        except IntegrityError as exc:  # a concurrent insert of the same number won the race
            number = rows[0]["number"] if len(rows) == 1 else "(one of the batch)"
            raise DuplicateCertificateError(number, -1) from exc
        return ids

    def cancel_unbatched(self, certificate_id: int, reason: str, actor: str) -> bool:
        """Cancel a PENDING certificate that no batch has taken, in one conditional update: a batch
        formed at the same moment and this cancel cannot both win."""
        return self._cancel(certificate_id, reason, actor, free_number=False)

    def withdraw(self, certificate_id: int, reason: str, actor: str) -> bool:
        """Cancel a certificate that was never batched and free its number for a retry."""
        return self._cancel(certificate_id, reason, actor, free_number=True)

    def _cancel(self, certificate_id: int, reason: str, actor: str, *, free_number: bool) -> bool:
        values: dict[str, Any] = {"status": CertificateStatus.CANCELLED, "reason": reason}
        if free_number:
            values["idempotency_key"] = certificates.c.idempotency_key + f"#withdrawn-{certificate_id}"
        with self.db.transaction() as conn:
            result = conn.execute(
                update(certificates)
                .where(
                    certificates.c.id == certificate_id,
                    certificates.c.status == CertificateStatus.PENDING,
                    certificates.c.batch_id.is_(None),
                )
                .values(**values)
            )
            if not result.rowcount:
                return False
            chamber_id = conn.execute(select(certificates.c.chamber_id).where(certificates.c.id == certificate_id)).scalar_one()
            record_event(conn, chamber_id, certificate_id, AuditAction.CANCELLED, actor, reason, None)
            return True

    def resign_pending(self, chamber_id: int, key_id: int, signatures: dict[int, str]) -> int:
        """Move not-yet-batched PENDING certificates to a new key with their new signatures."""
        changed = 0
        with self.db.transaction() as conn:
            for certificate_id, signature in signatures.items():
                changed += conn.execute(
                    update(certificates)
                    .where(
                        certificates.c.id == certificate_id,
                        certificates.c.chamber_id == chamber_id,
                        certificates.c.status == CertificateStatus.PENDING,
                        certificates.c.batch_id.is_(None),
                    )
                    .values(key_id=key_id, signature=signature)
                ).rowcount
        return changed

    # -- reading -----------------------------------------------------------------------------------

    def get_certificate(self, certificate_id: int, chamber_id: int | None = None) -> CertificateRow | None:
        with self.db.transaction() as conn:
            query = select(certificates).where(certificates.c.id == certificate_id)
            if chamber_id is not None:
                query = query.where(certificates.c.chamber_id == chamber_id)
            row = conn.execute(query).first()
            return CertificateRow.from_row(row) if row else None

    def get_certificates(self, certificate_ids: Sequence[int]) -> list[CertificateRow]:
        """The certificates with these ids, in that order (one query)."""
        with self.db.transaction() as conn:
            rows = conn.execute(select(certificates).where(certificates.c.id.in_(list(certificate_ids)))).all()
        by_id = {row.id: CertificateRow.from_row(row) for row in rows}
        return [by_id[i] for i in certificate_ids if i in by_id]

    def find_by_leaf(self, leaf: str) -> CertificateRow | None:
        with self.db.transaction() as conn:
            row = conn.execute(select(certificates).where(certificates.c.leaf == leaf.lower())).first()
            return CertificateRow.from_row(row) if row else None

    def find_by_number(self, chamber_id: int, number: str) -> list[CertificateRow]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(certificates)
                .where(certificates.c.chamber_id == chamber_id, certificates.c.number == number)
                .order_by(certificates.c.id)
            ).all()
            return [CertificateRow.from_row(r) for r in rows]

    def list_certificates(
        self,
        chamber_id: int,
        *,
        number: str | None = None,
        status: str | None = None,
        destination: str | None = None,
        issued_from: str | None = None,
        issued_to: str | None = None,
        limit: int = 50,
        after_id: int | None = None,
    ) -> list[CertificateRow]:
        """A chamber's certificates, newest first, filtered; ``after_id`` pages on (keyset)."""
        conditions = [certificates.c.chamber_id == chamber_id]
        if number:
            conditions.append(certificates.c.number == number)
        if status:
            conditions.append(certificates.c.status == status)
        if destination:
            conditions.append(certificates.c.destination == destination)
        if issued_from:
            conditions.append(certificates.c.issue_date >= issued_from)
        if issued_to:
            conditions.append(certificates.c.issue_date <= issued_to)
        if after_id is not None:
            conditions.append(certificates.c.id < after_id)
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(certificates).where(and_(*conditions)).order_by(certificates.c.id.desc()).limit(limit)
            ).all()
            return [CertificateRow.from_row(r) for r in rows]

    def stale_pending(self, chamber_id: int, key_id: int) -> list[CertificateRow]:
        """The chamber's PENDING certificates not yet in a batch and signed by a key other than ``key_id``."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(certificates).where(
                    certificates.c.chamber_id == chamber_id,
                    certificates.c.status == CertificateStatus.PENDING,
                    certificates.c.batch_id.is_(None),
                    certificates.c.key_id != key_id,
                )
            ).all()
            return [CertificateRow.from_row(r) for r in rows]

    def pending(self, chamber_id: int, limit: int) -> list[CertificateRow]:
        """The chamber's oldest PENDING certificates not yet in a batch."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(certificates)
                .where(
                    certificates.c.chamber_id == chamber_id,
                    certificates.c.status == CertificateStatus.PENDING,
                    certificates.c.batch_id.is_(None),
                )
                .order_by(certificates.c.id)
                .limit(limit)
            ).all()
            return [CertificateRow.from_row(r) for r in rows]

    def batch_certificates(self, batch_id: int) -> list[CertificateRow]:
        with self.db.transaction() as conn:
            rows = conn.execute(select(certificates).where(certificates.c.batch_id == batch_id).order_by(certificates.c.id)).all()
            return [CertificateRow.from_row(r) for r in rows]

    def counts(self, chamber_id: int) -> dict[str, int]:
        """How many of the chamber's certificates are in each status (statuses with none are absent)."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(certificates.c.status, func.count())
                .where(certificates.c.chamber_id == chamber_id)
                .group_by(certificates.c.status)
            ).all()
            return {status: int(count) for status, count in rows}
