"""Signing in to the customs service in a real browser (headless Chromium, as tests/browser/test_browser.py
starts it): a page sends a signed-out officer to sign in and back, a wrong password is refused, the
verify page verifies an uploaded certificate, and signing out in one browser ends the session in
another."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.browser.test_browser import page  # noqa: F401 - the Chromium tab fixture
from tests.support.customs import (  # noqa: F401 - fixtures
    OFFICER_NAME,
    OFFICER_PASSWORD,
    CustomsHarness,
    customs,
    issuing_chamber,
    trust_list_file,
)

SCREENSHOT = Path("/tmp/ecoo-customs-verify.png")


@pytest.fixture
def served_customs(customs: CustomsHarness) -> Iterator[str]:  # noqa: F811 - the imported fixture
    """The customs service on a real HTTP port (threaded, like a deployment); its base URL."""
    server = make_server("127.0.0.1", 0, customs.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def sign_in(tab: Any, password: str) -> None:
    tab.get_by_label("Username").fill(OFFICER_NAME)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Sign in").click()


def test_officer_signs_in_verifies_and_signs_out_everywhere(
    served_customs: str,
    customs: CustomsHarness,  # noqa: F811 - the imported fixture
    page: Any,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    base = served_customs
    page.goto(f"{base}/verify")
    assert page.url == f"{base}/login?next=/verify"

    sign_in(page, "not the password")
    assert page.get_by_test_id("login-error").inner_text() == "Wrong username or password."
    sign_in(page, OFFICER_PASSWORD)
    page.wait_for_url(f"{base}/verify")
    assert page.get_by_test_id("signed-in-as").inner_text() == f"{OFFICER_NAME} (officer)"

    document = tmp_path / "co.json"
    document.write_text(json.dumps(customs.chamber.documents[0]), encoding="utf-8")
    page.set_input_files("input#files", str(document))
    page.get_by_role("button", name="Verify", exact=True).click()
    assert page.get_by_test_id("verdict").inner_text() == "VALID"
    assert customs.chamber.numbers[0] in page.get_by_test_id("verify-result").inner_text()
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # The same officer in a second browser (its own cookies).
    other = page.context.browser.new_context()
    try:
        second = other.new_page()
        second.goto(f"{base}/login")
        sign_in(second, OFFICER_PASSWORD)
        second.wait_for_url(f"{base}/")
        assert "Declarations" in second.get_by_role("navigation", name="Main").inner_text()

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{base}/login")
        page.goto(f"{base}/verify")
        assert page.url == f"{base}/login?next=/verify"
        second.goto(f"{base}/verify")  # signing out ended this session too
        assert second.url == f"{base}/login?next=/verify"
    finally:
        other.close()
