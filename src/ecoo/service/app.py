"""The Flask application factory."""

from __future__ import annotations

import atexit
from typing import Any

from flask import Flask

from .config import ServiceSettings
from .http import register_error_handlers
from .wiring import build_services


def create_app(settings: ServiceSettings | None = None, **overrides: Any) -> Flask:
    """Build the service. ``settings`` default to the environment; the anchoring worker starts
    unless ``settings.worker`` is false (tests drive it by hand)."""
    settings = settings or ServiceSettings.from_env(**overrides)
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]

    built = build_services(settings)
    app.extensions["ecoo"] = built

    from . import api_docs, api_issuer, api_public, pages, statistics_http
    from .pages.security import protect

    app.register_blueprint(api_issuer.bp, url_prefix="/api/v1")
    app.register_blueprint(api_public.bp, url_prefix="/api/v1")
    app.register_blueprint(api_docs.bp, url_prefix="/api/v1")
    app.register_blueprint(pages.bp)
    app.register_blueprint(statistics_http.bp)
    register_error_handlers(app)
    protect(app)  # security headers on every response, errors and the API included

    if settings.worker:
        built.worker.start()
        atexit.register(built.worker.stop)
    return app
