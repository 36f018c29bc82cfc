"""Public verification API (no account): verify a presented certificate (JSON or PDF), a list,
or look one up by issuer and number. A chain that cannot be reached gives 503 + UNAVAILABLE."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from ..errors import InputError
from ..files import parse_json
from ..verify import Verdict, VerificationReport
from .http import ApiError, json_body, services
from .issuance import MAX_BATCH
from .views import lookup_documents

bp = Blueprint("public_api", __name__)


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
            return parse_json(data, upload.filename, services().settings.max_body_bytes)
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
        # The request breaks the documented schema (maxItems): a bad request. 413 is for bytes.
        raise ApiError(400, "batch_too_large", f"at most {MAX_BATCH} documents per request")
    reports = services().chain.verifier().verify_many(documents)
    return jsonify({"reports": [report_json(r, d) for r, d in zip(reports, documents, strict=True)]}), _status(reports)


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
        # A fixed phrase, never str(exc): requests and web3 quote the node URL, key and all.
        chain = {"reachable": False, "error": svc.chain.failure(exc)}
    last_error = svc.chain.public_text(svc.worker.last_error)  # public: no credentials, path or query
    worker = {"running": svc.settings.worker, "failures": svc.worker.failures, "lastError": last_error}
    # What the database says beside the chain: how far the follower has read, the changes still on
    # their way, and the certificates the last reconciliation found differing from the chain.
    divergent = svc.store.chain_repository.divergent()
    projection = {
        "followedBlock": svc.store.chain_repository.followed_block(),  # by whichever process follows
        "confirmations": svc.settings.confirmations,
        "intentsInFlight": len(svc.store.intent_repository.open_intents()),
        "divergent": divergent,
    }
    return jsonify(
        {
            # degraded: the chain cannot be reached, the worker's passes fail, or the projection differs
            "status": "ok" if chain["reachable"] and not divergent and not svc.worker.last_error else "degraded",
            "chain": chain,
            "worker": worker,
            "projection": projection,
            "schemaVersion": svc.store.version(),
        }
    )
