"""What customs record against a certificate on chain: quantities, rejection codes, and the
salted hash that stands for a declaration.

The registry stores no names, descriptions or values: a utilisation record holds the item's number,
quantities as integers and a salted hash of the declaration's reference. This module is the one
place that turns the certificate's decimal quantities into the registry's integers and back, names
the rejection codes, and hashes a declaration reference.
"""

from __future__ import annotations

import re
import secrets
from enum import IntEnum

from .errors import InputError
from .hashing import keccak

#: The registry counts quantities in thousandths of the item's unit: "12000" SET is 12,000,000.
QUANTITY_DECIMALS = 3
QUANTITY_SCALE: int = 10**QUANTITY_DECIMALS
#: The registry's quantities are uint128.
MAX_UNITS = 2**128 - 1

_DECIMAL = re.compile(r"([0-9]{1,40})(?:\.([0-9]{1,40}))?", re.ASCII)


class RejectionCode(IntEnum):
    """Why customs rejected a declaration line, as recorded on chain (uint16; 0 is not a code).

    The same codes name the reasons in the declarations API (``RejectionCode.name.lower()``)."""

    CERTIFICATE_NOT_VALID = 1  # the certificate's verdict is not VALID
    WRONG_IMPORT_COUNTRY = 2  # its import country is not this administration's
    HS_MISMATCH = 3  # the line's HS subheading (6 digits) differs from the certificate item's
    QUANTITY_EXCEEDED = 4  # more than what remains unutilised
    UNIT_MISMATCH = 5  # the line's unit differs from the item's
    OUTSIDE_VALIDITY = 6  # the declaration date is before issue or after the certificate's validity
    IMPORTER_MISMATCH = 7  # the importer differs from the certificate's (when it is disclosed)
    NO_SUCH_ITEM = 8  # the certificate has no item with the line's number
    CERTIFICATE_NOT_PRESENTED = 9  # the line names a certificate the declaration did not present
    CERTIFIED_QUANTITY_MISMATCH = 10  # the registry holds another certified quantity for the item than the certificate

    @property
    def code(self) -> str:
        """The reason's code in the API, e.g. ``quantity_exceeded``."""
        return self.name.lower()


def to_units(value: str) -> int:
    """A certificate's decimal quantity ("1250.5") as the registry's integer (thousandths).

    Refuses (InputError) anything that is not a plain non-negative decimal, has more than three
    decimal places, or does not fit a uint128."""
    match = _DECIMAL.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InputError(f"quantity {value!r} is not a plain decimal number such as 1250.5")
    # Integers only: Decimal's default context keeps 28 digits and would round a uint128.
    whole: str = match.group(1)
    part: str = (match.group(2) or "").rstrip("0")
    if len(part) > QUANTITY_DECIMALS:
        raise InputError(f"quantity {value!r} has more than {QUANTITY_DECIMALS} decimal places")
    units = int(whole) * QUANTITY_SCALE + int(part.ljust(QUANTITY_DECIMALS, "0"))
    if units > MAX_UNITS:
        raise InputError(f"quantity {value!r} is too large")
    return units


def from_units(units: int) -> str:
    """The registry's integer as a decimal string without trailing zeros (12000000 → "12000")."""
    whole, part = divmod(units, QUANTITY_SCALE)
    if not part:
        return str(whole)
    return f"{whole}.{part:0{QUANTITY_DECIMALS}d}".rstrip("0")


def new_salt() -> bytes:
    """A fresh 32-byte salt for a declaration's hash (kept with the declaration by customs)."""
    return secrets.token_bytes(32)


def declaration_hash(reference: str, salt: bytes) -> bytes:
    """The 32-byte hash recorded on chain for a declaration: keccak256(salt ‖ UTF-8 reference).

    The salt keeps a short or guessable reference (a running number) from being found by trying
    every value; customs keep the salt and can prove which declaration a record stands for."""
    if len(salt) != 32:
        raise InputError("a declaration salt is 32 bytes")
    return keccak(salt + reference.encode("utf-8"))
