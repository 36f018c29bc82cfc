"""Who sends a transaction: a local key (signs in-process) or an unlocked dev-node account.

Keys come from an environment variable or an encrypted keystore file, never from a command-line
argument; a signer's ``repr`` shows its address only.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32
from web3 import Web3

from .errors import ConfigurationError, InputError
from .files import read_json

_CoincurveKey: Any
try:
    from coincurve import PrivateKey as _CoincurveKey
except ImportError:  # pragma: no cover - eth-account signs (slower) without it
    _CoincurveKey = None


class Signer(Protocol):
    """Sends transactions from one address."""

    @property
    def address(self) -> str: ...

    def send(self, w3: Web3, tx: dict[str, Any]) -> bytes:
        """Submit ``tx`` (nonce, gas and fees filled in) and return its hash."""
        ...

    def sign_typed_data(self, w3: Web3, typed: dict[str, Any], digest: bytes) -> bytes:
        """A 65-byte (r, s, v) signature of EIP-712 ``typed`` data whose digest is ``digest``."""
        ...


@dataclass(frozen=True)
class LocalSigner:
    """Signs with a private key held in memory."""

    account: LocalAccount = field(repr=False)

    @property
    def address(self) -> str:
        return str(self.account.address)

    def __repr__(self) -> str:
        return f"LocalSigner({self.address})"

    def send(self, w3: Web3, tx: dict[str, Any]) -> bytes:
        signed = self.account.sign_transaction(tx)
        return bytes(w3.eth.send_raw_transaction(signed.raw_transaction))

    def sign_digest(self, digest: bytes) -> bytes:
        """A 65-byte (r, s, v) signature of a 32-byte digest (an EIP-712 digest from ecoo.protocol).

        Straight through libsecp256k1 (coincurve) when installed: the same RFC 6979 deterministic,
        low-s signature as eth-account's, at several times the speed."""
        if _CoincurveKey is not None:
            signature = _CoincurveKey(bytes(self.account.key)).sign_recoverable(digest, hasher=None)
            return bytes(signature[:64]) + bytes([signature[64] + 27])
        return bytes(self.account.unsafe_sign_hash(Hash32(digest)).signature)

    def sign_typed_data(self, w3: Web3, typed: dict[str, Any], digest: bytes) -> bytes:
        # The digest is computed (and cross-checked against eth-account and the contract in the
        # tests) by ecoo.protocol; signing it directly avoids re-encoding the typed data.
        return self.sign_digest(digest)


@dataclass(frozen=True)
class NodeSigner:
    """An account the node itself unlocks (Anvil, Hardhat node, embedded chain): dev chains only."""

    node_address: str

    @property
    def address(self) -> str:
        return self.node_address

    def send(self, w3: Web3, tx: dict[str, Any]) -> bytes:
        return bytes(w3.eth.send_transaction(tx))  # type: ignore[arg-type]

    def sign_typed_data(self, w3: Web3, typed: dict[str, Any], digest: bytes) -> bytes:
        response = w3.provider.make_request("eth_signTypedData_v4", [self.node_address, typed])  # type: ignore[arg-type]
        if "error" in response or "result" not in response:
            raise ConfigurationError(f"the node cannot sign typed data for {self.node_address}: {response.get('error')}")
        return bytes.fromhex(str(response["result"]).removeprefix("0x"))


def signer_from_key(private_key: str) -> LocalSigner:
    try:
        return LocalSigner(Account.from_key(private_key.strip()))
    except Exception as exc:  # noqa: BLE001 - eth-account raises several types; never echo the key
        raise ConfigurationError(f"not a valid private key ({type(exc).__name__})") from None


def signer_from_env(variable: str) -> LocalSigner | None:
    """The key in environment variable ``variable`` (hex), or None if it is unset."""
    value = os.environ.get(variable)
    if not value:
        return None
    try:
        return signer_from_key(value)
    except ConfigurationError:
        raise ConfigurationError(f"${variable} does not hold a valid private key") from None


def signer_from_keystore(path: Path, password: str | None = None) -> LocalSigner:
    """Decrypt an Ethereum keystore (v3 JSON). The password comes from the argument,
    ``ECOO_KEYSTORE_PASSWORD``, or an interactive prompt, in that order."""
    try:
        keyfile = read_json(path)  # the one bounded reader: a hostile keystore cannot crash the process
    except InputError as exc:
        raise ConfigurationError(f"cannot read keystore: {exc}") from None
    if password is None:
        password = os.environ.get("ECOO_KEYSTORE_PASSWORD")
    if password is None:
        password = getpass.getpass(f"password for keystore {path.name}: ")
    try:
        key = Account.decrypt(keyfile, password)
    except ValueError:
        raise ConfigurationError(f"cannot decrypt keystore {path}: wrong password or corrupt file") from None
    return LocalSigner(Account.from_key(key))


def write_keystore(account: LocalAccount, path: Path, password: str) -> Path:
    """Encrypt ``account`` into a keystore file readable only by its owner (0600, in a directory
    made 0700 if it is made here).

    The file is written under a new name created owner-only, then renamed over ``path``: an
    existing file's looser mode never applies to the new key, and no reader sees half a file."""
    keyfile = Account.encrypt(account.key, password)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(keyfile, handle)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def unlocked_signer(w3: Web3, index: int = 0) -> NodeSigner:
    """The node's ``index``-th unlocked account (only dev nodes have any)."""
    accounts = w3.eth.accounts
    if len(accounts) <= index:
        raise ConfigurationError("the node has no unlocked accounts: give a key (env var or --keystore)")
    return NodeSigner(str(accounts[index]))
