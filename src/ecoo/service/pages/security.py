"""What keeps the pages safe: security headers with a per-response script nonce, CSRF tokens for
the dashboard's forms, and the dashboard's signed-in session.

The session keeps only the API token's *id* in the signed cookie, never the token: every request
checks that the token is still live, so revoking it ends the browser sessions opened with it too.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Blueprint, Response, flash, g, request, session

from ..http import ApiError, services
from ..store import Chamber

__all__ = ["check_csrf", "csrf_token", "end_session", "protect", "signed_in", "start_session"]


def protect(bp: Blueprint) -> None:
    """Give every page of ``bp`` (and of the blueprints nested in it) the headers and template helpers."""
    bp.before_request(_nonce)
    bp.after_request(_security_headers)
    bp.context_processor(_template_helpers)


def _nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


def _security_headers(response: Response) -> Response:
    # Inline script runs only with this response's nonce; nothing is loaded from elsewhere.
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; script-src 'nonce-{g.get('csp_nonce', '')}'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # /v/<leaf> is a capability-like link: do not hand it to other sites.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def _template_helpers() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "csp_nonce": g.get("csp_nonce", "")}


# -- CSRF ------------------------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token, made on first use; every dashboard form sends it back."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Refuse a form post that does not carry the session's CSRF token."""
    sent, expected = request.form.get("csrf_token", ""), session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ApiError(
            400,
            "csrf_failed",
            "This form was not sent from the current dashboard page (or the page is too old). "
            "Go back, reload the page and try again.",
        )


# -- the signed-in session -------------------------------------------------------------------------


def start_session(chamber: Chamber, token_id: int) -> None:
    session.clear()  # a fresh session (and CSRF token) for the signed-in chamber
    session["chamber_id"], session["token_id"] = chamber.id, token_id


def end_session() -> None:
    session.clear()


def signed_in() -> tuple[Chamber, int] | None:
    """The session's chamber and token id, or None — and a revoked token signs the session out."""
    chamber_id, token_id = session.get("chamber_id"), session.get("token_id")
    if not isinstance(chamber_id, int) or not isinstance(token_id, int):
        return None
    store = services().store
    # token_owner() looks tokens up by hash, and the session holds only the token's id.
    chamber = store.chamber(chamber_id) if store.api_token_active(token_id, chamber_id) else None
    if chamber is None:
        session.clear()
        flash("You were signed out: the API token you signed in with has been revoked.", "error")
        return None
    return chamber, token_id
