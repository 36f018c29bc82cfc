"""Senders in different processes with one key (two gunicorn workers, a request and the recovery
loop): their nonces clash at the node, and every transaction must still be mined exactly once.

Two NonceManagers are what two processes amount to: each serialises only its own callers."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from web3 import Web3

from ecoo.registry import Registry
from ecoo.registry.transactions import NonceManager
from ecoo.signers import LocalSigner
from tests.support.chain import Actors, random_hash

pytestmark = pytest.mark.parametrize("w3", ["anvil"], indirect=True)

SENDERS = 4
ROUNDS = 5


def test_senders_with_their_own_nonce_managers_lose_and_repeat_nothing(w3: Web3, registry: Registry, actors: Actors) -> None:
    issuer = actors.issuer
    first_nonce = w3.eth.get_transaction_count(issuer.address, "pending")
    # one registry client per "process", each with its own nonce manager
    clients = [Registry(w3, registry.address, nonces=NonceManager()) for _ in range(SENDERS)]
    roots = [[random_hash() for _ in range(ROUNDS)] for _ in range(SENDERS)]
    in_step = threading.Barrier(SENDERS)  # every round, all read the same pending nonce
    hashes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def send(index: int) -> None:
        for root in roots[index]:
            in_step.wait(timeout=60)
            try:
                result = clients[index].anchor(issuer, root)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                with lock:
                    errors.append(exc)
                continue
            with lock:
                hashes.append(result.tx_hash)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(hashes) == len(set(hashes)) == SENDERS * ROUNDS
    # none duplicated: exactly one transaction per anchor went out under this key
    assert w3.eth.get_transaction_count(issuer.address, "pending") == first_nonce + SENDERS * ROUNDS
    for root in (root for mine in roots for root in mine):
        assert registry.get_anchor(issuer.address, root) is not None


class _RetriedSend(LocalSigner):
    """Sends each signed transaction twice and returns the node's second answer: what web3's HTTP
    retry of eth_sendRawTransaction does when the first answer was lost on the way back."""

    def send(self, w3: Web3, tx: dict[str, Any]) -> bytes:
        raw = self.account.sign_transaction(tx).raw_transaction
        w3.eth.send_raw_transaction(raw)
        return bytes(w3.eth.send_raw_transaction(raw))


def test_a_send_refused_because_the_node_has_it_already_is_sent_once(w3: Web3, registry: Registry, actors: Actors) -> None:
    issuer = _RetriedSend(actors.issuer.account)
    first_nonce = w3.eth.get_transaction_count(issuer.address, "pending")
    recorded: list[str] = []
    root = random_hash()

    result = registry.anchor(issuer, root, on_sent=recorded.append)

    assert recorded == [result.tx_hash]
    assert w3.eth.get_transaction(result.tx_hash)["nonce"] == first_nonce
    # the refusal of the copy did not make a second transaction under the next nonce
    assert w3.eth.get_transaction_count(issuer.address, "pending") == first_nonce + 1
    assert registry.get_anchor(issuer.address, root) is not None
