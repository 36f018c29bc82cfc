"""Deprecated: the certificate commands are in :mod:`ecoo.cli.certificates` and the document writer
is :func:`ecoo.files.write_documents`. This alias stays until scripts/bench.py imports the new
name; add nothing here."""

from .files import write_documents as _write_documents

__all__ = ["_write_documents"]
