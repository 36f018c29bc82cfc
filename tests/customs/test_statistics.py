"""Customs statistics: every measure's numbers on SQLite and a real PostgreSQL, the period's rules,
and the SVG charts (escaped labels, title and description, well-formed)."""

from __future__ import annotations

import csv
import html
import io
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ecoo.customs.statistics import MAX_DAYS, TOP, Period, read_statistics
from ecoo.customs.store import CustomsDatabase
from ecoo.customs.store.schema import audit as audit_table
from ecoo.customs.store.schema import declaration_lines
from ecoo.errors import InputError
from ecoo.svg import LABEL_CHARS, WIDTH, Bar, Series, bar_chart, day_series, nice_ceiling
from tests.customs.statistics_seed import (
    EXPECTED,
    HOSTILE_CHAMBER,
    HOSTILE_SCHEME,
    LEAF_A,
    LEAF_B,
    PERIOD,
    accept,
    add_declaration,
    add_verification,
    at,
    reject,
    seed,
    statistics_customs,
)
from tests.support.customs import CustomsHarness

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def db(database_url: str | None, tmp_path: Path) -> Iterator[CustomsDatabase]:
    """A migrated customs database: a SQLite file, or a fresh database on the real PostgreSQL."""
    database = CustomsDatabase(database_url or f"sqlite:///{tmp_path / 'customs.db'}")
    database.migrate()
    yield database
    database.close()


# -- the measures -----------------------------------------------------------------------------------


def test_every_measure_of_a_month(db: CustomsDatabase) -> None:
    seed(db)
    answer = read_statistics(db, PERIOD).to_json()
    for measure, expected in EXPECTED.items():
        assert answer[measure] == expected, measure
    assert answer.keys() == EXPECTED.keys()


def test_one_day_holds_its_last_instant_and_nothing_of_the_next(db: CustomsDatabase) -> None:
    seed(db)
    day = read_statistics(db, Period(date(2026, 11, 3), date(2026, 11, 3)))
    # 23:59:59.9 is the 3rd (a float cast to an integer would round it into the 4th on PostgreSQL)
    assert [(d.day, d.verifications, d.declarations) for d in day.per_day] == [(date(2026, 11, 3), 3, 1)]
    assert day.verifications_by_verdict.total == 3
    assert day.utilisation.lines == 2 and [(u.unit, u.quantity) for u in day.utilisation.units] == [
        ("KGM", "1250.5"),
        ("PCE", "2000"),
    ]
    after = read_statistics(db, Period(date(2026, 12, 1), date(2026, 12, 1)))
    assert after.verifications_by_verdict.total == 1 and after.declarations_by_outcome.total == 1
    assert [(r.key, r.count) for r in after.alerts_by_kind.rows] == [("key_rotated", 1)]
    assert [(s.scheme, s.lines, s.accepted) for s in after.preference.schemes] == [("JTEPA", 1, 1)]


def test_an_empty_period_is_zeros_with_every_day(db: CustomsDatabase) -> None:
    seed(db)
    empty = read_statistics(db, Period(date(2025, 1, 1), date(2025, 12, 31)))
    answer = empty.to_json()
    assert answer["verifications"]["total"] == 0 and answer["verifications"]["byChamber"]["rows"] == []
    assert answer["utilisation"] == {"lines": 0, "certificates": 0, "byUnit": [], "others": 0}
    assert answer["rejections"] == {"lines": 0, "byReason": {"total": 0, "rows": [], "others": 0}}
    assert len(answer["perDay"]) == 365 and {d["verifications"] + d["declarations"] for d in answer["perDay"]} == {0}


def test_a_breakdown_lists_the_most_frequent_keys_and_counts_the_rest(db: CustomsDatabase) -> None:
    with db.transaction() as conn:
        for index in range(TOP + 5):  # 30 chambers once each ...
            add_verification(conn, at("2026-11-05", "10:00:00", index / 100), "VALID", "TH", f"Chamber {index:02d}")
        for _ in range(3):  # ... and one three times
            add_verification(conn, at("2026-11-06"), "VALID", "TH", "Busy Chamber")
    chambers = read_statistics(db, PERIOD).verifications_by_chamber
    assert chambers.total == TOP + 8 and len(chambers.rows) == TOP
    assert chambers.rows[0].key == "Busy Chamber" and chambers.rows[0].count == 3
    assert [r.key for r in chambers.rows[1:]] == [f"Chamber {i:02d}" for i in range(TOP - 1)]  # ties by name
    assert chambers.others == 6 and chambers.to_json()["others"] == 6


def test_quantities_add_up_exactly_in_thousandths(db: CustomsDatabase) -> None:
    with db.transaction() as conn:
        # 0.1 + 0.2 is not 0.3 in floating point; in thousandths it is. A huge one stays exact.
        add_declaration(conn, at("2026-11-07"), "JP-IMP-1", "accepted", [
            accept(LEAF_A, 1, "0.1", "KGM", None), accept(LEAF_A, 2, "0.2", "KGM", None),
            accept(LEAF_A, 3, "123456789012.345", "LTR", None), accept(LEAF_A, 4, "0.001", "LTR", None),
            accept(LEAF_A, 5, "not a number", "PCE", None),
            reject(LEAF_A, 6, "7", "KGM", None, "hs_mismatch"),
        ])  # fmt: skip
    utilisation = read_statistics(db, PERIOD).utilisation
    assert {(u.unit, u.lines, u.quantity) for u in utilisation.units} == {
        ("KGM", 2, "0.3"),
        ("LTR", 2, "123456789012.346"),
        ("PCE", 1, "0"),  # counted as a line; a quantity that is no decimal adds nothing
    }
    assert utilisation.lines == 5 and utilisation.certificates == 1


def test_only_utilisation_confirmed_on_chain_counts_as_utilised(db: CustomsDatabase) -> None:
    """An accepted line whose utilisation is not yet on chain (not sent, sent, failed and to be
    tried again) is not utilised yet; one the registry refused is a rejection by then."""
    with db.transaction() as conn:
        add_declaration(conn, at("2026-11-07"), "JP-IMP-1", "pending", [
            accept(LEAF_A, 1, "1", "KGM", None),
            accept(LEAF_A, 2, "10", "KGM", None) | {"state": "not_sent"},
            accept(LEAF_A, 3, "100", "KGM", None) | {"state": "sent"},
            accept(LEAF_B, 4, "1000", "KGM", None) | {"state": "failed"},
        ])  # fmt: skip
    utilisation = read_statistics(db, PERIOD).utilisation
    assert {(u.unit, u.lines, u.quantity) for u in utilisation.units} == {("KGM", 1, "1")}
    assert utilisation.lines == 1 and utilisation.certificates == 1


def test_reasons_that_are_not_a_list_of_codes_are_left_out(db: CustomsDatabase) -> None:
    with db.transaction() as conn:
        declaration = add_declaration(conn, at("2026-11-08"), "JP-IMP-2", "rejected", [
            reject(LEAF_A, 1, "1", "PCE", None, "hs_mismatch"),
            reject(LEAF_A, 2, "1", "PCE", None, "hs_mismatch"),
            reject(LEAF_A, 3, "1", "PCE", None),
        ])  # fmt: skip
        lines = declaration_lines.c
        for line, reasons in ((2, '{"code": "unit_mismatch"}'), (3, '["no_object", 7, {"message": "no code"}]')):
            conn.execute(
                declaration_lines.update()
                .where(lines.declaration_id == declaration, lines.line_no == line)
                .values(reasons=reasons)
            )
    statistics = read_statistics(db, PERIOD)
    assert statistics.rejected_lines == 3
    assert [(r.key, r.count) for r in statistics.rejections_by_reason.rows] == [("hs_mismatch", 1)]


# -- the period -------------------------------------------------------------------------------------

TODAY = date(2026, 12, 2)


def test_the_default_period_is_the_last_thirty_days() -> None:
    assert Period.parse(None, None, TODAY) == Period(date(2026, 11, 3), TODAY)
    assert Period.parse(None, "2026-02-28", TODAY) == Period(date(2026, 1, 30), date(2026, 2, 28))
    assert Period.parse("2026-11-30", None, TODAY) == Period(date(2026, 11, 30), TODAY)
    longest = Period.parse("2024-01-01", "2024-12-31", TODAY)
    assert longest.days == MAX_DAYS and len(longest.dates()) == MAX_DAYS
    assert longest.start == 1704067200.0 and longest.end == 1735689600.0


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2026-13-01", None, "'from' is not a day of the calendar: '2026-13-01'"),
        ("2026-02-29", None, "'from' is not a day of the calendar"),
        ("20261101", None, "'from' must be a date as YYYY-MM-DD"),
        ("2026-11-01T00:00", None, "'from' must be a date as YYYY-MM-DD"),
        (None, "yesterday", "'to' must be a date as YYYY-MM-DD (e.g. 2026-12-01), not 'yesterday'"),
        (None, "２０２６-11-01", "'to' must be a date as YYYY-MM-DD"),
        ("2026-11-30", "2026-11-01", "'from' (2026-11-30) is after 'to' (2026-11-01)"),
        ("2026-12-05", None, "'from' (2026-12-05) is after 'to' (2026-12-02, today by default)"),
        ("1969-12-31", "1970-01-05", "'from' (1969-12-31) is before 1970-01-01"),
        ("2025-01-01", "2026-01-02", "is 367 days long; at most 366"),
        ("x" * 500, None, "not 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'…"),
    ],
)
def test_a_bad_period_is_refused_with_a_clear_message(first: str | None, last: str | None, message: str) -> None:
    with pytest.raises(InputError) as refused:
        Period.parse(first, last, TODAY)
    assert message in str(refused.value)


# -- the charts -------------------------------------------------------------------------------------


def test_a_bar_chart_escapes_hostile_labels_and_is_labelled() -> None:
    svg = str(bar_chart("chambers", "Verifications by chamber", "8 verifications <in> November", [
        Bar("Thai Chamber of Commerce", 3), Bar(HOSTILE_CHAMBER, 1), Bar(HOSTILE_SCHEME, 2),
        Bar('" onload="alert(1)', 1), Bar("A" * 80, 0),
    ]))  # fmt: skip
    assert "<script" not in svg and 'onload="' not in svg and "\x07" not in svg
    root = ET.fromstring(svg)  # well-formed XML too
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-labelledby") == "chambers-title" and root.get("aria-describedby") == "chambers-desc"
    assert root.find(f"{SVG}title").text == "Verifications by chamber"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "8 verifications <in> November"  # type: ignore[union-attr]
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter(f"{SVG}foreignObject"))
    labels = [text.text for text in root.iter(f"{SVG}text")]
    assert HOSTILE_CHAMBER in labels and "<b>FTA</b>\ufffd" in labels and '" onload="alert(1)' in labels
    assert "A" * (LABEL_CHARS - 1) + "…" in labels  # shortened in the chart; the tooltip keeps it whole
    assert "A" * 80 + ": 0" in [title.text for title in root.iter(f"{SVG}title")]
    widths = [float(rect.get("width", "0")) for rect in root.iter(f"{SVG}rect")]
    assert widths[0] == WIDTH - 64 and widths[4] == 0.0  # the longest bar fills the room left for bars
    assert widths[2] == pytest.approx(widths[0] * 2 / 3, abs=0.1) and widths[1] == widths[3] == pytest.approx(
        widths[0] / 3, abs=0.1
    )
    for element in root.iter():  # no reference to anything outside the chart
        assert not any("href" in name or "url(" in value for name, value in element.attrib.items())


def test_an_empty_bar_chart_says_so() -> None:
    root = ET.fromstring(str(bar_chart("empty", "Alerts by kind", "No alerts.", [])))
    assert [text.text for text in root.iter(f"{SVG}text")] == ["No data in this period."]


def test_a_day_series_draws_each_series_over_every_day() -> None:
    days = PERIOD.dates()
    verified = tuple(day["verifications"] for day in EXPECTED["perDay"])  # type: ignore[index]
    declared = tuple(day["declarations"] for day in EXPECTED["perDay"])  # type: ignore[index]
    svg = str(day_series("per-day", "Per day", "Verifications & declarations", days,
                         [Series("Verifications", verified), Series("Declarations <b>", declared)]))  # fmt: skip
    root = ET.fromstring(svg)
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 2 and all(len(line.get("points", "").split()) == 30 for line in lines)
    assert lines[1].get("stroke-dasharray")  # told apart by shape, not colour alone
    texts = [text.text for text in root.iter(f"{SVG}text")]
    assert {"Verifications", "Declarations <b>", "0", "5", "2026-11-01", "2026-11-30"} <= set(texts)
    # the highest point (3 verifications on the 3rd, ceiling 5) sits at 3/5 of the plot's height
    top_y = min(float(point.split(",")[1]) for point in lines[0].get("points", "").split())
    assert top_y == pytest.approx(34 + 170 - 170 * 3 / 5, abs=0.1)
    with pytest.raises(ValueError, match="has 2 values for 30 days"):
        day_series("x", "t", "d", days, [Series("short", (1, 2))])
    with pytest.raises(ValueError, match="not a plain identifier"):
        bar_chart('x" onload="', "t", "d", [])


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (23, 25), (99, 100), (101, 200)]
)
def test_the_axis_ends_on_a_round_number(value: int, ceiling: int) -> None:
    assert nice_ceiling(value) == ceiling


# -- the API, the CSV and the page ------------------------------------------------------------------

NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def stats_service(database_url: str | None, tmp_path: Path) -> Iterator[CustomsHarness]:
    harness = statistics_customs(tmp_path, database_url)
    yield harness
    harness.close()


def test_the_api_answers_every_measure_to_an_officer(stats_service: CustomsHarness) -> None:
    seed(stats_service.objects.db)
    answer = stats_service.client.get(f"/api/v1/statistics?{NOVEMBER}", headers=stats_service.officer)
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.json == EXPECTED
    assert stats_service.client.get(f"/api/v1/statistics?{NOVEMBER}", headers=stats_service.admin).json == EXPECTED


def test_the_api_defaults_to_the_last_thirty_days(stats_service: CustomsHarness) -> None:
    today = datetime.now(UTC).date()
    with stats_service.objects.db.transaction() as conn:
        add_verification(conn, time.time(), "VALID", "TH", "Today's Chamber")
    answer = stats_service.client.get("/api/v1/statistics?from=&to=", headers=stats_service.officer).json or {}
    assert answer["range"] == {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat(), "days": 30}
    assert answer["perDay"][-1] == {"date": today.isoformat(), "verifications": 1, "declarations": 0}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-11-31", "'from' is not a day of the calendar: '2026-11-31'"),
        ("from=01/11/2026", "'from' must be a date as YYYY-MM-DD"),
        ("to=2026-11-01&from=2026-11-02", "'from' (2026-11-02) is after 'to' (2026-11-01)"),
        ("from=2024-01-01&to=2026-01-01", "at most 366"),
    ],
)
def test_a_bad_range_is_a_clear_400(stats_service: CustomsHarness, query: str, message: str) -> None:
    for path in ("/api/v1/statistics", "/api/v1/statistics.csv"):
        refused = stats_service.client.get(f"{path}?{query}", headers=stats_service.officer)
        assert refused.status_code == 400 and (refused.json or {})["error"] == "invalid_date_range"
        assert message in (refused.json or {})["message"]
    stats_service.sign_in()
    page = stats_service.client.get(f"/statistics?{query}")
    assert page.status_code == 400 and message in html.unescape(page.get_data(as_text=True))
    assert 'data-testid="range-error"' in page.get_data(as_text=True) and "<svg" not in page.get_data(as_text=True)


def test_statistics_need_a_signed_in_officer(stats_service: CustomsHarness) -> None:
    client = stats_service.new_client()
    for path in ("/api/v1/statistics", "/api/v1/statistics.csv"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
    page = client.get(f"/statistics?{NOVEMBER}")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")


def test_the_csv_holds_the_same_numbers_in_measure_key_value_rows(stats_service: CustomsHarness) -> None:
    seed(stats_service.objects.db)
    with stats_service.objects.db.transaction() as conn:  # a chamber name that is a spreadsheet formula
        add_verification(conn, at("2026-11-12"), "VALID", "TH", '=HYPERLINK("http://evil.example","x")')
    answer = stats_service.client.get(f"/api/v1/statistics.csv?{NOVEMBER}", headers=stats_service.officer)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="ecoo-customs-statistics-2026-11-01-2026-11-30.csv"'
    text = answer.get_data(as_text=True)
    assert text.startswith("measure,key,value\r\n")
    table = list(csv.reader(io.StringIO(text)))[1:]
    assert all(len(row) == 3 for row in table)
    values = {(measure, key): value for measure, key, value in table}
    assert values[("range", "from")] == "2026-11-01" and values[("range", "days")] == "30"
    assert values[("verifications", "total")] == "9" and values[("verifications_by_verdict", "VALID")] == "6"
    assert values[("verifications_by_chamber", HOSTILE_CHAMBER)] == "1"
    assert values[("verifications_by_chamber", '\'=HYPERLINK("http://evil.example","x")')] == "1"
    assert values[("verifications_by_export_country", "")] == "1"  # not stated
    assert values[("verifications_by_chamber_others", "")] == "0"
    assert values[("preference_lines_by_scheme", "RCEP")] == "4" and values[("preference_accepted_by_scheme", "RCEP")] == "3"
    assert values[("utilisation_quantity_by_unit", "KGM")] == "1250.625" and values[("utilisation", "certificates")] == "2"
    assert values[("rejections", "lines")] == "4" and values[("rejections_by_reason", "certificate_not_valid")] == "2"
    assert values[("alerts_by_kind", "revoked_fraud")] == "2"
    assert values[("per_day_verifications", "2026-11-03")] == "3" and values[("per_day_declarations", "2026-11-20")] == "1"
    assert sum(measure == "per_day_verifications" for measure, _, _ in table) == 30
    assert len(values) == len(table)  # no (measure, key) twice
    with stats_service.objects.db.transaction() as conn:
        exported = conn.execute(
            select(audit_table.c.actor, audit_table.c.subject).where(audit_table.c.action == "statistics_exported")
        ).all()
    assert [tuple(row) for row in exported] == [("token:1:officer system", "2026-11-01..2026-11-30")]


def test_the_page_shows_each_measure_as_an_accessible_chart_and_table_without_script(stats_service: CustomsHarness) -> None:
    seed(stats_service.objects.db, hostile_scheme=True)
    stats_service.sign_in()
    page = stats_service.client.get(f"/statistics?{NOVEMBER}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<script" not in body and " style=" not in body and "<style" not in body
    assert "script-src 'nonce-" in page.headers["Content-Security-Policy"]
    assert "&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<b>FTA" not in body and "\x07" not in body
    charts = re.findall(r"<svg .*?</svg>", body, re.S)
    assert len(charts) == 9
    for chart in charts:
        root = ET.fromstring(chart)
        title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
        assert title is not None and title.text and desc is not None and desc.text
        assert (root.get("aria-labelledby"), root.get("aria-describedby")) == (title.get("id"), desc.get("id"))
    assert 'data-testid="table-verdict"' in body and '<th scope="row">VALID</th><td class="num">5</td>' in body
    assert '<th scope="row">KGM</th><td class="num">2</td><td class="num">1250.625</td>' in body
    assert '<th scope="row">(not stated)</th>' in body
    assert 'href="/api/v1/statistics.csv?from=2026-11-01&amp;to=2026-11-30"' in body
