"""Sending registry transactions: nonces that concurrent callers never share, estimate-sign-send-
wait, and what goes wrong mapped to ecoo errors."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError

from ..artifacts import load_artifact
from ..chain import NETWORK_ERRORS, NodeAdapter, node_adapter
from ..errors import ChainUnavailableError, SendOutcomeUnknownError, TransactionFailedError
from ..signers import LocalSigner, Signer
from .reverts import RevertDecoder
from .types import TxResult

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Sends of one transaction refused as a nonce clash before the transaction is given up.
NONCE_ATTEMPTS = 8
#: What nodes answer when the nonce of a send was taken by another process with the same key (or
#: by this very transaction: a lost answer that web3 retried): geth, Anvil, Hardhat, Erigon, Besu.
NONCE_CLASHES = (
    "nonce too low",
    "nonce has already been used",
    "replacement transaction underpriced",
    "already known",
    "known transaction",
    "already imported",
    "same hash was already imported",
)
#: Of those, the answers that mean "this very transaction is already in the pool".
ALREADY_SENT = ("already known", "known transaction", "already imported")


def is_nonce_clash(exc: BaseException) -> bool:
    """Whether the node refused a send because its nonce is already used (in the pool or mined)."""
    text = str(exc).lower()
    return "nonce" in text or any(answer in text for answer in NONCE_CLASHES)


class NonceManager:
    """Hands out nonces per (chain, sender) so that concurrent callers in one process never collide.

    The next nonce is the node's pending count, read under the sender's lock: a transaction sent
    before the lock was released is already counted, and transactions sent by other processes are
    picked up. Never a locally remembered higher value: after a reorganisation drops a
    transaction the count goes back, and a nonce past it would wait in the node's queue for ever.
    A lower local value only means the node forgot transactions; it is logged.

    Across processes with one key nothing is serialised: the node refuses the second send of a
    nonce, and :meth:`Transactor.transact` reads the nonce again (:data:`NONCE_ATTEMPTS` times).
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, int, str], threading.Lock] = {}
        self._next: dict[tuple[str, int, str], int] = {}

    def _lock(self, key: tuple[str, int, str]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    @contextmanager
    def reserve(self, w3: Web3, chain_id: int, address: str) -> Iterator[int]:
        """Yield the next nonce, holding the sender's lock until the transaction is submitted."""
        # Two embedded chains share chain id and accounts, so the node itself is part of the key.
        key = (node_adapter(w3).identity(), chain_id, address.lower())
        with self._lock(key):
            pending = w3.eth.get_transaction_count(to_checksum_address(address), "pending")
            nonce = pending
            if pending < self._next.get(key, 0):
                log.warning("the node forgot %s transaction(s) of %s (a reorganisation?)", self._next[key] - pending, address)
            try:
                yield nonce
            except BaseException:
                self._next.pop(key, None)
                raise
            self._next[key] = nonce + 1


#: Shared by every Registry in the process unless one is injected: nonces are per process.
DEFAULT_NONCES = NonceManager()


class Transactor:
    """Sends registry transactions and maps what goes wrong to ecoo errors."""

    def __init__(
        self,
        w3: Web3,
        *,
        nonces: NonceManager | None = None,
        receipt_timeout: float = 120.0,
        confirmations: int = 1,
        gas_margin: float = 1.25,
    ) -> None:
        artifact = load_artifact("EcooRegistry")
        self.w3 = w3
        self.node: NodeAdapter = node_adapter(w3)
        #: Errors of a send that may mean "nonce already used": read the nonce again once.
        self._send_errors: tuple[type[BaseException], ...] = (Web3RPCError, *self.node.errors)
        self.decoder = RevertDecoder(artifact["abi"])
        self.nonces = nonces or DEFAULT_NONCES
        self.receipt_timeout = receipt_timeout
        self.confirmations = max(1, confirmations)
        self.gas_margin = gas_margin
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self._rpc(lambda: self.w3.eth.chain_id)
        return self._chain_id

    # -- plumbing ------------------------------------------------------------------------------

    def _rpc(self, call: Callable[[], T]) -> T:
        """Run a node call, turning network failures into ChainUnavailableError and reverts into ecoo errors."""
        try:
            return call()
        except NETWORK_ERRORS as exc:
            raise ChainUnavailableError(self.node.url, type(exc).__name__) from exc
        except ContractLogicError as exc:
            raise self._map_revert(getattr(exc, "data", None), str(exc)) from exc
        except self.node.errors as exc:
            raise self._map_revert(self.node.revert_data(exc), str(exc)) from exc

    def _map_revert(self, data: Any, text: str) -> Exception:
        mapped = self.decoder.decode(data)
        return mapped if mapped is not None else TransactionFailedError("(not sent)", text)

    def transact(self, signer: Signer, function: Any, on_sent: Callable[[str], None] | None = None) -> TxResult:
        """Estimate, sign, send and wait for ``function`` (a bound contract function) from ``signer``.

        ``on_sent(tx_hash)`` runs once the node has the transaction, before its receipt: a caller
        records the hash there, so that a crash while waiting leaves a transaction it can look up."""
        sender = to_checksum_address(signer.address)
        base: dict[str, Any] = {"from": sender, "chainId": self.chain_id}
        gas = int(self._rpc(lambda: function.estimate_gas(base)) * self.gas_margin)
        tx_hash: bytes | None = None
        for attempt in range(1, NONCE_ATTEMPTS + 1):
            tx: dict[str, Any] | None = None
            try:
                with self.nonces.reserve(self.w3, self.chain_id, sender) as nonce:
                    tx = self._rpc(partial(function.build_transaction, {**base, "gas": gas, "nonce": nonce}))
                    try:
                        tx_hash = signer.send(self.w3, tx)
                    except NETWORK_ERRORS as exc:  # the node may have it: the caller must look
                        raise SendOutcomeUnknownError(self.node.url, f"no answer to the send ({type(exc).__name__})") from exc
                break
            except self._send_errors as exc:
                if tx is None or not is_nonce_clash(exc):
                    raise TransactionFailedError("(not sent)", str(exc)) from exc
                # Either this transaction is already there (web3 retries a send whose answer was
                # lost: the node then refuses the copy), and sending it again under another nonce
                # would record the same intent twice; or another process (a second worker, the
                # recovery loop) took the nonce between our read and our send: read it again.
                tx_hash = self._already_sent(signer, tx, exc)
                if tx_hash is not None:
                    log.info("send of nonce %s answered %r: the transaction is already there", tx["nonce"], str(exc)[:80])
                    break
                if attempt == NONCE_ATTEMPTS:
                    raise TransactionFailedError(
                        "(not sent)", f"the nonce was taken by other senders {NONCE_ATTEMPTS} times: {exc}"
                    ) from exc
                log.info("nonce %s of %s taken by another sender (%s); reading it again", tx["nonce"], sender, str(exc)[:80])
                # A short random pause, so that senders that clashed do not clash again in step.
                time.sleep(random.uniform(0.0, 0.02 * attempt))
        assert tx_hash is not None and tx is not None
        if on_sent is not None:
            on_sent(Web3.to_hex(tx_hash))
        return self._wait(tx_hash, tx)

    def _already_sent(self, signer: Signer, tx: dict[str, Any], refusal: BaseException) -> bytes | None:
        """The hash of ``tx`` if the node already has this very transaction, else None.

        Only a key signing here knows the hash before the node does (signatures are deterministic:
        signing again gives the same bytes). An account the node signs for (dev chains) cannot
        tell its own copy from another sender's: "already known" is then an unknown outcome (the
        caller looks the intent up), any other refusal a clash."""
        already = any(answer in str(refusal).lower() for answer in ALREADY_SENT)
        if not isinstance(signer, LocalSigner):
            if already:  # it may be ours: sending another could record the intent twice
                raise SendOutcomeUnknownError(self.node.url, f"the node already has such a transaction ({refusal})")
            return None
        tx_hash = bytes(signer.account.sign_transaction(tx).hash)
        if already:
            return tx_hash  # the node has a transaction with exactly these bytes
        try:
            self.w3.eth.get_transaction(HexBytes(tx_hash))
        except TransactionNotFound:
            return None
        except NETWORK_ERRORS as exc:
            raise SendOutcomeUnknownError(self.node.url, f"no answer after the send ({type(exc).__name__})") from exc
        return tx_hash

    def _wait(self, tx_hash: bytes, tx: dict[str, Any]) -> TxResult:
        hex_hash = Web3.to_hex(tx_hash)
        try:
            receipt = self._rpc(
                lambda: self.w3.eth.wait_for_transaction_receipt(
                    HexBytes(tx_hash), timeout=self.receipt_timeout, poll_latency=0.05
                )
            )
        except TimeExhausted as exc:
            raise TransactionFailedError(hex_hash, f"no receipt after {self.receipt_timeout:.0f} s") from exc
        if receipt["status"] != 1:
            # Replay the call at the block it failed in to recover the custom error.
            call = {k: tx[k] for k in ("from", "to", "data") if k in tx}
            try:
                self.w3.eth.call(call, block_identifier=receipt["blockNumber"])  # type: ignore[arg-type]
            except ContractLogicError as exc:
                mapped = self.decoder.decode(getattr(exc, "data", None))
                if mapped is not None:
                    raise mapped from exc
            except self.node.errors as exc:
                mapped = self.decoder.decode(self.node.revert_data(exc))
                if mapped is not None:
                    raise mapped from exc
            except NETWORK_ERRORS:
                pass
            raise TransactionFailedError(hex_hash, "reverted")
        if self.confirmations > 1:
            target = receipt["blockNumber"] + self.confirmations - 1
            deadline = time.monotonic() + self.receipt_timeout
            while self._rpc(lambda: self.w3.eth.block_number) < target:
                if time.monotonic() > deadline:
                    raise TransactionFailedError(hex_hash, f"fewer than {self.confirmations} confirmations")
                time.sleep(0.2)
        created = receipt.get("contractAddress")
        return TxResult(
            tx_hash=hex_hash,
            block_number=receipt["blockNumber"],
            gas_used=receipt["gasUsed"],
            contract_address=to_checksum_address(created) if created else None,
        )
