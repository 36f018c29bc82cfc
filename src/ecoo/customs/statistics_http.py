"""STUB (owner: engineer "stats"; replace this docstring): statistics: the API, the CSV and the page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("customs_statistics", __name__)
