"""The API's OpenAPI 3.1 description, served at ``/api/v1/openapi.json``.

``openapi.json`` beside this module is the source. Its ``CertificateOfOrigin`` schema is a
``$ref`` to the certificate-of-origin JSON Schema's ``$id``; the served document embeds that
schema there instead (from :mod:`ecoo.schema`: the certificate format has one source), so that
the document resolves offline. The embedded copy drops ``$id`` and ``$schema`` and rebases its
``#/$defs/...`` references onto ``#/components/schemas/CertificateOfOrigin/$defs/...``: OpenAPI
tools resolve every ``#...`` reference against the document root (embedded ``$id`` resources
are not widely supported). ``tests/service/test_openapi.py`` validates real responses against the
served document.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib.resources import files
from typing import Any

from flask import Blueprint, jsonify

from ..schema import SCHEMA_FILE, load_schema

bp = Blueprint("api_docs", __name__)

OPENAPI_FILE = "openapi.json"
CERTIFICATE_SCHEMA = "CertificateOfOrigin"


@functools.cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(files("ecoo.service").joinpath(OPENAPI_FILE).read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    schema = load_schema()
    if schemas[CERTIFICATE_SCHEMA].get("$ref") != schema["$id"]:
        raise RuntimeError(f"{OPENAPI_FILE}: {CERTIFICATE_SCHEMA} must be a $ref to {schema['$id']}")
    schemas[CERTIFICATE_SCHEMA] = _embedded(schema, f"#/components/schemas/{CERTIFICATE_SCHEMA}")
    return document


def _embedded(schema: dict[str, Any], base: str) -> dict[str, Any]:
    """``schema`` as a subschema at ``base``: no ``$id``/``$schema``, local references rebased."""

    def rebase(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: base + value[1:] if key == "$ref" and isinstance(value, str) and value.startswith("#") else rebase(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [rebase(item) for item in node]
        return node

    body = {key: value for key, value in schema.items() if key not in ("$id", "$schema")}
    comment = f"The JSON Schema {schema['$id']} (ecoo/schema/{SCHEMA_FILE}), its $defs references rebased here."
    return {"$comment": comment, **rebase(body)}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document as served (a fresh copy), the certificate schema embedded."""
    return copy.deepcopy(_document())


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(_document())
