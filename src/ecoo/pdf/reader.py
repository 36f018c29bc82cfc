"""Reading a certificate PDF back: the issued JSON document it carries as an embedded file.

The PDF alone is enough to verify: :func:`extract_document` gets the document back, byte for
byte what :func:`ecoo.pdf.render_pdf` embedded. This module uses only pypdf, never the layout
library (fpdf2), so verifying a PDF does not load what printing one needs.
"""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader

from ..errors import InputError, PdfError
from ..files import MAX_FILE_BYTES, parse_json

__all__ = ["ATTACHMENT_NAME", "PdfError", "extract_document"]

#: File name of the embedded issued document.
ATTACHMENT_NAME = "ecoo-certificate.json"


def extract_document(pdf: bytes) -> dict[str, Any]:
    """The issued document embedded in a certificate PDF, parsed strictly (no duplicate keys, NaN).

    Raises :class:`PdfError` with a one-line message for anything that is not an ecoo PDF.
    """
    if not isinstance(pdf, bytes | bytearray | memoryview):
        raise PdfError(f"expected the bytes of a PDF file, got {type(pdf).__name__}")
    data = bytes(pdf)
    limit_mb = MAX_FILE_BYTES // (1024 * 1024)
    if len(data) > MAX_FILE_BYTES:
        raise PdfError(f"{len(data) / 1e6:.1f} MB is over the {limit_mb} MB limit for a certificate PDF")
    # PDF 1.7, 7.5.2: the header may follow up to 1024 bytes of junk; readers accept that.
    if b"%PDF-" not in data[:1024]:
        raise PdfError("not a PDF file (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise PdfError("the PDF is encrypted; an ecoo certificate PDF never is")
        contents = reader.attachments.get(ATTACHMENT_NAME)
    except PdfError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types (and RecursionError) on corrupt files
        raise PdfError(f"not a readable PDF: {type(exc).__name__}: {_one_line(str(exc))}") from None
    if not contents:
        raise PdfError(f"the PDF has no {ATTACHMENT_NAME} attachment: it is not an ecoo certificate PDF")
    if len(contents) > 1:
        # Two embedded documents under one name: refuse to guess which one the holder meant.
        raise PdfError(f"the PDF has {len(contents)} attachments named {ATTACHMENT_NAME}; expected one")
    payload = contents[0]
    if len(payload) > MAX_FILE_BYTES:
        raise PdfError(f"{ATTACHMENT_NAME} is {len(payload) / 1e6:.1f} MB, over the {limit_mb} MB limit")
    try:
        document = parse_json(payload, ATTACHMENT_NAME)
    except InputError as exc:
        raise PdfError(str(exc)) from None
    if not isinstance(document, dict):
        raise PdfError(f"{ATTACHMENT_NAME} is not a JSON object")
    return document


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
