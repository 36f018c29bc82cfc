"""Reading what a person gives a form: an uploaded JSON or PDF file, or pasted JSON. Failures are
:class:`ApiError` 400s with a message fit for the form, so the person can correct and retry."""

from __future__ import annotations

from typing import Any

from flask import request

from ...errors import InputError
from ...files import parse_json
from ..http import ApiError, services

__all__ = ["allow_pasted_certificates", "parse_presented", "presented_document"]

_NOT_A_CERTIFICATE = " An issued certificate is a JSON file, or a PDF made by ecoo."


def allow_pasted_certificates() -> None:
    """Call before reading a form that may hold a pasted certificate."""
    # Werkzeug keeps form fields under 500 kB by default; a pasted certificate of 999 items is larger.
    request.max_form_memory_size = services().settings.max_body_bytes


def presented_document() -> tuple[Any, str]:
    """The document the officer gave (an uploaded JSON or PDF file, else pasted JSON) and what it was."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.read()  # MAX_CONTENT_LENGTH already bounds the whole request
        if data.startswith(b"%PDF"):
            from ...pdf.reader import PdfError, extract_document  # pypdf loads with the first PDF, not the service

            try:
                return extract_document(data), f"PDF file {upload.filename}"
            except PdfError as exc:
                raise ApiError(400, "not_an_ecoo_pdf", f"{upload.filename}: {exc}") from None
        return parse_presented(data, upload.filename, _NOT_A_CERTIFICATE), f"JSON file {upload.filename}"
    pasted = request.form.get("json", "")
    if pasted.strip():
        return parse_presented(pasted, "the pasted text", _NOT_A_CERTIFICATE), "pasted JSON"
    raise ApiError(400, "nothing_presented", "Choose a certificate file (JSON or PDF) or paste the certificate's JSON.")


def parse_presented(data: str | bytes, source: str, hint: str = "") -> Any:
    """``data`` parsed strictly as JSON; ``source`` and ``hint`` go into the error message."""
    try:
        return parse_json(data, source, services().settings.max_body_bytes)
    except InputError as exc:
        raise ApiError(400, "malformed_json", f"{exc}.{hint}") from None
