"""The log of every verification the customs service ran (the statistics read it): one row per
document, with its verdict, the first check that failed, where it is anchored, and what the
certificate says of its scheme, countries and issuing chamber.

What the certificate says comes from the document when the caller passes it (``documents``), else
from what the registry answered (the chamber's name and country); nothing is taken from a document
whose format check failed beyond short, printable strings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from ..verdicts import VerificationReport
from .accounts import Actor
from .store.schema import verifications

__all__ = ["SOURCES", "log_verifications"]

#: Where a verification came from.
SOURCES = ("api", "page", "declaration")


def _text(value: Any, limit: int) -> str | None:
    """``value`` if it is printable text of at most ``limit`` characters (a hostile document's
    fields are logged only when they fit their column), else None."""
    if isinstance(value, str) and 0 < len(value) <= limit and value.isprintable():
        return value
    return None


def _country(value: Any) -> str | None:
    text = _text(value, 2)
    return text if text and len(text) == 2 and text.isascii() and text.isalpha() else None


def _certificate(document: Any) -> dict[str, Any]:
    certificate = document.get("certificate") if isinstance(document, dict) else None
    return certificate if isinstance(certificate, dict) else {}


def verification_row(report: VerificationReport, document: Any = None) -> dict[str, Any]:
    """The column values (but ``at``, ``actor``, ``source``, ``declaration_id``) of one report."""
    certificate = _certificate(document)
    state = report.state
    issuer = certificate.get("issuer")
    issuer_block: dict[str, Any] = issuer if isinstance(issuer, dict) else {}
    chamber = (state.issuer_name if state is not None and state.issuer_name else None) or _text(issuer_block.get("name"), 256)
    export_country = _country(certificate.get("exportCountry")) or (_country(state.issuer_country) if state else None)
    return {
        "verdict": report.verdict.value,
        "failed_check": report.failed_check,
        "chain_id": report.chain_id if isinstance(report.chain_id, int) and 0 <= report.chain_id < 2**63 else None,
        "registry": _text(report.registry, 42),
        "issuer": _text(report.issuer, 42),
        "leaf": _text(report.leaf, 66),
        "certificate_number": _text(report.certificate_number, 128),
        "scheme": _text(certificate.get("scheme"), 32),
        "export_country": export_country,
        "import_country": _country(certificate.get("importCountry")),
        "chamber": _text(chamber, 256),
    }


def log_verifications(
    conn: Connection,
    actor: Actor | str,
    reports: Sequence[VerificationReport],
    source: str,
    declaration_id: int | None = None,
    *,
    documents: Sequence[Any] | None = None,
) -> None:
    """Log ``reports`` (one row each) inside ``conn``'s transaction. ``source`` is one of
    :data:`SOURCES`; ``documents``, when given, are the verified documents in the same order (their
    scheme and countries are logged too)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    if documents is not None and len(documents) != len(reports):
        raise ValueError("documents and reports differ in number")
    if not reports:
        return
    label = actor.label if isinstance(actor, Actor) else actor
    now = time.time()
    rows = [
        {"at": now, "actor": label, "source": source, "declaration_id": declaration_id}
        | verification_row(report, documents[index] if documents is not None else None)
        for index, report in enumerate(reports)
    ]
    conn.execute(verifications.insert(), rows)
