"""The customs service's Flask application factory (``ecoo serve --customs``, ``ECOO_MODE=customs``).

A verifier-only service: no chamber keys, no anchoring worker. It reuses the chamber service's
error handlers (JSON for the API, HTML for pages) and security headers; those read
``app.extensions["ecoo"].settings`` (``public_url``, ``max_body_bytes``), which the customs
objects provide as well.
"""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from ..service.http import register_error_handlers
from ..service.pages.security import protect
from .config import CustomsSettings
from .wiring import build_customs

__all__ = ["create_customs_app"]

HERE = Path(__file__).resolve().parent
#: The chamber service's stylesheet, served as it is (``customs.css`` adds to it): one look, one file.
SHARED_STATIC = HERE.parent / "service" / "static"


def create_customs_app(settings: CustomsSettings | None = None, **overrides: Any) -> Flask:
    """Build the customs service. ``settings`` default to the environment; the background work
    (watcher, webhooks) starts unless ``settings.background`` is false (tests drive it by hand)."""
    settings = settings or CustomsSettings.from_env(**overrides)
    app = Flask(
        __name__,
        root_path=str(HERE),
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SECRET_KEY=settings.secret_key,
        # Not "session": a chamber service on the same host (another port) must not overwrite it.
        SESSION_COOKIE_NAME="ecoo_customs_session",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]

    built = build_customs(settings)
    app.extensions["ecoo_customs"] = built
    app.extensions["ecoo"] = built  # what the shared error handlers and security headers read (settings)
    # Failed sign-ins and refused tokens per client address (ecoo.customs.auth counts them here).
    app.extensions["ecoo_customs_limiter"] = Limiter(get_remote_address, app=app, storage_uri="memory://")

    from . import alerts_http, api, declarations_http, pages, statistics_http

    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(pages.bp)
    app.register_blueprint(declarations_http.bp)
    app.register_blueprint(alerts_http.bp)
    app.register_blueprint(statistics_http.bp)
    app.register_blueprint(Blueprint("ecoo_static", __name__, static_folder=SHARED_STATIC, static_url_path="/static/ecoo"))
    register_error_handlers(app)
    protect(app)  # security headers on every response, errors and the API included

    if settings.background:
        from . import background

        stop = background.start(built)
        app.extensions["ecoo_customs_stop"] = stop
        atexit.register(stop)
    return app
