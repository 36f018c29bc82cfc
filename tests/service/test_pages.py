"""The pages for people, through Flask's test client: the verification page (upload, paste, the QR
link), its result page, and the chamber dashboard (login, list, downloads, issuing, CSRF)."""

from __future__ import annotations

import copy
import html
import io
import json
import re
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse, encode_multipart

from ecoo.certificate_view import GOODS_COLUMNS, certificate_form
from ecoo.protocol import redact
from ecoo.service.app import create_app
from ecoo.service.chambers import create_chamber
from tests.support.service import ServiceHarness


def _text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def _testid(page: str, name: str) -> str | None:
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', page)
    return html.unescape(match[1]).strip() if match else None


def _upload(client: FlaskClient, data: bytes, filename: str = "certificate.json") -> TestResponse:
    return client.post("/verify", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries no CSRF token"
    return match[1]


def _login(service: ServiceHarness, token: str | None = None, client: FlaskClient | None = None) -> FlaskClient:
    client = client or service.client
    page = _text(client.get("/dashboard"))
    response = client.post("/dashboard/login", data={"token": token or service.token, "csrf_token": _csrf(page)})
    assert response.status_code == 302, _text(response)
    return client


# -- landing and verification ----------------------------------------------------------------------


def test_landing_links_to_verification_and_dashboard(service: ServiceHarness) -> None:
    response = service.client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = _text(response)
    assert 'href="/verify"' in page and 'href="/dashboard"' in page
    with service.client.get("/static/ecoo.css") as css:
        assert css.status_code == 200 and css.mimetype == "text/css"


def test_verify_form_works_without_javascript(service: ServiceHarness) -> None:
    response = service.client.get("/verify")
    page = _text(response)
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in page and 'method="post"' in page
    assert '<input type="file" id="file" name="file"' in page and '<label for="file">' in page
    assert '<textarea id="json" name="json"' in page and '<label for="json">' in page
    # The only script is the drag-and-drop enhancement, allowed by this response's nonce alone.
    nonce = re.search(r"<script nonce=\"([^\"]+)\">", page)
    assert nonce and f"'nonce-{nonce[1]}'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_uploaded_issued_json_is_valid_and_laid_out_like_the_form(service: ServiceHarness) -> None:
    document = service.issue("TH-PAGE-1")
    response = _upload(service.client, json.dumps(document).encode())
    page = _text(response)
    assert response.status_code == 200
    assert _testid(page, "verdict") == "VALID" and _testid(page, "failed-check") is None
    assert "tone-good" in page and "Genuine and in force" in page
    assert page.count('<span class="badge badge-passed">PASSED</span>') == 8
    proof = document["proof"]
    for value in (
        proof["root"],
        proof["leaf"],
        proof["registry"],
        proof["issuer"],
        str(proof["chainId"]),
        "Department of Foreign Trade, Ministry of Commerce",
    ):
        assert value in page
    certificate = document["certificate"]
    for value in (
        "TH-PAGE-1",
        certificate["exporter"]["name"],
        certificate["consignee"]["name"],
        "870830 (87083029)",
        "RVC 43.5\u00a0%",
        "12,000\u00a0SET",
        "126,000.00\u00a0USD",
        "THLCH (Laem Chabang, Thailand)",
        "SAP-EX-26-1140",
        "HMM BLESSING 021N",
        "Pimchanok Srisuk",
    ):
        assert html.escape(value) in page, value
    assert "Withheld parts: none, the certificate is complete." in page
    assert "Not public on this page" not in page  # the holder's own file: nothing left out
    assert "not</strong> confirmed by the checks" not in page and 'data-testid="key-facts"' in page


def test_result_page_shows_the_boxes_and_labels_the_pdf_prints(service: ServiceHarness) -> None:
    # One view of the certificate (ecoo.certificate_view) for the page and the PDF (tests/unit/test_pdf.py).
    document = service.issue("TH-PAGE-FORM")
    page = _text(_upload(service.client, json.dumps(document).encode()))
    form = certificate_form(document["certificate"], (), document["proof"]["issuer"])
    assert form is not None
    for box in form.boxes:
        assert f'<span class="box-no">{box.number}</span> {html.escape(box.title)}</h3>' in page, box.title
        for line in box.lines:
            if line.label:
                assert f"<dt>{html.escape(line.label)}</dt>" in page, line.label
    for heading, _ in GOODS_COLUMNS:
        assert f'<th scope="col">{html.escape(heading)}</th>' in page, heading


def test_tampered_origin_is_invalid_with_integrity_named(service: ServiceHarness) -> None:
    document = service.issue("TH-PAGE-2")
    document["certificate"]["items"][0]["originCountry"] = "VN"
    page = _text(_upload(service.client, json.dumps(document).encode()))
    assert _testid(page, "verdict") == "INVALID" and _testid(page, "failed-check") == "integrity"
    assert "tone-bad" in page and "the certificate data was changed after it was issued" in page
    assert "they differ from what the issuer signed and anchored" in page
    assert "As the document states them, <strong>not</strong> confirmed by the checks" in page
    assert page.count("badge-skipped") == 6  # later checks are not run
    # The service issued it, so it shows what the issuer anchored in place of the altered value.
    assert re.search(r'<code>/items/0/originCountry</code></th><td class="presented">VN</td><td class="anchored">TH</td>', page)


def test_altered_withheld_part_is_never_compared(service: ServiceHarness) -> None:
    # Saying "differs" for a part a holder may withhold would let anyone test guesses of it.
    document = service.issue("TH-PAGE-2B")
    document["certificate"]["consignee"]["name"] = "Someone Else Ltd."
    page = _text(_upload(service.client, json.dumps(document).encode()))
    assert _testid(page, "failed-check") == "integrity"
    assert 'data-testid="differences"' not in page and "Hanbit Motors" not in page


def test_uploaded_pdf_is_verified(service: ServiceHarness) -> None:
    service.issue("TH-PAGE-PDF")
    listed = service.client.get("/api/v1/certificates?number=TH-PAGE-PDF", headers=service.auth).json["certificates"]
    pdf = service.client.get(listed[0]["links"]["pdf"], headers=service.auth)
    assert pdf.status_code == 200
    page = _text(_upload(service.client, pdf.data, "TH-PAGE-PDF.pdf"))
    assert _testid(page, "verdict") == "VALID" and "Verified from</dt><dd>PDF file TH-PAGE-PDF.pdf</dd>" in page


def test_pasted_json_is_verified(service: ServiceHarness) -> None:
    document = service.issue("TH-PAGE-3")
    pasted = json.dumps(document, indent=2) + " " * 600_000  # over Werkzeug's default 500 kB per form field
    # Multipart, as the form sends it; encoded here because the test client spools big bodies to an unclosed file.
    boundary, body = encode_multipart({"json": pasted})
    response = service.client.post("/verify", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 200 and _testid(_text(response), "verdict") == "VALID"
    assert "Verified from</dt><dd>pasted JSON</dd>" in _text(response)


@pytest.mark.parametrize(
    ("field", "content", "expected"),
    [
        ("json", '{"ecoo": "ecoo/certificate-of-origin/v1", ', "not valid JSON"),
        ("json", '{"a": 1, "a": 2}', "duplicate key"),
        ("json", '{"a": 1' + "0" * 5000 + "}", "not acceptable JSON"),
        ("json", "   ", "Choose a certificate file"),
        ("file", b"\xff\xfe not text", "scan: not"),
        ("file", b"%PDF-1.4 not really", "scan: "),
    ],
)
def test_unreadable_input_is_a_friendly_400_on_the_form(
    service: ServiceHarness, field: str, content: str | bytes, expected: str
) -> None:
    data: dict[str, Any] = (
        {"json": content}
        if field == "json"
        else {"file": (io.BytesIO(bytes(content, "utf-8") if isinstance(content, str) else content), "scan")}
    )
    response = service.client.post("/verify", data=data, content_type="multipart/form-data")
    page = _text(response)
    assert response.status_code == 400, page
    assert "The certificate could not be read" in page and expected in html.unescape(page)
    assert "Traceback" not in page and '<input type="file"' in page  # the form again, to retry at once


@pytest.mark.parametrize(
    "document",
    [
        {"hello": "world"},
        [1, 2, 3],
        "a string",
        # Hostile shapes everywhere the page lays out the certificate: shown, never a 500.
        {
            "ecoo": "ecoo/certificate-of-origin/v1",
            "proof": {},
            "certificate": {
                "items": "abc",
                "exporter": [1],
                "consignee": {"name": {"x": 1}},
                "transport": 7,
                "issuer": "me",
                "flags": [],
                "remarks": "x" * 100_000,
                "certification": {"date": 10**400},
            },
        },
        {
            "ecoo": "ecoo/certificate-of-origin/v1",
            "proof": {"withheld": {"/consignee": 1}},
            "certificate": {"items": [None, 3, {"quantity": "12", "originCriterion": ["RVC"]}], "consignee": "TO_ORDER"},
        },
    ],
)
def test_not_a_certificate_is_invalid_format(service: ServiceHarness, document: Any) -> None:
    response = _upload(service.client, json.dumps(document).encode())
    page = _text(response)
    assert response.status_code == 200, page
    assert _testid(page, "verdict") == "INVALID" and _testid(page, "failed-check") == "format"
    assert len(page) < 200_000  # overlong fields are cut


def test_withheld_parts_are_shown_as_withheld(service: ServiceHarness) -> None:
    document = redact(service.issue("TH-PAGE-4"), ["consignee", "fob-values"])
    page = _text(_upload(service.client, json.dumps(document).encode()))
    assert _testid(page, "verdict") == "VALID"
    assert "Consignee — <em>withheld by the holder</em>" in page and "FOB value of item 2 — <em>withheld" in page
    assert "Hanbit Motors" not in page and "126,000.00" not in page and "not published" not in page
    assert page.count('class="num is-withheld">withheld by the holder</td>') == 2


def test_unreachable_chain_is_unavailable_and_says_it_is_no_verdict(service: ServiceHarness) -> None:
    document = service.issue("TH-PAGE-5")
    offline = create_app(replace(service.settings, rpc_url="http://127.0.0.1:9", rpc_timeout=2.0))
    response = _upload(offline.test_client(), json.dumps(document).encode())
    page = _text(response)
    assert response.status_code == 503
    assert _testid(page, "verdict") == "UNAVAILABLE" and "tone-none" in page
    assert "this is NOT a verdict on the certificate" in page
    offline.extensions["ecoo"].store.close()


# -- the QR link -------------------------------------------------------------------------------------


def test_qr_link_verifies_the_stored_certificate(service: ServiceHarness) -> None:
    document = service.issue("TH-PAGE-6")
    response = service.client.get(f"/v/{document['proof']['leaf']}")
    page = _text(response)
    assert response.status_code == 200 and _testid(page, "verdict") == "VALID"
    assert "TH-PAGE-6" in page and "/api/v1/lookup?leaf=" in page
    # The service's public view leaves the redactable parts out itself: it says so, and why, and
    # never that a holder withheld or removed them (not even in the format check's message).
    words = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "Not public on this page" in words and "Anyone who scans the certificate's QR code" in words
    assert not re.search(r"withheld|removed", words, re.IGNORECASE)
    assert "Exporter, Consignee" in words and "FOB value of items 1–2, Invoice of items 1–2." in words
    assert words.count("not published on this page") >= 8  # boxes 1-3, 6 (five lines), 7 and the items' cells


def test_qr_link_of_a_revoked_certificate_is_red(service: ServiceHarness) -> None:
    document = service.issue("TH-PAGE-7")
    certificate_id = service.client.get("/api/v1/certificates?number=TH-PAGE-7", headers=service.auth).json["certificates"][0][
        "id"
    ]
    revoked = service.client.post(f"/api/v1/certificates/{certificate_id}/revoke", json={"reason": "fraud"}, headers=service.auth)
    assert revoked.status_code == 200, revoked.json
    page = _text(service.client.get(f"/v/{document['proof']['leaf']}"))
    assert _testid(page, "verdict") == "REVOKED" and _testid(page, "failed-check") == "status" and "tone-bad" in page


def test_superseded_certificate_links_to_its_replacement(service: ServiceHarness) -> None:
    document = service.issue("TH-PAGE-9")
    original = service.client.get("/api/v1/certificates?number=TH-PAGE-9", headers=service.auth).json["certificates"][0]
    amended = service.certificate("TH-PAGE-9A")
    amended["items"][0]["quantity"]["value"] = "11000"
    answer = service.client.post(
        f"/api/v1/certificates/{original['id']}/supersede",
        json={"certificate": amended, "reason": "quantity corrected"},
        headers=service.auth,
    )
    assert answer.status_code == 202, answer.json
    page = _text(service.client.get(f"/v/{document['proof']['leaf']}"))
    assert _testid(page, "verdict") == "SUPERSEDED" and "tone-bad" in page
    assert f'href="/v/{answer.json["replacement"]["leaf"]}" data-testid="successor"' in page


@pytest.mark.parametrize(
    ("leaf", "status", "message"),
    [
        ("0x" + "ab" * 32, 404, "not known to this service"),
        ("not-a-leaf", 400, "leaf must be 0x followed by 64 hex digits"),
    ],
)
def test_qr_link_of_unknown_leaf_is_an_error_page(service: ServiceHarness, leaf: str, status: int, message: str) -> None:
    response = service.client.get(f"/v/{leaf}")
    page = _text(response)
    assert response.status_code == status and response.mimetype == "text/html"
    assert message in (_testid(page, "error-message") or "")
    assert "Traceback" not in page


def test_qr_link_of_a_pending_certificate_says_not_anchored_yet(service: ServiceHarness) -> None:
    created = service.create(service.certificate("TH-PAGE-8"))
    response = service.client.get(f"/v/{created['leaf']}")
    assert response.status_code == 404
    assert "TH-PAGE-8 was created by its issuer but is not anchored in the registry yet" in _text(response)


# -- the dashboard -----------------------------------------------------------------------------------


def test_login_with_a_bad_token_is_refused(service: ServiceHarness) -> None:
    page = _text(service.client.get("/dashboard"))
    assert '<input type="password" id="token" name="token"' in page and '<label for="token">' in page
    response = service.client.post("/dashboard/login", data={"token": "ecoo_nope", "csrf_token": _csrf(page)})
    assert response.status_code == 401 and _testid(_text(response), "login-error")
    assert "Sign out" not in _text(service.client.get("/dashboard"))


def test_dashboard_lists_the_chambers_certificates_and_downloads_them(service: ServiceHarness) -> None:
    document = service.issue("TH-DASH-1")
    client = _login(service)
    with client.session_transaction() as session:
        assert service.token not in json.dumps(dict(session))  # only the token's id is kept
    page = _text(client.get("/dashboard"))
    assert "Department of Foreign Trade, Ministry of Commerce" in page and "TH-DASH-1" in page
    assert re.search(r'data-testid="count-ISSUED"><strong>1</strong>', page)
    row_id = re.search(r'href="/dashboard/certificates/(\d+)\.json"', page)
    assert row_id
    download = client.get(f"/dashboard/certificates/{row_id[1]}.json")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert download.headers["Content-Disposition"] == 'attachment; filename="TH-DASH-1.json"'
    assert json.loads(download.data) == document
    pdf = client.get(f"/dashboard/certificates/{row_id[1]}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert f'href="/v/{document["proof"]["leaf"]}"' in page


def test_dashboard_filters(service: ServiceHarness) -> None:
    service.issue("TH-DASH-2")
    client = _login(service)
    assert "TH-DASH-2" in _text(client.get("/dashboard?status=ISSUED&destination=kr"))
    assert "TH-DASH-2" not in _text(client.get("/dashboard?status=PENDING"))
    assert "TH-DASH-2" not in _text(client.get("/dashboard?number=TH-OTHER"))
    assert "TH-DASH-2" not in _text(client.get("/dashboard?from=2999-01-01"))
    bad = _text(client.get("/dashboard?status=LOST&destination=Korea&to=soon"))
    assert "status must be one of" in bad and "two-letter country code" in bad and "&#39;to&#39; must be a date" in bad
    assert "TH-DASH-2" in bad  # invalid filters are dropped, not applied


def test_another_chambers_certificate_is_404(service: ServiceHarness) -> None:
    other = create_chamber(service.settings, "Chamber of Commerce Hamburg", "DE", "WCF-DE-HH", dev=False)
    co = service.certificate("DE-OTHER-1")
    co["issuer"] = {"name": "Chamber of Commerce Hamburg", "country": "DE", "accreditationCode": "WCF-DE-HH"}
    co["exportCountry"] = co["exporter"]["country"] = co["producer"]["country"] = "DE"
    for item in co["items"]:
        item["originCountry"] = "DE"
    created = service.client.post("/api/v1/certificates", json=co, headers={"Authorization": f"Bearer {other['token']}"})
    assert created.status_code == 202, created.json
    client = _login(service)
    for suffix in ("json", "pdf"):
        response = client.get(f"/dashboard/certificates/{created.json['id']}.{suffix}")
        assert response.status_code == 404 and response.mimetype == "text/html"
    assert "DE-OTHER-1" not in _text(client.get("/dashboard"))


def test_downloads_need_a_session(service: ServiceHarness) -> None:
    response = service.client.get("/dashboard/certificates/1.json")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")


def test_issue_form_creates_a_pending_certificate(service: ServiceHarness) -> None:
    client = _login(service)
    page = _text(client.get("/dashboard"))
    co = service.certificate("TH-FORM-1")
    response = client.post(
        "/dashboard/certificates", data={"certificate": json.dumps(co), "csrf_token": _csrf(page)}, follow_redirects=True
    )
    page = _text(response)
    assert response.status_code == 200 and "Certificate TH-FORM-1 stored as PENDING; anchoring..." in page
    assert re.search(r"TH-FORM-1</strong></td>\s*<td><span class=\"badge status-pending\">PENDING", page)
    listed = service.client.get("/api/v1/certificates?number=TH-FORM-1", headers=service.auth).json["certificates"]
    assert [c["status"] for c in listed] == ["PENDING"]
    not_yet = client.get(f"/dashboard/certificates/{listed[0]['id']}.json")
    assert not_yet.status_code == 409 and "has no issued document yet" in _text(not_yet)
    assert service.anchor() == 1
    assert "anchoring…" not in _text(client.get("/dashboard?number=TH-FORM-1"))
    again = client.post("/dashboard/certificates", data={"certificate": json.dumps(co), "csrf_token": _csrf(page)})
    assert again.status_code == 409 and "already exists" in html.unescape(_text(again))


def test_issue_form_shows_every_issue_of_an_invalid_certificate(service: ServiceHarness) -> None:
    client = _login(service)
    token = _csrf(_text(client.get("/dashboard")))
    co = copy.deepcopy(service.certificate("TH-FORM-2"))
    co["items"][0]["hsCode"] = "8708"
    co["importCountry"] = "TH"
    response = client.post("/dashboard/certificates", data={"certificate": json.dumps(co), "csrf_token": token})
    page = _text(response)
    assert response.status_code == 422
    assert "<code>/items/0/hsCode</code>" in page and "(hs.format)" in page and "(countries.same)" in page
    assert "TH-FORM-2" in page  # the pasted text is kept for correcting
    malformed = client.post("/dashboard/certificates", data={"certificate": "{oops", "csrf_token": token})
    assert malformed.status_code == 400 and "not valid JSON" in _text(malformed)


@pytest.mark.parametrize("csrf", [None, "forged"])
def test_dashboard_posts_without_the_csrf_token_are_refused(service: ServiceHarness, csrf: str | None) -> None:
    client = _login(service)
    data = {"certificate": json.dumps(service.certificate("TH-CSRF"))} | ({"csrf_token": csrf} if csrf else {})
    response = client.post("/dashboard/certificates", data=data)
    assert response.status_code == 400 and "not sent from the current dashboard page" in html.unescape(_text(response))
    assert client.post("/dashboard/logout", data={}).status_code == 400
    assert service.client.post("/dashboard/login", data={"token": service.token}).status_code == 400
    assert service.client.get("/api/v1/certificates?number=TH-CSRF", headers=service.auth).json["certificates"] == []


def test_logout(service: ServiceHarness) -> None:
    client = _login(service)
    page = _text(client.get("/dashboard"))
    response = client.post("/dashboard/logout", data={"csrf_token": _csrf(page)}, follow_redirects=True)
    assert "You are signed out." in _text(response) and 'name="token"' in _text(response)
    with client.session_transaction() as session:
        assert "chamber_id" not in session and "token_id" not in session


def test_revoking_the_token_ends_the_session(service: ServiceHarness) -> None:
    client = _login(service)
    with client.session_transaction() as session:
        token_id = session["token_id"]
    assert service.app.extensions["ecoo"].store.revoke_token(token_id)
    page = _text(client.get("/dashboard"))
    assert "the API token you signed in with has been revoked" in page and 'name="token"' in page
    with client.session_transaction() as session:
        assert "chamber_id" not in session


def test_lookup_by_issuer_and_number_and_anchoring_transaction(service: Any) -> None:
    document = service.issue("TH-PAGE-LOOKUP")
    page = service.client.get(f"/verify/lookup?issuer={service.address}&number=TH-PAGE-LOOKUP")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="verdict"' in text and "VALID" in text
    detail = service.client.get("/api/v1/certificates/1", headers=service.auth).json
    assert detail["anchor"]["tx"].startswith("0x") and detail["anchor"]["tx"] in text  # the anchoring transaction
    assert document["certificate"]["consignee"]["name"] not in text  # withheld parts stay private
    missing = service.client.get(f"/verify/lookup?issuer={service.address}&number=NOPE")
    assert missing.status_code == 404 and 'data-testid="lookup-error"' in missing.get_data(as_text=True)
    bad = service.client.get("/verify/lookup?issuer=x&number=1")
    assert bad.status_code == 400


def test_dashboard_status_changes_reach_the_registry(service: ServiceHarness) -> None:
    document = service.issue("TH-DASH-STATUS")
    client = _login(service)
    page = _text(client.get("/dashboard"))
    assert 'data-testid="status-change-1"' in page
    token = _csrf(page)

    def act(action: str) -> str:
        response = client.post(
            "/dashboard/certificates/1/status", data={"action": action, "csrf_token": token}, follow_redirects=True
        )
        assert response.status_code == 200
        return html.unescape(response.get_data(as_text=True))

    assert "is now SUSPENDED" in act("suspend")
    assert service.client.post("/api/v1/verify", json=document).json["verdict"] == "SUSPENDED"
    # Another process follows the chain: the lift is sent, shown as on its way until it is recorded.
    objects = service.app.extensions["ecoo"]
    registry = objects.chain.registry()
    assert objects.store.chain_repository.acquire_lease(registry.address, registry.chain_id, 0, "other-process", 60)
    shown = act("lift")
    assert "the change is on its way to the registry (SUSPENDED until it is recorded)" in shown
    assert 'data-testid="intent-1"' in shown and "lift on its way to the registry" in shown
    objects.store.chain_repository.release_lease(registry.address, "other-process")
    service.anchor()  # a worker pass: the follower records the lift
    listed = _text(client.get("/dashboard"))
    assert 'data-testid="intent-1"' not in listed and 'data-testid="status-change-1"' in listed
    assert "the certificate is ISSUED, not SUSPENDED" in act("lift")  # refused, shown, nothing changed
    assert "is now REVOKED" in act("revoke-fraud")
    assert service.client.post("/api/v1/verify", json=document).json["verdict"] == "REVOKED"
    audit = service.client.get("/api/v1/certificates/1", headers=service.auth).json["audit"]
    assert [e["action"] for e in audit][-1] == "REVOKED" and audit[-1]["reason"] == "fraud"
    # CSRF and ownership are enforced; unknown actions refused.
    assert client.post("/dashboard/certificates/1/status", data={"action": "lift"}).status_code == 400
    assert client.post("/dashboard/certificates/1/status", data={"action": "explode", "csrf_token": token}).status_code == 400
    assert client.post("/dashboard/certificates/999/status", data={"action": "suspend", "csrf_token": token}).status_code == 404
