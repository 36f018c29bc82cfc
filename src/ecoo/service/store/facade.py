"""`Store`: the one object the service holds, with every repository behind today's method names.

New code may use the repositories directly (``store.batch_repository.get(id)`` returns a
:class:`BatchRow`); the methods below keep the shapes callers already rely on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine

from .audit_repository import AuditRepository
from .batch_repository import BatchRepository
from .certificate_repository import CertificateRepository
from .chain_repository import ChainRepository
from .chamber_repository import ChamberRepository
from .customs_records import CustomsRecordsRepository
from .engine import Database
from .intent_repository import IntentRepository
from .rows import CertificateRow, Chamber, ChamberKey, TokenOwner
from .schema import current_version, migrate


class Store:
    """The service's database: SQLite by default, PostgreSQL when DATABASE_URL says so.

    The store owns its engine; every method is one transaction.
    """

    def __init__(self, url: str) -> None:
        self.database = Database(url)
        self.chamber_repository = ChamberRepository(self.database)
        self.certificate_repository = CertificateRepository(self.database)
        self.batch_repository = BatchRepository(self.database)
        self.audit_repository = AuditRepository(self.database)
        self.intent_repository = IntentRepository(self.database)
        self.chain_repository = ChainRepository(self.database)
        self.customs_records = CustomsRecordsRepository(self.database)

    @property
    def url(self) -> str:
        return self.database.url

    @property
    def engine(self) -> Engine:
        return self.database.engine

    def close(self) -> None:
        self.database.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.database.transaction() as conn:
            yield conn

    # -- schema ------------------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply missing migrations; returns the schema version."""
        with self.database.transaction() as conn:
            return migrate(conn)

    def version(self) -> int:
        with self.database.transaction() as conn:
            return current_version(conn)

    # -- chambers, keys, tokens, leases ------------------------------------------------------------

    def create_chamber(self, name: str, country: str, code: str, encrypt: Callable[[int], tuple[str, bytes]]) -> Chamber:
        """Create a chamber; ``encrypt(chamber_id)`` returns (address, ciphertext) of its new key."""
        return self.chamber_repository.create_chamber(name, country, code, encrypt)

    def add_key(self, chamber_id: int, address: str, ciphertext: bytes) -> int:
        """A new signing key (rotation): older keys are retired, and stay for their history."""
        return self.chamber_repository.add_key(chamber_id, address, ciphertext)

    def chamber(self, chamber_id: int) -> Chamber | None:
        return self.chamber_repository.chamber(chamber_id)

    def chambers(self) -> list[Chamber]:
        return self.chamber_repository.chambers()

    def key(self, key_id: int) -> ChamberKey:
        """(address, ciphertext, chamber id) of a key."""
        return self.chamber_repository.key(key_id)

    def chamber_by_address(self, address: str) -> int | None:
        return self.chamber_repository.chamber_by_address(address)

    def add_token(self, chamber_id: int, token_hash: str, label: str = "") -> int:
        return self.chamber_repository.add_token(chamber_id, token_hash, label)

    def revoke_token(self, token_id: int) -> bool:
        return self.chamber_repository.revoke_token(token_id)

    def token_owner(self, token_hash: str) -> TokenOwner | None:
        """(chamber id, token id) of a live token."""
        return self.chamber_repository.token_owner(token_hash)

    def api_token_active(self, token_id: int, chamber_id: int) -> bool:
        """Whether this token id belongs to this chamber and is not revoked (a dashboard session's check)."""
        return self.chamber_repository.api_token_active(token_id, chamber_id)

    def session_generation(self, token_id: int) -> int:
        """The generation a dashboard session opened now with this token carries."""
        return self.chamber_repository.session_generation(token_id)

    def session_live(self, token_id: int, chamber_id: int, generation: int) -> bool:
        """Whether a dashboard session of this generation and token may still act."""
        return self.chamber_repository.session_live(token_id, chamber_id, generation)

    def end_sessions(self, token_id: int) -> None:
        """End every dashboard session opened with this token."""
        self.chamber_repository.end_sessions(token_id)

    def acquire_lease(self, chamber_id: int, owner: str, seconds: float) -> bool:
        """Claim the chamber's anchoring for ``seconds``: one worker per chamber, so one nonce sequence."""
        return self.chamber_repository.acquire_lease(chamber_id, owner, seconds)

    def release_lease(self, chamber_id: int, owner: str) -> None:
        self.chamber_repository.release_lease(chamber_id, owner)

    # -- certificates ------------------------------------------------------------------------------

    def insert_certificates(self, chamber: Chamber, rows: Sequence[dict[str, Any]], actor: str) -> list[int]:
        """Store new certificates as PENDING (all or none). Raises DuplicateCertificateError."""
        return self.certificate_repository.insert_certificates(chamber, rows, actor)

    def resign_pending(self, chamber_id: int, key_id: int, signatures: dict[int, str]) -> int:
        """Move not-yet-batched PENDING certificates to a new key with their new signatures."""
        return self.certificate_repository.resign_pending(chamber_id, key_id, signatures)

    def get_certificate(self, certificate_id: int, chamber_id: int | None = None) -> CertificateRow | None:
        return self.certificate_repository.get_certificate(certificate_id, chamber_id)

    def get_certificates(self, certificate_ids: Sequence[int]) -> list[CertificateRow]:
        """The certificates with these ids, in that order (one query)."""
        return self.certificate_repository.get_certificates(certificate_ids)

    def find_by_leaf(self, leaf: str) -> CertificateRow | None:
        return self.certificate_repository.find_by_leaf(leaf)

    def find_by_number(self, chamber_id: int, number: str) -> list[CertificateRow]:
        return self.certificate_repository.find_by_number(chamber_id, number)

    def list_certificates(
        self,
        chamber_id: int,
        *,
        number: str | None = None,
        status: str | None = None,
        destination: str | None = None,
        issued_from: str | None = None,
        issued_to: str | None = None,
        limit: int = 50,
        after_id: int | None = None,
    ) -> list[CertificateRow]:
        return self.certificate_repository.list_certificates(
            chamber_id,
            number=number,
            status=status,
            destination=destination,
            issued_from=issued_from,
            issued_to=issued_to,
            limit=limit,
            after_id=after_id,
        )

    def cancel_unbatched(self, certificate_id: int, reason: str, actor: str) -> bool:
        """Cancel a PENDING certificate that no batch has taken, in one conditional update: a batch
        formed at the same moment and this cancel cannot both win."""
        return self.certificate_repository.cancel_unbatched(certificate_id, reason, actor)

    def withdraw(self, certificate_id: int, reason: str, actor: str) -> bool:
        """Cancel a certificate that was never batched and free its number for a retry."""
        return self.certificate_repository.withdraw(certificate_id, reason, actor)

    def pending(self, chamber_id: int, limit: int) -> list[CertificateRow]:
        return self.certificate_repository.pending(chamber_id, limit)

    def batch_certificates(self, batch_id: int) -> list[CertificateRow]:
        return self.certificate_repository.batch_certificates(batch_id)

    def counts(self, chamber_id: int) -> dict[str, int]:
        return self.certificate_repository.counts(chamber_id)

    def audit_trail(self, certificate_id: int) -> list[dict[str, Any]]:
        return [event.as_dict() for event in self.audit_repository.events(certificate_id)]

    # -- anchoring ---------------------------------------------------------------------------------

    def chambers_with_pending(self) -> list[int]:
        return self.batch_repository.chambers_with_pending()

    def open_batches(self, chamber_id: int) -> list[dict[str, Any]]:
        """Batches created but not yet known to be anchored (a restart resumes them)."""
        return [batch.as_dict() for batch in self.batch_repository.unanchored(chamber_id)]

    def create_batch(self, chamber_id: int, key_id: int, root: str, certificate_ids: Sequence[int]) -> int:
        """Record a batch and assign its certificates — before anything is sent to the chain."""
        return self.batch_repository.create_batch(chamber_id, key_id, root, certificate_ids)

    def batch_transaction(self, root: str) -> str | None:
        """The anchoring transaction of an anchored batch with this root, if this service made it."""
        return self.batch_repository.transaction_of_root(root)

    def batch_of(self, batch_id: int) -> dict[str, Any] | None:
        batch = self.batch_repository.get(batch_id)
        return batch.as_dict() if batch else None

    def batch_attempt(self, batch_id: int, error: str | None, tx_hash: str | None = None) -> None:
        self.batch_repository.batch_attempt(batch_id, error, tx_hash)
