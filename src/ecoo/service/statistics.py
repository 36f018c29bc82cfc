"""A chamber's statistics (issue 11, "Measurement") and the authority's figures per chamber.

:func:`chamber_statistics` answers one chamber and one :class:`~ecoo.customs.statistics.Period`
(UTC days, both included; default the last 12 months) with an immutable :class:`ChamberStatistics`;
:func:`authority_statistics` gives every chamber's volume, revocation and suspension rates and
its unusual jumps. The queries are :mod:`ecoo.service.store.statistics_repository`; every figure is
the follower's projection of the chain. The measures are defined in ``docs/statistics.md``.

"Time from submission to decision" needs applications, which the service does not have yet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Any

from ..customs.statistics import Period
from ..registry import RevocationReason
from ..utilisation import RejectionCode
from .store import Store
from .store.statistics_repository import Counts, StatisticsRepository

#: The default period: the last 12 months (365 days, today included).
DEFAULT_DAYS = 365
#: A month is an unusual jump when its count is more than this times the median of the months before.
JUMP_FACTOR = 3
#: How many months before a month its median is taken over.
JUMP_WINDOW = 6
#: Cells a spreadsheet would run as a formula (OWASP "CSV injection"); such a key gets a leading '.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def parse_period(first: str | None, last: str | None, today: date | None = None) -> Period:
    """The period of a request's ``from`` and ``to`` (``YYYY-MM-DD``, UTC days, both included);
    without ``from`` the 365 days that end on ``to`` (today by default). :class:`InputError`
    for a malformed date, ``from`` after ``to`` or a period over 366 days."""
    return Period.parse(first, last, today, default_days=DEFAULT_DAYS)


def months(first: date, last: date) -> list[str]:
    """The months (``YYYY-MM``) from ``first``'s to ``last``'s, both included."""
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _months_back(first: date, count: int) -> date:
    year, month = first.year, first.month - count
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


@dataclass(frozen=True)
class ChamberStatistics:
    """One chamber's figures for ``period``. Counts are lists of (key, count), most first."""

    chamber_id: int
    period: Period
    per_month: tuple[tuple[str, int], ...]  # every month of the period, zeros included
    by_scheme: tuple[tuple[str, int], ...]
    by_destination: tuple[tuple[str, int], ...]
    by_chapter: tuple[tuple[str, int], ...]
    by_status: tuple[tuple[str, int], ...]  # the projected status now, of the period's certificates
    revocations_by_reason: tuple[tuple[str, int], ...]  # the registry's reason (fraud, error, cancelled)
    customs: tuple[tuple[str, int], ...]  # records by kind: received, utilised, rejected
    rejections_by_reason: tuple[tuple[str, int], ...]
    utilised_certificates: int

    @property
    def issued(self) -> int:
        return sum(count for _, count in self.per_month)

    def tables(self) -> list[tuple[str, tuple[tuple[str, int], ...]]]:
        """Every table by its name in the JSON and the CSV."""
        return [
            ("perMonth", self.per_month),
            ("byScheme", self.by_scheme),
            ("byDestination", self.by_destination),
            ("byHsChapter", self.by_chapter),
            ("byStatus", self.by_status),
            ("revocationsByReason", self.revocations_by_reason),
            ("customsRecords", self.customs),
            ("rejectionsByReason", self.rejections_by_reason),
        ]

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "chamber": self.chamber_id,
            "from": self.period.first.isoformat(),
            "to": self.period.last.isoformat(),
            "issued": self.issued,
            "utilisedCertificates": self.utilised_certificates,
        }
        for name, rows in self.tables():
            body[name] = [{"key": key, "count": count} for key, count in rows]
        return body

    def to_csv(self) -> str:
        """One ``table,key,count`` row per figure (RFC 4180, CRLF), keys guarded against formulas."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["table", "key", "count"])
        writer.writerows((table, csv_cell(key), count) for table, key, count in self._csv_rows())
        return out.getvalue()

    def _csv_rows(self) -> Iterator[tuple[str, str, int | str]]:
        yield "range", "from", self.period.first.isoformat()
        yield "range", "to", self.period.last.isoformat()
        yield "totals", "issued", self.issued
        yield "totals", "utilisedCertificates", self.utilised_certificates
        for name, rows in self.tables():
            for key, count in rows:
                yield name, key, count


def csv_cell(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _named(codes: dict[int, int], names: Any) -> tuple[tuple[str, int], ...]:
    def name(code: int) -> str:
        try:
            return str(names(code).name.lower())
        except ValueError:
            return f"code {code}"

    return tuple(sorted(((name(code), count) for code, count in codes.items()), key=lambda p: (-p[1], p[0])))


def chamber_statistics(store: Store, chamber_id: int, period: Period) -> ChamberStatistics:
    figures = StatisticsRepository(store.database).chamber_figures(
        chamber_id, period.first.isoformat(), period.last.isoformat(), period.start, period.end
    )
    counted: dict[str, int] = figures["months"]
    kinds: dict[str, int] = figures["customs_kinds"]
    return ChamberStatistics(
        chamber_id=chamber_id,
        period=period,
        per_month=tuple((month, counted.get(month, 0)) for month in months(period.first, period.last)),
        by_scheme=_tuple(figures["schemes"]),
        by_destination=_tuple(figures["destinations"]),
        by_chapter=_tuple(figures["chapters"]),
        by_status=tuple(sorted(figures["statuses"].items(), key=lambda p: (-p[1], p[0]))),
        revocations_by_reason=_named(figures["revocation_reasons"], RevocationReason),
        customs=tuple((kind, kinds.get(kind, 0)) for kind in ("received", "utilised", "rejected")),
        rejections_by_reason=_named(figures["rejection_codes"], RejectionCode),
        utilised_certificates=figures["utilised_certificates"],
    )


def _tuple(counts: Counts) -> tuple[tuple[str, int], ...]:
    return tuple(counts)


# -- the authority's figures ------------------------------------------------------------------------


def unusual_jumps(per_month: Sequence[tuple[str, int]], shown_from: str) -> list[dict[str, Any]]:
    """The months from ``shown_from`` whose count is more than :data:`JUMP_FACTOR` times the
    median of the :data:`JUMP_WINDOW` months before (zeros included). A month after a median of
    zero is not flagged: three times nothing would flag every chamber's first month."""
    flagged = []
    counts = [count for _, count in per_month]
    for index, (month, count) in enumerate(per_month):
        if month < shown_from or index < JUMP_WINDOW:
            continue
        before = median(counts[index - JUMP_WINDOW : index])
        if before > 0 and count > JUMP_FACTOR * before:
            flagged.append({"month": month, "issued": count, "medianBefore": before})
    return flagged


def authority_statistics(store: Store, period: Period) -> dict[str, Any]:
    """Every chamber's volume in ``period``, its revocation and suspension rates (revoked or
    cancelled / suspended now, over the period's issued certificates) and unusual jumps."""
    shown = months(period.first, period.last)
    widened = _months_back(period.first, JUMP_WINDOW)
    rows = StatisticsRepository(store.database).authority_figures(
        period.first.isoformat(), period.last.isoformat(), widened.isoformat()
    )
    every = months(widened, period.last)
    listed = []
    for row in rows:
        statuses: dict[str, int] = row["statuses"]
        issued = sum(statuses.values())
        revoked = statuses.get("REVOKED", 0) + statuses.get("CANCELLED", 0)
        suspended = statuses.get("SUSPENDED", 0)
        series = [(month, row["months"].get(month, 0)) for month in every]
        listed.append(
            {
                "chamber": row["id"],
                "name": row["name"],
                "country": row["country"],
                "issued": issued,
                "revoked": revoked,
                "suspended": suspended,
                "revocationRate": round(revoked / issued, 4) if issued else 0.0,
                "suspensionRate": round(suspended / issued, 4) if issued else 0.0,
                "perMonth": [{"month": month, "issued": count} for month, count in series if month >= shown[0]],
                "unusualJumps": unusual_jumps(series, shown[0]),
            }
        )
    return {"from": period.first.isoformat(), "to": period.last.isoformat(), "chambers": listed}
