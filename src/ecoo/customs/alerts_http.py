"""Alerts: the feed (``GET /api/v1/alerts?after=CURSOR&limit=N``, officer), the page ``/alerts``
(officer) and the webhooks API (admin): create (the secret is in that answer only), list,
disable, and each webhook's delivery log. See docs/customs-alerts.md."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from ..errors import InputError
from ..service.http import ApiError, json_body
from ..urls import redact_url
from .alert_repository import AlertRepository, iso_time
from .auth import ADMIN, OFFICER, audit, objects, page_role, require_role
from .params import MAX_ID, int_arg
from .watch import KINDS
from .webhook_repository import WebhookRepository
from .webhooks import check_webhook_url, new_secret

__all__ = ["KIND_LABELS", "bp"]

bp = Blueprint("customs_alerts", __name__)

#: Alerts per feed answer by default, and at most.
FEED_LIMIT = 100
MAX_FEED_LIMIT = 500
#: Alerts per page of /alerts.
PAGE_SIZE = 50
#: Entries of a delivery log per answer by default, and at most.
LOG_LIMIT = 100
MAX_LOG_LIMIT = 1000
#: How each kind reads on the page.
KIND_LABELS = {
    "revoked_fraud": "Revoked: fraud",
    "revoked_error": "Revoked: error",
    "cancelled": "Cancelled",
    "superseded": "Superseded",
    "suspended": "Suspended",
    "issuer_suspended": "Issuer suspended",
    "key_rotated": "Key rotated",
}
assert set(KIND_LABELS) == set(KINDS)


def _alerts() -> AlertRepository:
    return AlertRepository(objects().db)


def _webhooks() -> WebhookRepository:
    return WebhookRepository(objects().db)


# -- the feed --------------------------------------------------------------------------------------


@bp.get("/api/v1/alerts")
@require_role(OFFICER)
def feed() -> Any:
    """Alerts after the cursor ``after`` (none: from the first), oldest first; ``next`` is the cursor
    to ask with next time (the same when nothing is new): a client that keeps it misses none."""
    after = int_arg("after", 0, 0, MAX_ID)
    limit = int_arg("limit", FEED_LIMIT, 1, MAX_FEED_LIMIT)
    found = _alerts().alerts_after(after, limit)
    return jsonify({"alerts": [a.to_json() for a in found], "next": str(found[-1].id if found else after)})


# -- the page --------------------------------------------------------------------------------------


@bp.get("/alerts")
@page_role(OFFICER)
def alerts_page() -> ResponseReturnValue:
    before_text = request.args.get("before", "")
    before = int(before_text) if before_text.isascii() and before_text.isdigit() and int(before_text) <= MAX_ID else None
    repository = _alerts()
    shown = repository.latest_alerts(before, PAGE_SIZE + 1)
    older = shown[PAGE_SIZE - 1].id if len(shown) > PAGE_SIZE else None  # ?before= the oldest shown
    registries = objects().registries
    watched = []
    for cursor in repository.cursors():
        entry = registries.entry(cursor.chain_id, cursor.registry)
        watched.append(
            {
                "chain_id": cursor.chain_id,
                "registry": cursor.registry,
                "authority": entry.authority_name if entry is not None else None,
                "block": cursor.block_number,
                "checked_at": iso_time(cursor.checked_at),
                "error": cursor.last_error,
            }
        )
    return render_template(
        "customs/alerts.html",
        alerts=shown[:PAGE_SIZE],
        older=older,
        newer=before is not None,
        labels=KIND_LABELS,
        iso_time=iso_time,
        watched=watched,
    )


# -- webhooks (admin) ------------------------------------------------------------------------------


@bp.post("/api/v1/webhooks")
@require_role(ADMIN)
def create_webhook() -> Any:
    """A new webhook: ``{"url": "https://..."}``; its signing secret is in this answer only."""
    body = json_body()
    if not isinstance(body, dict) or set(body) - {"url"}:
        raise ApiError(400, "invalid_body", 'send {"url": "https://..."}')
    try:
        url = check_webhook_url(body.get("url"))
    except InputError as exc:
        raise ApiError(400, "invalid_url", str(exc)) from None
    secret = new_secret()
    repository = _webhooks()
    with objects().db.transaction() as conn:
        webhook_id = repository.create_webhook(url, secret, conn)
        audit("webhook_created", f"webhook:{webhook_id}", {"url": redact_url(url)}, conn)
    webhook = repository.webhook(webhook_id)
    assert webhook is not None
    return jsonify(webhook.to_json() | {"secret": secret}), 201


@bp.get("/api/v1/webhooks")
@require_role(ADMIN)
def list_webhooks() -> Any:
    """Every webhook (never its secret)."""
    return jsonify({"webhooks": [hook.to_json() for hook in _webhooks().webhooks()]})


@bp.delete(f"/api/v1/webhooks/<int(max={MAX_ID}):webhook_id>")
@require_role(ADMIN)
def disable_webhook(webhook_id: int) -> Any:
    """Disable a webhook: nothing more is sent to it, its pending deliveries are given up, its log stays."""
    repository = _webhooks()
    if repository.webhook(webhook_id) is None:
        raise ApiError(404, "not_found", f"no webhook {webhook_id}")
    with objects().db.transaction() as conn:
        if repository.disable_webhook(webhook_id, conn):
            audit("webhook_disabled", f"webhook:{webhook_id}", None, conn)
    webhook = repository.webhook(webhook_id)
    assert webhook is not None
    return jsonify(webhook.to_json())


@bp.get(f"/api/v1/webhooks/<int(max={MAX_ID}):webhook_id>/deliveries")
@require_role(ADMIN)
def deliveries(webhook_id: int) -> Any:
    """The webhook's delivery log, newest first: each delivery's state and every attempt."""
    repository = _webhooks()
    webhook = repository.webhook(webhook_id)
    if webhook is None:
        raise ApiError(404, "not_found", f"no webhook {webhook_id}")
    limit = int_arg("limit", LOG_LIMIT, 1, MAX_LOG_LIMIT)
    return jsonify({"webhook": webhook.to_json(), "deliveries": [d.to_json() for d in repository.deliveries(webhook_id, limit)]})
