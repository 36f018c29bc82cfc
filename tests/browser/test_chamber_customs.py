"""The chamber's dashboard shows what customs recorded against its certificates, in a real
browser at 1280 px: a customs key records receipt, utilisation of item 1 and a rejection on the
registry; after the follower's pass the certificate's row says so, and its detail opens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecoo.anvil import ManagedAnvil
from ecoo.utilisation import RejectionCode
from tests.browser.test_browser import SCREENSHOT, page, served  # noqa: F401 - the suite's fixtures
from tests.service.test_customs_records import Recorded
from tests.support.service import ServiceHarness


def test_the_dashboard_shows_receipt_utilisation_and_rejection(
    served: tuple[ServiceHarness, str],  # noqa: F811 - the fixture imported above
    page: Any,  # noqa: F811
    anvil_node: ManagedAnvil,
) -> None:
    harness, base = served
    recorded = Recorded(harness, anvil_node, "TH-CUSTOMS-1")
    harness.create(harness.certificate("TH-CUSTOMS-NONE"))
    harness.anchor()
    recorded.receipt()
    recorded.utilise("8000")
    recorded.reject(RejectionCode.QUANTITY_EXCEEDED)
    assert recorded.follow().customs == 3

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/dashboard")
    page.get_by_label("API token").fill(harness.token)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("columnheader", name="Customs").count() == 1

    summary = page.get_by_test_id(f"customs-summary-{recorded.id}")
    assert summary.inner_text() == "received · 8,000 / 12,000 SET utilised · 1 rejection"
    other = page.get_by_test_id("certificate-row").filter(has_text="TH-CUSTOMS-NONE")
    assert other.count() == 1 and "received" not in other.inner_text()

    assert not page.get_by_test_id("customs-item").first.is_visible()  # the detail is folded
    summary.click()
    item = page.get_by_test_id("customs-item")
    assert item.count() == 1 and item.is_visible()
    assert item.inner_text() == "item 1: 8,000 of 12,000 SET utilised, 4,000 left"
    receipt = page.get_by_test_id("customs-receipt")
    assert receipt.is_visible() and receipt.inner_text().startswith("received 20") and "UTC, block" in receipt.inner_text()
    assert recorded.customs.address.lower() in str(receipt.get_attribute("title"))
    rejection = page.get_by_test_id("customs-rejection")
    assert rejection.is_visible() and rejection.inner_text().startswith("rejected: quantity exceeded, 20")

    page.screenshot(path=str(SCREENSHOT.with_name("ecoo-dashboard-customs.png")), full_page=True)
    # At 1280 px nothing scrolls sideways: every column of every row, the opened detail included,
    # is inside the list's box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    box = page.locator(".table-scroll").bounding_box()
    assert box is not None
    for cell in page.locator("table.certificates td:last-child, table.certificates td.customs").all():
        edge = cell.bounding_box()
        assert edge is not None and edge["x"] + edge["width"] <= box["x"] + box["width"] + 1, cell.inner_text()
    assert page.evaluate(
        "document.querySelector('.table-scroll').scrollWidth <= document.querySelector('.table-scroll').clientWidth"
    )
    assert Path(SCREENSHOT.with_name("ecoo-dashboard-customs.png")).stat().st_size > 0
