"""STUB (owner: engineer "core"; replace this docstring): the customs API: health, verify, whoami, tokens."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("customs_api", __name__)
