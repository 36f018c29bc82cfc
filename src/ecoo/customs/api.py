"""The customs service's own API (``/api/v1``): health (public), whoami, verify (officer) and the
API tokens of systems (admin). Every action is audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from ..errors import ConfigurationError
from ..service.http import ApiError, json_body
from ..verdicts import Verdict, VerificationReport
from .accounts import ADMIN, OFFICER, create_token, find_token, list_tokens, revoke_token
from .auth import audit, current_actor, objects, require_role
from .store.schema import current_version
from .verifying import MAX_DOCUMENTS, read_pdf, read_upload, report_json, verify_and_log

__all__ = ["bp"]

bp = Blueprint("customs_api", __name__)


@bp.get("/health")
def health() -> Any:
    """What runs and what answers: every trust-list entry with whether it is in force and whether
    one of its nodes answers now. Public, like the chamber service's: it holds nothing secret (node
    URLs are shown as scheme and host only)."""
    built = objects()
    entries = built.registries.health()
    with built.db.transaction() as conn:
        version = current_version(conn)
    degraded = any(e["inForce"] and not e["reachable"] for e in entries)
    return jsonify(
        {
            "status": "degraded" if degraded else "ok",
            "mode": "customs",
            "country": built.settings.country,
            "trustList": {
                "name": built.trust_list.name,
                "sequence": built.trust_list.sequence,
                "issued": built.trust_list.issued,
                "signature": built.trust_check.to_json() if built.trust_check else None,
                "publisherConfigured": built.settings.trust_list_publisher is not None,
                "entries": entries,
            },
            "recordsSigned": built.signer is not None,
            "background": built.settings.background,
            "schemaVersion": version,
        }
    )


@bp.get("/whoami")
@require_role(OFFICER)
def whoami() -> Any:
    return jsonify({"actor": current_actor().to_json(), "country": objects().settings.country})


# -- verify ----------------------------------------------------------------------------------------


def _presented() -> tuple[list[Any], bool]:
    """The documents in the request and whether it held a list: a JSON document or
    ``{"documents": [...]}``, a raw PDF, or a multipart upload of files (JSON or PDF)."""
    if request.mimetype == "application/json":
        body = json_body()
        if isinstance(body, dict) and "documents" in body and "proof" not in body:
            documents = body["documents"]
            if not isinstance(documents, list):
                raise ApiError(400, "invalid_body", 'send one issued document, or {"documents": [ ... ]}')
            return documents, True
        return [body], False
    if request.mimetype == "application/pdf":
        return [read_pdf(request.get_data(), "the PDF")], False
    if request.mimetype == "multipart/form-data":
        uploads = [u for u in request.files.getlist("file") + request.files.getlist("files") if u.filename]
        if not uploads:
            raise ApiError(400, "missing_file", "upload the certificates as form field 'files' (JSON or PDF)")
        if len(uploads) > MAX_DOCUMENTS:
            raise ApiError(400, "batch_too_large", f"at most {MAX_DOCUMENTS} documents per request")
        return [read_upload(u.read(), u.filename or "file") for u in uploads], len(uploads) > 1
    raise ApiError(415, "unsupported_media_type", "send application/json, application/pdf or multipart/form-data")


def _status(reports: list[VerificationReport]) -> int:
    # As the chamber service's: a chain that cannot be reached is the service's failure, not the certificate's.
    return 503 if any(r.verdict is Verdict.UNAVAILABLE for r in reports) else 200


@bp.post("/verify")
@require_role(OFFICER)
def verify() -> Any:
    """Verify one document, a PDF, or ``{"documents": [...]}`` through the trust list; each
    verification is logged (``customs_verifications``)."""
    documents, many = _presented()
    if not documents:
        raise ApiError(400, "empty", "no documents given")
    if len(documents) > MAX_DOCUMENTS:
        raise ApiError(400, "batch_too_large", f"at most {MAX_DOCUMENTS} documents per request")
    reports = verify_and_log(documents, "api", current_actor())
    if not many:
        return jsonify(report_json(reports[0])), _status(reports)
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.verdict.value] = counts.get(report.verdict.value, 0) + 1
    body = {"count": len(reports), "verdicts": dict(sorted(counts.items())), "reports": [report_json(r) for r in reports]}
    return jsonify(body), _status(reports)


# -- API tokens (admin) ----------------------------------------------------------------------------


@bp.post("/tokens")
@require_role(ADMIN)
def create_api_token() -> Any:
    """A new API token for a system: ``{"name": "...", "role": "officer"|"admin"}``; the token is in
    this answer only (only its SHA-256 is stored)."""
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise ApiError(400, "invalid_body", 'send {"name": "...", "role": "officer" | "admin"}')
    role = body.get("role", OFFICER)
    if not isinstance(role, str):
        raise ApiError(400, "invalid_role", "role must be officer or admin")
    with objects().db.transaction() as conn:
        try:
            record, token = create_token(conn, body["name"], role)
        except ConfigurationError as exc:
            raise ApiError(400, "invalid_token_request", str(exc)) from None
        audit("token_created", f"token:{record.id}", {"name": record.name, "role": record.role}, conn)
    return jsonify(record.to_json() | {"token": token}), 201


@bp.get("/tokens")
@require_role(ADMIN)
def list_api_tokens() -> Any:
    """Every API token (never the token itself: it is not stored)."""
    with objects().db.transaction() as conn:
        records = list_tokens(conn)
        audit("tokens_listed", "", {"count": len(records)}, conn)
    return jsonify({"tokens": [r.to_json() for r in records]})


@bp.delete("/tokens/<int(max=2147483647):token_id>")  # the largest id PostgreSQL's integer holds
@require_role(ADMIN)
def revoke_api_token(token_id: int) -> Any:
    """Revoke an API token: requests with it are refused from now on."""
    with objects().db.transaction() as conn:
        if find_token(conn, token_id) is None:
            raise ApiError(404, "not_found", f"no API token {token_id}")
        record = revoke_token(conn, token_id)
        audit("token_revoked", f"token:{token_id}", None, conn)
    assert record is not None
    return jsonify(record.to_json())
