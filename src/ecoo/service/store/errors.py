"""The store's exceptions, defined in :mod:`ecoo.errors` with every other."""

from __future__ import annotations

from ...errors import CursorMovedError, DuplicateCertificateError, IntentConflictError, StoreError

__all__ = ["CursorMovedError", "DuplicateCertificateError", "IntentConflictError", "StoreError"]
