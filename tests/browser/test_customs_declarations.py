"""The declarations page in a real browser (headless Chromium, as tests/browser/test_browser.py starts
it): an officer drags two certificate files onto the page, fills two lines, checks the declaration
and sees each line accepted or rejected; the stored declaration shows the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.browser.test_browser import page  # noqa: F401 - the Chromium tab fixture
from tests.browser.test_customs_signin import served_customs, sign_in  # noqa: F401 - fixture
from tests.support.customs import (  # noqa: F401 - fixtures
    OFFICER_PASSWORD,
    CustomsHarness,
    customs,
    issuing_chamber,
    trust_list_file,
)

SCREENSHOT = Path("/tmp/ecoo-customs-declarations.png")

DROP_FILES = """([files]) => {
  const transfer = new DataTransfer();
  for (const [name, text] of files) transfer.items.add(new File([text], name, {type: "application/json"}));
  return transfer;
}"""


def _fill_line(row: Any, certificate: str, hs_code: str, quantity: str) -> None:
    row.locator(".certificate").fill(certificate)
    row.locator(".item").fill("1")
    row.locator(".hs").fill(hs_code)
    row.locator(".quantity").fill(quantity)
    row.locator(".unit").fill("SET")


def test_officer_drops_two_certificates_and_checks_two_lines(
    served_customs: str,  # noqa: F811 - the imported fixture
    customs: CustomsHarness,  # noqa: F811 - the imported fixture
    page: Any,  # noqa: F811 - the imported fixture
) -> None:
    base = served_customs
    page.goto(f"{base}/declarations")
    sign_in(page, OFFICER_PASSWORD)
    page.wait_for_url(f"{base}/declarations")
    assert page.get_by_test_id("records-not-sent").is_visible()

    documents = customs.chamber.documents[:2]
    files = [[f"co-{i + 1}.json", json.dumps(document)] for i, document in enumerate(documents)]
    transfer = page.evaluate_handle(DROP_FILES, [files])
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    assert page.get_by_test_id("file-list").inner_text().split("\n") == ["1. co-1.json", "2. co-2.json"]

    page.get_by_label("Reference", exact=True).fill("KR-IMP-2026-000777")
    page.get_by_label("Importer", exact=True).fill("Hanbit Motors Co., Ltd.")
    page.get_by_label("Port of entry (UN/LOCODE)").fill("KRPUS")
    _fill_line(page.locator("#line-rows tr").nth(0), "1", "870830", "2000")
    page.get_by_role("button", name="Add line").click()
    _fill_line(page.locator("#line-rows tr").nth(1), "2", "999999", "10")  # the wrong HS code
    # The lines table stays inside its panel (it scrolls there on a narrow screen), never widening the page.
    inside = """() => {
      const fieldset = document.querySelector("#lines").closest("fieldset").getBoundingClientRect();
      const panel = document.querySelector("#lines").closest("section").getBoundingClientRect();
      return [fieldset.right - panel.right, document.documentElement.scrollWidth - window.innerWidth];
    }"""
    for width in (1280, 390):  # [how far the fieldset passes its panel, how far the page scrolls sideways]
        page.set_viewport_size({"width": width, "height": 900})
        beyond_panel, sideways = page.evaluate(inside)
        assert beyond_panel <= 0.5 and sideways <= 0, (width, beyond_panel, sideways)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Check declaration").click()

    page.locator("#outcome:not(:empty)").wait_for()
    error = page.get_by_test_id("declaration-error")
    assert page.get_by_test_id("outcome").inner_text() == "partly_accepted", error.inner_text()
    results = page.get_by_test_id("line-result")
    assert results.count() == 2
    first, second = results.nth(0).inner_text(), results.nth(1).inner_text()
    assert "accept" in first and "utilisation — not_sent" in first
    assert "reject" in second and "hs_mismatch" in second
    # Each certificate with its verdict, its chain and the authority the trust list names for it.
    certificates = page.get_by_test_id("certificate-result")
    assert certificates.count() == 2
    for index, document in enumerate(documents):
        row = certificates.nth(index).inner_text()
        number = document["certificate"]["certificateNumber"]
        assert number in row and "VALID" in row and str(customs.chamber.chain_id) in row, row
        assert customs.objects.trust_list.entries[0].authority_name in row, row
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.get_by_role("link", name="The stored declaration").click()
    assert page.get_by_test_id("outcome").inner_text() == "partly_accepted"
    assert page.get_by_test_id("declaration-line").count() == 2
    page.goto(f"{base}/declarations")
    assert "KR-IMP-2026-000777" in page.get_by_test_id("recent-declaration").inner_text()
