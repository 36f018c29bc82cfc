"""Customs statistics over a range of UTC days: what was verified, declared, utilised, rejected and
alerted, aggregated by the database (GROUP BY), on SQLite and PostgreSQL alike.

:func:`read_statistics` answers one :class:`Period` with one immutable :class:`Statistics`.
Every figure is a count or a sum computed by SQL; Python only fills the days without activity into
the per-day series and turns sums of thousandths back into decimals.

Two things are not portable SQL and are compiled per dialect (``sqlalchemy.ext.compiler``):

* the UTC day of a Unix time (seconds, float): ``CAST(at / 86400 AS INTEGER)`` on SQLite (a cast
  truncates, which is the floor for the non-negative times a period admits), ``FLOOR(at / 86400)``
  elsewhere (PostgreSQL *rounds* when it casts a float to an integer, so a cast alone would put
  the last half second of a day in the next one);
* a declared quantity ("1250.5") as thousandths of its unit, the registry's integers
  (:func:`ecoo.utilisation.to_units`): exact ``NUMERIC`` on PostgreSQL, a rounded 64-bit float on
  SQLite (exact below 9·10^12 units per line); summed as integers on both.

The reasons of rejected lines are a JSON list in a text column: ``json_each`` on SQLite,
``json_array_elements`` on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Numeric, case, cast, func, literal, select, true
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ..errors import InputError
from ..service.store.engine import Database
from ..utilisation import from_units
from .store.schema import alerts, declaration_lines, declarations, verifications

DAY_SECONDS = 86_400
#: The longest period one request may ask for (a leap year).
MAX_DAYS = 366
#: The period when none is given: the last 30 days, today included.
DEFAULT_DAYS = 30
#: Each breakdown lists at most this many keys, most frequent first; the rest are counted as others.
TOP = 25
EPOCH = date(1970, 1, 1)

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


# -- the period --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The UTC days ``first`` to ``last``, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> float:
        """Unix time of ``first`` at 00:00 UTC (included)."""
        return float((self.first - EPOCH).days * DAY_SECONDS)

    @property
    def end(self) -> float:
        """Unix time of the day after ``last`` at 00:00 UTC (excluded)."""
        return float(((self.last - EPOCH).days + 1) * DAY_SECONDS)

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=offset) for offset in range(self.days)]

    @classmethod
    def parse(cls, first: str | None, last: str | None, today: date | None = None, *, default_days: int = DEFAULT_DAYS) -> Period:
        """The period of a request's ``from`` and ``to`` (``YYYY-MM-DD``, UTC days, both included).

        Without ``to`` it ends today (UTC); without ``from`` it is the ``default_days`` days that end
        on ``to``. Refuses (:class:`InputError`) a malformed or impossible date, ``from`` after ``to``,
        a day before 1970-01-01 and a period longer than ``MAX_DAYS`` days."""
        today = today or datetime.now(UTC).date()
        end = _parse_date("to", last) if last else today
        begin = _parse_date("from", first) if first else end - timedelta(days=default_days - 1)
        if begin > end:
            ends = f"'to' ({end.isoformat()}{'' if last else ', today by default'})"
            raise InputError(f"'from' ({begin.isoformat()}) is after {ends}")
        if begin < EPOCH:
            raise InputError(f"'from' ({begin.isoformat()}) is before 1970-01-01")
        period = cls(begin, end)
        if period.days > MAX_DAYS:
            raise InputError(
                f"the period {begin.isoformat()} to {end.isoformat()} is {period.days} days long; at most {MAX_DAYS}"
            )
        return period


def _parse_date(name: str, text: str) -> date:
    shown = repr(text[:40]) + ("…" if len(text) > 40 else "")
    if not _ISO_DATE.fullmatch(text):
        raise InputError(f"'{name}' must be a date as YYYY-MM-DD (e.g. 2026-12-01), not {shown}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"'{name}' is not a day of the calendar: {shown}") from None


# -- the result --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """How many of something had ``key`` (``None``: the key was not stated)."""

    key: str | None
    count: int


@dataclass(frozen=True)
class Breakdown:
    """``total`` things by key: the ``TOP`` most frequent keys, and ``others`` for the rest."""

    rows: tuple[Count, ...]
    total: int

    @property
    def others(self) -> int:
        return self.total - sum(row.count for row in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "rows": [{"key": r.key, "count": r.count} for r in self.rows], "others": self.others}


@dataclass(frozen=True)
class SchemeCount:
    """Declaration lines that claimed the preference of ``scheme``, and how many were accepted."""

    scheme: str
    lines: int
    accepted: int


@dataclass(frozen=True)
class Preference:
    lines: int  # lines that claimed any preference
    accepted: int  # of which accepted
    schemes: tuple[SchemeCount, ...]

    @property
    def others(self) -> int:
        return self.lines - sum(row.lines for row in self.schemes)


@dataclass(frozen=True)
class UnitQuantity:
    """Accepted lines in ``unit`` (``None``: not stated) and their quantity (a decimal string)."""

    unit: str | None
    lines: int
    quantity: str


@dataclass(frozen=True)
class Utilisation:
    lines: int  # accepted declaration lines
    certificates: int  # distinct certificates (leaves) they utilised
    units: tuple[UnitQuantity, ...]

    @property
    def others(self) -> int:
        return self.lines - sum(row.lines for row in self.units)


@dataclass(frozen=True)
class DayCount:
    day: date
    verifications: int
    declarations: int


@dataclass(frozen=True)
class Statistics:
    """Every measure over one period (see docs/customs-statistics.md for their definitions)."""

    period: Period
    verifications_by_verdict: Breakdown
    verifications_by_country: Breakdown  # the certificate's exporting country
    verifications_by_chamber: Breakdown  # the issuing chamber, as the certificate names it
    declarations_by_outcome: Breakdown
    preference: Preference
    utilisation: Utilisation
    rejected_lines: int
    rejections_by_reason: Breakdown  # (line, reason) pairs: a line with two reasons counts under both
    alerts_by_kind: Breakdown
    per_day: tuple[DayCount, ...]

    def to_json(self) -> dict[str, Any]:
        """The API's answer (camelCase, like the rest of the customs API)."""
        return {
            "range": {"from": self.period.first.isoformat(), "to": self.period.last.isoformat(), "days": self.period.days},
            "verifications": {
                "total": self.verifications_by_verdict.total,
                "byVerdict": self.verifications_by_verdict.to_json(),
                "byExportCountry": self.verifications_by_country.to_json(),
                "byChamber": self.verifications_by_chamber.to_json(),
            },
            "declarations": {"total": self.declarations_by_outcome.total, "byOutcome": self.declarations_by_outcome.to_json()},
            "preference": {
                "lines": self.preference.lines,
                "accepted": self.preference.accepted,
                "byScheme": [{"scheme": s.scheme, "lines": s.lines, "accepted": s.accepted} for s in self.preference.schemes],
                "others": self.preference.others,
            },
            "utilisation": {
                "lines": self.utilisation.lines,
                "certificates": self.utilisation.certificates,
                "byUnit": [{"unit": u.unit, "lines": u.lines, "quantity": u.quantity} for u in self.utilisation.units],
                "others": self.utilisation.others,
            },
            "rejections": {"lines": self.rejected_lines, "byReason": self.rejections_by_reason.to_json()},
            "alerts": {"total": self.alerts_by_kind.total, "byKind": self.alerts_by_kind.to_json()},
            "perDay": [
                {"date": d.day.isoformat(), "verifications": d.verifications, "declarations": d.declarations}
                for d in self.per_day
            ],
        }


# -- SQL that differs between dialects ---------------------------------------------------------------


class utc_day(FunctionElement[int]):  # noqa: N801 - named like the SQL functions it sits among
    """The UTC day of a Unix time (float seconds) as days since 1970-01-01."""

    type = BigInteger()
    inherit_cache = True
    name = "utc_day"


@compiles(utc_day)
def _utc_day_floor(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(({compiler.process(element.clauses, **kw)}) / {DAY_SECONDS}) AS BIGINT)"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) / {DAY_SECONDS} AS INTEGER)"


class quantity_units(FunctionElement[Any]):  # noqa: N801
    """A declared decimal quantity as thousandths of its unit (NULL when it is not a plain decimal)."""

    type = Numeric()
    inherit_cache = True
    name = "quantity_units"


@compiles(quantity_units)
def _units_numeric(element: quantity_units, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    # The guard keeps one malformed row from failing the whole query (a NUMERIC cast would raise).
    return f"CASE WHEN {value} ~ '^[0-9]{{1,40}}(\\.[0-9]{{1,40}})?$' THEN ROUND(CAST({value} AS NUMERIC) * 1000) END"


@compiles(quantity_units, "sqlite")
def _units_sqlite(element: quantity_units, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"CASE WHEN {value} GLOB '[0-9]*' THEN CAST(ROUND(CAST({value} AS REAL) * 1000) AS INTEGER) END"


def _reason_codes(conn: Connection) -> tuple[Any, ColumnElement[Any]]:
    """(the lines joined with one row per element of their ``reasons``, that element's ``code``)."""
    reasons = declaration_lines.c.reasons
    element: Any
    code: ColumnElement[Any]
    if conn.dialect.name == "sqlite":
        # json_each would raise on malformed JSON and walk an object's members: only a valid array.
        array = case((func.json_valid(reasons) == 1, case((func.json_type(reasons) == "array", reasons))))
        element = func.json_each(array).table_valued("value", "type").alias("reason")
        code = case((element.c.type == "object", func.json_extract(element.c.value, "$.code")))
    else:
        document = cast(reasons, JSON())
        array = case((func.json_typeof(document) == "array", document))
        element = func.json_array_elements(array).table_valued("value").lateral("reason")
        code = element.c.value.op("->>")(literal("code"))
    joined = declaration_lines.join(declarations, declarations.c.id == declaration_lines.c.declaration_id).join(element, true())
    return joined, code


# -- the queries -------------------------------------------------------------------------------------


def read_statistics(db: Database, period: Period) -> Statistics:
    """Every measure of ``period``, read in one transaction (one snapshot: REPEATABLE READ on
    PostgreSQL; SQLite's transaction is one snapshot already)."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            return statistics(conn, period)


def statistics(conn: Connection, period: Period) -> Statistics:
    """Every measure of ``period``, inside ``conn``'s transaction."""
    verified = [verifications.c.at >= period.start, verifications.c.at < period.end]
    declared = [declarations.c.created_at >= period.start, declarations.c.created_at < period.end]
    verification_total = _count(conn, select(func.count()).select_from(verifications).where(*verified))
    declaration_total = _count(conn, select(func.count()).select_from(declarations).where(*declared))
    alert_window = [alerts.c.at >= period.start, alerts.c.at < period.end]
    alert_total = _count(conn, select(func.count()).select_from(alerts).where(*alert_window))
    return Statistics(
        period=period,
        verifications_by_verdict=_breakdown(conn, verifications.c.verdict, verifications, verified, verification_total),
        verifications_by_country=_breakdown(conn, verifications.c.export_country, verifications, verified, verification_total),
        verifications_by_chamber=_breakdown(conn, verifications.c.chamber, verifications, verified, verification_total),
        declarations_by_outcome=_breakdown(conn, declarations.c.outcome, declarations, declared, declaration_total),
        preference=_preference(conn, declared),
        utilisation=_utilisation(conn, declared),
        rejected_lines=_count(
            conn,
            select(func.count()).select_from(_lines()).where(*declared, declaration_lines.c.decision == "reject"),
        ),
        rejections_by_reason=_reasons(conn, declared),
        alerts_by_kind=_breakdown(conn, alerts.c.kind, alerts, alert_window, alert_total),
        per_day=_per_day(conn, period, verified, declared),
    )


def _count(conn: Connection, statement: Any) -> int:
    return int(conn.execute(statement).scalar_one() or 0)


def _lines() -> Any:
    return declaration_lines.join(declarations, declarations.c.id == declaration_lines.c.declaration_id)


def _breakdown(conn: Connection, key: Any, source: Any, where: Sequence[Any], total: int) -> Breakdown:
    """``total`` rows of ``source`` grouped by ``key``: the ``TOP`` largest groups (ties by key)."""
    count = func.count()
    statement = (
        select(key.label("key"), count.label("n"))
        .select_from(source)
        .where(*where)
        .group_by(key)
        .order_by(count.desc(), key.asc().nulls_last())
        .limit(TOP)
    )
    rows = tuple(Count(row.key, int(row.n)) for row in conn.execute(statement))
    return Breakdown(rows, total)


def _preference(conn: Connection, declared: Sequence[Any]) -> Preference:
    scheme = declaration_lines.c.preference
    accepted = func.sum(case((declaration_lines.c.decision == "accept", 1), else_=0))
    claimed = [*declared, scheme.is_not(None), scheme != ""]
    totals = conn.execute(select(func.count(), accepted).select_from(_lines()).where(*claimed)).one()
    count = func.count()
    statement = (
        select(scheme.label("scheme"), count.label("lines"), accepted.label("accepted"))
        .select_from(_lines())
        .where(*claimed)
        .group_by(scheme)
        .order_by(count.desc(), scheme.asc())
        .limit(TOP)
    )
    schemes = tuple(SchemeCount(row.scheme, int(row.lines), int(row.accepted or 0)) for row in conn.execute(statement))
    return Preference(int(totals[0] or 0), int(totals[1] or 0), schemes)


def _utilisation(conn: Connection, declared: Sequence[Any]) -> Utilisation:
    # Utilised is what the registry holds: accepted lines whose utilisation is confirmed on chain
    # (not one still pending, nor one the registry refused: that line is a rejection by now).
    where = [
        *declared,
        declaration_lines.c.decision == "accept",
        declaration_lines.c.record_kind == "utilisation",
        declaration_lines.c.record_state == "confirmed",
    ]
    unit = declaration_lines.c.unit
    totals = conn.execute(
        select(func.count(), func.count(func.distinct(declaration_lines.c.leaf))).select_from(_lines()).where(*where)
    ).one()
    count = func.count()
    statement = (
        select(unit.label("unit"), count.label("lines"), func.sum(quantity_units(declaration_lines.c.quantity)).label("units"))
        .select_from(_lines())
        .where(*where)
        .group_by(unit)
        .order_by(count.desc(), unit.asc().nulls_last())
        .limit(TOP)
    )
    units = tuple(UnitQuantity(row.unit, int(row.lines), from_units(int(row.units or 0))) for row in conn.execute(statement))
    return Utilisation(int(totals[0] or 0), int(totals[1] or 0), units)


def _reasons(conn: Connection, declared: Sequence[Any]) -> Breakdown:
    joined, code = _reason_codes(conn)
    where = [*declared, declaration_lines.c.decision == "reject", code.is_not(None)]
    total = _count(conn, select(func.count()).select_from(joined).where(*where))
    return _breakdown(conn, code, joined, where, total)


def _per_day(conn: Connection, period: Period, verified: Sequence[Any], declared: Sequence[Any]) -> tuple[DayCount, ...]:
    """Verifications and declarations per UTC day; days without either are filled in with zeros."""
    counted: dict[str, dict[int, int]] = {}
    for name, at, table, where in (
        ("verifications", verifications.c.at, verifications, verified),
        ("declarations", declarations.c.created_at, declarations, declared),
    ):
        day = utc_day(at)
        statement = select(day.label("day"), func.count().label("n")).select_from(table).where(*where).group_by(day)
        counted[name] = {int(row.day): int(row.n) for row in conn.execute(statement)}
    first = (period.first - EPOCH).days
    return tuple(
        DayCount(
            period.first + timedelta(days=offset),
            counted["verifications"].get(first + offset, 0),
            counted["declarations"].get(first + offset, 0),
        )
        for offset in range(period.days)
    )


__all__ = [
    "Breakdown",
    "Count",
    "DayCount",
    "Period",
    "Preference",
    "SchemeCount",
    "Statistics",
    "UnitQuantity",
    "Utilisation",
    "read_statistics",
    "statistics",
]
