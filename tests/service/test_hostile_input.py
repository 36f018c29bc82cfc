"""Hostile input at the edge (issue 9, findings 3 and 4): JSON nested 70,000 deep, lone UTF-16
surrogates, ids past what the id column holds. Every one gets a 4xx from the service (or a one-line error and exit
1 from the CLI), never a crash and never a 500 — on SQLite and on PostgreSQL."""

from __future__ import annotations

import html
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import ecoo
from ecoo.service.views import MAX_ID
from tests.support.service import ServiceHarness

DEEP = b"[" * 70_000 + b"]" * 70_000  # 140 KB: used to overflow the C stack (SIGSEGV)
DEEP_OBJECT = b'{"a":' * 70_000 + b"1" + b"}" * 70_000
BIG_IDS = [MAX_ID + 1, 2**63, 2**64, 10**30]


def _marked(certificate: dict[str, Any]) -> dict[str, Any]:
    """``certificate`` with the exporter's name marked for :func:`_with_surrogate`."""
    return {**certificate, "exporter": {**certificate["exporter"], "name": "CERT-S"}}


def _with_surrogate(value: Any) -> bytes:
    """``value`` as JSON whose marked string holds a lone surrogate escape (\\ud800)."""
    text = json.dumps(value)
    assert '"CERT-S"' in text
    return text.replace('"CERT-S"', '"CERT-\\ud800"').encode()


def _text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match[1]


def _login(service: ServiceHarness) -> tuple[FlaskClient, str]:
    client = service.client
    client.post("/dashboard/login", data={"token": service.token, "csrf_token": _csrf(_text(client.get("/dashboard")))})
    return client, _csrf(_text(client.get("/dashboard")))


# -- the command line -------------------------------------------------------------------------------


@pytest.mark.slow  # a subprocess that loads web3
@pytest.mark.parametrize("command", ["validate", "verify", "redact"])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_cli_refuses_deep_json_in_one_line(tmp_path: Path, command: str, body: bytes) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(body)
    src = str(Path(ecoo.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": src, "ECOO_DATA_DIR": str(tmp_path / "data"), "ECOO_RPC_URL": "http://127.0.0.1:9"}
    args = [sys.executable, "-m", "ecoo", command, str(path)] + (["--hide", "consignee"] if command == "redact" else [])
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 1, (done.returncode, done.stderr[-500:])  # 139 was a segfault
    assert done.stderr.strip().count("\n") == 0 and "nested deeper than 64 levels" in done.stderr, done.stderr


@pytest.mark.slow  # a subprocess that loads web3
def test_cli_refuses_a_lone_surrogate_naming_where(tmp_path: Path) -> None:
    path = tmp_path / "surrogate.json"
    path.write_text('{"certificateNumber": "A", "issuer": {"name": "x\\udc00"}}', encoding="utf-8")
    src = str(Path(ecoo.__file__).parent.parent)
    done = subprocess.run(
        [sys.executable, "-m", "ecoo", "validate", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": src},
        timeout=120,
        check=False,
    )
    assert done.returncode == 1 and "lone UTF-16 surrogate" in done.stderr and "/issuer/name" in done.stderr


@pytest.mark.slow  # a subprocess that loads web3
def test_a_deep_keystore_is_a_one_line_error_not_a_crash(tmp_path: Path) -> None:
    """--keystore read its file with json.loads after web3 had raised the recursion limit."""
    path = tmp_path / "deep-keystore.json"
    path.write_bytes(DEEP)
    script = (
        "import sys, web3\n"
        "from ecoo.errors import ConfigurationError\n"
        "from ecoo.signers import signer_from_keystore\n"
        "try:\n"
        "    signer_from_keystore(__import__('pathlib').Path(sys.argv[1]), 'pw')\n"
        "except ConfigurationError as exc:\n"
        "    print(exc)\n"
    )
    src = str(Path(ecoo.__file__).parent.parent)
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": src}, timeout=120
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-500:])  # 139 was a segfault
    assert "nested deeper than 64 levels" in done.stdout


# -- the public verification API and page ---------------------------------------------------------


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_deep_json_is_a_400_everywhere_unauthenticated(service: ServiceHarness, body: bytes) -> None:
    client = service.client
    for url in ("/api/v1/verify", "/api/v1/verify/batch"):
        response = client.post(url, data=body, content_type="application/json")
        assert response.status_code == 400 and response.json["error"] == "malformed_json", response.json
        assert "nested deeper than 64 levels" in response.json["message"]
    upload = client.post("/api/v1/verify", data={"file": (io.BytesIO(body), "deep.json")}, content_type="multipart/form-data")
    assert upload.status_code == 400 and upload.json["error"] == "malformed_json"
    page = client.post("/verify", data={"file": (io.BytesIO(body), "deep.json")}, content_type="multipart/form-data")
    assert page.status_code == 400 and "nested deeper than 64 levels" in _text(page)
    pasted = client.post("/verify", data={"json": body.decode()})
    assert pasted.status_code == 400 and "nested deeper than 64 levels" in _text(pasted)
    # The process is still serving.
    assert client.post("/api/v1/verify", json={"ecoo": 1}).status_code == 200


def _pdf_carrying(payload: bytes) -> bytes:
    from pypdf import PdfWriter

    from ecoo.pdf import ATTACHMENT_NAME

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_attachment(ATTACHMENT_NAME, payload)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_carrying_deep_or_surrogate_json_is_a_400(service: ServiceHarness) -> None:
    client = service.client
    surrogate = _with_surrogate(_marked(service.certificate("SURROGATE-PDF")))
    for payload, expected in ((DEEP, "nested deeper than 64 levels"), (surrogate, "lone UTF-16 surrogate")):
        pdf = _pdf_carrying(payload)
        response = client.post("/api/v1/verify", data=pdf, content_type="application/pdf")
        assert response.status_code == 400 and response.json["error"] == "not_an_ecoo_pdf", response.json
        assert expected in response.json["message"]
        page = client.post("/verify", data={"file": (io.BytesIO(pdf), "co.pdf")}, content_type="multipart/form-data")
        assert page.status_code == 400 and expected in _text(page)


def test_lone_surrogates_are_a_4xx_on_every_input(service: ServiceHarness) -> None:
    client, auth = service.client, service.auth
    certificate = _marked(service.certificate("SURROGATE-1"))
    created = client.post(
        "/api/v1/certificates", data=_with_surrogate(certificate), content_type="application/json", headers=auth
    )
    assert created.status_code == 400 and "lone UTF-16 surrogate" in created.json["message"], created.json
    assert "/exporter/name" in created.json["message"]
    batch = client.post(
        "/api/v1/certificates/batch",
        data=_with_surrogate({"certificates": [service.certificate("OK-1"), certificate]}),
        content_type="application/json",
        headers=auth,
    )
    assert batch.status_code == 400 and "/certificates/1/exporter/name" in batch.json["message"], batch.json
    document = service.issue("HOSTILE-1")
    row_id = client.get("/api/v1/certificates?number=HOSTILE-1", headers=auth).json["certificates"][0]["id"]
    amended = _marked(dict(document["certificate"], certificateNumber="HOSTILE-1-A"))
    supersede = client.post(
        f"/api/v1/certificates/{row_id}/supersede",
        data=_with_surrogate({"certificate": amended, "reason": "corrected"}),
        content_type="application/json",
        headers=auth,
    )
    assert supersede.status_code == 400, supersede.json
    for name in ("suspend", "revoke"):
        reason = client.post(
            f"/api/v1/certificates/{row_id}/{name}", data=b'{"reason": "\\ud800"}', content_type="application/json", headers=auth
        )
        assert reason.status_code == 400 and reason.json["error"] == "malformed_json"
    assert client.get(f"/api/v1/certificates/{row_id}", headers=auth).json["status"] == "ISSUED"  # nothing changed

    presented = _with_surrogate({**document, "certificate": _marked(document["certificate"])})
    verified = client.post("/api/v1/verify", data=presented, content_type="application/json")
    assert verified.status_code == 400 and verified.json["error"] == "malformed_json"
    page = client.post("/verify", data={"file": (io.BytesIO(presented), "co.json")}, content_type="multipart/form-data")
    assert page.status_code == 400 and "lone UTF-16 surrogate" in _text(page)
    pasted = client.post("/verify", data={"json": presented.decode()})
    assert pasted.status_code == 400 and "lone UTF-16 surrogate" in _text(pasted)

    dashboard, csrf = _login(service)
    form = dashboard.post(
        "/dashboard/certificates", data={"certificate": _with_surrogate(certificate).decode(), "csrf_token": csrf}
    )
    assert form.status_code == 400 and "lone UTF-16 surrogate" in _text(form)
    assert client.get("/api/v1/certificates?number=HOSTILE-1", headers=auth).json["certificates"]  # still serving


# -- ids past the column, and other filters --------------------------------------------------------------


def test_ids_past_the_column_are_404_in_every_path(service: ServiceHarness) -> None:
    client, auth = service.client, service.auth
    for big in BIG_IDS:
        base = f"/api/v1/certificates/{big}"
        for suffix in ("", "/document", "/pdf"):
            response = client.get(base + suffix, headers=auth)
            assert response.status_code == 404 and response.json["error"] == "not_found", (big, suffix)
        for name in ("revoke", "suspend", "lift", "supersede", "copy"):
            assert client.post(f"{base}/{name}", json={"reason": "fraud"}, headers=auth).status_code == 404
        after = client.get(f"/api/v1/certificates?after={big}", headers=auth)
        assert after.status_code == 400 and after.json["error"] == "invalid_filter"
    largest = client.get(f"/api/v1/certificates/{MAX_ID}", headers=auth)
    assert largest.status_code == 404 and largest.json["error"] == "not_found"  # reaches the database, fine
    assert client.get(f"/api/v1/certificates?after={MAX_ID}", headers=auth).status_code == 200

    dashboard, csrf = _login(service)
    for big in BIG_IDS:
        for suffix in (".json", ".pdf"):
            assert dashboard.get(f"/dashboard/certificates/{big}{suffix}").status_code == 404
        status = dashboard.post(f"/dashboard/certificates/{big}/status", data={"action": "suspend", "csrf_token": csrf})
        assert status.status_code == 404
        assert dashboard.get(f"/dashboard?after={big}").status_code == 200  # an unusable page cursor is ignored
    assert dashboard.get("/dashboard?after=%C2%B2").status_code == 200  # '²' is a digit to str.isdigit, not to int()


def test_control_characters_in_filters_are_refused_not_sent_to_the_database(service: ServiceHarness) -> None:
    client, auth = service.client, service.auth
    listed = client.get("/api/v1/certificates?number=A%00B", headers=auth)
    assert listed.status_code == 400 and listed.json["error"] == "invalid_filter"
    lookup = client.get(f"/api/v1/lookup?issuer={service.address}&number=A%00B")
    assert lookup.status_code == 400 and lookup.json["error"] == "invalid_lookup"
    dashboard, _ = _login(service)
    page = dashboard.get("/dashboard?number=A%00B")
    assert page.status_code == 200 and "without control characters" in _text(page)
    assert service.client.get("/verify/lookup", query_string={"issuer": service.address, "number": "A\x00B"}).status_code == 400


def test_empty_date_filters_are_refused(service: ServiceHarness) -> None:
    for query in ("to=", "from=", "to=2026-13-01", "from=2026-02-30", "to=%D9%A2026-01-01"):
        response = service.client.get(f"/api/v1/certificates?{query}", headers=service.auth)
        assert response.status_code == 400 and response.json["error"] == "invalid_filter", query


def test_405_carries_allow(service: ServiceHarness) -> None:
    for method, url, allowed in (
        ("DELETE", "/api/v1/verify", {"POST"}),
        ("PUT", "/api/v1/certificates", {"GET", "POST"}),
        ("DELETE", "/verify", {"GET", "POST"}),
    ):
        response = service.client.open(url, method=method, headers=service.auth)
        assert response.status_code == 405, url
        assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}, response.headers
