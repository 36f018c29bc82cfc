"""The service's HTTP API: issuing, listing, status changes, public verification, auth and bad
input — against a real Anvil and a real database."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ecoo import errors
from ecoo.service.http import STATUS_BY_ERROR, ApiError, http_status
from ecoo.service.status import CertificateStatus
from tests.support.service import ServiceHarness


def test_issue_is_pending_until_anchored_then_verifies(service: ServiceHarness) -> None:
    created = service.create(service.certificate("TH-1"))
    assert created["status"] == "PENDING" and created["links"]["document"] is None
    path = f"/api/v1/certificates/{created['id']}"
    assert service.client.get(path + "/document", headers=service.auth).status_code == 409
    assert service.anchor() == 1
    detail = service.client.get(path, headers=service.auth).json
    assert detail["status"] == "ISSUED" and detail["anchor"]["issuer"] == service.address
    assert [e["action"] for e in detail["audit"]] == ["CREATED", "ISSUED"]
    document = service.client.get(path + "/document", headers=service.auth).json
    report = service.client.post("/api/v1/verify", json=document)
    assert report.status_code == 200 and report.json["verdict"] == "VALID"
    assert report.json["registryView"]["issuerName"].startswith("Department of Foreign Trade")
    lookup = service.client.get(f"/api/v1/lookup?issuer={service.address}&number=TH-1")
    assert lookup.status_code == 200 and lookup.json["reports"][0]["verdict"] == "VALID"
    by_leaf = service.client.get(f"/api/v1/lookup?leaf={created['leaf']}")
    assert by_leaf.json["reports"][0]["leaf"] == created["leaf"]


def test_batch_shares_one_root_and_one_transaction(service: ServiceHarness) -> None:
    body = {"certificates": [service.certificate(f"TH-B-{i}") for i in range(5)]}
    response = service.client.post("/api/v1/certificates/batch", json=body, headers=service.auth)
    assert response.status_code == 202 and len(response.json["certificates"]) == 5
    nonce_before = _nonce(service)
    assert service.anchor() == 5
    assert _nonce(service) == nonce_before + 1  # one anchoring transaction for the whole batch
    roots = set()
    for item in response.json["certificates"]:
        document = service.client.get(f"/api/v1/certificates/{item['id']}/document", headers=service.auth).json
        roots.add(document["proof"]["root"])
    assert len(roots) == 1
    reports = service.client.post(
        "/api/v1/verify/batch", json={"documents": [_doc(service, i["id"]) for i in response.json["certificates"]]}
    )
    assert [r["verdict"] for r in reports.json["reports"]] == ["VALID"] * 5


def _doc(service: ServiceHarness, certificate_id: int) -> dict[str, Any]:
    return dict(service.client.get(f"/api/v1/certificates/{certificate_id}/document", headers=service.auth).json or {})


def _nonce(service: ServiceHarness) -> int:
    registry = service.app.extensions["ecoo"].chain.registry()
    return int(registry.w3.eth.get_transaction_count(service.address))


def test_same_number_twice_is_409_and_never_anchored_twice(service: ServiceHarness) -> None:
    co = service.certificate("TH-DUP")
    first = service.create(co)
    again = service.client.post("/api/v1/certificates", json=co, headers=service.auth)
    assert again.status_code == 409 and again.json["error"] == "duplicate_certificate"
    assert again.json["details"]["existingId"] == first["id"]
    service.anchor()
    assert service.client.post("/api/v1/certificates", json=co, headers=service.auth).status_code == 409
    batch = service.client.post(
        "/api/v1/certificates/batch", json={"certificates": [service.certificate("TH-NEW"), co]}, headers=service.auth
    )
    assert batch.status_code == 409  # all or nothing: TH-NEW was not stored either
    assert service.client.get("/api/v1/certificates?number=TH-NEW", headers=service.auth).json["certificates"] == []
    assert service.anchor() == 0


def test_list_filters_and_pagination(service: ServiceHarness) -> None:
    for i in range(4):
        co = service.certificate(f"TH-L-{i}")
        if i == 3:
            co["importCountry"] = "AU"
            co["consignee"]["country"] = "AU"
            if isinstance(co.get("importer"), dict):
                co["importer"]["country"] = "AU"
        service.create(co)
    service.anchor()
    service.create(service.certificate("TH-L-PENDING"))

    def numbers(query: str) -> list[str]:
        response = service.client.get(f"/api/v1/certificates?{query}", headers=service.auth)
        assert response.status_code == 200, response.json
        return [c["number"] for c in response.json["certificates"]]

    assert numbers("number=TH-L-2") == ["TH-L-2"]
    assert numbers("status=PENDING") == ["TH-L-PENDING"]
    assert numbers("destination=AU") == ["TH-L-3"]
    assert len(numbers("status=ISSUED")) == 4
    today = service.certificate()["issueDate"]
    assert len(numbers(f"from={today}&to={today}")) == 5 and numbers("to=2000-01-01") == []
    page = service.client.get("/api/v1/certificates?limit=2", headers=service.auth).json
    rest = service.client.get(f"/api/v1/certificates?limit=10&after={page['next']}", headers=service.auth).json
    assert len(page["certificates"]) == 2 and len(rest["certificates"]) == 3
    for bad in ("status=NOPE", "from=yesterday", "limit=0", "limit=x", "destination=germany"):
        response = service.client.get(f"/api/v1/certificates?{bad}", headers=service.auth)
        assert response.status_code == 400 and response.json["error"] == "invalid_filter", bad


def test_status_changes_reach_the_registry(service: ServiceHarness) -> None:
    ids = [service.create(service.certificate(f"TH-S-{i}"))["id"] for i in range(4)]
    service.anchor()
    docs = [_doc(service, i) for i in ids]
    post = service.client.post

    assert (
        post(f"/api/v1/certificates/{ids[0]}/revoke", json={"reason": "fraud"}, headers=service.auth).json["status"] == "REVOKED"
    )
    assert (
        post(f"/api/v1/certificates/{ids[1]}/revoke", json={"reason": "cancelled"}, headers=service.auth).json["status"]
        == "CANCELLED"
    )
    assert post(f"/api/v1/certificates/{ids[2]}/suspend", headers=service.auth).json["status"] == "SUSPENDED"
    verdicts = [r["verdict"] for r in post("/api/v1/verify/batch", json={"documents": docs[:3]}).json["reports"]]
    assert verdicts == ["REVOKED", "CANCELLED", "SUSPENDED"]
    assert post(f"/api/v1/certificates/{ids[2]}/lift", headers=service.auth).json["status"] == "ISSUED"
    assert post("/api/v1/verify", json=docs[2]).json["verdict"] == "VALID"

    again = post(f"/api/v1/certificates/{ids[0]}/revoke", json={"reason": "error"}, headers=service.auth)
    assert again.status_code == 409 and again.json["error"] == "final_status"
    assert post(f"/api/v1/certificates/{ids[3]}/revoke", json={"reason": "oops"}, headers=service.auth).status_code == 400
    assert post(f"/api/v1/certificates/{ids[3]}/revoke", headers=service.auth).status_code == 400
    assert post(f"/api/v1/certificates/{ids[3]}/lift", headers=service.auth).status_code == 409

    amended = copy.deepcopy(docs[3]["certificate"])
    amended["certificateNumber"] = "TH-S-3-A"
    replaced = post(
        f"/api/v1/certificates/{ids[3]}/supersede",
        json={"certificate": amended, "reason": "quantity corrected"},
        headers=service.auth,
    )
    assert replaced.status_code == 202, replaced.json
    assert replaced.json["original"]["status"] == "SUPERSEDED"
    service.anchor()
    new_doc = _doc(service, replaced.json["replacement"]["id"])
    assert new_doc["certificate"]["replaces"]["leaf"] == docs[3]["proof"]["leaf"]
    report = post("/api/v1/verify", json=docs[3]).json
    assert report["verdict"] == "SUPERSEDED" and report["registryView"]["successor"] == new_doc["proof"]["leaf"]
    assert post("/api/v1/verify", json=new_doc).json["verdict"] == "VALID"

    audit = service.client.get(f"/api/v1/certificates/{ids[0]}", headers=service.auth).json["audit"]
    revoked = [e for e in audit if e["action"] == "REVOKED"][0]
    assert revoked["reason"] == "fraud" and revoked["tx"].startswith("0x") and revoked["actor"].startswith("token:")


def test_certified_copy(service: ServiceHarness) -> None:
    original = service.create(service.certificate("TH-C-1"))
    service.anchor()
    response = service.client.post(f"/api/v1/certificates/{original['id']}/copy", headers=service.auth)
    assert response.status_code == 202
    service.anchor()
    copy_doc = _doc(service, response.json["replacement"]["id"])
    assert (
        copy_doc["certificate"]["copyType"] == "CERTIFIED_TRUE_COPY" and copy_doc["certificate"]["certificateNumber"] == "TH-C-1"
    )
    assert service.client.post("/api/v1/verify", json=copy_doc).json["verdict"] == "VALID"
    assert service.client.post("/api/v1/verify", json=_doc(service, original["id"])).json["verdict"] == "SUPERSEDED"
    assert service.client.post(f"/api/v1/certificates/{original['id']}/copy", headers=service.auth).status_code == 409


def test_revoking_a_pending_certificate_withdraws_it(service: ServiceHarness) -> None:
    created = service.create(service.certificate("TH-W"))
    response = service.client.post(f"/api/v1/certificates/{created['id']}/revoke", json={"reason": "error"}, headers=service.auth)
    assert response.status_code == 200 and response.json["status"] == "CANCELLED"
    assert service.anchor() == 0  # never anchored


def test_authentication_failures(service: ServiceHarness) -> None:
    created = service.create(service.certificate("TH-A"))
    path = f"/api/v1/certificates/{created['id']}"
    assert service.client.get(path).status_code == 401
    assert service.client.get(path).json["error"] == "unauthenticated"
    assert service.client.get(path, headers={"Authorization": "Bearer ecoo_wrong"}).json["error"] == "invalid_token"
    assert service.client.get(path, headers={"Authorization": "Basic abc"}).status_code == 401

    from ecoo.service.chambers import create_chamber

    other = create_chamber(service.settings, "Other Chamber", "DE", "IHK-HH", dev=False)
    other_auth = {"Authorization": f"Bearer {other['token']}"}
    assert service.client.get(path, headers=other_auth).status_code == 404  # not "forbidden": no leak
    assert service.client.post(path + "/revoke", json={"reason": "fraud"}, headers=other_auth).status_code == 404

    store = service.app.extensions["ecoo"].store
    token_id = store.token_owner(__import__("ecoo.service.vault", fromlist=["hash_token"]).hash_token(other["token"]))[1]
    assert store.revoke_token(token_id)
    assert service.client.get("/api/v1/certificates", headers=other_auth).status_code == 401


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b'{"certificateNumber": ', "application/json", 400, "malformed_json"),
        (b'{"a": 1, "a": 2}', "application/json", 400, "malformed_json"),
        (b'{"a": NaN}', "application/json", 400, "malformed_json"),
        (b"[1, 2]", "application/json", 400, "invalid_body"),
        (b"certificateNumber=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"hello": "world"}', "application/json", 422, "invalid_certificate"),
        (b"\xff\xfe\x00", "application/json", 400, "malformed_json"),
    ],
)
def test_bad_input_is_a_clear_4xx(service: ServiceHarness, body: bytes, content_type: str, status: int, error: str) -> None:
    response = service.client.post("/api/v1/certificates", data=body, content_type=content_type, headers=service.auth)
    assert response.status_code == status and response.json["error"] == error, response.json
    assert response.json["message"]


def test_ten_megabyte_body_is_413(service: ServiceHarness) -> None:
    body = b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    for path in ("/api/v1/certificates", "/api/v1/verify"):
        response = service.client.post(path, data=body, content_type="application/json", headers=service.auth)
        assert response.status_code == 413 and response.json["error"] == "request_entity_too_large"


def test_invalid_certificate_reports_every_issue(service: ServiceHarness) -> None:
    co = service.certificate("TH-BAD")
    co["items"][0]["hsCode"] = "62"
    co["importCountry"] = "XX"
    co["items"][0]["quantity"]["value"] = 4800.0
    response = service.client.post("/api/v1/certificates", json=co, headers=service.auth)
    assert response.status_code == 422
    paths = {issue["path"] for issue in response.json["details"][0]["issues"]}
    assert {"/items/0/hsCode", "/importCountry", "/items/0/quantity/value"} <= paths


@pytest.mark.parametrize("text", ["Nguyễn Thị Lan — Công ty 🚢", "ท่าเรือแหลมฉบัง", "شركة الإمارات", "Zoë \u200b O'Brien"])
def test_unicode_round_trips(service: ServiceHarness, text: str) -> None:
    co = service.certificate(f"TH-U-{abs(hash(text)) % 10_000}")
    co["exporter"]["name"] = text
    co["remarks"] = text
    created = service.create(co)
    service.anchor()
    document = _doc(service, created["id"])
    assert document["certificate"]["exporter"]["name"] == text
    assert (
        service.client.post(
            "/api/v1/verify", data=json.dumps(document, ensure_ascii=False).encode(), content_type="application/json"
        ).json["verdict"]
        == "VALID"
    )


def test_control_characters_are_refused_with_a_path(service: ServiceHarness) -> None:
    co = service.certificate("TH-NUL")
    co["exporter"]["name"] = "bad\u0000name"
    response = service.client.post("/api/v1/certificates", json=co, headers=service.auth)
    assert response.status_code in (202, 422)
    if response.status_code == 422:
        assert response.json["details"][0]["issues"][0]["path"].startswith("/exporter")


def test_public_verify_inputs(service: ServiceHarness) -> None:
    document = service.issue("TH-V")
    data = json.dumps(document).encode()
    upload = service.client.post(
        "/api/v1/verify", data={"file": (__import__("io").BytesIO(data), "co.json")}, content_type="multipart/form-data"
    )
    assert upload.status_code == 200 and upload.json["verdict"] == "VALID"
    assert service.client.post("/api/v1/verify", data=b"x", content_type="text/plain").status_code == 415
    assert service.client.post("/api/v1/verify", data={}, content_type="multipart/form-data").status_code == 400
    garbage = service.client.post("/api/v1/verify", data=b"%PDF-1.4 garbage", content_type="application/pdf")
    assert garbage.status_code == 400 and garbage.json["error"] == "not_an_ecoo_pdf"
    tampered = copy.deepcopy(document)
    tampered["certificate"]["items"][0]["originCountry"] = "CN"
    report = service.client.post("/api/v1/verify", json=tampered).json
    assert (report["verdict"], report["failedCheck"]) == ("INVALID", "integrity")
    for query in ("issuer=0x12&number=1", "leaf=0x12", "", f"issuer={service.address}"):
        assert service.client.get(f"/api/v1/lookup?{query}").status_code == 400, query
    assert service.client.get(f"/api/v1/lookup?issuer={service.address}&number=UNKNOWN").status_code == 404
    assert service.client.get("/api/v1/nope").json["error"] == "not_found"
    assert service.client.delete("/api/v1/verify").status_code == 405


def test_health(service: ServiceHarness) -> None:
    health = service.client.get("/api/v1/health").json
    assert (
        health["status"] == "ok"
        and health["chain"]["chainId"] == 31337
        and health["schemaVersion"] == len(__import__("ecoo.service.store", fromlist=["MIGRATIONS"]).MIGRATIONS) == 6
    )


def test_failed_copy_can_be_retried_after_the_chain_is_back(service: ServiceHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    from ecoo.errors import ChainUnavailableError

    original = service.create(service.certificate("TH-RETRY"))
    service.anchor()
    registry = service.app.extensions["ecoo"].chain.registry()

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ChainUnavailableError("http://127.0.0.1:9")

    monkeypatch.setattr(registry, "supersede", down)
    failed = service.client.post(f"/api/v1/certificates/{original['id']}/copy", headers=service.auth)
    assert failed.status_code == 503 and failed.json["error"] == "chain_unavailable"
    monkeypatch.undo()
    retried = service.client.post(f"/api/v1/certificates/{original['id']}/copy", headers=service.auth)
    assert retried.status_code == 202, retried.json
    assert service.anchor() == 1  # only the successful copy is anchored


def test_public_lookup_never_reveals_withheld_parts(service: ServiceHarness) -> None:
    document = service.issue("TH-PRIV")
    secret = document["certificate"]["consignee"]["name"]
    for url in (
        f"/api/v1/lookup?leaf={document['proof']['leaf']}",
        f"/v/{document['proof']['leaf']}",
        f"/api/v1/lookup?issuer={service.address}&number=TH-PRIV",
    ):
        response = service.client.get(url)
        assert response.status_code == 200
        assert secret not in response.get_data(as_text=True), url
    report = service.client.get(f"/api/v1/lookup?leaf={document['proof']['leaf']}").json["reports"][0]
    assert report["verdict"] == "VALID" and "/consignee" in report["withheld"]


def test_huge_integer_is_a_400_not_a_500(service: ServiceHarness) -> None:
    body = b'{"certificateNumber": ' + b"9" * 5000 + b"}"
    response = service.client.post("/api/v1/certificates", data=body, content_type="application/json", headers=service.auth)
    assert response.status_code == 400 and response.json["error"] == "malformed_json"


# What the domain refuses, and the one table that turns it into HTTP: statuses, codes and messages
# exactly as the API answered when Issuance raised ApiError itself.
_PROBLEMS = [{"index": 0, "number": "X-1", "issues": [{"path": "/items/0/hsCode", "code": "hs.format", "message": "bad"}]}]
DOMAIN_ERRORS = [
    (
        errors.ChangeInProgressError(7),
        409,
        "change_in_progress",
        "certificate 7 already has a change on its way to the registry; wait until it is done or has failed (GET the certificate: 'intent')",
    ),
    (
        errors.InvalidReasonTextError(1000),
        400,
        "invalid_reason",
        "'reason' must be text of at most 1000 characters, without control characters",
    ),
    (errors.NoCertificatesError(), 400, "empty", "no certificates given"),
    (errors.BatchTooLargeError(1000), 400, "batch_too_large", "at most 1000 certificates per request"),
    (
        errors.RejectedCertificatesError(_PROBLEMS),
        422,
        "invalid_certificate",
        "1 certificate(s) invalid (1 issue(s)); first: /items/0/hsCode: bad",
    ),
    (
        errors.RegistryUnreachableError("sign", cause="node down"),
        503,
        "chain_unavailable",
        "cannot sign: the registry's chain is unreachable (node down)",
    ),
    (
        errors.RegistryUnreachableError("suspend"),
        503,
        "chain_unavailable",
        "could not suspend: the registry's chain is unreachable; nothing was changed",
    ),
    (
        errors.RegistryUnreachableError("lift", "the chain"),
        503,
        "chain_unavailable",
        "could not lift: the chain is unreachable; nothing was changed",
    ),
    (
        errors.UnknownRevocationReasonError("oops", ["fraud", "error", "cancelled"]),
        400,
        "invalid_reason",
        "reason must be one of cancelled, error, fraud",
    ),
    (
        errors.AnchoringInProgressError("the certificate is being anchored right now", "retry in a few seconds"),
        409,
        "anchoring_in_progress",
        "the certificate is being anchored right now; retry in a few seconds",
    ),
    (errors.FinalStatusError(CertificateStatus.REVOKED), 409, "final_status", "the certificate is REVOKED; that is final"),
    (
        errors.NotIssuedError(CertificateStatus.PENDING, "suspended"),
        409,
        "not_issued",
        "only an issued certificate can be suspended; this one is PENDING",
    ),
    (errors.NotSuspendedError("ISSUED"), 409, "not_suspended", "the certificate is ISSUED, not SUSPENDED"),
    (
        errors.RegistryRefusedError("anchor", errors.InvalidRootError(root=b"\0" * 32)),
        409,
        "registry_refused",
        "the registry refused to anchor: root 0x" + "00" * 32 + " cannot be anchored: a zero hash is never a real batch",
    ),
    (errors.InvalidAmendmentError(), 400, "invalid_body", "'certificate' must be the amended certificate object"),
    (errors.MissingAmendmentReasonError(), 400, "missing_reason", "'reason' (why the certificate was amended) is required"),
]


@pytest.mark.parametrize(
    ("error", "status", "code", "message"), DOMAIN_ERRORS, ids=[type(case[0]).__name__ for case in DOMAIN_ERRORS]
)
def test_domain_errors_map_to_the_api_answers(error: errors.ServiceError, status: int, code: str, message: str) -> None:
    assert (http_status(error), error.code, error.message, str(error)) == (status, code, message, message)


def test_every_domain_error_has_an_http_status() -> None:
    classes = {cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.ServiceError)}
    assert classes - {errors.ServiceError} == {type(error) for error, *_ in DOMAIN_ERRORS}
    assert all(cls in STATUS_BY_ERROR for cls in classes - {errors.ServiceError})
    assert http_status(ApiError(418, "teapot", "no")) == 418


@pytest.mark.parametrize("action", ["revoke", "suspend", "lift"])
def test_status_change_with_the_registry_unreachable_is_503(
    service: ServiceHarness, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    """Every status change answers 503 chain_unavailable (never 500) when no registry can be opened."""
    from ecoo.errors import ChainUnavailableError

    created = service.create(service.certificate(f"TH-DOWN-{action}"))
    service.anchor()
    chain = service.app.extensions["ecoo"].chain
    if action == "lift":
        suspended = service.client.post(f"/api/v1/certificates/{created['id']}/suspend", json={}, headers=service.auth)
        assert suspended.status_code == 200, suspended.json

    def down() -> Any:
        raise ChainUnavailableError("http://127.0.0.1:9")

    monkeypatch.setattr(chain, "registry", down)
    body = {"reason": "error"} if action == "revoke" else {}
    answer = service.client.post(f"/api/v1/certificates/{created['id']}/{action}", json=body, headers=service.auth)
    assert answer.status_code == 503 and answer.json["error"] == "chain_unavailable", answer.json


def test_a_certificate_naming_another_signing_key_is_refused(service: ServiceHarness) -> None:
    """issuer.signingAddress, when given, must be the chamber's key: the verifier would call it
    UNTRUSTED_ISSUER, so the service must not anchor it."""
    certificate = service.certificate("TH-OTHER-KEY")
    certificate["issuer"]["signingAddress"] = "0x" + "11" * 20
    answer = service.client.post("/api/v1/certificates", json=certificate, headers=service.auth)
    assert answer.status_code == 422 and answer.json["error"] == "invalid_certificate", answer.json
    assert any(issue["path"].startswith("/issuer") for issue in answer.json["details"][0]["issues"])
    certificate["issuer"]["signingAddress"] = service.address
    assert service.client.post("/api/v1/certificates", json=certificate, headers=service.auth).status_code == 202
