"""STUB (owner: engineer "core"; replace this docstring): the pages: home, sign-in, sign-out, verify."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("customs_pages", __name__)
