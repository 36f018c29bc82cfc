"""Issuer API (``/api/v1/certificates``): one chamber's certificates, authenticated by its token."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from ..verify import iso_time
from .http import ApiError, json_body, require_chamber, services
from .issuance import MAX_BATCH, Change
from .status import CertificateStatus
from .store import CertificateRow, IntentRow
from .views import ID, MAX_ID, STATUSES, customs_json, download_name, is_date, is_number_filter

bp = Blueprint("issuer_api", __name__)

_DIGITS = re.compile(r"[0-9]{1,19}")


def _integer(args: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    """Query parameter ``name`` as an integer in ``low..high`` (None when absent); 400 otherwise."""
    if name not in args:
        return None
    text = args[name]
    if not _DIGITS.fullmatch(text) or not low <= int(text) <= high:
        raise ApiError(400, "invalid_filter", f"{name} must be an integer from {low} to {high}")
    return int(text)


def intent_json(intent: IntentRow | None) -> dict[str, Any] | None:
    """A change on its way to the registry, as the API shows it beside the chain's status."""
    if intent is None:
        return None
    return {
        "id": intent.id,
        "kind": intent.kind,
        "state": intent.state,
        "reason": intent.reason,
        "attempts": intent.attempts,
        "tx": intent.tx_hash,
        "lastError": services().chain.public_text(intent.last_error),
        "createdAt": iso_time(intent.created_at),
    }


def summary(row: CertificateRow, *, full: bool = False, intent: IntentRow | None | bool = True) -> dict[str, Any]:
    """The certificate as the API shows it: ``status`` is the chain's (as the follower recorded
    it); ``intent`` the change still on its way, if any (``intent=True``: look it up)."""
    base = services().settings.public_url
    if intent is True:
        intent = services().store.intent_repository.open_for(row.id)
    issued = row.document is not None and row.status != CertificateStatus.PENDING
    out: dict[str, Any] = {
        "id": row.id,
        "number": row.number,
        "status": row.status,
        "reason": row.reason,
        "scheme": row.scheme,
        "exportCountry": row.export_country,
        "destination": row.destination,
        "issueDate": row.issue_date,
        "leaf": row.leaf,
        "successorLeaf": row.successor_leaf,
        "intent": intent_json(intent if isinstance(intent, IntentRow) else None),
        "createdAt": iso_time(row.created_at),
        "issuedAt": iso_time(row.issued_at) if row.issued_at else None,
        "links": {
            "self": f"/api/v1/certificates/{row.id}",
            "document": f"/api/v1/certificates/{row.id}/document" if issued else None,
            "pdf": f"/api/v1/certificates/{row.id}/pdf" if issued else None,
            "verify": f"{base}/v/{row.leaf}",
        },
    }
    if full:
        out["certificate"] = row.data
        out["audit"] = [{**event, "at": iso_time(event["at"])} for event in services().store.audit_trail(row.id)]
        out["anchor"] = None
        if issued and row.document:
            proof = row.document["proof"]
            batch = services().store.batch_of(row.batch_id) if row.batch_id else None
            out["anchor"] = {
                "root": proof["root"],
                "chainId": proof["chainId"],
                "registry": proof["registry"],
                "issuer": proof["issuer"],
                "tx": batch["tx_hash"] if batch else None,
                "block": batch["block_number"] if batch else None,
            }
        # What customs recorded against it on the registry, as the chain follower read it.
        out["customs"] = customs_json(row.data, services().store.customs_records.for_certificates([row.id]).get(row.id))
    return out


def _own(certificate_id: int) -> CertificateRow:
    row = services().store.get_certificate(certificate_id, g.chamber.id)
    if row is None:  # another chamber's certificate looks exactly like a missing one
        raise ApiError(404, "not_found", f"no certificate {certificate_id} for this chamber")
    return row


@bp.post("/certificates")
@require_chamber
def create_certificate() -> Any:
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "send one certificate of origin as a JSON object")
    row = services().issuance.create(g.chamber, [body], g.actor)[0]
    response = jsonify(summary(row, intent=None))  # just stored: no change asked of it yet
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/certificates/{row.id}"
    return response


@bp.post("/certificates/batch")
@require_chamber
def create_batch() -> Any:
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("certificates"), list):
        raise ApiError(400, "invalid_body", 'send {"certificates": [ ... ]}')
    if len(body["certificates"]) > MAX_BATCH:
        # The request breaks the documented schema (maxItems): a bad request. 413 is for bytes.
        raise ApiError(400, "batch_too_large", f"at most {MAX_BATCH} certificates per request")
    rows = services().issuance.create(g.chamber, body["certificates"], g.actor)
    return jsonify({"certificates": [summary(r, intent=None) for r in rows]}), 202


@bp.get("/certificates")
@require_chamber
def list_certificates() -> Any:
    args = request.args
    # A filter that is present must be well-formed, an empty one included (`to=` is no date): a
    # typo never silently widens the list.
    status = args.get("status")
    if status is not None and status not in STATUSES:
        raise ApiError(400, "invalid_filter", f"status must be one of {', '.join(STATUSES)}")
    for name in ("from", "to"):
        if name in args and not is_date(args[name]):
            raise ApiError(400, "invalid_filter", f"'{name}' must be a date YYYY-MM-DD")
    destination = args.get("destination")
    if destination is not None and not re.fullmatch(r"[A-Z]{2}", destination):
        raise ApiError(400, "invalid_filter", "destination must be an ISO 3166-1 alpha-2 code")
    number = args.get("number")
    if number is not None and not is_number_filter(number):
        raise ApiError(400, "invalid_filter", "number must be 1 to 64 characters, without control characters")
    limit = _integer(args, "limit", 1, 500) or 50
    after = _integer(args, "after", 1, MAX_ID)
    rows = services().store.list_certificates(
        g.chamber.id,
        number=number,
        status=status,
        destination=destination,
        issued_from=args.get("from"),
        issued_to=args.get("to"),
        limit=limit,
        after_id=after,
    )
    next_after = rows[-1].id if len(rows) == limit else None
    in_flight = {i.certificate_id: i for i in services().store.intent_repository.open_intents(g.chamber.id)}
    return jsonify({"certificates": [summary(r, intent=in_flight.get(r.id)) for r in rows], "next": next_after})


@bp.get(f"/certificates/<{ID}:certificate_id>")
@require_chamber
def get_certificate(certificate_id: int) -> Any:
    return jsonify(summary(_own(certificate_id), full=True))


def _issued_document(row: CertificateRow) -> dict[str, Any]:
    if row.document is None or row.status == CertificateStatus.PENDING:  # a reorganisation took its anchor away
        raise ApiError(409, "not_issued_yet", f"certificate {row.id} is {row.status}: it has no issued document yet")
    return row.document


@bp.get(f"/certificates/<{ID}:certificate_id>/document")
@require_chamber
def download_document(certificate_id: int) -> Any:
    row = _own(certificate_id)
    response = jsonify(_issued_document(row))
    response.headers["Content-Disposition"] = f'attachment; filename="{download_name(row)}.json"'
    return response


@bp.get(f"/certificates/<{ID}:certificate_id>/pdf")
@require_chamber
def download_pdf(certificate_id: int) -> Any:
    from ..pdf import render_pdf

    row = _own(certificate_id)
    pdf = render_pdf(_issued_document(row), f"{services().settings.public_url}/v/{row.leaf}")
    return Response(
        pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{download_name(row)}.pdf"'}
    )


def _open(change: Change) -> IntentRow | None:
    return change.intent if change.intent is not None and change.intent.state.open else None


def _changed(change: Change) -> Any:
    """200 when the chain already shows the change, 202 while it is on its way (``intent``)."""
    return jsonify(summary(change.row, intent=_open(change))), 202 if _open(change) else 200


def _optional_body() -> dict[str, Any]:
    if not request.get_data(cache=True):
        return {}
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "send a JSON object")
    return body


@bp.post(f"/certificates/<{ID}:certificate_id>/revoke")
@require_chamber
def revoke(certificate_id: int) -> Any:
    row = _own(certificate_id)
    body = _optional_body()
    reason = body.get("reason")
    if not isinstance(reason, str):
        raise ApiError(400, "missing_reason", "'reason' is required: fraud, error or cancelled")
    return _changed(services().issuance.revoke(g.chamber, row, reason, g.actor))


@bp.post(f"/certificates/<{ID}:certificate_id>/suspend")
@require_chamber
def suspend(certificate_id: int) -> Any:
    row = _own(certificate_id)
    reason = _optional_body().get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ApiError(400, "invalid_reason", "'reason' must be a string")
    return _changed(services().issuance.suspend(g.chamber, row, g.actor, reason))


@bp.post(f"/certificates/<{ID}:certificate_id>/lift")
@require_chamber
def lift(certificate_id: int) -> Any:
    return _changed(services().issuance.lift(g.chamber, _own(certificate_id), g.actor))


@bp.post(f"/certificates/<{ID}:certificate_id>/supersede")
@require_chamber
def supersede(certificate_id: int) -> Any:
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", 'send {"certificate": {...amended...}, "reason": "..."}')
    old, new = services().issuance.supersede(
        g.chamber, _own(certificate_id), body.get("certificate"), str(body.get("reason") or ""), g.actor
    )
    return jsonify({"original": summary(old.row, intent=_open(old)), "replacement": summary(new.row)}), 202


@bp.post(f"/certificates/<{ID}:certificate_id>/copy")
@require_chamber
def certified_copy(certificate_id: int) -> Any:
    old, new = services().issuance.certified_copy(g.chamber, _own(certificate_id), g.actor)
    return jsonify({"original": summary(old.row, intent=_open(old)), "replacement": summary(new.row)}), 202
