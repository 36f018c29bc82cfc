"""Deprecated alias of :mod:`ecoo.files` (its old, private name), kept until every importer uses
``ecoo.files``. Add nothing here."""

from .files import MAX_FILE_BYTES, InputError, parse_json, read_bytes, read_certificates, read_json, safe_filename

__all__ = ["MAX_FILE_BYTES", "InputError", "parse_json", "read_bytes", "read_certificates", "read_json", "safe_filename"]
