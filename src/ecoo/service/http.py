"""Request and response helpers shared by the blueprints: strict JSON bodies, chamber
authentication, and errors as JSON for the API and HTML for pages (content negotiation).

This is the one place where errors meet HTTP: :data:`STATUS_BY_ERROR` gives the status of each
domain error (:class:`ecoo.errors.ServiceError` and the store's duplicate), and
:class:`ApiError` is what the blueprints raise for a bad request itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from .. import errors
from ..errors import InputError, ServiceError
from ..files import parse_json
from .store import Chamber, DuplicateCertificateError
from .vault import hash_token
from .wiring import ServiceObjects

F = TypeVar("F", bound=Callable[..., Any])


class ApiError(ServiceError):
    """A request the HTTP layer refuses by itself (malformed body, missing token, bad filter...),
    with its status. The domain's refusals are the other :class:`ServiceError` subclasses, whose
    status is in :data:`STATUS_BY_ERROR`; one handler (and one ``except``) serves both."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        self.status, self.code = status, code
        super().__init__(message, details)


# The HTTP status of each domain error (a subclass answers with its base's unless listed).
STATUS_BY_ERROR: Mapping[type[Exception], int] = {
    errors.NoCertificatesError: 400,
    errors.UnknownRevocationReasonError: 400,
    errors.InvalidAmendmentError: 400,
    errors.MissingAmendmentReasonError: 400,
    errors.AnchoringInProgressError: 409,
    DuplicateCertificateError: 409,
    errors.FinalStatusError: 409,
    errors.NotIssuedError: 409,
    errors.NotSuspendedError: 409,
    errors.RegistryRefusedError: 409,
    errors.ChangeInProgressError: 409,
    errors.InvalidReasonTextError: 400,
    errors.BatchTooLargeError: 400,
    errors.RejectedCertificatesError: 422,
    errors.RegistryUnreachableError: 503,
}


def http_status(exc: Exception) -> int:
    """The status to answer ``exc`` with: an :class:`ApiError`'s own, else the table's (500 for an
    error the table does not know)."""
    if isinstance(exc, ApiError):
        return exc.status
    return next((STATUS_BY_ERROR[cls] for cls in type(exc).__mro__ if cls in STATUS_BY_ERROR), 500)


#: Everything a request handler works with (built by :func:`ecoo.service.wiring.build_services`).
Services = ServiceObjects


def services() -> Services:
    return cast(Services, current_app.extensions["ecoo"])


def json_body() -> Any:
    """The request's JSON body, parsed strictly (no duplicate keys, no NaN); 415/400 otherwise."""
    if not request.mimetype or request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    try:
        return parse_json(request.get_data(cache=True), "request body", services().settings.max_body_bytes)
    except InputError as exc:
        raise ApiError(400, "malformed_json", str(exc)) from None


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def chamber_for(token: str | None) -> tuple[Chamber, int] | None:
    if not token:
        return None
    owner = services().store.token_owner(hash_token(token))
    if owner is None:
        return None
    chamber = services().store.chamber(owner[0])
    return (chamber, owner[1]) if chamber else None


def require_chamber(view: F) -> F:
    """API views of a chamber: a valid, unrevoked Bearer token; sets ``g.chamber`` and ``g.actor``."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = bearer_token()
        if token is None:
            raise ApiError(401, "unauthenticated", "send the chamber's API token as 'Authorization: Bearer <token>'")
        found = chamber_for(token)
        if found is None:
            raise ApiError(401, "invalid_token", "the API token is unknown or revoked")
        g.chamber, token_id = found
        g.actor = f"token:{token_id}"
        return view(*args, **kwargs)

    return cast(F, wrapper)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, code: str, message: str, details: Any = None) -> Response | tuple[Any, int]:
    if wants_json():
        body: dict[str, Any] = {"error": code, "message": message}
        if details is not None:
            body["details"] = details
        response = jsonify(body)
        response.status_code = status
        return response
    return render_template("error.html", status=status, code=code, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Any:
        return error_response(http_status(exc), exc.code, exc.message, exc.details)

    @app.errorhandler(DuplicateCertificateError)
    def _duplicate(exc: DuplicateCertificateError) -> Any:
        details = {"existingId": exc.existing_id} if exc.existing_id > 0 else None
        return error_response(http_status(exc), "duplicate_certificate", str(exc), details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        code = (exc.name or "error").lower().replace(" ", "_")
        messages = {
            413: f"the request body is over the {services().settings.max_body_bytes // (1024 * 1024)} MB limit",
            404: "no such resource",
            405: f"method {request.method} is not allowed here",
        }
        response = make_response(error_response(exc.code or 500, code, messages.get(exc.code or 0, exc.description or code)))
        # The exception's own headers say what the status needs: Allow on a 405 (RFC 9110, 15.5.6).
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
