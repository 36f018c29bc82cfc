"""The store's exceptions (kept here until the service's errors join ``ecoo.errors``)."""

from __future__ import annotations

from ...errors import EcooError


class StoreError(EcooError):
    """A database operation failed for a reason the caller should report."""


class DuplicateCertificateError(StoreError):
    """The chamber already has a certificate with this number."""

    def __init__(self, number: str, existing_id: int) -> None:
        self.number, self.existing_id = number, existing_id
        super().__init__(f"certificate {number!r} already exists (id {existing_id}); it is never issued twice")
