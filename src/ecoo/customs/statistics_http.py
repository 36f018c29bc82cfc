"""Customs statistics over the web (officer): ``GET /api/v1/statistics`` (JSON),
``GET /api/v1/statistics.csv`` (one ``measure,key,value`` table) and the page ``/statistics``
(a date-range form and a server-rendered SVG chart with its data table for each measure; no script).

All three take ``from`` and ``to`` (``YYYY-MM-DD``, UTC days, both included; default the last 30
days; at most 366 days). A bad range is a 400 ``invalid_date_range`` that says what is wrong (the
page shows the same message above its form). The measures are defined in
``docs/customs-statistics.md``; the queries are :mod:`ecoo.customs.statistics`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from flask import Blueprint, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from ..errors import InputError
from ..service.http import ApiError
from ..service.statistics import csv_cell
from ..svg import Bar, Series, bar_chart, clean, day_series
from .auth import OFFICER, audit, objects, page_role, require_role
from .statistics import Breakdown, Period, Statistics, read_statistics

__all__ = ["bp", "statistics_csv"]

bp = Blueprint("customs_statistics", __name__)

#: What a key that was not stated (NULL) is called on the page.
NOT_STATED = "(not stated)"
OTHERS = "All others"


def _period() -> Period:
    try:
        return Period.parse(request.args.get("from") or None, request.args.get("to") or None)
    except InputError as exc:
        raise ApiError(400, "invalid_date_range", str(exc)) from None


@bp.get("/api/v1/statistics")
@require_role(OFFICER)
def statistics_json() -> ResponseReturnValue:
    return jsonify(read_statistics(objects().db, _period()).to_json())


@bp.get("/api/v1/statistics.csv")
@require_role(OFFICER)
def statistics_csv_download() -> ResponseReturnValue:
    period = _period()
    body = statistics_csv(read_statistics(objects().db, period))
    audit("statistics_exported", f"{period.first.isoformat()}..{period.last.isoformat()}")
    name = f"ecoo-customs-statistics-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/statistics")
@page_role(OFFICER)
def statistics_page() -> ResponseReturnValue:
    asked = {"from": request.args.get("from", ""), "to": request.args.get("to", "")}
    try:
        period = Period.parse(asked["from"] or None, asked["to"] or None)
    except InputError as exc:
        return render_template("customs/statistics.html", error=str(exc), asked=asked, stats=None, panels=[]), 400
    stats = read_statistics(objects().db, period)
    asked = {"from": period.first.isoformat(), "to": period.last.isoformat()}
    return render_template("customs/statistics.html", error=None, asked=asked, stats=stats, panels=panels(stats))


# -- CSV -------------------------------------------------------------------------------------------


def statistics_csv(stats: Statistics) -> str:
    """One ``measure,key,value`` row per figure (RFC 4180, CRLF); the layout is documented in
    docs/customs-statistics.md. A key that was not stated is empty."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["measure", "key", "value"])
    writer.writerows((measure, _csv_key(key), value) for measure, key, value in _csv_rows(stats))
    return out.getvalue()


def _csv_key(key: str | None) -> str:
    return csv_cell(key or "")


def _csv_rows(stats: Statistics) -> Iterator[tuple[str, str | None, str | int]]:
    period = stats.period
    yield from (
        ("range", "from", period.first.isoformat()),
        ("range", "to", period.last.isoformat()),
        ("range", "days", period.days),
    )
    yield "verifications", "total", stats.verifications_by_verdict.total
    yield from _breakdown_rows("verifications_by_verdict", stats.verifications_by_verdict)
    yield from _breakdown_rows("verifications_by_export_country", stats.verifications_by_country)
    yield from _breakdown_rows("verifications_by_chamber", stats.verifications_by_chamber)
    yield "declarations", "total", stats.declarations_by_outcome.total
    yield from _breakdown_rows("declarations_by_outcome", stats.declarations_by_outcome)
    preference = stats.preference
    yield from (("preference", "lines", preference.lines), ("preference", "accepted", preference.accepted))
    for scheme in preference.schemes:
        yield "preference_lines_by_scheme", scheme.scheme, scheme.lines
        yield "preference_accepted_by_scheme", scheme.scheme, scheme.accepted
    yield "preference_lines_by_scheme_others", None, preference.others
    utilisation = stats.utilisation
    yield from (("utilisation", "lines", utilisation.lines), ("utilisation", "certificates", utilisation.certificates))
    for unit in utilisation.units:
        yield "utilisation_lines_by_unit", unit.unit, unit.lines
        yield "utilisation_quantity_by_unit", unit.unit, unit.quantity
    yield "utilisation_lines_by_unit_others", None, utilisation.others
    yield "rejections", "lines", stats.rejected_lines
    yield from _breakdown_rows("rejections_by_reason", stats.rejections_by_reason)
    yield "alerts", "total", stats.alerts_by_kind.total
    yield from _breakdown_rows("alerts_by_kind", stats.alerts_by_kind)
    for day in stats.per_day:
        yield "per_day_verifications", day.day.isoformat(), day.verifications
        yield "per_day_declarations", day.day.isoformat(), day.declarations


def _breakdown_rows(measure: str, breakdown: Breakdown) -> Iterator[tuple[str, str | None, int]]:
    for row in breakdown.rows:
        yield measure, row.key, row.count
    yield f"{measure}_others", None, breakdown.others


# -- the page: one panel per measure -----------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """One measure on the page: its chart and the table of the same numbers."""

    id: str
    heading: str
    chart: Markup
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    tall: bool = False  # the table scrolls (the per-day series)


def label(key: str | None) -> str:
    return NOT_STATED if key is None else clean(key)


def panels(stats: Statistics) -> list[Panel]:
    span = f"{stats.period.first.isoformat()} to {stats.period.last.isoformat()}"

    def counted(panel_id: str, heading: str, noun: str, key_name: str, breakdown: Breakdown, note: str = "") -> Panel:
        rows = [(label(row.key), row.count) for row in breakdown.rows]
        if breakdown.others:
            rows.append((OTHERS, breakdown.others))
        desc = f"Bar chart of {breakdown.total} {noun} by {key_name.lower()}, {span}. The table below lists the same numbers."
        chart = bar_chart(f"chart-{panel_id}", heading, desc, [Bar(name, count) for name, count in rows])
        return Panel(panel_id, heading, chart, (key_name, noun.capitalize()), _cells(rows), note)

    preference, utilisation = stats.preference, stats.utilisation
    scheme_rows: list[tuple[str, int, int | str]] = [(label(s.scheme), s.lines, s.accepted) for s in preference.schemes]
    unit_rows = [(label(u.unit), u.lines, u.quantity) for u in utilisation.units]
    if preference.others:
        scheme_rows.append((OTHERS, preference.others, ""))
    if utilisation.others:
        unit_rows.append((OTHERS, utilisation.others, ""))
    days = [day.day for day in stats.per_day]
    return [
        counted("verdict", "Verifications by verdict", "verifications", "Verdict", stats.verifications_by_verdict),
        counted(
            "country", "Verifications by exporting country", "verifications", "Exporting country", stats.verifications_by_country
        ),
        counted(
            "chamber", "Verifications by issuing chamber", "verifications", "Issuing chamber", stats.verifications_by_chamber
        ),
        counted("outcome", "Declarations by outcome", "declarations", "Outcome", stats.declarations_by_outcome),
        Panel(
            "preference",
            "Preference claimed by scheme",
            bar_chart(
                "chart-preference",
                "Preference claimed by scheme",
                f"Bar chart of {preference.lines} declaration lines that claimed a preference, by scheme, {span}. "
                "The table below lists the same numbers and how many were accepted.",
                [Bar(name, lines) for name, lines, _ in scheme_rows],
            ),
            ("Scheme", "Lines claiming", "Accepted"),
            _cells(scheme_rows),
            f"{preference.lines} lines claimed a preference; {preference.accepted} of them were accepted.",
        ),
        Panel(
            "utilisation",
            "Utilisation by unit",
            bar_chart(
                "chart-utilisation",
                "Accepted lines by unit",
                f"Bar chart of {utilisation.lines} accepted declaration lines by unit, {span}. "
                "The table below lists the same numbers and the quantity utilised in each unit.",
                [Bar(name, lines) for name, lines, _ in unit_rows],
            ),
            ("Unit", "Accepted lines", "Quantity"),
            _cells(unit_rows),
            f"{utilisation.lines} accepted lines utilised {utilisation.certificates} certificates.",
        ),
        counted(
            "reasons",
            "Rejections by reason",
            "rejections",
            "Reason",
            stats.rejections_by_reason,
            f"{stats.rejected_lines} lines were rejected; a line rejected for several reasons counts under each.",
        ),
        counted("alerts", "Alerts by kind", "alerts", "Kind", stats.alerts_by_kind),
        Panel(
            "per-day",
            "Per day",
            day_series(
                "chart-per-day",
                "Verifications and declarations per day",
                f"Line chart of verifications (solid) and declarations (dashed) on each UTC day, {span}. "
                "The table below lists the same numbers.",
                days,
                [
                    Series("Verifications", tuple(day.verifications for day in stats.per_day)),
                    Series("Declarations", tuple(day.declarations for day in stats.per_day)),
                ],
            ),
            ("Day", "Verifications", "Declarations"),
            _cells([(day.day.isoformat(), day.verifications, day.declarations) for day in stats.per_day]),
            tall=True,
        ),
    ]


def _cells(rows: Sequence[Sequence[str | int]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(str(cell) for cell in row) for row in rows)
