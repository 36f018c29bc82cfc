"""JSON Canonicalization Scheme (RFC 8785): one byte string per JSON value.

Object members are sorted by their keys' UTF-16 code units, no whitespace, strings escaped as
ECMAScript's ``JSON.stringify`` does, numbers in ECMAScript's shortest round-trip form. Certificates
carry decimals as strings, so their numbers are small integers; floats are still canonicalised
correctly for any other JSON. Values JSON cannot represent (NaN, infinities, integers beyond 2^53,
lone surrogates, non-string keys) raise :class:`CanonicalizationError`.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import CanonicalizationError

_MAX_SAFE_INTEGER = 2**53 - 1  # Number.MAX_SAFE_INTEGER
_MAX_DEPTH = 64


# json.dumps with ensure_ascii=False escapes exactly what JCS escapes ("\\", '"', control
# characters as \b \t \n \f \r or lower-case \u00xx) and nothing else.
_encode_string = json.JSONEncoder(ensure_ascii=False).encode


def _number(value: float) -> str:
    """ECMAScript Number::toString for a finite double (RFC 8785, section 3.2.2.3)."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        raise CanonicalizationError("NaN and Infinity are not JSON")
    sign = "-" if value < 0 else ""
    digits, exponent = _shortest_digits(abs(value))
    k = len(digits)
    n = exponent + k  # position of the decimal point relative to the digit string
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        body = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + body


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of ``value`` and their exponent (value = digits * 10**exp)."""
    mantissa, _, exp = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    fraction = "" if fraction == "0" else fraction
    digits = (whole + fraction).lstrip("0")
    exponent = (int(exp) if exp else 0) - len(fraction)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return stripped or "0", exponent


def _sort_key(key: str) -> bytes:
    return key.encode("utf-16-be", errors="surrogatepass")


def _check_string(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalizationError("strings must be valid Unicode (no lone surrogates)") from None
    return text


def _write(value: Any, out: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise CanonicalizationError(f"nesting deeper than {_MAX_DEPTH} levels")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_string(_check_string(value)))
    elif isinstance(value, int):
        if abs(value) > _MAX_SAFE_INTEGER:
            raise CanonicalizationError(f"integer {value} is beyond what JSON numbers (IEEE doubles) hold exactly")
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise CanonicalizationError(f"object keys must be strings, got {type(key).__name__}")
        out.append("{")
        for i, key in enumerate(sorted(value, key=_sort_key)):
            if i:
                out.append(",")
            out.append(_encode_string(_check_string(key)))
            out.append(":")
            _write(value[key], out, depth + 1)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out, depth + 1)
        out.append("]")
    else:
        raise CanonicalizationError(f"{type(value).__name__} is not a JSON value")


_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode


def _fast_eligible(value: Any) -> bool:
    """No floats, only string keys, safe integers, shallow enough: then the C JSON encoder with
    sorted keys writes exactly the JCS form (given no character beyond U+FFFF, checked after)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind is str or node is None or kind is bool:
            continue
        if kind is int:
            if not -_MAX_SAFE_INTEGER <= node <= _MAX_SAFE_INTEGER:
                return False
        elif kind is dict:
            if depth >= _MAX_DEPTH:
                return False
            for key, child in node.items():
                if type(key) is not str:
                    return False
                stack.append((child, depth + 1))
        elif kind is list:
            if depth >= _MAX_DEPTH:
                return False
            stack.extend((child, depth + 1) for child in node)
        else:
            return False
    return True


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value`` (parsed JSON: dict, list, str, int, float, bool, None)."""
    if _fast_eligible(value):
        text = _dumps(value)
        # Python sorts keys by code point, JCS by UTF-16 code unit: the same unless a character
        # beyond U+FFFF appears (then the exact writer below decides).
        if text.isascii() or max(text) <= "\uffff":
            try:
                return text.encode("utf-8")
            except UnicodeEncodeError:
                raise CanonicalizationError("strings must be valid Unicode (no lone surrogates)") from None
    out: list[str] = []
    _write(value, out, 0)
    return "".join(out).encode("utf-8")
