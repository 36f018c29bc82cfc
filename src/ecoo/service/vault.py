"""Chamber signing keys at rest: AES-256-GCM under a master key kept outside the database, with
the chamber id as associated data (a ciphertext moved to another chamber's row does not decrypt).
API tokens: random, shown once, stored as SHA-256 (they carry 256 bits of entropy)."""

from __future__ import annotations

import hashlib
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_account import Account

from ..errors import ConfigurationError, VaultError
from ..signers import LocalSigner

TOKEN_PREFIX = "ecoo_"


class KeyVault:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ConfigurationError("the master key must be 32 bytes")
        self._aead = AESGCM(master_key)

    def __repr__(self) -> str:
        return "KeyVault(<master key hidden>)"

    def encrypt(self, private_key: bytes, chamber_id: int) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, private_key, _aad(chamber_id))

    def decrypt(self, blob: bytes, chamber_id: int) -> bytes:
        try:
            return self._aead.decrypt(blob[:12], blob[12:], _aad(chamber_id))
        except (InvalidTag, ValueError):
            raise VaultError(f"the key of chamber {chamber_id} does not decrypt: wrong master key or altered database") from None

    def signer(self, blob: bytes, chamber_id: int) -> LocalSigner:
        return LocalSigner(Account.from_key(self.decrypt(blob, chamber_id)))


def _aad(chamber_id: int) -> bytes:
    return f"ecoo chamber key {chamber_id}".encode()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
