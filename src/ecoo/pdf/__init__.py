"""The printable certificate: an A4 PDF laid out like the ICC certificate-of-origin form, which
carries the issued JSON document as an embedded file so that the PDF alone is enough to verify.

:mod:`ecoo.pdf.reader` gets the document back (pypdf only); :mod:`ecoo.pdf.layout` prints it
(fpdf2, segno). The layout is imported on first use of :func:`render_pdf` or
:data:`MAX_VERIFY_URL`, so that reading a PDF — what verifying does — never loads fpdf2. What the
boxes say comes from :mod:`ecoo.certificate_view`, shared with the verification page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..certificate_view import COPY_TITLES, SCHEME_TITLES, WITHHELD
from .reader import ATTACHMENT_NAME, PdfError, extract_document

if TYPE_CHECKING:
    from .layout import MAX_VERIFY_URL, render_pdf

__all__ = [
    "ATTACHMENT_NAME",
    "COPY_TITLES",
    "MAX_VERIFY_URL",
    "SCHEME_TITLES",
    "WITHHELD",
    "PdfError",
    "extract_document",
    "render_pdf",
]

_LAYOUT_NAMES = frozenset({"MAX_VERIFY_URL", "render_pdf"})


def __getattr__(name: str) -> Any:
    # PEP 562: the layout (and with it fpdf2) loads only when something asks for it.
    if name in _LAYOUT_NAMES:
        from . import layout

        return getattr(layout, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
