"""Query and path parameters of the customs API: whole numbers within what the databases hold."""

from __future__ import annotations

from flask import request

from ..service.http import ApiError

__all__ = ["MAX_ID", "int_arg"]

#: The largest id the databases' integer columns hold (PostgreSQL's integer); route converters use
#: it as ``<int(max=MAX_ID):…>`` so that a larger id is a 404, never an overflow in the driver.
MAX_ID = 2_147_483_647


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """The query parameter ``name`` as a whole number in ``low..high`` (``default`` when absent);
    anything else is a 400 that says the range."""
    text = request.args.get(name)
    if text is None or text == "":
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(400, "invalid_parameter", f"{name} must be a whole number from {low} to {high}")
    return int(text)
