"""Pages for people: the customs verification pages and the chamber dashboard.

Server-rendered and complete without JavaScript (a few lines of inline script only add drag and
drop). ``bp`` is the one blueprint the application registers: it owns the templates, the static
files and the landing page, and nests two blueprints —
:mod:`.verify` (endpoints ``pages.verify.*``) and :mod:`.dashboard` (``pages.dashboard.*``).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from . import dashboard, verify

__all__ = ["bp"]

# Templates and static files stay in ecoo/service/, where the package data lists them.
bp = Blueprint(
    "pages",
    __name__,
    root_path=str(Path(__file__).resolve().parent.parent),
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
bp.register_blueprint(verify.bp)
bp.register_blueprint(dashboard.bp)


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("index.html")
