"""The customs alerts page in a real browser (headless Chromium, as tests/browser/test_browser.py
starts it): an officer signs in, finds no alerts, the issuing chamber revokes a cleared
certificate for fraud, the watcher reads the chain, and the page shows the alert with the
registry it watches; the page works under the service's CSP (no inline script or style)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecoo.customs.watch import Watcher
from tests.browser.test_browser import page  # noqa: F401 - the Chromium tab fixture
from tests.browser.test_customs_signin import served_customs  # noqa: F401 - the served customs service
from tests.customs.alerts_support import watch_document
from tests.support.customs import (  # noqa: F401 - fixtures
    OFFICER_NAME,
    OFFICER_PASSWORD,
    CustomsHarness,
    customs,
    issuing_chamber,
    trust_list_file,
)

SCREENSHOT = Path("/tmp/ecoo-customs-alerts.png")


def test_an_officer_sees_a_revocation_after_clearance_on_the_alerts_page(
    served_customs: str,  # noqa: F811 - the imported fixture
    customs: CustomsHarness,  # noqa: F811 - the imported fixture
    page: Any,  # noqa: F811 - the imported fixture
) -> None:
    base = served_customs
    chamber = customs.chamber
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" and "404" not in message.text else None,
    )
    missing: list[str] = []
    page.on("response", lambda response: missing.append(response.url) if response.status >= 400 else None)

    page.goto(f"{base}/alerts")
    assert page.url == f"{base}/login?next=/alerts"
    page.get_by_label("Username").fill(OFFICER_NAME)
    page.get_by_label("Password").fill(OFFICER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/alerts")
    assert page.get_by_role("heading", name="Alerts", exact=True).is_visible()
    assert page.get_by_test_id("no-alerts").is_visible()

    watch_document(customs.objects.db, chamber.documents[0])  # its declaration was accepted
    watcher = Watcher(customs.objects.db, customs.objects.registries, confirmations=customs.settings.confirmations)
    watcher.run_once()
    chamber.revoke(chamber.ids[0], "fraud")
    watcher.run_once()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    page.wait_for_url(f"{base}/alerts")
    rows = page.get_by_test_id("alerts").locator("tbody tr")
    assert rows.count() == 1
    row = rows.first
    assert row.get_attribute("data-kind") == "revoked_fraud"
    assert row.get_by_text("Revoked: fraud").is_visible()
    assert chamber.numbers[0] in row.inner_text() and "revoked by its issuer for fraud" in row.inner_text()
    badge = row.locator(".badge")
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(179, 38, 30)"  # alerts.css loaded
    watched = page.get_by_test_id("watched")
    assert "Ministry of Commerce, Thailand" in watched.inner_text() and "following" in watched.inner_text()
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert problems == []  # nothing refused by the CSP
    assert [url for url in missing if not url.endswith("/favicon.ico")] == []
