"""The store's exceptions, defined in :mod:`ecoo.errors` with every other."""

from __future__ import annotations

from ...errors import DuplicateCertificateError, IntentConflictError, StoreError

__all__ = ["DuplicateCertificateError", "IntentConflictError", "StoreError"]
