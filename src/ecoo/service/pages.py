"""Pages for people: the customs verification page and the chamber dashboard."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static", static_url_path="/static")
