"""The pages in a real browser: headless Chromium (Debian's ``/usr/bin/chromium``) driven by
Playwright against the service served over HTTP. Fails — never skips — when either is missing.

Requires ``pip install playwright`` (its own browser download is not used) and a Chromium binary
(``apt-get install chromium``).
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from ecoo.anvil import ManagedAnvil
from tests.support.service import ServiceHarness, make_service

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path("/tmp/ecoo-verify.png")


@pytest.fixture
def served(tmp_path: Path, anvil_node: ManagedAnvil) -> Iterator[tuple[ServiceHarness, str]]:
    """The service on a real HTTP port (threaded, like a deployment), and its base URL."""
    harness = make_service(tmp_path, anvil_node)
    server = make_server("127.0.0.1", 0, harness.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield harness, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    harness.app.extensions["ecoo"].store.close()


@pytest.fixture
def page() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install playwright")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=False)
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        yield tab
        context.close()
        browser.close()


def test_officer_verifies_pdf_and_tampered_json_and_chamber_sees_dashboard(
    served: tuple[ServiceHarness, str], page: Any, tmp_path: Path
) -> None:
    harness, base = served
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {harness.token}"
    created = api.post(f"{base}/api/v1/certificates", json=harness.certificate("TH-BROWSER-1"), timeout=30)
    assert created.status_code == 202, created.text
    assert harness.anchor() == 1
    certificate_url = f"{base}/api/v1/certificates/{created.json()['id']}"
    pdf = api.get(f"{certificate_url}/pdf", timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    pdf_path = tmp_path / "TH-BROWSER-1.pdf"
    pdf_path.write_bytes(pdf.content)

    # The officer uploads the PDF they were handed.
    page.goto(f"{base}/verify")
    page.set_input_files("input#file", str(pdf_path))
    assert page.inner_text("#file-name") == "Selected: TH-BROWSER-1.pdf"  # the enhancement ran (CSP allowed it)
    page.get_by_role("button", name="Verify", exact=True).click()
    verdict = page.get_by_test_id("verdict")
    assert verdict.inner_text() == "VALID"
    assert page.get_by_test_id("failed-check").count() == 0
    assert "TH-BROWSER-1" in page.inner_text("section.verdict")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # A copy whose origin was changed after issue.
    document = api.get(f"{certificate_url}/document", timeout=30).json()
    document["certificate"]["items"][0]["originCountry"] = "VN"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document), encoding="utf-8")
    page.goto(f"{base}/verify")
    page.set_input_files("input#file", str(tampered))
    page.get_by_role("button", name="Verify", exact=True).click()
    assert page.get_by_test_id("verdict").inner_text() == "INVALID"
    assert page.get_by_test_id("failed-check").inner_text() == "integrity"
    assert "/items/0/originCountry\tVN\tTH" in page.get_by_test_id("differences").inner_text()
    page.screenshot(path=str(SCREENSHOT.with_name("ecoo-invalid.png")), full_page=True)

    # The chamber signs in with its token and finds the certificate.
    page.goto(f"{base}/dashboard")
    page.get_by_label("API token").fill(harness.token)
    page.get_by_role("button", name="Sign in").click()
    row = page.get_by_test_id("certificate-row").filter(has_text="TH-BROWSER-1")
    assert row.count() == 1 and "ISSUED" in row.inner_text()
    page.screenshot(path=str(SCREENSHOT.with_name("ecoo-dashboard.png")), full_page=True)
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_label("API token").is_visible()
