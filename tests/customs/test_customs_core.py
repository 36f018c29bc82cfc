"""The customs service's core on a real Anvil (a chamber that issued certificates) and on SQLite and
PostgreSQL: verification through the trust list (JSON, PDF, lists; unknown and expired registries;
hostile input), the log of every verification, health, roles and tokens, sign-in and sessions,
CSRF, the throttle on failed attempts, and an audit row for every action."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import select

from ecoo.anvil import free_port
from ecoo.customs.accounts import create_account, disable_account
from ecoo.customs.audit import audit_rows
from ecoo.customs.registries import UnknownRegistryError
from ecoo.customs.store.schema import accounts, tokens, verifications
from ecoo.customs.verifications import log_verifications
from ecoo.errors import ConfigurationError, TrustListRefusedError
from ecoo.signers import LocalSigner
from ecoo.verdicts import Verdict
from tests.support.customs import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    OFFICER_NAME,
    OFFICER_PASSWORD,
    CustomsHarness,
    IssuingChamber,
    csrf_of,
    make_customs,
    trust_entry,
    write_trust_list,
)


def actions(harness: CustomsHarness, action: str | None = None) -> list[Any]:
    with harness.objects.db.transaction() as conn:
        return audit_rows(conn, action=action)


def logged(harness: CustomsHarness) -> list[Any]:
    with harness.objects.db.transaction() as conn:
        return list(conn.execute(select(verifications).order_by(verifications.c.id)).all())


# -- verification ----------------------------------------------------------------------------------


def test_verify_one_many_and_pdf_through_the_trust_list_each_logged(customs_db: CustomsHarness) -> None:
    harness, chamber = customs_db, customs_db.chamber
    one = harness.client.post("/api/v1/verify", json=chamber.documents[0], headers=harness.officer)
    assert one.status_code == 200, one.json
    assert one.json["verdict"] == "VALID" and one.json["certificateNumber"] == chamber.numbers[0]
    assert one.json["trustEntry"]["authority"] == "Ministry of Commerce, Thailand"
    assert "trust list" in next(c["message"] for c in one.json["checks"] if c["name"] == "registry")

    many = harness.client.post("/api/v1/verify", json={"documents": chamber.documents}, headers=harness.officer)
    assert many.status_code == 200 and many.json["count"] == 3 and many.json["verdicts"] == {"VALID": 3}

    pdf = harness.client.post(
        "/api/v1/verify", data=chamber.pdf(chamber.ids[1]), content_type="application/pdf", headers=harness.officer
    )
    assert pdf.status_code == 200 and pdf.json["verdict"] == "VALID" and pdf.json["certificateNumber"] == chamber.numbers[1]

    rows = logged(harness)
    assert len(rows) == 5
    assert {(r.source, r.verdict, r.actor) for r in rows} == {
        ("api", "VALID", f"token:{harness.officer_token_id}:officer system")
    }
    first = rows[0]
    assert (first.chain_id, first.registry, first.leaf) == (
        chamber.chain_id,
        chamber.registry,
        chamber.documents[0]["proof"]["leaf"],
    )
    assert (first.scheme, first.export_country, first.import_country) == ("RCEP", "TH", "KR")
    assert first.chamber and first.certificate_number == chamber.numbers[0] and first.failed_check is None
    verified = actions(harness, "verify")
    assert [row.detail for row in verified] == [
        {"source": "api", "verdicts": {"VALID": 1}},
        {"source": "api", "verdicts": {"VALID": 3}},
        {"source": "api", "verdicts": {"VALID": 1}},
    ]


def test_tampered_revoked_and_unknown_registry_are_said_clearly(
    customs: CustomsHarness, issuing_chamber: IssuingChamber, tmp_path: Path
) -> None:
    tampered = json.loads(json.dumps(issuing_chamber.documents[0]))
    tampered["certificate"]["items"][0]["originCountry"] = "VN"
    issuing_chamber.revoke(issuing_chamber.ids[2], "fraud")
    answer = customs.client.post(
        "/api/v1/verify", json={"documents": [tampered, issuing_chamber.documents[2]]}, headers=customs.officer
    )
    assert answer.status_code == 200
    assert [(r["verdict"], r["failedCheck"]) for r in answer.json["reports"]] == [("INVALID", "integrity"), ("REVOKED", "status")]
    assert [(r.verdict, r.failed_check) for r in logged(customs)] == [("INVALID", "integrity"), ("REVOKED", "status")]

    # A service whose list names another registry: these certificates are not trusted, and it says why.
    other = write_trust_list(tmp_path / "other.json", [trust_entry(issuing_chamber, registry=Account.create().address)])
    elsewhere = make_customs(tmp_path / "elsewhere", issuing_chamber, other)
    try:
        report = elsewhere.client.post("/api/v1/verify", json=issuing_chamber.documents[0], headers=elsewhere.officer).json
    finally:
        elsewhere.close()
    assert report["verdict"] == "INVALID" and report["failedCheck"] == "registry"
    assert (
        "is not trusted by trust list" in report["checks"][3]["message"] and "not on the list" in report["checks"][3]["message"]
    )
    assert report["trustEntry"] is None and "not on this administration's trust list" in report["trustNote"]


def test_an_expired_entry_is_not_trusted_and_a_dead_node_is_unavailable(issuing_chamber: IssuingChamber, tmp_path: Path) -> None:
    expired = write_trust_list(tmp_path / "expired.json", [trust_entry(issuing_chamber, valid_until="2026-01-31")])
    harness = make_customs(tmp_path / "expired", issuing_chamber, expired)
    try:
        report = harness.client.post("/api/v1/verify", json=issuing_chamber.documents[0], headers=harness.officer).json
        assert (
            report["verdict"] == "INVALID"
            and "expired: its entry is valid from 2026-01-01 until 2026-01-31" in report["checks"][3]["message"]
        )
        assert harness.client.get("/api/v1/health").json["trustList"]["entries"][0]["inForce"] is False
    finally:
        harness.close()

    dead = f"http://127.0.0.1:{free_port()}"
    live = trust_entry(issuing_chamber, registry=Account.create().address)  # another registry, on a node that answers
    down = write_trust_list(tmp_path / "down.json", [trust_entry(issuing_chamber, rpc_urls=(dead,)), live])
    harness = make_customs(tmp_path / "down", issuing_chamber, down)
    try:
        answer = harness.client.post("/api/v1/verify", json=issuing_chamber.documents[0], headers=harness.officer)
        assert answer.status_code == 503 and answer.json["verdict"] == "UNAVAILABLE"
        health = harness.client.get("/api/v1/health").json
        assert health["status"] == "degraded"
        entry, other = health["trustList"]["entries"]
        assert entry["reachable"] is False and entry["failures"] == [f"{dead}: ChainUnavailableError"]
        assert other["reachable"] is True and other["node"] == issuing_chamber.node.url
        assert [r.verdict for r in logged(harness)] == ["UNAVAILABLE"]
    finally:
        harness.close()


def test_health_lists_every_entry_with_its_reachability(customs: CustomsHarness) -> None:
    health = customs.client.get("/api/v1/health")
    assert health.status_code == 200 and health.json["status"] == "ok" and health.json["mode"] == "customs"
    [entry] = health.json["trustList"]["entries"]
    assert entry["reachable"] is True and entry["inForce"] is True and entry["block"] >= 1
    assert entry["registry"] == customs.chamber.registry and entry["chainId"] == customs.chamber.chain_id
    assert health.json["trustList"]["signature"]["signed"] is False and health.json["recordsSigned"] is False
    assert health.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"a": 1, "a": 2}', "application/json", 400, "malformed_json"),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400, "malformed_json"),
        (b"%PDF-1.7 not really", "application/pdf", 400, "not_an_ecoo_pdf"),
        (b'{"documents": {"not": "a list"}}', "application/json", 400, "invalid_body"),
        (b'{"documents": []}', "application/json", 400, "empty"),
        (b"certificate", "text/plain", 415, "unsupported_media_type"),
        (json.dumps({"documents": [{}] * 1001}).encode(), "application/json", 400, "batch_too_large"),
        (b" " * (11 * 1024 * 1024), "application/json", 413, "request_entity_too_large"),
    ],
)
def test_hostile_input_is_refused_cleanly(
    customs: CustomsHarness, body: bytes, content_type: str, status: int, code: str
) -> None:
    answer = customs.client.post("/api/v1/verify", data=body, content_type=content_type, headers=customs.officer)
    assert answer.status_code == status and answer.json["error"] == code, answer.json
    assert logged(customs) == []


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/declarations/100000000000000000000", 404),  # beyond any id the databases hold
        ("/declarations/100000000000000000000", 404),
        ("/api/v1/declarations?before=100000000000000000000", 400),
        ("/api/v1/declarations?before=-1", 400),
        ("/api/v1/declarations?limit=abc", 400),
        ("/api/v1/alerts?after=100000000000000000000", 400),
    ],
)
def test_ids_and_cursors_beyond_the_databases_are_refused_not_overflowed(
    customs_db: CustomsHarness, path: str, status: int
) -> None:
    answer = customs_db.client.get(path, headers=customs_db.officer)
    assert answer.status_code == status, answer.get_data(as_text=True)


def test_garbage_documents_are_invalid_and_logged_without_their_fields(customs: CustomsHarness) -> None:
    garbage = [{"certificate": {"scheme": "X" * 1000, "exportCountry": "\x00\x01"}, "proof": 7}, "text", None]
    answer = customs.client.post("/api/v1/verify", json={"documents": garbage}, headers=customs.officer)
    assert answer.status_code == 200 and answer.json["verdicts"] == {"INVALID": 3}
    rows = logged(customs)
    assert [(r.verdict, r.failed_check, r.scheme, r.export_country) for r in rows] == [("INVALID", "format", None, None)] * 3


def test_registries_route_by_chain_and_registry(customs: CustomsHarness) -> None:
    registries, chamber = customs.objects.registries, customs.chamber
    entry = registries.entry(chamber.chain_id, chamber.registry.lower())
    assert entry is not None and entry.address == chamber.registry
    assert registries.entry(chamber.chain_id + 1, chamber.registry) is None and registries.entry(1, "nonsense") is None
    assert registries.reader(chamber.chain_id, chamber.registry) is registries.reader(chamber.chain_id, chamber.registry.lower())
    with pytest.raises(UnknownRegistryError, match="not on the trust list"):
        registries.reader(chamber.chain_id + 1, chamber.registry)
    sender = registries.sender(chamber.chain_id, chamber.registry)
    assert sender.chain_id == chamber.chain_id and sender.address == chamber.registry
    assert registries.sender(chamber.chain_id, chamber.registry) is sender  # kept while its node answers
    reports = registries.verifier().verify_many(chamber.documents)
    assert [r.verdict for r in reports] == [Verdict.VALID] * 3


def test_log_verifications_for_declarations(customs: CustomsHarness) -> None:
    reports = customs.objects.registries.verifier().verify_many(customs.chamber.documents[:2])
    with customs.objects.db.transaction() as conn:
        log_verifications(conn, "account:olivia", reports, "declaration", declaration_id=None)
        with pytest.raises(ValueError, match="source must be one of"):
            log_verifications(conn, "account:olivia", reports, "fax")
    rows = logged(customs)
    assert [(r.source, r.actor, r.verdict) for r in rows] == [("declaration", "account:olivia", "VALID")] * 2
    assert rows[0].export_country == "TH" and rows[0].import_country is None  # without the document: the registry's country


# -- roles and tokens ------------------------------------------------------------------------------


def test_roles_tokens_and_their_audit(customs_db: CustomsHarness) -> None:
    harness = customs_db
    client = harness.client
    assert client.get("/api/v1/whoami").json["error"] == "unauthenticated"
    assert client.get("/api/v1/whoami", headers={"Authorization": "Bearer nope"}).json["error"] == "invalid_token"
    assert client.get("/api/v1/whoami", headers=harness.officer).json["actor"]["role"] == "officer"

    refused = client.post("/api/v1/tokens", json={"name": "gateway", "role": "officer"}, headers=harness.officer)
    assert refused.status_code == 403 and refused.json["error"] == "forbidden"
    assert client.get("/api/v1/tokens", headers=harness.officer).status_code == 403

    created = client.post("/api/v1/tokens", json={"name": "gateway", "role": "officer"}, headers=harness.admin)
    assert created.status_code == 201 and created.json["token"].startswith("ecoo_")
    token, token_id = created.json["token"], created.json["id"]
    listed = client.get("/api/v1/tokens", headers=harness.admin).json["tokens"]
    assert [t["name"] for t in listed] == ["officer system", "admin system", "gateway"]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    # Only the SHA-256 of a token is at rest.
    with harness.objects.db.transaction() as conn:
        stored = [tuple(row) for row in conn.execute(select(tokens)).all()]
    assert not any(token in str(value) for row in stored for value in row)
    assert hashlib.sha256(token.encode()).hexdigest() in {row[3] for row in stored}

    assert client.delete(f"/api/v1/tokens/{token_id}", headers=harness.admin).json["revoked"] is True
    gone = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401 and gone.json["error"] == "invalid_token"
    assert client.delete("/api/v1/tokens/999", headers=harness.admin).status_code == 404
    assert client.delete("/api/v1/tokens/99999999999", headers=harness.admin).status_code == 404  # over the column: no route
    for bad in ({"name": "", "role": "officer"}, {"name": "x", "role": "root"}, ["x"]):
        assert client.post("/api/v1/tokens", json=bad, headers=harness.admin).status_code == 400

    assert [r.action for r in actions(harness)] == [
        "token_refused",
        "forbidden",
        "forbidden",
        "token_created",
        "tokens_listed",
        "token_revoked",
        "token_refused",
    ]
    by_action = {r.action: r for r in actions(harness)}
    assert by_action["forbidden"].actor == f"token:{harness.officer_token_id}:officer system"
    assert by_action["token_created"].actor == f"token:{harness.admin_token_id}:admin system"
    assert by_action["token_created"].detail == {"name": "gateway", "role": "officer"}
    assert by_action["token_revoked"].subject == f"token:{token_id}"


# -- accounts, sign-in and sessions ----------------------------------------------------------------


def test_passwords_are_argon2id_and_wrong_password_says_the_same_as_unknown_user(customs_db: CustomsHarness) -> None:
    harness = customs_db
    with harness.objects.db.transaction() as conn:
        hashes = dict(conn.execute(select(accounts.c.username, accounts.c.password_hash)).all())
    assert set(hashes) == {OFFICER_NAME, ADMIN_NAME}
    assert all(h.startswith("$argon2id$") for h in hashes.values())
    assert OFFICER_PASSWORD not in hashes[OFFICER_NAME] and ADMIN_PASSWORD not in hashes[ADMIN_NAME]

    wrong = harness.sign_in(harness.new_client(), OFFICER_NAME, "not the password")
    unknown = harness.sign_in(harness.new_client(), "nobody", OFFICER_PASSWORD)
    assert wrong.status_code == unknown.status_code == 401

    def error(page: Any) -> str:
        return page.get_data(as_text=True).split('data-testid="login-error">', 1)[1].split("<", 1)[0]

    assert error(wrong) == error(unknown) == "Wrong username or password."
    hostile = harness.sign_in(harness.new_client(), "olivia\x00' OR 1=1", OFFICER_PASSWORD)
    assert hostile.status_code == 401 and error(hostile) == "Wrong username or password."

    with harness.objects.db.transaction() as conn:
        disabled = create_account(conn, "dora", "disabled password", "officer")
        disable_account(conn, disabled.id)
    refused = harness.sign_in(harness.new_client(), "dora", "disabled password")
    assert refused.status_code == 403 and "disabled" in error(refused)
    assert [(r.action, r.subject, r.detail) for r in actions(harness, "sign_in_refused")] == [
        ("sign_in_refused", OFFICER_NAME, {"reason": "wrong_credentials"}),
        ("sign_in_refused", "nobody", {"reason": "wrong_credentials"}),
        ("sign_in_refused", "olivia?' OR 1=1", {"reason": "wrong_credentials"}),
        ("sign_in_refused", "dora", {"reason": "disabled"}),
    ]
    assert all(r.actor == "anonymous" for r in actions(harness, "sign_in_refused"))


def test_sign_in_pages_and_sign_out_ends_every_session(customs: CustomsHarness) -> None:
    first, second = customs.new_client(), customs.new_client()
    redirected = first.get("/verify")
    assert redirected.status_code == 302 and redirected.headers["Location"] == "/login?next=/verify"
    page = first.get("/login?next=/verify")
    signed_in = first.post(
        "/login",
        data={
            "username": OFFICER_NAME,
            "password": OFFICER_PASSWORD,
            "next": "/verify",
            "csrf_token": csrf_of(page.get_data(as_text=True)),
        },
    )
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/verify"
    assert customs.sign_in(second).status_code == 303
    cookie = first.get_cookie("ecoo_customs_session")
    assert cookie is not None and OFFICER_PASSWORD not in cookie.value

    verify_page = first.get("/verify")
    assert verify_page.status_code == 200 and f"{OFFICER_NAME} (officer)" in verify_page.get_data(as_text=True)
    assert "script-src 'nonce-" in verify_page.headers["Content-Security-Policy"]
    # The chamber service's stylesheet as it is, then customs' additions.
    for sheet, first_line in (("/static/ecoo/ecoo.css", "/* ecoo pages"), ("/static/customs.css", "/* ecoo customs pages")):
        assert f'href="{sheet}"' in verify_page.get_data(as_text=True)
        served = first.get(sheet)
        assert served.status_code == 200 and served.get_data(as_text=True).startswith(first_line)
        served.close()
    assert 'rel="icon" href="/static/ecoo/favicon.svg"' in verify_page.get_data(as_text=True)
    icon = first.get("/static/ecoo/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    icon.close()
    # A session may use the API (the pages' scripts do), but changes only from this service's own pages.
    assert first.get("/api/v1/whoami").json["actor"] == {"kind": "account", "id": 1, "name": OFFICER_NAME, "role": "officer"}
    crossed = first.post("/api/v1/verify", json=customs.chamber.documents[0], headers={"Origin": "https://evil.example"})
    assert crossed.status_code == 403 and crossed.json["error"] == "cross_origin"
    page_token = csrf_of(verify_page.get_data(as_text=True))
    for headers in ({"Origin": "http://localhost"}, {}, {"X-CSRF-Token": "guess", "Origin": "http://localhost"}):
        unproven = first.post("/api/v1/verify", json=customs.chamber.documents[0], headers=headers)
        assert unproven.status_code == 403 and unproven.json["error"] == "cross_origin", headers  # no session token
    same = first.post(
        "/api/v1/verify", json=customs.chamber.documents[0], headers={"Origin": "http://localhost", "X-CSRF-Token": page_token}
    )
    assert same.status_code == 200 and same.json["verdict"] == "VALID"

    assert first.post("/logout", data={}).status_code == 400  # no CSRF token: refused
    token = csrf_of(first.get("/verify").get_data(as_text=True))
    assert first.post("/logout", data={"csrf_token": token}).headers["Location"] == "/login"
    # Signing out ended the other browser's session too.
    assert second.get("/verify").headers["Location"] == "/login?next=/verify"
    assert second.get("/api/v1/whoami").status_code == 401
    # An open redirect is not possible through next.
    assert customs.sign_in(second).status_code == 303
    for target in ("//evil.example/", "/%09/evil.example/", "/%0a/evil.example/", "/%5c/evil.example"):
        page = second.get(f"/login?next={target}")  # a browser drops the tab or line break: //evil.example
        assert 'name="next" value="/"' in page.get_data(as_text=True), target
    assert [r.action for r in actions(customs) if r.action in ("sign_in", "sign_out")] == [
        "sign_in",
        "sign_in",
        "sign_out",
        "sign_in",
    ]


def test_admin_pages_need_the_role_and_officers_verify_on_the_page(customs: CustomsHarness) -> None:
    chamber = customs.chamber
    assert customs.sign_in().status_code == 303
    page = customs.client.get("/verify")
    response = customs.client.post(
        "/verify",
        data={
            "csrf_token": csrf_of(page.get_data(as_text=True)),
            "files": [
                (chamber_file(chamber.documents[0]), "co.json"),
                (chamber_pdf(chamber), "co.pdf"),
                (chamber_file({"not": "a certificate"}), "junk.json"),
            ],
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('data-testid="verdict">VALID<') == 2 and html.count('data-testid="verdict">INVALID<') == 1
    assert [r.source for r in logged(customs)] == ["page"] * 3
    bad = customs.client.post(
        "/verify",
        data={"csrf_token": csrf_of(html), "files": [(chamber_file(b"%PDF-1.4 broken"), "x.pdf")]},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and 'data-testid="verify-error"' in bad.get_data(as_text=True)


def chamber_file(document: Any) -> Any:
    import io

    return io.BytesIO(document if isinstance(document, bytes) else json.dumps(document).encode())


def chamber_pdf(chamber: IssuingChamber) -> Any:
    import io

    return io.BytesIO(chamber.pdf(chamber.ids[0]))


def test_a_session_ends_after_its_hours(issuing_chamber: IssuingChamber, trust_list_file: Path, tmp_path: Path) -> None:
    harness = make_customs(tmp_path, issuing_chamber, trust_list_file, session_hours=1 / 3600)  # one second
    try:
        assert harness.sign_in().status_code == 303
        assert harness.client.get("/api/v1/whoami").status_code == 200
        time.sleep(1.5)
        assert harness.client.get("/api/v1/whoami").status_code == 401
        assert harness.client.get("/").headers["Location"] == "/login?next=/"
    finally:
        harness.close()


# -- throttle --------------------------------------------------------------------------------------


def test_failed_sign_ins_and_refused_tokens_are_throttled(
    issuing_chamber: IssuingChamber, trust_list_file: Path, tmp_path: Path
) -> None:
    harness = make_customs(tmp_path, issuing_chamber, trust_list_file, login_limit="3 per minute")
    try:
        client = harness.new_client()
        for _ in range(3):
            assert harness.sign_in(client, OFFICER_NAME, "wrong password!").status_code == 401
        assert harness.sign_in(client, OFFICER_NAME, OFFICER_PASSWORD).status_code == 429  # even the right one, for now
        for _ in range(3):
            assert client.get("/api/v1/whoami", headers={"Authorization": "Bearer guess"}).status_code == 401
        throttled = client.get("/api/v1/whoami", headers=harness.officer)
        assert throttled.status_code == 429 and throttled.json["error"] == "too_many_attempts"
        # Successful requests never count.
        other = make_customs(tmp_path / "other", issuing_chamber, trust_list_file, login_limit="3 per minute")
        try:
            for _ in range(5):
                assert other.client.get("/api/v1/whoami", headers=other.officer).status_code == 200
        finally:
            other.close()
    finally:
        harness.close()


# -- configuration ---------------------------------------------------------------------------------


def test_a_signed_list_is_required_when_a_publisher_is_configured(issuing_chamber: IssuingChamber, tmp_path: Path) -> None:
    publisher = LocalSigner(Account.create())
    unsigned = write_trust_list(tmp_path / "unsigned.json", [trust_entry(issuing_chamber)])
    with pytest.raises(ConfigurationError, match="it is unsigned, and publisher"):
        make_customs(tmp_path / "a", issuing_chamber, unsigned, trust_list_publisher=publisher.address)
    signed = write_trust_list(tmp_path / "signed.json", [trust_entry(issuing_chamber)], publisher)
    harness = make_customs(tmp_path / "b", issuing_chamber, signed, trust_list_publisher=publisher.address)
    try:
        signature = harness.client.get("/api/v1/health").json["trustList"]["signature"]
        assert signature["signed"] and signature["valid"] and signature["publisher"] == publisher.address
    finally:
        harness.close()
    altered = json.loads(signed.read_text())
    altered["entries"][0]["authority"]["name"] = "Someone else"
    (tmp_path / "altered.json").write_text(json.dumps(altered))
    with pytest.raises(ConfigurationError, match="the signature does not match the list"):
        make_customs(tmp_path / "c", issuing_chamber, tmp_path / "altered.json")


def test_the_service_refuses_an_older_list_of_its_publisher(issuing_chamber: IssuingChamber, tmp_path: Path) -> None:
    """No rollback: once the service accepted sequence 2, sequence 1 of the same publisher (which
    still verifies, e.g. kept by someone who wants a removed registry back) does not start it."""
    publisher = LocalSigner(Account.create())
    newer = write_trust_list(tmp_path / "newer.json", [trust_entry(issuing_chamber)], publisher, sequence=2)
    older = write_trust_list(tmp_path / "older.json", [trust_entry(issuing_chamber)], publisher, sequence=1)
    make_customs(tmp_path, issuing_chamber, newer, trust_list_publisher=publisher.address).close()
    with pytest.raises(TrustListRefusedError, match="sequence 1 is older than sequence 2"):
        make_customs(tmp_path, issuing_chamber, older, trust_list_publisher=publisher.address)
    # Another data directory has no pin: the same older list starts there (the pin is per service).
    make_customs(tmp_path / "elsewhere", issuing_chamber, older, trust_list_publisher=publisher.address).close()
