"""Customs statistics: every measure's numbers on SQLite and a real PostgreSQL, the period's rules,
and the SVG charts (escaped labels, title and description, well-formed)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ecoo.customs.statistics import MAX_DAYS, TOP, Period, read_statistics
from ecoo.customs.store import CustomsDatabase
from ecoo.customs.store.schema import declaration_lines
from ecoo.customs.svg import Bar, Series, bar_chart, day_series, nice_ceiling
from ecoo.errors import InputError
from tests.customs.statistics_seed import (
    EXPECTED,
    HOSTILE_CHAMBER,
    HOSTILE_SCHEME,
    LEAF_A,
    PERIOD,
    accept,
    add_declaration,
    add_verification,
    at,
    reject,
    seed,
)

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
    assert root.get("aria-labelledby") == "chambers-title chambers-desc"
    assert root.find(f"{SVG}title").text == "Verifications by chamber"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "8 verifications <in> November"  # type: ignore[union-attr]
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter(f"{SVG}foreignObject"))
    labels = [text.text for text in root.iter(f"{SVG}text")]
    assert HOSTILE_CHAMBER in labels and "<b>FTA</b>\ufffd" in labels and '" onload="alert(1)' in labels
    assert "A" * 47 + "…" in labels  # shortened in the chart; the tooltip keeps it whole
    assert "A" * 80 + ": 0" in [title.text for title in root.iter(f"{SVG}title")]
    widths = [float(rect.get("width", "0")) for rect in root.iter(f"{SVG}rect")]
    assert widths[0] == 336.0 and widths[2] == 224.0 and widths[1] == widths[3] == 112.0 and widths[4] == 0.0
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
