"""The queries behind a chamber's statistics and the authority's per-chamber figures (issue 11),
aggregated by the database (GROUP BY) on SQLite and PostgreSQL alike.

Every figure comes from the follower's projection of the chain: a certificate counts as issued
once the chain anchored it (``issued_at`` is set by the projection), its status is the projected
one, a revocation's reason is the registry's (the ``CertificateRevoked`` event's), and customs
records are the ``customs_records`` the follower stored. Requests (intents) are never counted.

Certificates are placed in a period by their issue date (``issue_date``, ``YYYY-MM-DD``: text
compares as dates), customs records by the time of their block. The HS chapters are those stored
with each certificate (``certificate_chapters``, from its items' codes).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from .engine import Database
from .schema import certificate_chapters, certificates, chain_events, chamber_keys, chambers, customs_records

#: (key, count) pairs, most frequent first, then by key.
Counts = list[tuple[str, int]]


def issued_in(chamber_id: int | None, first: str, last: str) -> ColumnElement[bool]:
    """Certificates of ``chamber_id`` (all chambers for None) the chain anchored, dated ``first`` to ``last``."""
    condition = and_(certificates.c.issue_date >= first, certificates.c.issue_date <= last, certificates.c.issued_at.is_not(None))
    return and_(certificates.c.chamber_id == chamber_id, condition) if chamber_id is not None else condition


def _counts(conn: Connection, query: Select[Any]) -> Counts:
    rows = conn.execute(query).all()
    return sorted(((str(key), int(count)) for key, count in rows), key=lambda pair: (-pair[1], pair[0]))


class StatisticsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def chamber_figures(self, chamber_id: int, first: str, last: str, start: float, end: float) -> dict[str, Any]:
        """One chamber's figures for the days ``first`` to ``last`` (customs records in Unix times
        ``start`` included to ``end`` excluded), in one transaction."""
        where = issued_in(chamber_id, first, last)
        with self.db.transaction() as conn:
            figures: dict[str, Any] = {
                **self.issued_breakdowns(conn, where),
                "chapters": self.chapters(conn, chamber_id, first, last),
                "revocation_reasons": self.revocation_reasons(conn, where),
            }
            figures.update(self.customs(conn, chamber_id, start, end))
        return figures

    def issued_breakdowns(self, conn: Connection, where: ColumnElement[bool]) -> dict[str, Any]:
        """Months, schemes, destinations and statuses in one pass over the period's certificates:
        the database counts each (month, scheme, destination, status) group (a few thousand at
        most), and the four breakdowns are sums of those counts. Four GROUP BYs read the same
        rows four times (docs/statistics.md, "Speed")."""
        month = func.substr(certificates.c.issue_date, 1, 7)
        keys = (month, certificates.c.scheme, certificates.c.destination, certificates.c.status)
        groups = conn.execute(select(*keys, func.count()).where(where).group_by(*keys)).all()
        sums: list[dict[str, int]] = [{}, {}, {}, {}]
        for *values, count in groups:
            for position, value in enumerate(values):
                sums[position][str(value)] = sums[position].get(str(value), 0) + int(count)

        def ranked(counted: dict[str, int]) -> Counts:
            return sorted(counted.items(), key=lambda pair: (-pair[1], pair[0]))

        return {
            "months": sums[0],
            "schemes": ranked(sums[1]),
            "destinations": ranked(sums[2]),
            "statuses": sums[3],
        }

    def chapters(self, conn: Connection, chamber_id: int, first: str, last: str) -> Counts:
        """Certificates per HS chapter (the first two characters of an item's code; a certificate
        with two items of one chapter counts once), from the chapters stored with each certificate."""
        query = (
            select(certificate_chapters.c.chapter, func.count())
            .select_from(certificate_chapters)
            .join(certificates, certificates.c.id == certificate_chapters.c.certificate_id)
            .where(
                certificate_chapters.c.chamber_id == chamber_id,
                certificate_chapters.c.issue_date >= first,
                certificate_chapters.c.issue_date <= last,
                issued_in(chamber_id, first, last),
            )
            .group_by(certificate_chapters.c.chapter)
        )
        return _counts(conn, query)

    def revocation_reasons(self, conn: Connection, where: ColumnElement[bool]) -> dict[int, int]:
        """Revoked certificates (status REVOKED or CANCELLED) by the reason of their registry event."""
        revoked = (
            select(chain_events.c.reason, func.count(distinct(certificates.c.id)))
            .select_from(certificates)
            .join(chain_events, and_(chain_events.c.subject == certificates.c.leaf, chain_events.c.name == "CertificateRevoked"))
            .where(where, certificates.c.status.in_(("REVOKED", "CANCELLED")))
            .group_by(chain_events.c.reason)
        )
        return {int(reason): int(count) for reason, count in conn.execute(revoked).all() if reason is not None}

    def customs(self, conn: Connection, chamber_id: int, start: float, end: float) -> dict[str, Any]:
        """Customs records against the chamber's certificates (those signed by one of its keys)."""
        keys = [
            str(a).lower()
            for a in conn.execute(select(chamber_keys.c.address).where(chamber_keys.c.chamber_id == chamber_id)).scalars()
        ]
        if not keys:
            return {"customs_kinds": {}, "rejection_codes": {}, "utilised_certificates": 0}
        ours = and_(customs_records.c.issuer.in_(keys), customs_records.c.at >= start, customs_records.c.at < end)
        kinds = conn.execute(select(customs_records.c.kind, func.count()).where(ours).group_by(customs_records.c.kind)).all()
        codes = conn.execute(
            select(customs_records.c.code, func.count())
            .where(ours, customs_records.c.kind == "rejected")
            .group_by(customs_records.c.code)
        ).all()
        utilised = conn.execute(
            select(func.count(distinct(customs_records.c.leaf))).where(ours, customs_records.c.kind == "utilised")
        ).scalar()
        return {
            "customs_kinds": {str(kind): int(count) for kind, count in kinds},
            "rejection_codes": {int(code): int(count) for code, count in codes if code is not None},
            "utilised_certificates": int(utilised or 0),
        }

    def authority_figures(self, first: str, last: str, months_from: str) -> list[dict[str, Any]]:
        """Per chamber: certificates issued by status now for the days ``first`` to ``last``, and
        per month from ``months_from`` (earlier: the months a jump is measured against) to ``last``."""
        where = issued_in(None, first, last)
        month = func.substr(certificates.c.issue_date, 1, 7)
        with self.db.transaction() as conn:
            listed = conn.execute(select(chambers.c.id, chambers.c.name, chambers.c.country).order_by(chambers.c.id)).all()
            months = conn.execute(
                select(certificates.c.chamber_id, month, func.count())
                .where(issued_in(None, months_from, last))
                .group_by(certificates.c.chamber_id, month)
            ).all()
            statuses = conn.execute(
                select(certificates.c.chamber_id, certificates.c.status, func.count())
                .where(where)
                .group_by(certificates.c.chamber_id, certificates.c.status)
            ).all()
        per: dict[int, dict[str, Any]] = {
            int(r.id): {"id": int(r.id), "name": str(r.name), "country": str(r.country), "months": {}, "statuses": {}}
            for r in listed
        }
        for chamber_id, key, count in months:
            per[int(chamber_id)]["months"][str(key)] = int(count)
        for chamber_id, key, count in statuses:
            per[int(chamber_id)]["statuses"][str(key)] = int(count)
        return list(per.values())
