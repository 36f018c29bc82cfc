"""The result page in plain words: what the verdict banner says, what each of the eight checks
asks and what its failure means, and the names of the parts a holder withheld or the service's
public view does not publish."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...verify import CheckStatus, Verdict, VerificationReport

__all__ = [
    "CHECK_WORDS",
    "VERDICTS",
    "CheckView",
    "VerdictView",
    "check_views",
    "failed_check",
    "pointer_order",
    "unpublished_parts",
    "withheld_label",
]


@dataclass(frozen=True)
class VerdictView:
    code: Verdict
    tone: str  # good, bad, warn, none: the banner's colour
    headline: str
    advice: str


VERDICTS: dict[Verdict, VerdictView] = {
    v.code: v
    for v in (
        VerdictView(
            Verdict.VALID,
            "good",
            "Genuine and in force",
            "The certificate is unaltered, was signed and anchored in the registry by an accredited issuer, "
            "and is neither revoked, suspended nor expired.",
        ),
        VerdictView(
            Verdict.INVALID,
            "bad",
            "Not a genuine, unaltered certificate",
            "Do not accept it. The document fails a check that needs no registry: see the failed check below.",
        ),
        VerdictView(
            Verdict.NOT_ANCHORED,
            "bad",
            "Not in the registry",
            "Do not accept it. The registry has no record of this certificate from this issuer.",
        ),
        VerdictView(
            Verdict.UNTRUSTED_ISSUER,
            "bad",
            "Issuer not accredited",
            "Do not accept it. The issuer is not accredited, its accreditation is suspended, or it names "
            "another country than the one it is accredited for.",
        ),
        VerdictView(Verdict.REVOKED, "bad", "Revoked by the issuer", "Do not accept it. The issuer withdrew this certificate."),
        VerdictView(
            Verdict.CANCELLED, "bad", "Cancelled", "Do not accept it. The certificate was cancelled at the exporter's request."
        ),
        VerdictView(
            Verdict.SUPERSEDED,
            "bad",
            "Replaced by another certificate",
            "Do not accept this version: an amended certificate or a certified true copy replaced it. "
            "Ask for the replacement (linked below).",
        ),
        VerdictView(
            Verdict.SUSPENDED,
            "warn",
            "Suspended during an enquiry",
            "Hold the goods' preferential treatment: the issuer suspended the certificate while a "
            "verification enquiry runs. It may be restored or revoked.",
        ),
        VerdictView(Verdict.EXPIRED, "warn", "Expired", "The certificate is genuine but its validity period has ended."),
        VerdictView(Verdict.NOT_YET_VALID, "warn", "Not yet valid", "The certificate is genuine but its validity has not begun."),
        VerdictView(
            Verdict.UNAVAILABLE,
            "none",
            "Registry unavailable",
            "The registry could not be reached — this is NOT a verdict on the certificate. "
            "Try again later; the checks that need no registry are shown below.",
        ),
    )
}

#: Each check as the question it answers, and what its failure means, in plain words.
CHECK_WORDS: dict[str, tuple[str, str]] = {
    "format": ("Is it a well-formed ecoo certificate of origin?", "the file is not a well-formed ecoo certificate of origin"),
    "integrity": (
        "Is the data exactly what the issuer signed and anchored?",
        "the certificate data was changed after it was issued",
    ),
    "signature": ("Did the issuer named in it sign it?", "the signature is not the claimed issuer's"),
    "registry": ("Is it anchored in a registry this service trusts?", "it points to a registry this service does not trust"),
    "anchored": ("Did the issuer record it in the registry?", "the registry has no record of it from this issuer"),
    "issuer": ("Is the issuer accredited and in good standing?", "the issuer is not accredited, or not in good standing"),
    "status": ("Is it still in force?", "the issuer revoked, cancelled, suspended or replaced it"),
    "validity": ("Is today within its validity period?", "today is outside its validity period"),
}


@dataclass(frozen=True)
class CheckView:
    number: int
    name: str
    question: str
    status: str
    message: str


# How the format check ends its message when parts are withheld (ecoo.verify): the public view
# withholds them itself, so there the note would blame a holder who removed nothing.
_WITHHELD_NOTE = "; withheld by the holder: "


def check_views(report: VerificationReport, *, public: bool = False) -> list[CheckView]:
    """The report's checks, numbered, each with its question; on the service's ``public`` view the
    format check does not list the parts the holder "withheld" (the page says what it leaves out)."""
    return [
        CheckView(
            i,
            c.name,
            CHECK_WORDS.get(c.name, (c.name, ""))[0],
            c.status.value,
            c.message.partition(_WITHHELD_NOTE)[0] if public and c.name == "format" else c.message,
        )
        for i, c in enumerate(report.checks, 1)
    ]


def failed_check(report: VerificationReport) -> dict[str, str] | None:
    """The first failed check: its name, what the failure means, and the verifier's message."""
    for check in report.checks:
        if check.status is CheckStatus.FAILED:
            return {"name": check.name, "meaning": CHECK_WORDS.get(check.name, ("", check.name))[1], "message": check.message}
    return None


# -- naming the withheld parts -----------------------------------------------------------------------

_UNIT_NAMES = {
    "/exporter": "Exporter",
    "/consignee": "Consignee",
    "/importer": "Importer",
    "/producer": "Producer",
    "/transport": "Transport details",
    "/thirdPartyInvoicing": "Third-party invoicing",
    "/backToBack": "Back-to-back reference",
    "/exporterDeclaration": "Exporter's declaration",
    "/remarks": "Remarks",
}
_ITEM_UNIT = re.compile(r"^/items/(\d{1,4})/(fobValue|invoice)$")


def pointer_order(pointer: str) -> tuple[int, int, str]:
    """Sort key for withheld pointers: top-level parts first, then items in order."""
    match = _ITEM_UNIT.match(pointer)
    return (1, int(match[1]), match[2]) if match else (0, 0, pointer)


def withheld_label(pointer: str) -> str:
    """A withheld part's name for people ("Consignee", "FOB value of item 2")."""
    match = _ITEM_UNIT.match(pointer)
    if match:
        return f"{'FOB value' if match[2] == 'fobValue' else 'Invoice'} of item {int(match[1]) + 1}"
    return _UNIT_NAMES.get(pointer, pointer)


def _ranges(numbers: list[int]) -> str:
    """ "1-3, 5" for [1, 2, 3, 5]."""
    spans: list[list[int]] = []
    for n in sorted(set(numbers)):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def unpublished_parts(pointers: list[str]) -> list[str]:
    """What the public view leaves out, by name, items grouped: ["Exporter", ..., "FOB value of items 1–3"]."""
    order = list(_UNIT_NAMES)  # the form's order: exporter, consignee, ... remarks
    top = sorted((p for p in pointers if not _ITEM_UNIT.match(p)), key=lambda p: (order.index(p) if p in order else len(order), p))
    named = [withheld_label(p) for p in top]
    for field, name in (("fobValue", "FOB value"), ("invoice", "Invoice")):
        items = [int(m[1]) + 1 for p in pointers if (m := _ITEM_UNIT.match(p)) and m[2] == field]
        if items:
            named.append(f"{name} of item{'s' if len(items) > 1 else ''} {_ranges(items)}")
    return named
