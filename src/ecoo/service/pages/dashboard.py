"""The chamber dashboard (``/dashboard``): sign in with the chamber's API token, list and filter its
certificates (with what customs recorded against each), issue one from pasted JSON, suspend, lift
or revoke, and download the issued JSON or PDF. Every form carries the session's CSRF token (see
:mod:`.security`)."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...errors import ServiceError
from ..http import ApiError, chamber_for, http_status, services
from ..store import CertificateRow, Chamber, DuplicateCertificateError
from ..views import ID, MAX_ID, STATUSES, customs_json, customs_summary, download_name, is_date, is_number_filter, item_lines
from .presented import allow_pasted_certificates, parse_presented
from .security import check_csrf, end_session, signed_in, start_session

bp = Blueprint("dashboard", __name__)

_DIGITS = re.compile(r"[0-9]{1,19}")
_PAGE_SIZE = 50
_ACTIONS = {"suspend", "lift", "revoke-error", "revoke-fraud", "revoke-cancelled"}


@bp.get("/dashboard")
def dashboard() -> ResponseReturnValue:
    signed = signed_in()
    if signed is None:
        return render_template("login.html")
    return _dashboard_page(*signed)


@bp.post("/dashboard/login")
def login() -> ResponseReturnValue:
    check_csrf()
    found = chamber_for(request.form.get("token", "").strip())
    if found is None:
        return render_template("login.html", error="That API token is unknown or has been revoked."), 401
    start_session(*found)
    return redirect(url_for(".dashboard"))


@bp.post("/dashboard/logout")
def logout() -> ResponseReturnValue:
    check_csrf()
    end_session()
    flash("You are signed out.", "info")
    return redirect(url_for(".dashboard"))


@bp.post("/dashboard/certificates")
def issue() -> ResponseReturnValue:
    signed = signed_in()
    if signed is None:
        return redirect(url_for(".dashboard"))
    allow_pasted_certificates()
    check_csrf()
    chamber, token_id = signed
    text = request.form.get("certificate", "")
    issues: list[dict[str, Any]] = []
    try:
        certificate = parse_presented(text, "the certificate JSON") if text.strip() else None
        if not isinstance(certificate, dict):
            raise ApiError(400, "invalid_body", "Paste one certificate of origin as a JSON object.")
        row = services().issuance.create(chamber, [certificate], f"token:{token_id}")[0]
    except ServiceError as exc:  # a bad form (ApiError) or a refusal of the domain
        status, message = http_status(exc), exc.message
        if isinstance(exc.details, list):
            issues = [found for problem in exc.details if isinstance(problem, dict) for found in problem.get("issues", [])]
    except DuplicateCertificateError as exc:
        status, message = 409, str(exc)
    else:
        flash(f"Certificate {row.number} stored as PENDING; anchoring...", "info")
        return redirect(url_for(".dashboard"))
    return _dashboard_page(chamber, token_id, issue_error=message, issue_issues=issues, issue_text=text, status=status)


@bp.post(f"/dashboard/certificates/<{ID}:certificate_id>/status")
def change_status(certificate_id: int) -> ResponseReturnValue:
    """Suspend, lift or revoke one of the chamber's certificates on the registry."""
    signed = signed_in()
    if signed is None:
        return redirect(url_for(".dashboard"))
    check_csrf()
    chamber, token_id = signed
    action = request.form.get("action", "")
    if action not in _ACTIONS:
        raise ApiError(400, "invalid_action", "Choose suspend, lift, or a revocation reason.")
    row = services().store.get_certificate(certificate_id, chamber.id)
    if row is None:  # another chamber's certificate looks exactly like a missing one
        raise ApiError(404, "not_found", f"This chamber has no certificate {certificate_id}.")
    actor = f"token:{token_id}"
    issuance = services().issuance
    try:
        if action == "suspend":
            updated = issuance.suspend(chamber, row, actor)
        elif action == "lift":
            updated = issuance.lift(chamber, row, actor)
        else:
            updated = issuance.revoke(chamber, row, action.removeprefix("revoke-"), actor)
    except ServiceError as exc:
        flash(f"Certificate {row.number}: {exc.message}", "error")
    else:
        if updated.intent is not None and updated.intent.state.open:
            flash(
                f"Certificate {row.number}: the change is on its way to the registry ({updated.row.status} until it is recorded).",
                "info",
            )
        else:
            flash(f"Certificate {row.number} is now {updated.row.status} on the registry.", "info")
    return redirect(url_for(".dashboard"))


def _dashboard_page(chamber: Chamber, token_id: int, *, status: int = 200, **issue_state: Any) -> ResponseReturnValue:
    args = request.args
    errors: list[str] = []
    filters = {name: args.get(name, "").strip() for name in ("number", "status", "destination", "from", "to")}
    filters["destination"] = filters["destination"].upper()
    if filters["status"] and filters["status"] not in STATUSES:
        errors.append(f"status must be one of {', '.join(STATUSES)}")
        filters["status"] = ""
    if filters["destination"] and not re.fullmatch(r"[A-Z]{2}", filters["destination"]):
        errors.append("destination must be a two-letter country code, like KR")
        filters["destination"] = ""
    for name in ("from", "to"):
        if filters[name] and not is_date(filters[name]):
            errors.append(f"'{name}' must be a date YYYY-MM-DD")
            filters[name] = ""
    if filters["number"] and not is_number_filter(filters["number"]):
        errors.append("a certificate number is 1 to 64 characters, without control characters")
        filters["number"] = ""
    after = args.get("after", "")
    after_id = int(after) if _DIGITS.fullmatch(after) and 1 <= int(after) <= MAX_ID else None
    rows = services().store.list_certificates(
        chamber.id,
        number=filters["number"] or None,
        status=filters["status"] or None,
        destination=filters["destination"] or None,
        issued_from=filters["from"] or None,
        issued_to=filters["to"] or None,
        limit=_PAGE_SIZE,
        after_id=after_id,
    )
    counts = services().store.counts(chamber.id)
    recorded = services().store.customs_records.for_certificates([row.id for row in rows])
    customs: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row.id in recorded:
            shown = customs_json(row.data, recorded[row.id])
            customs[row.id] = {**shown, "summary": customs_summary(row.data, recorded[row.id]), "item_lines": item_lines(shown)}
    older = {**{k: v for k, v in filters.items() if v}, "after": rows[-1].id} if len(rows) == _PAGE_SIZE else None
    page = render_template(
        "dashboard.html",
        chamber=chamber,
        rows=rows,
        in_flight={i.certificate_id: i for i in services().store.intent_repository.open_intents(chamber.id)},
        customs=customs,
        counts=[(s, counts.get(s, 0)) for s in STATUSES],
        total=sum(counts.values()),
        filters=filters,
        filter_errors=errors,
        older=older,
        **issue_state,
    )
    return page, status


# -- downloads -------------------------------------------------------------------------------------


def _own_issued(chamber: Chamber, certificate_id: int) -> CertificateRow:
    row = services().store.get_certificate(certificate_id, chamber.id)
    if row is None:  # another chamber's certificate looks exactly like a missing one
        raise ApiError(404, "not_found", f"This chamber has no certificate {certificate_id}.")
    if row.document is None or row.status == "PENDING":  # not anchored (now)
        raise ApiError(409, "not_issued_yet", f"Certificate {row.number} is {row.status}: it has no issued document yet.")
    return row


@bp.get(f"/dashboard/certificates/<{ID}:certificate_id>.json")
def download_json(certificate_id: int) -> ResponseReturnValue:
    signed = signed_in()
    if signed is None:
        return redirect(url_for(".dashboard"))
    row = _own_issued(signed[0], certificate_id)
    body = json.dumps(row.document, ensure_ascii=False, indent=2) + "\n"
    return Response(
        body, mimetype="application/json", headers={"Content-Disposition": f'attachment; filename="{download_name(row)}.json"'}
    )


@bp.get(f"/dashboard/certificates/<{ID}:certificate_id>.pdf")
def download_pdf(certificate_id: int) -> ResponseReturnValue:
    from ...pdf.layout import render_pdf  # fpdf2 loads on the first download, not with the pages

    signed = signed_in()
    if signed is None:
        return redirect(url_for(".dashboard"))
    row = _own_issued(signed[0], certificate_id)
    assert row.document is not None
    pdf = render_pdf(row.document, f"{services().settings.public_url}/v/{row.leaf}")
    return Response(
        pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{download_name(row)}.pdf"'}
    )
