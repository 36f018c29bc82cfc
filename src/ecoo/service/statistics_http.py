"""A chamber's statistics over the web: ``GET /api/v1/statistics`` (JSON, or ``?format=csv``) with
the chamber's API token, and the page ``/dashboard/statistics`` (with its CSV at
``/dashboard/statistics.csv``) for a signed-in dashboard session. A chamber only ever sees its
own figures: the chamber comes from the token or the session, never from the request.

All take ``from`` and ``to`` (``YYYY-MM-DD``, UTC days, both included; default the last 12
months; at most 366 days); a bad range is a 400 ``invalid_date_range``. The authority's
per-chamber figures are ``ecoo chamber stats`` (the service has no authority accounts).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from ..customs.statistics import Period
from ..errors import InputError
from ..svg import Bar, bar_chart, clean
from .http import ApiError, require_chamber, services
from .pages.security import signed_in
from .statistics import ChamberStatistics, chamber_statistics, parse_period

bp = Blueprint("statistics", __name__)


def _period(*, empty_is_default: bool = True) -> Period:
    """The asked period. The pages' form sends an empty field for "the default"; the API, whose
    document says a date, refuses an empty one."""
    first, last = request.args.get("from"), request.args.get("to")
    if not empty_is_default and "" in (first, last):
        raise ApiError(400, "invalid_date_range", "'from' and 'to' must be dates (YYYY-MM-DD) when given")
    try:
        return parse_period(first or None, last or None)
    except InputError as exc:
        raise ApiError(400, "invalid_date_range", str(exc)) from None


def _csv(stats: ChamberStatistics) -> Response:
    name = f"ecoo-chamber-{stats.chamber_id}-statistics-{stats.period.first.isoformat()}-{stats.period.last.isoformat()}.csv"
    return Response(stats.to_csv(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/api/v1/statistics")
@require_chamber
def statistics_api() -> ResponseReturnValue:
    wanted = request.args.get("format", "json")
    if wanted not in ("json", "csv"):
        raise ApiError(400, "invalid_format", f"'format' must be 'json' or 'csv', not {wanted[:20]!r}")
    stats = chamber_statistics(services().store, g.chamber.id, _period(empty_is_default=False))
    return _csv(stats) if wanted == "csv" else jsonify(stats.to_json())


@bp.get("/dashboard/statistics.csv")
def statistics_page_csv() -> ResponseReturnValue:
    signed = signed_in()
    if signed is None:
        return redirect(url_for("pages.dashboard.dashboard"))
    return _csv(chamber_statistics(services().store, signed[0].id, _period()))


@bp.get("/dashboard/statistics")
def statistics_page() -> ResponseReturnValue:
    signed = signed_in()
    if signed is None:
        return redirect(url_for("pages.dashboard.dashboard"))
    chamber = signed[0]
    asked = {"from": request.args.get("from", ""), "to": request.args.get("to", "")}
    try:
        period = parse_period(asked["from"] or None, asked["to"] or None)
    except InputError as exc:
        return render_template("statistics.html", chamber=chamber, error=str(exc), asked=asked, stats=None, panels=[]), 400
    stats = chamber_statistics(services().store, chamber.id, period)
    asked = {"from": period.first.isoformat(), "to": period.last.isoformat()}
    return render_template("statistics.html", chamber=chamber, error=None, asked=asked, stats=stats, panels=panels(stats))


@dataclass(frozen=True)
class Panel:
    """One table on the page: its chart and the same numbers as a table."""

    id: str
    heading: str
    key_name: str
    chart: Markup
    rows: tuple[tuple[str, int], ...]


_HEADINGS = {
    "perMonth": ("Certificates issued per month", "Month"),
    "byScheme": ("Certificates issued by scheme", "Scheme"),
    "byDestination": ("Certificates issued by destination", "Import country"),
    "byHsChapter": ("Certificates by HS chapter", "HS chapter"),
    "byStatus": ("Certificates by status now", "Status"),
    "revocationsByReason": ("Revocations by reason", "Reason"),
    "customsRecords": ("Customs records", "Record"),
    "rejectionsByReason": ("Customs rejections by reason", "Reason"),
}


def panels(stats: ChamberStatistics) -> list[Panel]:
    span = f"{stats.period.first.isoformat()} to {stats.period.last.isoformat()}"
    out = []
    for name, rows in stats.tables():
        heading, key_name = _HEADINGS[name]
        shown = tuple((clean(key), count) for key, count in rows)
        desc = f"Bar chart: {heading.lower()}, {span}. The table beside it lists the same numbers."
        chart = bar_chart(f"chart-{name}", heading, desc, [Bar(key, count) for key, count in shown])
        out.append(Panel(name, heading, key_name, chart, shown))
    return out
