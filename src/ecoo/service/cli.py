"""Deprecated: the ``ecoo serve``, ``demo`` and ``chamber`` commands are in :mod:`ecoo.cli.service`
and ``create_chamber`` is in :mod:`ecoo.service.chambers`. This alias stays until every importer
uses the new path; add nothing here."""

from .chambers import create_chamber

__all__ = ["create_chamber"]
