"""Chambers, their signing keys, their API tokens, and the anchoring lease each chamber carries."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Connection

from .engine import Database, insert_id
from .rows import Chamber, ChamberKey, TokenOwner
from .schema import api_tokens, chamber_keys, chambers, token_sessions


def chamber_with_current_key(conn: Connection, chamber_id: int) -> Chamber | None:
    """The chamber with its unretired key, read inside the caller's transaction."""
    row = conn.execute(
        select(chambers, chamber_keys.c.id.label("key_id"), chamber_keys.c.address)
        .join(chamber_keys, chamber_keys.c.chamber_id == chambers.c.id)
        .where(chambers.c.id == chamber_id, chamber_keys.c.retired_at.is_(None))
    ).first()
    if row is None:
        return None
    return Chamber(row.id, row.name, row.country, row.accreditation_code, row.key_id, row.address)


class ChamberRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- chambers and keys -------------------------------------------------------------------------

    def create_chamber(self, name: str, country: str, code: str, encrypt: Callable[[int], tuple[str, bytes]]) -> Chamber:
        """Create a chamber; ``encrypt(chamber_id)`` returns (address, ciphertext) of its new key."""
        with self.db.transaction() as conn:
            chamber_id = insert_id(
                conn, chambers.insert().values(name=name, country=country, accreditation_code=code, created_at=time.time())
            )
            address, ciphertext = encrypt(chamber_id)
            key_id = insert_id(
                conn,
                chamber_keys.insert().values(
                    chamber_id=chamber_id, address=address, ciphertext=ciphertext, created_at=time.time()
                ),
            )
        return Chamber(chamber_id, name, country, code, key_id, address)

    def add_key(self, chamber_id: int, address: str, ciphertext: bytes) -> int:
        """A new signing key (rotation): older keys are retired, and stay for their history."""
        now = time.time()
        with self.db.transaction() as conn:
            conn.execute(
                update(chamber_keys)
                .where(chamber_keys.c.chamber_id == chamber_id, chamber_keys.c.retired_at.is_(None))
                .values(retired_at=now)
            )
            return insert_id(
                conn,
                chamber_keys.insert().values(chamber_id=chamber_id, address=address, ciphertext=ciphertext, created_at=now),
            )

    def chamber(self, chamber_id: int) -> Chamber | None:
        with self.db.transaction() as conn:
            return chamber_with_current_key(conn, chamber_id)

    def chambers(self) -> list[Chamber]:
        with self.db.transaction() as conn:
            ids = conn.execute(select(chambers.c.id).order_by(chambers.c.id)).scalars().all()
            return [c for c in (chamber_with_current_key(conn, i) for i in ids) if c is not None]

    def key(self, key_id: int) -> ChamberKey:
        """A key by id, retired or not (certificates keep the key that signed them)."""
        with self.db.transaction() as conn:
            row = conn.execute(select(chamber_keys).where(chamber_keys.c.id == key_id)).one()
            return ChamberKey(row.address, row.ciphertext, row.chamber_id)

    def chamber_by_address(self, address: str) -> int | None:
        with self.db.transaction() as conn:
            value = conn.execute(
                select(chamber_keys.c.chamber_id).where(func.lower(chamber_keys.c.address) == address.lower())
            ).scalar()
            return int(value) if value is not None else None

    # -- API tokens --------------------------------------------------------------------------------

    def add_token(self, chamber_id: int, token_hash: str, label: str = "") -> int:
        with self.db.transaction() as conn:
            token_id = insert_id(
                conn,
                api_tokens.insert().values(chamber_id=chamber_id, token_hash=token_hash, label=label, created_at=time.time()),
            )
            conn.execute(token_sessions.insert().values(token_id=token_id, generation=0))
            return token_id

    def revoke_token(self, token_id: int) -> bool:
        """Refuse the token from now on, and end every dashboard session opened with it."""
        with self.db.transaction() as conn:
            result = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
            if result.rowcount:
                _bump_session_generation(conn, token_id)
            return bool(result.rowcount)

    def token_owner(self, token_hash: str) -> TokenOwner | None:
        """The chamber and id of a live token, looked up by its hash (an API request's Bearer token)."""
        with self.db.transaction() as conn:
            row = conn.execute(
                select(api_tokens.c.chamber_id, api_tokens.c.id).where(
                    api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None)
                )
            ).first()
            return TokenOwner(row.chamber_id, row.id) if row else None

    def api_token_active(self, token_id: int, chamber_id: int) -> bool:
        """Whether the token with this id belongs to this chamber and is not revoked.

        A dashboard session holds only the token's id (never the token), so it cannot use
        :meth:`token_owner`; this is its check on every request.
        """
        with self.db.transaction() as conn:
            row = conn.execute(
                select(api_tokens.c.id).where(
                    api_tokens.c.id == token_id, api_tokens.c.chamber_id == chamber_id, api_tokens.c.revoked_at.is_(None)
                )
            ).first()
            return row is not None

    # -- dashboard sessions (see schema.token_sessions) -------------------------------------------

    def session_generation(self, token_id: int) -> int:
        """The generation a dashboard session opened now with this token carries."""
        with self.db.transaction() as conn:
            value = conn.execute(select(token_sessions.c.generation).where(token_sessions.c.token_id == token_id)).scalar()
            return int(value or 0)

    def session_live(self, token_id: int, chamber_id: int, generation: int) -> bool:
        """Whether a dashboard session of this generation, opened with this chamber's token, may
        still act: the token is live and no sign-out or revocation has ended its sessions since."""
        with self.db.transaction() as conn:
            current = func.coalesce(token_sessions.c.generation, 0)
            row = conn.execute(
                select(api_tokens.c.id)
                .select_from(api_tokens.outerjoin(token_sessions, token_sessions.c.token_id == api_tokens.c.id))
                .where(
                    api_tokens.c.id == token_id,
                    api_tokens.c.chamber_id == chamber_id,
                    api_tokens.c.revoked_at.is_(None),
                    current == generation,
                )
            ).first()
            return row is not None

    def end_sessions(self, token_id: int) -> None:
        """End every dashboard session opened with this token (signing out ends them all)."""
        with self.db.transaction() as conn:
            _bump_session_generation(conn, token_id)

    # -- the anchoring lease -----------------------------------------------------------------------

    def acquire_lease(self, chamber_id: int, owner: str, seconds: float) -> bool:
        """Claim the chamber's anchoring for ``seconds``: one worker per chamber, so one nonce sequence."""
        now = time.time()
        with self.db.transaction() as conn:
            result = conn.execute(
                update(chambers)
                .where(
                    chambers.c.id == chamber_id,
                    or_(chambers.c.lease_until.is_(None), chambers.c.lease_until < now, chambers.c.lease_owner == owner),
                )
                .values(lease_owner=owner, lease_until=now + seconds)
            )
            return bool(result.rowcount)

    def release_lease(self, chamber_id: int, owner: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                update(chambers)
                .where(chambers.c.id == chamber_id, chambers.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )


def _bump_session_generation(conn: Connection, token_id: int) -> None:
    """Refuse every dashboard session of ``token_id`` opened before now, inside ``conn``'s transaction."""
    bumped = conn.execute(
        update(token_sessions).where(token_sessions.c.token_id == token_id).values(generation=token_sessions.c.generation + 1)
    ).rowcount
    if not bumped:  # a token written without its row (by hand, or by an older version's code)
        conn.execute(token_sessions.insert().values(token_id=token_id, generation=1))
