"""STUB (owner: engineer "alerts"; replace this docstring): alerts: the feed, the page and the webhooks API."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("customs_alerts", __name__)
