"""The published JSON Schema (draft 2020-12) of the ecoo certificate of origin.

The schema is the data format; :mod:`ecoo.validation` enforces it together with the rules a
schema cannot express.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

__all__ = ["SCHEMA_FILE", "load_schema"]

SCHEMA_FILE = "certificate-of-origin.schema.json"


def load_schema() -> dict[str, Any]:
    """Return a fresh copy of the certificate-of-origin schema, parsed from the packaged file."""
    text = files(__name__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
