"""Chain helpers shared by the tests: actors, funding and accreditation, raw calls to a node."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from ecoo.anvil import ManagedAnvil
from ecoo.registry import Registry
from ecoo.signers import LocalSigner, NodeSigner

ROOT = Path(__file__).resolve().parents[2]


def new_signer(w3: Web3, funder: NodeSigner, wei: int = 10**18) -> LocalSigner:
    """A fresh random key, funded so it can send transactions."""
    signer = LocalSigner(Account.create())
    tx = w3.eth.send_transaction({"from": funder.address, "to": signer.address, "value": wei})
    w3.eth.wait_for_transaction_receipt(tx)
    return signer


@dataclass(frozen=True)
class Actors:
    admin: NodeSigner  # DEFAULT_ADMIN_ROLE
    authority: LocalSigner  # AUTHORITY_ROLE
    issuer: LocalSigner  # accredited
    other: LocalSigner  # another accredited issuer
    suspended: LocalSigner  # accredited, then suspended
    stranger: LocalSigner  # never accredited


def accredit(registry: Registry, authority: LocalSigner, address: str, name: str = "Chamber of Commerce") -> None:
    registry.accredit_issuer(authority, address, name=name, country="DE", accreditation_code="WCF-DE-0001")


def random_hash() -> bytes:
    return os.urandom(32)


def node_w3(node: ManagedAnvil) -> Web3:
    """A plain web3 connection to ``node``."""
    return Web3(Web3.HTTPProvider(node.url))


def node_rpc(node: ManagedAnvil, method: str, *params: Any) -> Any:
    """One JSON-RPC call to ``node`` (``evm_mine``, ``anvil_reorg`` ...); fails on an error answer."""
    answer = node_w3(node).provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in answer, answer
    return answer["result"]
