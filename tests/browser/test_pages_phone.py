"""The pages where people first meet them, in a real Chromium: the QR code's page on a 390 px phone
(verdict and key facts first, no sideways scrolling, a bounded height, and no word of a holder who
"withheld" or "removed" parts the page simply does not publish), the dashboard at 1280 px with its
last column in view, and the favicon every page links to."""

from __future__ import annotations

import re
from typing import Any

import requests

from ecoo.certificate_view import certificate_form
from tests.browser.test_browser import page, served  # noqa: F401 - the suite's fixtures
from tests.support.service import ServiceHarness

PHONE = {"width": 390, "height": 844}  # an iPhone 12-15 in CSS pixels
# The page with the verdict, the key facts, what is not public and three folded sections is about
# 2,000 px at 390 px (before this layout: 7,050 px, the checks, registry record and form all open).
# Three phone screens leave room for a longer issuer name or three long item descriptions.
MAX_PHONE_HEIGHT = 3 * PHONE["height"]
# Words that would tell a reader a holder removed something: the public page removes it itself.
HOLDER_WORDING = re.compile(r"withheld|removed", re.IGNORECASE)


def _scroll(tab: Any) -> dict[str, int]:
    return dict(
        tab.evaluate(
            "() => ({height: document.documentElement.scrollHeight, width: document.documentElement.scrollWidth,"
            " client: document.documentElement.clientWidth})"
        )
    )


def test_qr_page_on_a_phone(served: tuple[ServiceHarness, str], page: Any) -> None:  # noqa: F811
    harness, base = served
    document = harness.issue("TH-PHONE-1")
    leaf = document["proof"]["leaf"]
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/v/{leaf}")

    # The verdict and the certificate's number are on the first screen.
    assert page.get_by_test_id("verdict").inner_text() == "VALID"
    facts = page.get_by_test_id("key-facts")
    number = facts.locator("dd").first
    assert number.inner_text() == "TH-PHONE-1"
    box = number.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"]
    assert "TH (Thailand) → KR (South Korea)" in facts.inner_text()
    assert "12,000 SET" in facts.inner_text().replace("\u00a0", " ")

    # Both times, each said for what it is.
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", page.get_by_test_id("verified-at").inner_text())
    assert re.fullmatch(
        r"block \d+, mined \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(the newest block when the registry was asked\)",
        page.get_by_test_id("chain-read").inner_text(),
    )
    assert "Time of verification" in page.get_by_test_id("verification-time").inner_text()

    # Folded: no sideways scrolling, and a height a phone can take.
    folded = _scroll(page)
    assert folded["width"] <= folded["client"] == PHONE["width"], folded
    assert folded["height"] <= MAX_PHONE_HEIGHT, folded

    # What is not public, and why; never a holder blamed, folded or unfolded.
    note = page.get_by_test_id("not-published").inner_text()
    assert "Not public on this page" in note and "Anyone who scans" in note and "holder's PDF or JSON file" in note
    assert not HOLDER_WORDING.search(page.inner_text("body")), page.inner_text("body")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    unfolded = _scroll(page)
    assert unfolded["width"] <= unfolded["client"], unfolded  # the goods table becomes cards, the checks a list
    assert unfolded["height"] > folded["height"] + 1000  # the details were there, folded away
    body = page.inner_text("body")
    assert not HOLDER_WORDING.search(body), [line for line in body.splitlines() if HOLDER_WORDING.search(line)]
    parts = page.get_by_test_id("not-published-parts").inner_text()
    assert "Consignee" in parts and "FOB value of items 1–2" in parts and "Invoice of items 1–2" in parts
    assert document["certificate"]["consignee"]["name"] not in body and "126,000.00" not in body
    assert page.locator("td.is-withheld").first.inner_text().endswith("not published on this page")

    # The boxes carry the numbers and titles the printed PDF gives them (tests/unit/test_pdf_layout.py).
    form = certificate_form(document["certificate"])
    assert form is not None
    shown = page.locator("section.box h3").all_inner_texts()
    assert [" ".join(text.split()).casefold() for text in shown] == [
        " ".join(box.heading.split()).casefold() for box in form.boxes
    ]
    assert page.locator("h3.items-title").inner_text() == form.goods_heading.replace("  ", " ")
    page.screenshot(path="/tmp/ecoo-phone.png", full_page=True)


def test_dashboard_keeps_its_last_column_in_view_at_1280(served: tuple[ServiceHarness, str], page: Any) -> None:  # noqa: F811
    harness, base = served
    # Numbers as long as chambers write them, and one at the schema's limit of 64 characters.
    for number in ("DFT-BKK/RCEP/2026/TH-KR/0048815-AMENDMENT-2", "TH" + "7" * 62, "TH-1"):
        harness.create(harness.certificate(number))
    assert harness.anchor() >= 1
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/dashboard")
    page.get_by_label("API token").fill(harness.token)
    page.get_by_role("button", name="Sign in").click()

    rows = page.get_by_test_id("certificate-row")
    assert rows.count() == 3
    scroller = page.locator(".table-scroll").first
    frame = scroller.bounding_box()
    assert frame is not None
    last_heading = page.locator("table.certificates thead th").last
    assert last_heading.inner_text().casefold() == "documents"
    for cell in [last_heading, *(rows.nth(i).locator("td").last for i in range(rows.count()))]:
        edge = cell.bounding_box()
        assert edge is not None
        assert edge["x"] + edge["width"] <= min(1280, frame["x"] + frame["width"]) + 0.5, edge
    assert page.evaluate("(el) => el.scrollWidth <= el.clientWidth", scroller.element_handle())
    assert rows.first.get_by_role("link", name="PDF").is_visible()


def test_every_page_links_the_favicon_the_service_serves(served: tuple[ServiceHarness, str], page: Any) -> None:  # noqa: F811
    _, base = served
    for path in ("/", "/verify", "/dashboard", "/v/0x" + "ab" * 32):  # the last one is the error page (404)
        page.goto(base + path)
        href = page.locator('link[rel="icon"]').get_attribute("href")
        assert href and page.locator('link[rel="icon"]').get_attribute("type") == "image/svg+xml", path
        icon = requests.get(base + href, timeout=10)
        assert icon.status_code == 200 and icon.headers["Content-Type"].startswith("image/svg+xml"), path
        assert icon.text.lstrip().startswith("<svg") and len(icon.content) < 2048
    # The browser itself loads it: the page's CSP (img-src 'self') allows it.
    loaded = page.evaluate(
        "async (href) => new Promise(ok => { const i = new Image(); i.onload = () => ok(i.naturalWidth > 0);"
        " i.onerror = () => ok(false); i.src = href; })",
        href,
    )
    assert loaded is True
