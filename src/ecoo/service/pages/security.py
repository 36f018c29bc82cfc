"""What keeps the service's responses and the dashboard safe: security headers on every response
(pages get a per-response script nonce), CSRF tokens for the dashboard's forms, and the
dashboard's signed-in session.

The session keeps only the API token's *id* in the signed cookie, never the token, with the
generation of that token's sessions when it was opened. Every request checks both: revoking the
token, or signing out with it, ends every browser session opened with it — a cookie saved before
then is refused, although its signature is still good.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Flask, Response, flash, g, request, session

from ..http import ApiError, services
from ..store import Chamber

__all__ = ["check_csrf", "csrf_token", "end_session", "protect", "signed_in", "start_session"]

# For everything that is not a page (the API's JSON, errors, downloads, static files): nothing
# may load, run or frame it.
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"


def protect(app: Flask) -> None:
    """Give every response of ``app`` the security headers — errors, the API and requests that
    match no route included — and the pages' templates their helpers (CSRF token, nonce)."""
    app.before_request(_nonce)
    app.after_request(_security_headers)
    app.context_processor(_template_helpers)


def _nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


def _page_csp() -> str:
    # Inline script runs only with this response's nonce; nothing is loaded from elsewhere.
    nonce = g.get("csp_nonce") or secrets.token_urlsafe(16)
    return (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _security_headers(response: Response) -> Response:
    # An HTML response is a page (or a page's error): it loads the stylesheet and its nonce script.
    page = response.mimetype == "text/html"
    response.headers.setdefault("Content-Security-Policy", _page_csp() if page else STRICT_CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # /v/<leaf> is a capability-like link: do not hand it to other sites.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors, for older browsers
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if services().settings.public_url.startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
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
    session["generation"] = services().store.session_generation(token_id)


def end_session() -> None:
    """Sign out: end every session opened with this session's token, this one included. A
    session already ended (a stale cookie replayed) ends nothing else."""
    if _live_session() is not None:
        services().store.end_sessions(session["token_id"])
    session.clear()


def _live_session() -> tuple[int, int] | None:
    """The session's (chamber id, token id) if it may still act, else None."""
    chamber_id, token_id, generation = session.get("chamber_id"), session.get("token_id"), session.get("generation")
    if not (isinstance(chamber_id, int) and isinstance(token_id, int) and isinstance(generation, int)):
        return None  # not signed in, or a cookie from before sessions had generations
    return (chamber_id, token_id) if services().store.session_live(token_id, chamber_id, generation) else None


def signed_in() -> tuple[Chamber, int] | None:
    """The session's chamber and token id, or None — and a revoked token, or a sign-out with it
    elsewhere, signs the session out."""
    if "token_id" not in session:
        return None
    store = services().store
    live = _live_session()
    chamber = store.chamber(live[0]) if live else None
    if live is None or chamber is None:
        token_id, chamber_id = session.get("token_id"), session.get("chamber_id")
        revoked = not (isinstance(token_id, int) and isinstance(chamber_id, int) and store.api_token_active(token_id, chamber_id))
        session.clear()
        if revoked:
            flash("You were signed out: the API token you signed in with has been revoked.", "error")
        else:
            flash("You were signed out: a sign-out with this API token ended this session.", "info")
        return None
    return chamber, live[1]
