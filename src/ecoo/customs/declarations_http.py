"""STUB (owner: engineer "declarations"; replace this docstring): declarations: the API and the page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("customs_declarations", __name__)
