"""The customs service's own pages: home (links to every area), sign-in, sign-out and the verify
page (upload certificates, JSON or ecoo PDF). Every page but sign-in needs a signed-in officer;
every form carries the session's CSRF token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, session
from flask.typing import ResponseReturnValue

from ..service.http import ApiError
from .accounts import authenticate
from .auth import (
    OFFICER,
    audit,
    check_csrf,
    current_actor,
    end_session,
    objects,
    page_role,
    session_actor,
    start_session,
    throttle_failure,
    throttled,
    too_many,
)
from .verifying import MAX_DOCUMENTS, read_upload, verify_and_log

__all__ = ["bp"]

bp = Blueprint("customs_pages", __name__)

#: What a refused sign-in says, whether the user is unknown or the password wrong.
WRONG_CREDENTIALS = "Wrong username or password."


@bp.app_context_processor
def _signed_in() -> dict[str, Any]:
    actor = g.get("customs_actor")
    if actor is None and "account_id" in session:
        actor = session_actor()
    return {"customs_actor": actor}


def _local(target: str | None) -> str:
    """``target`` if it is a path on this site (never another site: no open redirect), else ``/``.
    Browsers drop tabs and line breaks from a Location (``/<TAB>/evil.example`` becomes
    ``//evil.example``), so a target with any control character is refused too."""
    if target and target.isprintable() and target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return "/"


@bp.get("/")
@page_role(OFFICER)
def home() -> ResponseReturnValue:
    built = objects()
    return render_template(
        "customs/home.html",
        country=built.settings.country,
        entries=len(built.trust_list.entries),
        trust_list_name=built.trust_list.name,
        sequence=built.trust_list.sequence,
    )


@bp.get("/login")
def login_form() -> ResponseReturnValue:
    return render_template("customs/login.html", next=_local(request.args.get("next")), username="")


@bp.post("/login")
def login() -> ResponseReturnValue:
    check_csrf()
    username, password = request.form.get("username", "").strip(), request.form.get("password", "")
    target = _local(request.form.get("next"))
    if throttled("login"):
        raise too_many("login")
    with objects().db.transaction() as conn:
        account = authenticate(conn, username, password)
    if account is None or account.disabled_at is not None:
        throttle_failure("login")
        reason = "disabled" if account is not None else "wrong_credentials"
        audit("sign_in_refused", username[:64], {"reason": reason})
        error = WRONG_CREDENTIALS if account is None else "This account is disabled. Ask an administrator."
        page = render_template("customs/login.html", error=error, next=target, username=username)
        return page, 401 if account is None else 403
    start_session(account)
    audit("sign_in", account.username, actor=account.actor)
    return redirect(target, 303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    check_csrf()
    end_session()
    return redirect("/login", 303)


@bp.get("/verify")
@page_role(OFFICER)
def verify_form() -> ResponseReturnValue:
    return render_template("customs/verify.html")


@bp.post("/verify")
@page_role(OFFICER)
def verify_upload() -> ResponseReturnValue:
    check_csrf()
    uploads = [upload for upload in request.files.getlist("files") if upload.filename]
    try:
        if not uploads:
            raise ApiError(400, "nothing_presented", "Choose one or more certificate files (JSON or PDF).")
        if len(uploads) > MAX_DOCUMENTS:
            raise ApiError(400, "batch_too_large", f"At most {MAX_DOCUMENTS} files at once.")
        documents = [read_upload(upload.read(), upload.filename or "file") for upload in uploads]
    except ApiError as exc:  # shown on the form, so the officer can try again at once
        return render_template("customs/verify.html", error=exc.message), exc.status
    reports = verify_and_log(documents, "page", current_actor())
    results = []
    for upload, report in zip(uploads, reports, strict=True):
        failed = next((c for c in report.checks if c.status.value in ("FAILED", "UNAVAILABLE")), None)
        results.append(
            {
                "source": upload.filename,
                "number": report.certificate_number,
                "verdict": report.verdict.value,
                "failed": failed,
                "message": failed.message if failed else report.checks[-1].message,
            }
        )
    return render_template("customs/verify.html", results=results)
