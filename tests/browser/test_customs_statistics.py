"""The customs statistics page in a real browser (Chromium at /usr/bin/chromium, as in
tests/browser/test_browser.py): an officer signs in, the charts render (no script runs, hostile
labels stay text), every table holds the API's numbers, the range form works, the CSV downloads,
and at 390 px nothing is wider than the screen."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from ecoo.svg import WIDTH, clean
from tests.browser.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.customs.statistics_seed import EXPECTED, HOSTILE_CHAMBER, seed, statistics_customs
from tests.support.customs import OFFICER_NAME, OFFICER_PASSWORD, CustomsHarness

NOVEMBER = "from=2026-11-01&to=2026-11-30"
SCREENSHOT = Path("/tmp/ecoo-customs-statistics.png")
#: The table of each panel and how a row of the API's answer reads in it.
TABLES = {
    "verdict": ("verifications", "byVerdict"),
    "country": ("verifications", "byExportCountry"),
    "chamber": ("verifications", "byChamber"),
    "outcome": ("declarations", "byOutcome"),
    "reasons": ("rejections", "byReason"),
    "alerts": ("alerts", "byKind"),
}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[CustomsHarness, str]]:
    """The customs service (SQLite, a month of activity) on a real HTTP port, and its base URL."""
    harness = statistics_customs(tmp_path)
    seed(harness.objects.db, hostile_scheme=True)
    server = make_server("127.0.0.1", 0, harness.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield harness, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    harness.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install playwright")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def signed_in_tab(browser: Any, base: str, width: int, dialogs: list[str]) -> Any:
    """A tab of ``width`` CSS pixels, signed in as the officer, on November's statistics."""
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(f"{base}/statistics?{NOVEMBER}")
    tab.get_by_label("Username").fill(OFFICER_NAME)
    tab.get_by_label("Password").fill(OFFICER_PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"{base}/statistics?{NOVEMBER}")
    return tab


def table(tab: Any, panel: str) -> list[list[str]]:
    """The cells of a panel's table body, row by row, as the page shows them."""
    rows: list[list[str]] = tab.eval_on_selector_all(
        f"[data-testid=table-{panel}] tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )
    return rows


def shown(key: str | None) -> str:
    """A key as the page shows it: control characters cleaned away, a missing key named."""
    return "(not stated)" if key is None else clean(key)


def expected_rows(answer: dict[str, Any], panel: str) -> list[list[str]]:
    """The table the API's ``answer`` should give for ``panel``."""
    if panel in TABLES:
        group, name = TABLES[panel]
        breakdown = answer[group][name]
        rows = [[shown(row["key"]), str(row["count"])] for row in breakdown["rows"]]
        return rows + ([["All others", str(breakdown["others"])]] if breakdown["others"] else [])
    if panel == "preference":
        return [[shown(s["scheme"]), str(s["lines"]), str(s["accepted"])] for s in answer["preference"]["byScheme"]]
    if panel == "utilisation":
        return [[shown(u["unit"]), str(u["lines"]), u["quantity"]] for u in answer["utilisation"]["byUnit"]]
    return [[d["date"], str(d["verifications"]), str(d["declarations"])] for d in answer["perDay"]]


def api(harness: CustomsHarness, base: str, path: str) -> requests.Response:
    answer = requests.get(f"{base}{path}", headers=harness.officer, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer


def test_charts_and_tables_match_the_api_and_the_csv_downloads(
    served: tuple[CustomsHarness, str], browser: Any, tmp_path: Path
) -> None:
    harness, base = served
    dialogs: list[str] = []
    tab = signed_in_tab(browser, base, 1280, dialogs)
    assert tab.get_by_test_id("period").inner_text().startswith("2026-11-01 to 2026-11-30 (30 UTC days")
    assert tab.locator("script").count() == 0  # no script at all, the hostile labels' included
    charts = tab.locator("svg.chart")
    assert charts.count() == 9
    for index in range(charts.count()):
        chart = charts.nth(index)
        assert chart.is_visible() and chart.get_attribute("role") == "img"
        assert tab.get_by_role("img", name=chart.locator("title").first.text_content(), exact=True).count() == 1
        assert chart.locator("title").first.text_content() and chart.locator("desc").text_content()
        box = chart.bounding_box()
        assert WIDTH <= box["width"] <= 28 * 16 and box["height"] > 40  # about 17 px text
    # the hostile chamber name is text in the chart and in the table, and ran nothing
    assert tab.locator("#chart-chamber text", has_text=HOSTILE_CHAMBER).count() == 1
    assert [HOSTILE_CHAMBER, "1"] in table(tab, "chamber")
    assert dialogs == []

    answer = api(harness, base, f"/api/v1/statistics?{NOVEMBER}").json()
    assert answer["verifications"] == EXPECTED["verifications"]
    for panel in (*TABLES, "preference", "utilisation", "per-day"):
        assert table(tab, panel) == expected_rows(answer, panel), panel
    assert tab.get_by_test_id("total-verifications").inner_text() == "8"
    assert tab.get_by_test_id("total-rejected").inner_text() == "4"
    # the bars are as long as their numbers: VALID 5 fills the bar area, the others 1 each a fifth
    bars = tab.locator("#chart-verdict rect")
    widths = [bars.nth(i).bounding_box()["width"] for i in range(bars.count())]
    assert widths[0] == pytest.approx(5 * widths[1], rel=0.02) and widths[1] == widths[2] == widths[3]
    tab.screenshot(path=str(SCREENSHOT), full_page=True)

    with tab.expect_download() as downloading:
        tab.get_by_test_id("csv-link").click()
    download = downloading.value
    assert download.suggested_filename == "ecoo-customs-statistics-2026-11-01-2026-11-30.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(str(saved))
    assert saved.read_bytes() == api(harness, base, f"/api/v1/statistics.csv?{NOVEMBER}").content

    # the range form: one day, then a range the service refuses
    tab.get_by_label("From", exact=True).fill("2026-11-03")
    tab.get_by_label("To", exact=True).fill("2026-11-03")
    tab.get_by_role("button", name="Show").click()
    tab.wait_for_url(f"{base}/statistics?from=2026-11-03&to=2026-11-03")
    day = api(harness, base, "/api/v1/statistics?from=2026-11-03&to=2026-11-03").json()
    assert table(tab, "per-day") == [["2026-11-03", "3", "1"]] == expected_rows(day, "per-day")
    assert table(tab, "utilisation") == expected_rows(day, "utilisation") == [["KGM", "1", "1250.5"], ["PCE", "1", "2000"]]
    tab.get_by_label("From", exact=True).fill("2026-11-04")
    tab.get_by_role("button", name="Show").click()
    assert tab.get_by_test_id("range-error").inner_text() == "'from' (2026-11-04) is after 'to' (2026-11-03)"
    assert tab.locator("svg.chart").count() == 0
    tab.context.close()


def test_the_page_fits_a_phone_and_stays_readable(served: tuple[CustomsHarness, str], browser: Any) -> None:
    _, base = served
    dialogs: list[str] = []
    tab = signed_in_tab(browser, base, 390, dialogs)
    assert tab.locator("svg.chart").count() == 9
    overflow = tab.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the screen"
    for index in range(9):
        chart = tab.locator("svg.chart").nth(index)
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        # the charts' 14-unit text is drawn at 12 CSS pixels or more
        assert box["width"] / WIDTH * 14 >= 12
    # the tables sit under their charts
    chart_box = tab.locator("#chart-verdict").bounding_box()
    table_box = tab.get_by_test_id("table-verdict").bounding_box()
    assert table_box["y"] >= chart_box["y"] + chart_box["height"]
    tab.screenshot(path=str(SCREENSHOT.with_name("ecoo-customs-statistics-390.png")), full_page=True)
    assert dialogs == []
    tab.context.close()
