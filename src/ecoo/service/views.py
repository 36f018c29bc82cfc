"""What the API blueprints and the pages both show of the service's certificates: the status
vocabulary, the name of a downloaded file, the public lookup of issued documents, and what customs
recorded against a certificate.

Kept apart from the blueprints so that none of them imports another.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import BigInteger

from ..files import safe_filename
from ..protocol import CORE, redact, split_units
from ..utilisation import RejectionCode, from_units
from ..validation import parse_date
from ..verdicts import ItemUsage, certificate_items, group_digits, iso_time
from .http import ApiError, services
from .status import CertificateStatus
from .store import CertificateCustoms, CertificateRow, CustomsRecordRow, certificates

#: The largest id a certificate can have: what its column holds on both databases (PostgreSQL's
#: ``integer`` is 32 bits; SQLite's, 64).
MAX_ID = 2**63 - 1 if isinstance(certificates.c.id.type, BigInteger) else 2**31 - 1

#: The URL converter of an id in a route (``<{ID}:certificate_id>``): a larger number matches no
#: route (404), so it never reaches the database, which would refuse it with an error (a 500).
ID = f"int(max={MAX_ID})"

#: Every status a chamber's certificate can have, in lifecycle order (filters, counts, the OpenAPI enum).
STATUSES: tuple[str, ...] = tuple(status.value for status in CertificateStatus)

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_LEAF = re.compile(r"0x[0-9a-fA-F]{64}")
# A certificate number is 1 to 64 characters; control characters (NUL among them, which PostgreSQL
# cannot store in text) are in no number, so a filter or lookup holding one is refused unsent.
_NUMBER = re.compile(r"[^\x00-\x1f\x7f]{1,64}")


def is_date(text: str) -> bool:
    """Whether ``text`` is a calendar date written YYYY-MM-DD (a filter's ``from`` or ``to``)."""
    return parse_date(text) is not None


def is_number_filter(text: str) -> bool:
    """Whether ``text`` can be a certificate number to look for (1-64 characters, no control characters)."""
    return bool(_NUMBER.fullmatch(text))


def download_name(row: CertificateRow) -> str:
    """The file name (without extension) a downloaded certificate is saved under."""
    return safe_filename(row.number, f"certificate-{row.id}")


def lookup_documents(issuer: str | None, number: str | None, leaf: str | None) -> list[dict[str, Any]]:
    """Issued documents the service holds for (issuer, number) or for a leaf; ApiError if none."""
    store = services().store
    if leaf:
        if not _LEAF.fullmatch(leaf):
            raise ApiError(400, "invalid_leaf", "leaf must be 0x followed by 64 hex digits")
        row = store.find_by_leaf(leaf)
        rows = [row] if row else []
    else:
        if not issuer or not _ADDRESS.fullmatch(issuer) or not number or not is_number_filter(number):
            raise ApiError(400, "invalid_lookup", "give issuer (0x address) and number, or leaf")
        chamber_id = store.chamber_by_address(issuer)
        rows = store.find_by_number(chamber_id, number) if chamber_id is not None else []
    # What the service holds is the complete certificate; a public lookup must not reveal what a
    # holder may withhold (a redacted copy has the same leaf). Show the core only: it still verifies.
    # A PENDING row may keep the document of an anchor a reorganisation removed: not issued now.
    documents = [public_view(row.document) for row in rows if row.document and row.status != CertificateStatus.PENDING]
    if not documents:
        what = f"leaf {leaf}" if leaf else f"certificate {number!r} of issuer {issuer}"
        pending = any(row.document is None or row.status == CertificateStatus.PENDING for row in rows)
        raise ApiError(404, "not_found", f"{what} is {'not anchored yet' if pending else 'not known to this service'}")
    return documents


def public_view(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every redactable part withheld (the leaf, and so the verdict, unchanged)."""
    units = [unit for unit in split_units(document["certificate"]) if unit != CORE]
    return redact(document, units) if units else document


# -- customs records ------------------------------------------------------------------------------


def item_units(certificate: dict[str, Any]) -> dict[int, str | None]:
    """Each item's unit of quantity, by item number, as the certificate states it."""
    return dict(certificate_items(certificate))


def rejection_reason(code: int | None) -> str | None:
    """The reason's name for a rejection code (``quantity_exceeded``); None for one ecoo does not name."""
    try:
        return RejectionCode(code).code if code is not None else None
    except ValueError:
        return None


def _record_json(record: CustomsRecordRow) -> dict[str, Any]:
    return {
        "customs": record.customs,
        "declarationHash": record.declaration_hash,
        "block": record.block_number,
        "tx": record.tx_hash,
        "at": iso_time(record.at) if record.at is not None else None,
    }


def customs_json(certificate: dict[str, Any], customs: CertificateCustoms | None) -> dict[str, Any]:
    """What customs recorded against the certificate, as the issuer API shows it: quantities as
    decimals in the unit of the certificate's item (the registry counts thousandths)."""
    customs = customs or CertificateCustoms()
    units = item_units(certificate)
    return {
        "receipts": [_record_json(r) for r in customs.receipts],
        "utilisation": [
            {
                "item": item.item,
                "certified": from_units(item.certified),
                "utilised": from_units(item.utilised),
                "remaining": from_units(max(item.remaining, 0)),
                "unit": units.get(item.item),
            }
            for item in customs.items
        ],
        "rejections": [{**_record_json(r), "code": r.code, "reason": rejection_reason(r.code)} for r in customs.rejections],
    }


def customs_summary(certificate: dict[str, Any], customs: CertificateCustoms | None) -> str:
    """One line for the dashboard: "received · 8,000 / 12,000 SET utilised · 1 rejection" ("" for none)."""
    if not customs:
        return ""
    units = item_units(certificate)
    parts = ["received"] if customs.receipts else []
    for item in customs.items:
        unit = units.get(item.item)
        label = f"item {item.item}: " if len(customs.items) > 1 else ""
        amount = f"{group_digits(from_units(item.utilised))} / {group_digits(from_units(item.certified))}"
        parts.append(f"{label}{amount}{f' {unit}' if unit else ''} utilised")
    if customs.rejections:
        count = len(customs.rejections)
        parts.append(f"{count} rejection{'s' if count != 1 else ''}")
    return " · ".join(parts)


def item_lines(customs: dict[str, Any]) -> list[str]:
    """Each utilised item of ``customs_json``'s answer as a line: "item 1: 8,000 of 12,000 SET utilised, 4,000 left"."""
    return [f"{ItemUsage(**item).text}, {group_digits(item['remaining'])} left" for item in customs["utilisation"]]
