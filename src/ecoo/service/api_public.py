"""Public verification API (no account): verify a presented certificate (JSON or PDF), a list,
or look one up by issuer and number. A chain that cannot be reached gives 503 + UNAVAILABLE."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, jsonify, request

from .._io import InputError, parse_json
from ..protocol import CORE, redact, split_units
from ..verify import Verdict, VerificationReport
from .http import json_body, services
from .issuance import MAX_BATCH, ApiError

bp = Blueprint("public_api", __name__)

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_LEAF = re.compile(r"^0x[0-9a-fA-F]{64}$")


def report_json(report: VerificationReport, document: Any) -> dict[str, Any]:
    body = report.to_json()
    body["presented"] = document.get("certificate") if isinstance(document, dict) else None
    return body


def _status(reports: list[VerificationReport]) -> int:
    return 503 if any(r.verdict is Verdict.UNAVAILABLE for r in reports) else 200


def presented_document() -> Any:
    """The document in the request: a JSON body, a raw PDF, or a multipart upload (JSON or PDF)."""
    if request.mimetype == "application/json":
        return json_body()
    if request.mimetype == "application/pdf":
        return _from_pdf(request.get_data())
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ApiError(400, "missing_file", "upload the certificate as form field 'file' (JSON or PDF)")
        data = upload.read(services().settings.max_body_bytes + 1)
        if data.startswith(b"%PDF"):
            return _from_pdf(data)
        try:
            return parse_json(data, upload.filename)
        except InputError as exc:
            raise ApiError(400, "malformed_json", str(exc)) from None
    raise ApiError(415, "unsupported_media_type", "send application/json, application/pdf or multipart/form-data")


def _from_pdf(data: bytes) -> Any:
    from ..pdf import PdfError, extract_document

    try:
        return extract_document(data)
    except PdfError as exc:
        raise ApiError(400, "not_an_ecoo_pdf", str(exc)) from None


@bp.post("/verify")
def verify_one() -> Any:
    document = presented_document()
    report = services().chain.verifier().verify(document)
    return jsonify(report_json(report, document)), _status([report])


@bp.post("/verify/batch")
def verify_batch() -> Any:
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("documents"), list):
        raise ApiError(400, "invalid_body", 'send {"documents": [ ... ]}')
    documents = body["documents"]
    if not documents:
        raise ApiError(400, "empty", "no documents given")
    if len(documents) > MAX_BATCH:
        raise ApiError(413, "batch_too_large", f"at most {MAX_BATCH} documents per request")
    reports = services().chain.verifier().verify_many(documents)
    return jsonify({"reports": [report_json(r, d) for r, d in zip(reports, documents, strict=True)]}), _status(reports)


def lookup_documents(issuer: str | None, number: str | None, leaf: str | None) -> list[dict[str, Any]]:
    """Issued documents the service holds for (issuer, number) or for a leaf; ApiError if none."""
    store = services().store
    if leaf:
        if not _LEAF.match(leaf):
            raise ApiError(400, "invalid_leaf", "leaf must be 0x followed by 64 hex digits")
        row = store.find_by_leaf(leaf)
        rows = [row] if row else []
    else:
        if not issuer or not _ADDRESS.match(issuer) or not number:
            raise ApiError(400, "invalid_lookup", "give issuer (0x address) and number, or leaf")
        chamber_id = store.chamber_by_address(issuer)
        rows = store.find_by_number(chamber_id, number) if chamber_id is not None else []
    # What the service holds is the complete certificate; a public lookup must not reveal what a
    # holder may withhold (a redacted copy has the same leaf). Show the core only: it still verifies.
    documents = [public_view(row.document) for row in rows if row.document]
    if not documents:
        what = f"leaf {leaf}" if leaf else f"certificate {number!r} of issuer {issuer}"
        pending = any(row.document is None for row in rows)
        raise ApiError(404, "not_found", f"{what} is {'not anchored yet' if pending else 'not known to this service'}")
    return documents


def public_view(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every redactable part withheld (the leaf, and so the verdict, unchanged)."""
    units = [unit for unit in split_units(document["certificate"]) if unit != CORE]
    return redact(document, units) if units else document


@bp.get("/lookup")
def lookup() -> Any:
    documents = lookup_documents(request.args.get("issuer"), request.args.get("number"), request.args.get("leaf"))
    reports = services().chain.verifier().verify_many(documents)
    return jsonify({"reports": [report_json(r, d) for r, d in zip(reports, documents, strict=True)]}), _status(reports)


@bp.get("/health")
def health() -> Any:
    svc = services()
    try:
        chain_id, registry = svc.chain.identity()
        block = svc.chain.registry().w3.eth.block_number  # a live request, not the cached identity
        chain: dict[str, Any] = {"reachable": True, "chainId": chain_id, "registry": registry, "block": block}
    except Exception as exc:  # noqa: BLE001 - health reports, never fails
        chain = {"reachable": False, "error": str(exc)}
    worker = {"running": svc.settings.worker, "failures": svc.worker.failures, "lastError": svc.worker.last_error}
    return jsonify(
        {
            "status": "ok" if chain["reachable"] else "degraded",
            "chain": chain,
            "worker": worker,
            "schemaVersion": svc.store.version(),
        }
    )
