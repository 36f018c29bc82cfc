"""User-facing wording shared by the schema translation and the rules.

Every message reads "expected <what the field needs>, got <what was found>". Values are shown
short and safe (:func:`show`): a long string is cut, a container is named by its type, and an
:class:`~.cleaning.Opaque` stand-in by its description, so a hostile document cannot make a message
large. The rules' own messages sit next to each rule in :mod:`ecoo.validation.rules`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from .cleaning import Opaque

__all__ = ["FORMATS", "SHOW_CHARS", "describe", "describe_criterion", "json_type", "show", "unknown_member_message"]

SHOW_CHARS: Final = 40
"""Characters of a string shown in a message."""

FORMATS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "certificateNumber": ("certificate_number.format", "a certificate number of 1 to 64 letters, digits and . / _ -"),
        "countryCode": ("country.format", "an ISO 3166-1 alpha-2 country code (two uppercase letters)"),
        "currencyCode": ("currency.format", "an ISO 4217 currency code (three uppercase letters)"),
        "date": ("date.format", "a date YYYY-MM-DD"),
        "decimal": ("decimal.format", 'a decimal string such as "1200" or "8450.5" (no sign or exponent, at most 6 decimals)'),
        "ethereumAddress": ("address.format", "an Ethereum address (0x and 40 hexadecimal digits)"),
        "hsSubheading": ("hs.format", "a 6-digit HS subheading"),
        "leafHash": ("leaf.format", "a registry leaf (0x and 64 lowercase hexadecimal digits)"),
        "locode": ("locode.format", "a UN/LOCODE (country code and 3 characters A-Z or 2-9)"),
        "nationalTariffCode": ("hs.national_format", "a national tariff code of 6 to 12 digits"),
        "packageTypeCode": ("package.format", "a UNECE Rec. 21 package type code (2 uppercase letters or digits)"),
        "unitCode": ("unit.format", "a UNECE Rec. 20 unit code (2 or 3 uppercase letters or digits)"),
    }
)
"""Fields with a format, by the schema definition they use: (issue code, what is expected).

The schema's pattern, minLength and maxLength errors on such a field are reported under this one code.
"""


def json_type(value: object) -> str:
    """The JSON type of ``value`` as a message names it (``"integer"``, ``"array"``...)."""
    if isinstance(value, Opaque):
        return value.description
    if value is None:
        return "null"
    if type(value) is bool:
        return "boolean"
    if type(value) is int:
        return "integer"
    if type(value) is float:
        return "number"
    if type(value) is str:
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def show(value: object) -> str:
    """A short, safe rendering of a value for a message."""
    if type(value) is str:
        if len(value) <= SHOW_CHARS:
            return repr(value)
        return f"{value[:SHOW_CHARS]!r}... ({len(value)} characters)"
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) in (int, float):
        return repr(value)
    return json_type(value)


def describe(value: object) -> str:
    """The type of ``value``, and the value itself when it is a scalar: ``string 'VN'``, ``array``."""
    kind = json_type(value)
    if type(value) in (str, int, float):
        return f"{kind} {show(value)}"
    return kind


def describe_criterion(criterion: object) -> str:
    """An origin criterion as a message names it: ``criterion 'RVC'``, else its type."""
    if isinstance(criterion, dict) and type(criterion.get("code")) is str:
        return f"criterion {show(criterion['code'])}"
    return describe(criterion)


def unknown_member_message(member: object, allowed: Mapping[str, Any]) -> str:
    """The message for a member the schema does not define, with the closest defined name if one is near."""
    message = f"expected only the members the schema defines, got unknown member {show(member)}"
    if isinstance(member, str) and len(member) <= 64:
        close = difflib.get_close_matches(member, list(allowed), n=1, cutoff=0.75)
        if close:
            message += f" (did you mean {close[0]!r}?)"
    return message
