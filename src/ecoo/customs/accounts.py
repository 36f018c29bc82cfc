"""Who may act in the customs service: accounts (officers and administrators, who sign in with a
password) and API tokens (for systems), their roles, and the actor every action is audited under.

Passwords are stored as argon2id hashes (``argon2-cffi``'s :class:`PasswordHasher`, its parameters
encoded in the hash, rehashed on sign-in when the defaults grow); tokens as their SHA-256 (they
carry 256 bits of randomness, so a slow hash adds nothing), shown once when made. Every function
works inside the caller's transaction (``conn``), so that a change and its audit row commit together.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..errors import ConfigurationError
from ..service.vault import hash_token, new_token
from .store import insert_id
from .store.schema import accounts, tokens

__all__ = [
    "ADMIN",
    "OFFICER",
    "ROLES",
    "SYSTEM",
    "Account",
    "Actor",
    "AccountExistsError",
    "authenticate",
    "create_account",
    "create_token",
    "role_allows",
]

OFFICER, ADMIN = "officer", "admin"
#: Roles from least to most: each may do what the ones before it may.
ROLES = (OFFICER, ADMIN)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 hashes any length; a megabyte "password" is a way to spend our CPU
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@functools.cache
def _unknown_user_hash() -> str:
    """Verified against when the username is unknown, so that an unknown user costs as much as a wrong password."""
    return _hasher.hash("an account that does not exist")


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may (admin includes officer)."""
    return role in ROLES and needed in ROLES and ROLES.index(role) >= ROLES.index(needed)


def require_role_name(role: str) -> str:
    if role not in ROLES:
        raise ConfigurationError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


@dataclass(frozen=True)
class Actor:
    """Who does something: a signed-in account, a system's API token, or the service itself."""

    kind: str  # "account" | "token" | "system"
    id: int
    name: str
    role: str

    @property
    def label(self) -> str:
        """How audit rows and logs name the actor: ``account:alice``, ``token:3:gateway``, ``system``."""
        if self.kind == "account":
            return f"account:{self.name}"
        if self.kind == "token":
            return f"token:{self.id}:{self.name}"
        return self.kind

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name, "role": self.role}


#: The service's own background work (the watcher, webhook deliveries).
SYSTEM = Actor("system", 0, "system", ADMIN)


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    created_at: float
    disabled_at: float | None
    session_generation: int

    @property
    def actor(self) -> Actor:
        return Actor("account", self.id, self.username, self.role)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role,
            "createdAt": self.created_at,
            "disabled": self.disabled_at is not None,
        }


class AccountExistsError(ConfigurationError):
    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"an account named {username!r} exists already")


def _account(row: Any) -> Account:
    return Account(row.id, row.username, row.role, row.created_at, row.disabled_at, row.session_generation or 0)


def check_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise ConfigurationError("a username is 1-64 letters, digits or . _ @ - (starting with a letter or digit)")
    return username


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ConfigurationError(f"a password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
    return password


def create_account(conn: Connection, username: str, password: str, role: str) -> Account:
    """A new account with ``password`` hashed (argon2id); AccountExistsError if the name is taken."""
    check_username(username)
    check_password(password)
    require_role_name(role)
    now = time.time()
    try:
        with conn.begin_nested():  # a clash rolls back this insert only, not the caller's transaction
            account_id = insert_id(
                conn,
                accounts.insert().values(
                    username=username, password_hash=_hasher.hash(password), role=role, created_at=now, session_generation=0
                ),
            )
    except IntegrityError:
        raise AccountExistsError(username) from None
    return Account(account_id, username, role, now, None, 0)


def find_account(conn: Connection, account_id: int) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    return _account(row) if row else None


def find_username(conn: Connection, username: str) -> Account | None:
    if _USERNAME.fullmatch(username) is None:
        return None
    row = conn.execute(select(accounts).where(accounts.c.username == username)).first()
    return _account(row) if row else None


def list_accounts(conn: Connection) -> list[Account]:
    return [_account(row) for row in conn.execute(select(accounts).order_by(accounts.c.id)).all()]


def authenticate(conn: Connection, username: str, password: str) -> Account | None:
    """The account ``username`` if ``password`` is its password, else None — the same answer, and
    about the same time, for an unknown user and a wrong password. A disabled account is returned
    (the caller refuses it: only someone who knows the password learns that it is disabled)."""
    # A name that cannot be a username (a NUL, which PostgreSQL refuses in text, say) is never looked up.
    possible = _USERNAME.fullmatch(username) is not None and len(password) <= MAX_PASSWORD
    row = conn.execute(select(accounts).where(accounts.c.username == username)).first() if possible else None
    stored = row.password_hash if row else _unknown_user_hash()
    try:
        _hasher.verify(stored, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(stored):  # the library's defaults grew since: store the stronger hash
        conn.execute(update(accounts).where(accounts.c.id == row.id).values(password_hash=_hasher.hash(password)))
    return _account(row)


def set_password(conn: Connection, account_id: int, password: str) -> None:
    check_password(password)
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(password_hash=_hasher.hash(password)))


def disable_account(conn: Connection, account_id: int) -> bool:
    """Disable the account and end its sessions; False if there is no such account."""
    done = conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(disabled_at=time.time(), session_generation=accounts.c.session_generation + 1)
    )
    return bool(done.rowcount)


def end_sessions(conn: Connection, account_id: int) -> None:
    """End every session of the account: a cookie holding the old generation is refused from now on."""
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(session_generation=accounts.c.session_generation + 1))


def session_account(conn: Connection, account_id: int, generation: int) -> Account | None:
    """The account of a session cookie if that session may still act: the account exists, is not
    disabled and has not signed out (everywhere) since the session began."""
    account = find_account(conn, account_id)
    if account is None or account.disabled_at is not None or account.session_generation != generation:
        return None
    return account


# -- API tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenRecord:
    id: int
    name: str
    role: str
    created_at: float
    revoked_at: float | None
    last_used_at: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "createdAt": self.created_at,
            "revokedAt": self.revoked_at,
            "lastUsedAt": self.last_used_at,
            "revoked": self.revoked_at is not None,
        }


def _token(row: Any) -> TokenRecord:
    return TokenRecord(row.id, row.name, row.role, row.created_at, row.revoked_at, row.last_used_at)


def check_token_name(name: str) -> str:
    if not 1 <= len(name) <= 128 or not name.isprintable() or name != name.strip():
        raise ConfigurationError("a token's name is 1-128 printable characters, without leading or trailing spaces")
    return name


def create_token(conn: Connection, name: str, role: str) -> tuple[TokenRecord, str]:
    """A new API token: its record and the token itself, which exists nowhere else from now on
    (only its SHA-256 is stored)."""
    check_token_name(name)
    require_role_name(role)
    token, now = new_token(), time.time()
    token_id = insert_id(conn, tokens.insert().values(name=name, role=role, token_hash=hash_token(token), created_at=now))
    return TokenRecord(token_id, name, role, now, None, None), token


def list_tokens(conn: Connection) -> list[TokenRecord]:
    return [_token(row) for row in conn.execute(select(tokens).order_by(tokens.c.id)).all()]


def find_token(conn: Connection, token_id: int) -> TokenRecord | None:
    row = conn.execute(select(tokens).where(tokens.c.id == token_id)).first()
    return _token(row) if row else None


def revoke_token(conn: Connection, token_id: int) -> TokenRecord | None:
    """Revoke the token (requests with it are refused from now on); None if there is no such token.
    Revoking a revoked token changes nothing."""
    conn.execute(update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None)).values(revoked_at=time.time()))
    return find_token(conn, token_id)


def token_actor(conn: Connection, token: str) -> Actor | None:
    """The actor of an unrevoked API token (and its use recorded), or None."""
    if len(token) > 256:
        return None
    row = conn.execute(select(tokens).where(tokens.c.token_hash == hash_token(token), tokens.c.revoked_at.is_(None))).first()
    if row is None:
        return None
    conn.execute(update(tokens).where(tokens.c.id == row.id).values(last_used_at=time.time()))
    return Actor("token", row.id, row.name, row.role)
