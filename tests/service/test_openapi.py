"""The OpenAPI document (GET /api/v1/openapi.json) stays true: it is a valid OpenAPI 3.1
document; it describes every /api route of the app and nothing else; its enums are the code's;
and every real response of the API — success and error, with a real Anvil and a real database —
has a status its operation declares, a declared content type and required headers, and a body
that validates against the declared schema (JSON Schema 2020-12). Every status the document
declares is produced at least once (a short list of exemptions says why not).

An endpoint added without documenting it fails ``test_every_route_is_documented``; a new status
or a changed response shape fails ``test_real_responses_match_the_document``."""

from __future__ import annotations

import base64
import copy
import io
import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from werkzeug.test import TestResponse

from ecoo import protocol, verify
from ecoo.anvil import ManagedAnvil, free_port
from ecoo.examples import example_certificate
from ecoo.registry import CertificateStatus, IssuerStatus, RevocationReason
from ecoo.schema import load_schema
from ecoo.service import api_issuer, issuance, views
from ecoo.service.app import create_app
from ecoo.service.config import ServiceSettings
from tests.support.service import ServiceHarness, make_service

OPENAPI = "/api/v1/openapi.json"
CERTS = "/api/v1/certificates"
SPEC_URI = "urn:ecoo:openapi"  # base URI of the document in the validators' registry
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

# Documented statuses that no request here provokes, and why. (500 is documented on every
# operation, for an unexpected error, and provoked nowhere.)
UNPROVOKED = {
    ("/api/v1/certificates/{id}/copy", "post", "422"): "a copy of a valid issued certificate is valid; kept in case rules change",
}


# -- the contract --------------------------------------------------------------------------------


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class Contract:
    """The served OpenAPI document, and checks of real responses against it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(spec))
        self.routes: list[tuple[re.Pattern[str], str]] = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"), template)
            for template in spec["paths"]
        ]
        self.documented = {
            (template, method, status)
            for template, item in spec["paths"].items()
            for method, operation in item.items()
            if method in HTTP_METHODS
            for status in operation["responses"]
        }
        self.seen: set[tuple[str, str, str]] = set()

    def resolve(self, node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
        """Follow OpenAPI-level references (responses, headers): the object and its JSON Pointer."""
        while "$ref" in node:
            target = node["$ref"]
            assert target.startswith("#/"), f"non-local reference {target} at {pointer}"
            pointer = target[1:]
            node = self.spec
            for token in pointer[1:].split("/"):
                node = node[token.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def validate(self, instance: Any, pointer: str, what: str) -> None:
        validator = Draft202012Validator(
            {"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        error = best_match(validator.iter_errors(instance))
        if error is not None:
            where = "/" + "/".join(str(p) for p in error.absolute_path)
            pytest.fail(f"{what}: body{where if where != '/' else ''} breaks {pointer}: {error.message}", pytrace=False)

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        for pattern, template in self.routes:
            if pattern.match(path):
                operation = self.spec["paths"][template].get(method.lower())
                assert operation is not None, f"{method} {path}: the document has {template} but no {method.lower()} on it"
                return template, operation
        raise AssertionError(f"{method} {path}: no path of the document matches")

    def check(self, method: str, url: str, response: TestResponse) -> None:
        path = urlsplit(url).path
        what = f"{method} {url} -> {response.status_code}"
        template, operation = self.operation(method, path)
        status = str(response.status_code)
        assert status in operation["responses"], f"{what}: status {status} is not documented for {method} {template}"
        base = f"/paths/{_escape(template)}/{method.lower()}/responses/{status}"
        declared, pointer = self.resolve(operation["responses"][status], base)
        for name, header in declared.get("headers", {}).items():
            header, header_pointer = self.resolve(header, f"{pointer}/headers/{_escape(name)}")
            if name not in response.headers:
                assert not header.get("required"), f"{what}: required header {name} is missing"
                continue
            if "schema" in header:
                self.validate(response.headers[name], f"{header_pointer}/schema", f"{what} header {name}")
        content = declared.get("content")
        if not content:
            assert response.data == b"", f"{what}: a body where the document declares none"
        else:
            assert response.mimetype in content, f"{what}: content type {response.mimetype} is not one of {sorted(content)}"
            if response.mimetype == "application/json":
                body = json.loads(response.get_data(as_text=True))
                self.validate(body, f"{pointer}/content/{_escape(response.mimetype)}/schema", what)
            elif response.mimetype == "application/pdf":
                assert response.data.startswith(b"%PDF-"), f"{what}: not a PDF"
            elif response.mimetype == "text/csv":
                assert response.get_data(as_text=True).startswith("table,key,count\r\n"), f"{what}: not the statistics CSV"
            else:
                raise AssertionError(f"{what}: no check for {response.mimetype}; add one")
        self.seen.add((template, method.lower(), status))


class Api:
    """Requests through the Flask test client, each checked against the contract."""

    def __init__(self, client: FlaskClient, contract: Contract, token: str | None = None) -> None:
        self.client, self.contract = client, contract
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}

    def __call__(self, method: str, url: str, expect: int, *, auth: bool = True, **kwargs: Any) -> TestResponse:
        headers = {**(self.auth if auth else {}), **kwargs.pop("headers", {})}
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        assert response.status_code == expect, f"{method} {url}: {response.status_code} {response.get_data(as_text=True)[:800]}"
        self.contract.check(method, url, response)
        return response

    def json(self, method: str, url: str, expect: int, **kwargs: Any) -> Any:
        return self(method, url, expect, **kwargs).get_json()


def served_document(client: FlaskClient) -> dict[str, Any]:
    response = client.get(OPENAPI)
    assert response.status_code == 200 and response.mimetype == "application/json", (
        f"GET {OPENAPI}: {response.status_code} {response.mimetype} (is api_docs.bp registered in create_app?)"
    )
    document: dict[str, Any] = response.get_json()
    return document


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The service with no chain at all (nothing here needs one)."""
    env = {
        "ECOO_RPC_URL": f"http://127.0.0.1:{free_port()}",
        "ECOO_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
        "ECOO_DATA_DIR": str(tmp_path / "data"),
        "ECOO_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ECOO_WORKER": "0",
    }
    application = create_app(ServiceSettings.from_env(env))
    yield application
    application.extensions["ecoo"].store.close()


# -- the document itself --------------------------------------------------------------------------


def test_document_is_valid_openapi_31(app: Flask) -> None:
    spec = served_document(app.test_client())
    assert spec["openapi"] == "3.1.0" and spec["servers"] == [{"url": "/", "description": "This service."}]
    validate_openapi(spec)  # the OpenAPI 3.1 schema, every $ref resolvable, path parameters declared
    Contract(spec).check("GET", OPENAPI, app.test_client().get(OPENAPI))
    for template, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method} {template}"
            assert operation["operationId"] and operation["summary"], where
            assert "500" in operation["responses"], where
            if operation["security"]:
                assert operation["security"] == [{"bearerAuth": []}] and "401" in operation["responses"], where
            else:
                assert "401" not in operation["responses"], where


def test_every_route_is_documented_and_nothing_else(app: Flask) -> None:
    spec = served_document(app.test_client())

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    routes = {
        (shape(re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {(shape(path), method) for path, item in spec["paths"].items() for method in item if method in HTTP_METHODS}
    assert routes - documented == set(), "routes the OpenAPI document does not describe (add them to service/openapi.json)"
    assert documented - routes == set(), "operations the OpenAPI document describes that the app does not have"


def test_enums_and_constants_are_the_codes(app: Flask) -> None:
    spec = served_document(app.test_client())
    schemas = spec["components"]["schemas"]
    assert schemas["Verdict"]["enum"] == [v.value for v in verify.Verdict]
    assert schemas["CheckStatus"]["enum"] == [s.value for s in verify.CheckStatus]
    assert schemas["CheckName"]["enum"] == list(verify.CHECKS)
    assert [
        c["properties"]["name"]["const"] for c in schemas["VerificationReport"]["properties"]["checks"]["prefixItems"]
    ] == list(verify.CHECKS)
    assert schemas["CertificateStatus"]["enum"] == list(api_issuer.STATUSES)
    assert schemas["IssuerStatus"]["enum"] == [s.name for s in IssuerStatus]
    view = schemas["RegistryView"]["properties"]
    assert view["status"]["enum"] == [s.name for s in CertificateStatus]
    assert view["reason"]["enum"] == [r.name for r in RevocationReason]
    assert sorted(schemas["RevokeRequest"]["properties"]["reason"]["enum"]) == sorted(issuance.REASONS)
    assert spec["components"]["parameters"]["CertificateId"]["schema"]["maximum"] == views.MAX_ID
    (after,) = (p for p in spec["paths"][CERTS]["get"]["parameters"] if p["name"] == "after")
    assert after["schema"]["maximum"] == views.MAX_ID
    assert schemas["BatchRequest"]["properties"]["certificates"]["maxItems"] == issuance.MAX_BATCH
    assert schemas["VerifyBatchRequest"]["properties"]["documents"]["maxItems"] == issuance.MAX_BATCH
    assert schemas["IssuedDocument"]["properties"]["ecoo"]["const"] == protocol.FORMAT
    assert schemas["Proof"]["properties"]["type"]["const"] == protocol.PROOF_TYPE
    shipped = load_schema()
    assert schemas["Scheme"]["enum"] == shipped["properties"]["scheme"]["enum"]
    # The embedded certificate schema is the shipped one.
    embedded = schemas["CertificateOfOrigin"]
    assert "$id" not in embedded and set(embedded["$defs"]) == set(shipped["$defs"])
    assert embedded["properties"].keys() == shipped["properties"].keys() and embedded["required"] == shipped["required"]
    contract = Contract(spec)
    contract.validate(example_certificate("RCEP"), "/components/schemas/CertificateOfOrigin", "an example certificate")
    bad = example_certificate("RCEP")
    bad["items"][0]["originCountry"] = "Thailand"
    with pytest.raises(pytest.fail.Exception, match="originCountry"):
        contract.validate(bad, "/components/schemas/CertificateOfOrigin", "a bad certificate")


# -- real responses -------------------------------------------------------------------------------


def _big(settings: ServiceSettings) -> bytes:
    return b'{"x": "' + b"a" * settings.max_body_bytes + b'"}'


def _upload(data: bytes, name: str) -> dict[str, Any]:
    return {"file": (io.BytesIO(data), name)}


def test_real_responses_match_the_document(service: ServiceHarness, own_chain: ManagedAnvil, tmp_path: Path) -> None:
    contract = Contract(served_document(service.client))
    api = Api(service.client, contract, service.token)
    cert = service.certificate
    big = _big(service.settings)
    json_type = "application/json"

    api("GET", OPENAPI, 200, auth=False)
    health = api.json("GET", "/api/v1/health", 200, auth=False)
    assert health["status"] == "ok"

    # -- creating --------------------------------------------------------------------------------
    created = api.json("POST", CERTS, 202, json=cert("OA-1"))
    assert created["status"] == "PENDING" and created["links"]["document"] is None
    api("POST", CERTS, 401, auth=False, json=cert("OA-X"))
    api("POST", CERTS, 401, auth=False, json=cert("OA-X"), headers={"Authorization": "Bearer ecoo_wrong"})
    api("POST", CERTS, 400, data=b'{"a": 1, "a": 2}', content_type=json_type)
    api("POST", CERTS, 400, json=[1, 2])
    api("POST", CERTS, 415, data=b"certificateNumber=1", content_type="application/x-www-form-urlencoded")
    invalid = api.json("POST", CERTS, 422, json={"hello": "world"})
    assert invalid["details"][0]["index"] == 0
    duplicate = api.json("POST", CERTS, 409, json=cert("OA-1"))
    assert duplicate["details"] == {"existingId": created["id"]}
    api("POST", CERTS, 413, data=big, content_type=json_type)

    batch = api.json("POST", f"{CERTS}/batch", 202, json={"certificates": [cert(f"OA-B-{i}") for i in range(4)]})
    b0, b1, b2, b3 = (c["id"] for c in batch["certificates"])
    api("POST", f"{CERTS}/batch", 401, auth=False, json={"certificates": [cert("OA-X")]})
    api("POST", f"{CERTS}/batch", 400, json={"certificates": []})
    api("POST", f"{CERTS}/batch", 400, json={"nope": []})
    api("POST", f"{CERTS}/batch", 400, data=b"{", content_type=json_type)
    too_many = api.json("POST", f"{CERTS}/batch", 400, json={"certificates": [{}] * (issuance.MAX_BATCH + 1)})
    assert too_many["error"] == "batch_too_large"  # the body breaks the request schema's maxItems
    api("POST", f"{CERTS}/batch", 413, data=big, content_type=json_type)
    api("POST", f"{CERTS}/batch", 415, data=b"x", content_type="text/plain")
    two_bad = api.json("POST", f"{CERTS}/batch", 422, json={"certificates": [cert("OA-X"), {"a": 1}, cert("OA-X")]})
    assert [p["index"] for p in two_bad["details"]] == [1, 2]
    api("POST", f"{CERTS}/batch", 409, json={"certificates": [cert("OA-NEW"), cert("OA-1")]})

    # -- pending ---------------------------------------------------------------------------------
    one = f"{CERTS}/{created['id']}"
    pending = api.json("GET", one, 200)
    assert pending["anchor"] is None and [e["action"] for e in pending["audit"]] == ["CREATED"]
    api("GET", one + "/document", 409)
    api("GET", one + "/pdf", 409)
    withdrawn = api.json("POST", CERTS, 202, json=cert("OA-W"))
    assert api.json("POST", f"{CERTS}/{withdrawn['id']}/revoke", 200, json={"reason": "error"})["status"] == "CANCELLED"
    api("GET", f"/api/v1/lookup?issuer={service.address}&number=OA-1", 404, auth=False)  # not anchored yet

    assert service.anchor() == 5

    # -- reading ---------------------------------------------------------------------------------
    detail = api.json("GET", one, 200)
    assert detail["status"] == "ISSUED" and detail["anchor"]["issuer"] == service.address
    document = api.json("GET", one + "/document", 200)
    pdf = api("GET", one + "/pdf", 200).data
    for suffix in ("", "/document", "/pdf"):
        api("GET", f"{CERTS}/999999{suffix}", 404)
        api("GET", one + suffix, 401, auth=False)
    listed = api.json("GET", f"{CERTS}?status=ISSUED&limit=2", 200)
    assert len(listed["certificates"]) == 2 and listed["next"] is not None
    assert api.json("GET", f"{CERTS}?after={listed['next']}&destination=AU", 200)["next"] is None
    api("GET", f"{CERTS}?number=OA-1&from=2000-01-01&to=2999-12-31", 200)
    api("GET", f"{CERTS}?status=NOPE", 400)
    api("GET", f"{CERTS}?limit=x", 400)
    for query in ("to=", "from=", "status=", "destination=", "number=", "after=", "limit=", "to=2026-02-30", "after=0"):
        assert api.json("GET", f"{CERTS}?{query}", 400)["error"] == "invalid_filter", query
    for huge_id in (views.MAX_ID, views.MAX_ID + 1, 2**63, 10**30):
        # Past the ids the databases hold: a bad filter, or no such certificate; never a 500.
        api("GET", f"{CERTS}?after={huge_id}", 200 if huge_id <= views.MAX_ID else 400)
        for suffix in ("", "/document", "/pdf"):
            api("GET", f"{CERTS}/{huge_id}{suffix}", 404)
        for name in ("revoke", "suspend", "lift", "supersede", "copy"):
            api("POST", f"{CERTS}/{huge_id}/{name}", 404, json={"reason": "fraud"})
    api("GET", f"{CERTS}?number=%00", 400)
    api("GET", CERTS, 401, auth=False)
    stats = "/api/v1/statistics"
    assert api.json("GET", stats, 200)["issued"] >= 4
    api("GET", f"{stats}?format=csv", 200)
    api("GET", f"{stats}?from=2026-02-30", 400)
    api("GET", stats, 401, auth=False)
    docs = {i: api.json("GET", f"{CERTS}/{i}/document", 200) for i in (b0, b1, b2, b3)}

    # -- verifying -------------------------------------------------------------------------------
    verify_url = "/api/v1/verify"
    assert api.json("POST", verify_url, 200, auth=False, json=document)["verdict"] == "VALID"
    assert (
        api.json("POST", verify_url, 200, auth=False, data=_upload(json.dumps(document).encode(), "co.json"))["verdict"]
        == "VALID"
    )
    assert api.json("POST", verify_url, 200, auth=False, data=pdf, content_type="application/pdf")["verdict"] == "VALID"
    assert api.json("POST", verify_url, 200, auth=False, data=_upload(pdf, "co.pdf"))["verdict"] == "VALID"
    redacted = api.json("POST", verify_url, 200, auth=False, json=protocol.redact(document, ["consignee"]))
    assert redacted["verdict"] == "VALID" and redacted["withheld"] == ["/consignee"]
    tampered = copy.deepcopy(document)
    tampered["certificate"]["items"][0]["originCountry"] = "CN"
    assert api.json("POST", verify_url, 200, auth=False, json=tampered)["failedCheck"] == "integrity"
    malformed = copy.deepcopy(document)
    malformed["certificate"]["items"][0]["hsCode"] = "62"
    assert api.json("POST", verify_url, 200, auth=False, json=malformed)["formatIssues"]
    not_a_document = api.json("POST", verify_url, 200, auth=False, json=[1, 2])
    assert (not_a_document["verdict"], not_a_document["presented"], not_a_document["registryView"]) == ("INVALID", None, None)
    odd = api.json("POST", verify_url, 200, auth=False, json={"ecoo": protocol.FORMAT, "certificate": 5})
    assert odd["presented"] == 5  # echoed as presented, whatever it is
    api("POST", verify_url, 400, auth=False, data=b"{", content_type=json_type)
    api("POST", verify_url, 400, auth=False, data=_upload(b"{", "co.json"))
    api("POST", verify_url, 400, auth=False, data={}, content_type="multipart/form-data")
    api("POST", verify_url, 400, auth=False, data=b"%PDF-1.4 garbage", content_type="application/pdf")
    api("POST", verify_url, 415, auth=False, data=b"x", content_type="text/plain")
    api("POST", verify_url, 413, auth=False, data=big, content_type=json_type)

    verify_batch = "/api/v1/verify/batch"
    reports = api.json("POST", verify_batch, 200, auth=False, json={"documents": [document, tampered, {}]})["reports"]
    assert [r["verdict"] for r in reports] == ["VALID", "INVALID", "INVALID"]
    api("POST", verify_batch, 400, auth=False, json={"documents": []})
    api("POST", verify_batch, 400, auth=False, json=[document])
    api("POST", verify_batch, 400, auth=False, data=b"[", content_type=json_type)
    assert (
        api.json("POST", verify_batch, 400, auth=False, json={"documents": [{}] * (issuance.MAX_BATCH + 1)})["error"]
        == "batch_too_large"
    )
    api("POST", verify_batch, 413, auth=False, data=big, content_type=json_type)
    api("POST", verify_batch, 415, auth=False, data=b"x", content_type="text/plain")

    lookup = "/api/v1/lookup"
    assert api.json("GET", f"{lookup}?leaf={created['leaf']}", 200, auth=False)["reports"][0]["verdict"] == "VALID"
    api("GET", f"{lookup}?issuer={service.address}&number=OA-1", 200, auth=False)
    for query in ("leaf=0x12", "issuer=0x12&number=1", f"issuer={service.address}", ""):
        api("GET", f"{lookup}?{query}", 400, auth=False)
    api("GET", f"{lookup}?issuer={service.address}&number=UNKNOWN", 404, auth=False)
    api("GET", f"{lookup}?issuer={service.address}&number=%00", 400, auth=False)

    # -- hostile JSON: one bounded reader, a 400 (never a crash, never a 500) ----------------------
    deep = b"[" * 70_000 + b"]" * 70_000
    surrogate = json.dumps(cert("OA-S")).replace('"OA-S"', '"OA-\\ud800"').encode()
    for url, auth in ((verify_url, False), (verify_batch, False), (CERTS, True), (f"{CERTS}/batch", True)):
        assert api.json("POST", url, 400, auth=auth, data=deep, content_type=json_type)["error"] == "malformed_json"
        refused = api.json("POST", url, 400, auth=auth, data=surrogate, content_type=json_type)
        assert "lone UTF-16 surrogate" in refused["message"], refused
    api("POST", verify_url, 400, auth=False, data=_upload(deep, "deep.json"))
    api("POST", verify_url, 400, auth=False, data=_upload(surrogate, "surrogate.json"))

    # -- status changes --------------------------------------------------------------------------
    def action(certificate_id: int, name: str) -> str:
        return f"{CERTS}/{certificate_id}/{name}"

    assert api.json("POST", action(b0, "revoke"), 200, json={"reason": "fraud"})["status"] == "REVOKED"
    api("POST", action(b0, "revoke"), 409, json={"reason": "error"})
    api("POST", action(b1, "revoke"), 400, json={"reason": "oops"})
    api("POST", action(b1, "revoke"), 400)
    api("POST", action(b1, "revoke"), 400, data=b"{", content_type=json_type)
    api("POST", action(b1, "revoke"), 415, data=b"reason=fraud", content_type="application/x-www-form-urlencoded")
    api("POST", action(b1, "revoke"), 413, data=big, content_type=json_type)
    api("POST", action(999999, "revoke"), 404, json={"reason": "fraud"})
    api("POST", action(b1, "revoke"), 401, auth=False, json={"reason": "fraud"})
    assert api.json("POST", verify_url, 200, auth=False, json=docs[b0])["verdict"] == "REVOKED"

    assert api.json("POST", action(b1, "suspend"), 200, json={"reason": "enquiry 42"})["reason"] == "enquiry 42"
    api("POST", action(b1, "suspend"), 409)
    api("POST", action(b2, "suspend"), 400, json=["enquiry"])
    assert api.json("POST", action(b2, "suspend"), 400, json={"reason": 42})["error"] == "invalid_reason"
    api("POST", action(b2, "suspend"), 415, data=b"x", content_type="text/plain")
    api("POST", action(b2, "suspend"), 413, data=big, content_type=json_type)
    api("POST", action(999999, "suspend"), 404)
    api("POST", action(b2, "suspend"), 401, auth=False)
    suspended = api.json("POST", verify_url, 200, auth=False, json=docs[b1])
    assert suspended["verdict"] == "SUSPENDED" and suspended["registryView"]["status"] == "SUSPENDED"
    assert api.json("POST", action(b1, "lift"), 200)["status"] == "ISSUED"
    api("POST", action(b1, "lift"), 409)
    api("POST", action(999999, "lift"), 404)
    api("POST", action(b1, "lift"), 401, auth=False)

    # -- another process follows the chain: a change is accepted (202) with its intent in flight --
    objects = service.app.extensions["ecoo"]
    registry = objects.chain.registry()

    def other_follows() -> None:
        assert objects.store.chain_repository.acquire_lease(registry.address, registry.chain_id, 0, "other-process", 60)

    def released() -> None:
        objects.store.chain_repository.release_lease(registry.address, "other-process")
        service.anchor()

    other_follows()
    accepted = api.json("POST", action(b2, "suspend"), 202, json={"reason": "enquiry 43"})
    assert accepted["status"] == "ISSUED" and accepted["intent"]["kind"] == "SUSPEND" and accepted["intent"]["state"] == "SENT"
    assert api.json("POST", action(b2, "suspend"), 409)["error"] == "change_in_progress"
    released()
    assert api.json("GET", f"{CERTS}/{b2}", 200)["status"] == "SUSPENDED"
    other_follows()
    assert api.json("POST", action(b2, "lift"), 202)["intent"]["kind"] == "LIFT"
    released()
    other_follows()
    batched = api.json("POST", CERTS, 202, json=service.certificate("OA-CANCEL"))
    service.anchor()  # the worker sends the anchor; the follower (another process's) has not recorded it
    cancel = api.json("POST", action(batched["id"], "revoke"), 202, json={"reason": "cancelled"})
    assert cancel["status"] == "PENDING" and cancel["intent"]["state"] == "QUEUED"
    released()  # the anchor is recorded, then the cancel is sent as a revoke (Cancelled)
    assert api.json("GET", f"{CERTS}/{batched['id']}", 200)["status"] == "CANCELLED"
    cancelled_document = api.json("GET", f"{CERTS}/{batched['id']}/document", 200)
    assert api.json("POST", verify_url, 200, auth=False, json=cancelled_document)["verdict"] == "CANCELLED"

    amended = copy.deepcopy(docs[b1]["certificate"])
    amended["certificateNumber"] = "OA-B-1-A"
    replaced = api.json("POST", action(b1, "supersede"), 202, json={"certificate": amended, "reason": "quantity corrected"})
    assert (replaced["original"]["status"], replaced["replacement"]["status"]) == ("SUPERSEDED", "PENDING")
    api("POST", action(b1, "supersede"), 409, json={"certificate": amended, "reason": "again"})
    taken = copy.deepcopy(amended)
    taken["certificateNumber"] = "OA-1"
    assert api.json("POST", action(b2, "supersede"), 409, json={"certificate": taken, "reason": "x"})["details"]["existingId"]
    invalid_amendment = copy.deepcopy(amended)
    invalid_amendment["certificateNumber"] = "OA-B-2-A"
    invalid_amendment["importCountry"] = "XX"
    api("POST", action(b2, "supersede"), 422, json={"certificate": invalid_amendment, "reason": "x"})
    api("POST", action(b2, "supersede"), 400, json={"certificate": amended})
    api("POST", action(b2, "supersede"), 400, json={"certificate": "no", "reason": "x"})
    api("POST", action(b2, "supersede"), 400, json=[])
    api("POST", action(b2, "supersede"), 415, data=b"x", content_type="text/plain")
    api("POST", action(b2, "supersede"), 413, data=big, content_type=json_type)
    api("POST", action(999999, "supersede"), 404, json={"certificate": amended, "reason": "x"})
    api("POST", action(b2, "supersede"), 401, auth=False, json={"certificate": amended, "reason": "x"})

    copied = api.json("POST", action(created["id"], "copy"), 202)
    assert copied["original"]["successorLeaf"] == copied["replacement"]["leaf"]
    api("POST", action(created["id"], "copy"), 409)
    api("POST", action(999999, "copy"), 404)
    api("POST", action(b2, "copy"), 401, auth=False)

    assert service.anchor() == 2
    assert api.json("POST", verify_url, 200, auth=False, json=document)["verdict"] == "SUPERSEDED"
    copy_document = api.json("GET", f"{CERTS}/{copied['replacement']['id']}/document", 200)
    assert api.json("POST", verify_url, 200, auth=False, json=copy_document)["verdict"] == "VALID"
    assert len(api.json("GET", f"{lookup}?issuer={service.address}&number=OA-1", 200, auth=False)["reports"]) == 2
    audit = api.json("GET", f"{CERTS}/{b1}", 200)["audit"]
    assert [e["action"] for e in audit] == ["CREATED", "ISSUED", *("REQUESTED", "SUSPENDED"), *("REQUESTED", "ISSUED"), *("REQUESTED", "SUPERSEDED")]

    # -- the chain goes down under a running service ---------------------------------------------
    outage = make_service(tmp_path / "outage", own_chain)
    try:
        down = Api(outage.client, contract, outage.token)
        ids = [down.json("POST", CERTS, 202, json=outage.certificate(f"OD-{i}"))["id"] for i in range(3)]
        outage.anchor()
        down("POST", action(ids[1], "suspend"), 200)
        outage_document = down.json("GET", f"{CERTS}/{ids[0]}/document", 200)
        own_chain.stop()

        down("POST", action(ids[0], "revoke"), 503, json={"reason": "error"})
        down("POST", action(ids[0], "suspend"), 503)
        down("POST", action(ids[1], "lift"), 503)
        outage_amended = copy.deepcopy(outage_document["certificate"])
        outage_amended["certificateNumber"] = "OD-0-A"
        down("POST", action(ids[0], "supersede"), 503, json={"certificate": outage_amended, "reason": "x"})
        down("POST", action(ids[2], "copy"), 503)
        unavailable = down.json("POST", verify_url, 503, auth=False, json=outage_document)
        assert unavailable["verdict"] == "UNAVAILABLE" and unavailable["checks"][4]["status"] == "UNAVAILABLE"
        down("POST", verify_batch, 503, auth=False, json={"documents": [outage_document, {}]})
        down("GET", f"{lookup}?leaf={outage_document['proof']['leaf']}", 503, auth=False)
        down("GET", "/api/v1/health", 200, auth=False)

        # A service that starts while the chain is down cannot sign (it does not know the registry).
        cold = create_app(outage.settings)
        try:
            cold_api = Api(cold.test_client(), contract, outage.token)
            assert cold_api.json("GET", "/api/v1/health", 200, auth=False)["chain"]["reachable"] is False
            cold_api("POST", CERTS, 503, json=outage.certificate("OD-COLD"))
            cold_api("POST", f"{CERTS}/batch", 503, json={"certificates": [outage.certificate("OD-COLD")]})
            unknown = cold_api.json("POST", verify_url, 503, auth=False, json=outage_document)
            assert unknown["checks"][3] == {
                "name": "registry",
                "status": "UNAVAILABLE",
                "message": "chain unavailable: the trusted registry is unknown",
            }
        finally:
            cold.extensions["ecoo"].store.close()
    finally:
        outage.app.extensions["ecoo"].store.close()

    # -- every documented status was produced ----------------------------------------------------
    missing = {(t, m, s) for t, m, s in contract.documented - contract.seen if s != "500" and (t, m, s) not in UNPROVOKED}
    assert not missing, "documented statuses no request produced: " + ", ".join(
        f"{m.upper()} {t} {s}" for t, m, s in sorted(missing)
    )


def test_a_number_with_a_slash(service: ServiceHarness) -> None:
    """A number with '/' goes through query strings and file names (Content-Disposition) as documented."""
    contract = Contract(served_document(service.client))
    api = Api(service.client, contract, service.token)
    number = "TH/2026/0007.A_b-1"
    created = api.json("POST", CERTS, 202, json=service.certificate(number))
    service.anchor()
    download = api("GET", f"{CERTS}/{created['id']}/document", 200)
    assert download.headers["Content-Disposition"] == 'attachment; filename="TH_2026_0007.A_b-1.json"'
    found = api.json("GET", f"/api/v1/lookup?issuer={service.address}&number={quote(number, safe='')}", 200, auth=False)
    assert found["reports"][0]["certificateNumber"] == number
    listed = api.json("GET", f"{CERTS}?number={quote(number, safe='')}", 200)
    assert [c["number"] for c in listed["certificates"]] == [number]
