"""Customs' own verification, shared by the API and the verify page: read what was presented (JSON
or an ecoo PDF, every byte hostile: the bounded JSON reader and the PDF reader), verify it through
the trust list, and log each verification and the action in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InputError
from ..files import parse_json
from ..service.http import ApiError
from ..verdicts import VerificationReport
from .accounts import Actor
from .audit import record
from .auth import objects
from .verifications import log_verifications

__all__ = ["MAX_DOCUMENTS", "read_upload", "report_json", "verify_and_log"]

#: Documents per request: one verifyCertificates call per registry per 500, so at most two per registry.
MAX_DOCUMENTS = 1000


def read_pdf(data: bytes, name: str) -> Any:
    from ..pdf import PdfError, extract_document  # pypdf loads with the first PDF, not with the service

    try:
        return extract_document(data)
    except PdfError as exc:
        raise ApiError(400, "not_an_ecoo_pdf", f"{name}: {exc}") from None


def read_upload(data: bytes, name: str) -> Any:
    """The issued document in an uploaded file: an ecoo PDF (by its magic bytes) or JSON."""
    if data.startswith(b"%PDF"):
        return read_pdf(data, name)
    try:
        return parse_json(data, name, objects().settings.max_body_bytes)
    except InputError as exc:
        raise ApiError(400, "malformed_json", f"{exc}. An issued certificate is a JSON file, or a PDF made by ecoo.") from None


def verify_and_log(documents: Sequence[Any], source: str, actor: Actor) -> list[VerificationReport]:
    """Verify ``documents`` through the trust list (one call per registry per 500, concurrently) and
    log every verification, with one audit row for the action."""
    built = objects()
    reports = built.registries.verifier().verify_many(list(documents))
    verdicts: dict[str, int] = {}
    for report in reports:
        verdicts[report.verdict.value] = verdicts.get(report.verdict.value, 0) + 1
    with built.db.transaction() as conn:
        log_verifications(conn, actor, reports, source, documents=documents)
        record(conn, actor, "verify", f"{len(reports)} document(s)", {"source": source, "verdicts": verdicts})
    return reports


def report_json(report: VerificationReport) -> dict[str, Any]:
    """The report as ``ecoo verify --json`` gives it, with the trust-list entry of its registry:
    who runs it, or ``null`` with a note when the registry is not on this administration's list."""
    body = report.to_json()
    entry = None
    if isinstance(report.chain_id, int) and isinstance(report.registry, str):
        entry = objects().registries.entry(report.chain_id, report.registry)
    if entry is not None:
        body["trustEntry"] = {"authority": entry.authority_name, "country": entry.authority_country, "period": entry.period()}
    else:
        body["trustEntry"] = None
        if report.registry is not None:
            body["trustNote"] = (
                f"registry {report.registry} on chain {report.chain_id} is not on this administration's trust list: "
                "its certificates are not trusted"
            )
    return body
