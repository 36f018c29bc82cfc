"""Who is asking, and may they: API tokens and signed-in sessions, roles, the audit of every
action, and the throttle on failed sign-ins and refused tokens.

* ``@require_role("officer")`` on API views: ``Authorization: Bearer TOKEN`` or a signed-in
  session; 401 ``unauthenticated`` / ``invalid_token``, 403 ``forbidden``, 429 after too many
  refused tokens from one address.
* ``@page_role("officer")`` on pages: a signed-in session, else a redirect to ``/login?next=…``.
* :func:`current_actor` inside such a view; :func:`audit` appends a row with it.

The session cookie (signed by Flask with ``secret_key``) holds the account's id, its *session
generation* and the time it signed in — never a password or token; it lasts ``session_hours``. Signing out bumps the generation: every
session of that account ends, including copies of the cookie saved elsewhere.

A session may call the API too (the pages' scripts do); an unsafe request with a session must then
come from this service's own pages (its ``Origin``), besides the cookie being ``SameSite=Lax``.
"""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from limits import parse as parse_limit
from werkzeug.wrappers import Response

from ..service.http import ApiError, bearer_token
from ..service.pages.security import check_csrf, csrf_token
from .accounts import ADMIN, OFFICER, ROLES, Account, Actor, end_sessions, role_allows, session_account, token_actor
from .audit import record
from .wiring import CustomsObjects

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = [
    "ADMIN",
    "OFFICER",
    "ROLES",
    "Actor",
    "audit",
    "check_csrf",
    "csrf_token",
    "current_actor",
    "end_session",
    "objects",
    "page_role",
    "require_role",
    "session_actor",
    "start_session",
    "throttled",
    "throttle_failure",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The label of audit rows written before anyone is known (a failed sign-in).
ANONYMOUS = "anonymous"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def objects() -> CustomsObjects:
    """The customs service's objects (inside a request or an app context)."""
    return cast(CustomsObjects, current_app.extensions["ecoo_customs"])


# -- throttle --------------------------------------------------------------------------------------


def _throttle_key(kind: str) -> tuple[str, str]:
    return f"ecoo-customs-{kind}", request.remote_addr or "unknown"


def throttled(kind: str) -> bool:
    """Whether this client has used up its failed attempts of ``kind`` ("login", "token") for now."""
    limiter = current_app.extensions["ecoo_customs_limiter"]
    return not limiter.limiter.test(parse_limit(objects().settings.login_limit), *_throttle_key(kind))


def throttle_failure(kind: str) -> None:
    """Count one failed attempt of ``kind`` against this client (Flask-Limiter's storage)."""
    limiter = current_app.extensions["ecoo_customs_limiter"]
    limiter.limiter.hit(parse_limit(objects().settings.login_limit), *_throttle_key(kind))


def too_many(kind: str) -> ApiError:
    what = "failed sign-ins" if kind == "login" else "refused API tokens"
    return ApiError(429, "too_many_attempts", f"too many {what} from this address; wait a minute and try again")


# -- sessions --------------------------------------------------------------------------------------


def start_session(account: Account) -> None:
    """Sign ``account`` in: a fresh session (and CSRF token) holding its id and session generation."""
    session.clear()
    session["account_id"], session["generation"] = account.id, account.session_generation
    session["since"] = int(time.time())


def session_actor() -> Actor | None:
    """The signed-in account's actor, or None; a session that may no longer act (signed out
    everywhere, account disabled or deleted) is cleared."""
    account_id, generation, since = session.get("account_id"), session.get("generation"), session.get("since")
    if not (isinstance(account_id, int) and isinstance(generation, int) and isinstance(since, int)):
        return None
    if time.time() - since > objects().settings.session_hours * 3600:  # a stolen cookie does not last forever
        session.clear()
        return None
    with objects().db.transaction() as conn:
        account = session_account(conn, account_id, generation)
    if account is None:
        session.clear()
        return None
    return account.actor


def end_session() -> Actor | None:
    """Sign out: end every session of the signed-in account (this one included) and audit it; the
    actor that signed out, or None if the session had already ended."""
    actor = session_actor()
    if actor is not None:
        with objects().db.transaction() as conn:
            end_sessions(conn, actor.id)
            record(conn, actor, "sign_out", actor.name)
    session.clear()
    return actor


def _same_origin() -> bool:
    """Whether an unsafe request carrying the session cookie comes from this service's own pages."""
    origin = request.headers.get("Origin")
    if origin is not None:
        mine = urlsplit(request.host_url)
        theirs = urlsplit(origin)
        return (theirs.scheme, theirs.netloc) == (mine.scheme, mine.netloc) or origin == objects().settings.public_url
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


# -- decorators ------------------------------------------------------------------------------------


def _forbidden(actor: Actor, role: str) -> ApiError:
    audit("forbidden", request.path, {"method": request.method, "needed": role}, actor=actor)
    return ApiError(403, "forbidden", f"this needs the {role} role; {actor.label} has the {actor.role} role")


def _api_actor() -> Actor:
    token = bearer_token()
    if token is not None:
        if throttled("token"):
            raise too_many("token")
        with objects().db.transaction() as conn:
            actor = token_actor(conn, token)
            if actor is None:
                record(conn, ANONYMOUS, "token_refused", request.path, {"method": request.method})
        if actor is None:
            throttle_failure("token")
            raise ApiError(401, "invalid_token", "the API token is unknown or revoked")
        return actor
    actor = session_actor()
    if actor is None:
        raise ApiError(401, "unauthenticated", "send an API token as 'Authorization: Bearer <token>', or sign in at /login")
    if request.method not in _SAFE_METHODS and not (_same_origin() and _csrf_header_matches()):
        raise ApiError(403, "cross_origin", "a signed-in session may change things only from this service's own pages")
    return actor


def _csrf_header_matches() -> bool:
    """Whether an unsafe API request of a session carries the session's CSRF token in
    ``X-CSRF-Token`` (the pages' scripts send it). Origin and Sec-Fetch-Site alone let a request
    through when a client sends neither."""
    sent, expected = request.headers.get("X-CSRF-Token", ""), session.get("csrf")
    return isinstance(expected, str) and hmac.compare_digest(sent.encode(), expected.encode())


def _page_actor() -> Actor | Response:
    """The signed-in account, else a redirect to the sign-in page (which comes back here)."""
    actor = session_actor()
    if actor is None:
        return redirect(url_for("customs_pages.login", next=request.full_path.rstrip("?")))
    return actor


def _role_guard(role: str, identify: Callable[[], Actor | Response]) -> Callable[[F], F]:
    """A decorator: ``identify`` the caller (or answer for it, with a redirect), then require ``role``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = identify()
            if not isinstance(actor, Actor):
                return actor
            if not role_allows(actor.role, role):
                raise _forbidden(actor, role)
            g.customs_actor = actor
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def require_role(role: str) -> Callable[[F], F]:
    """API views: a token or a signed-in session with ``role`` (admin includes officer)."""
    return _role_guard(role, _api_actor)


def page_role(role: str) -> Callable[[F], F]:
    """Page views: a signed-in session with ``role``, else a redirect to the sign-in page (which
    comes back here); a signed-in account without the role gets 403."""
    return _role_guard(role, _page_actor)


def current_actor() -> Actor:
    """The actor of this request (inside a view under :func:`require_role` or :func:`page_role`)."""
    actor = g.get("customs_actor")
    if not isinstance(actor, Actor):
        raise RuntimeError("no actor: current_actor() is for views under @require_role or @page_role")
    return actor


def audit(
    action: str,
    subject: str = "",
    detail: dict[str, Any] | None = None,
    conn: Connection | None = None,
    *,
    actor: Actor | None = None,
) -> None:
    """Append an audit row for the current actor (``actor`` when given; ``anonymous`` outside any),
    inside ``conn``'s transaction when given, else in a transaction of its own."""
    who: Actor | str = actor or g.get("customs_actor") or ANONYMOUS
    if conn is not None:
        record(conn, who, action, subject, detail)
        return
    with objects().db.transaction() as own:
        record(own, who, action, subject, detail)
