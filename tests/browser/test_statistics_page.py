"""The chamber's statistics page in a real browser (Chromium at /usr/bin/chromium, as in
tests/browser/test_browser.py), at 1280 and 390 CSS pixels: the chamber signs in to the dashboard,
follows its Statistics link, every chart is drawn (an SVG with its title), every table holds the
API's numbers, the hostile scheme stays text, and nothing is wider than the screen."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.browser.test_customs_statistics import browser  # noqa: F401 - the Chromium fixture
from tests.service.test_statistics import RANGE, Seeded, seed_service

SCREENSHOT = Path("/tmp/ecoo-chamber-statistics-{width}.png")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Seeded, str]]:
    """The seeded service (SQLite) on a real HTTP port, and its base URL."""
    seeded = seed_service(tmp_path, None)
    server = make_server("127.0.0.1", 0, seeded.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seeded, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    seeded.store.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_statistics_page_shows_the_apis_numbers(served: tuple[Seeded, str], browser: Any, width: int) -> None:  # noqa: F811 - the imported fixture
    seeded, base = served
    expected = seeded.get("a").json
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(f"{base}/dashboard")
    tab.get_by_label("API token").fill(seeded.tokens["a"])
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_test_id("statistics-link").click()
    tab.wait_for_url(f"{base}/dashboard/statistics")
    tab.get_by_label("From", exact=True).fill("2026-01-01")
    tab.get_by_label("To", exact=True).fill("2026-03-31")
    tab.get_by_role("button", name="Show").click()
    tab.wait_for_url(f"{base}/dashboard/statistics?{RANGE}")

    assert tab.get_by_test_id("total-issued").inner_text() == str(expected["issued"]) == "6"
    for name in (
        "perMonth",
        "byScheme",
        "byDestination",
        "byHsChapter",
        "byStatus",
        "revocationsByReason",
        "customsRecords",
        "rejectionsByReason",
    ):
        chart = tab.locator(f"svg#chart-{name}")
        assert chart.count() == 1 and chart.is_visible(), name
        assert chart.locator("rect").count() == len(expected[name]), name
        rows = tab.eval_on_selector_all(
            f'[data-testid="table-{name}"] tbody tr',
            "rows => rows.map(row => Array.from(row.cells).map(cell => cell.textContent.trim()))",
        )
        shown = [[row["key"], str(row["count"])] for row in expected[name]] or [["None in this period."]]
        assert rows == shown, name
    # The hostile scheme is a row header's text, not markup, and no dialog ran.
    assert tab.get_by_role("rowheader", name="=SUM(A1)").count() == 1 and dialogs == []

    tab.screenshot(path=str(SCREENSHOT).format(width=width), full_page=True)
    scroll = tab.evaluate("({page: document.documentElement.scrollWidth, view: window.innerWidth})")
    assert scroll["page"] <= scroll["view"] == width
    for box in (tab.locator(f"svg#chart-{n}").bounding_box() for n in ("perMonth", "byHsChapter")):
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    context.close()
