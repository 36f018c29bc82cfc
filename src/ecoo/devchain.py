"""Local development chains (Anvil, Hardhat, the embedded chain): their node holds unlocked accounts
with test ether, which ecoo may spend and sign with. Everything here refuses any other chain, so a
dev-only shortcut can never move value on a real network."""

from __future__ import annotations

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.types import Wei

from .chain import chain_info
from .errors import ConfigurationError

#: What a new chamber key gets on a dev chain: enough test ether for thousands of anchorings.
DEV_FUNDING_WEI = 10 * 10**18


def require_dev_chain(w3: Web3, refusal: str) -> None:
    """Raise :class:`ConfigurationError` with ``refusal`` (which may name ``{chain_id}``) unless
    ``w3`` is connected to a local development chain."""
    info = chain_info(w3)
    if not info.is_dev:
        raise ConfigurationError(refusal.format(chain_id=info.chain_id))


def fund(w3: Web3, sender: str, to: str, wei: int) -> HexBytes:
    """Send ``wei`` of test ether from the node's unlocked account ``sender`` to ``to`` and wait for
    the receipt. Returns the transaction hash. Local dev chains only."""
    require_dev_chain(w3, "funding from the node's unlocked account is for local dev chains only; chain {chain_id} is not one")
    tx = w3.eth.send_transaction({"from": to_checksum_address(sender), "to": to_checksum_address(to), "value": Wei(wei)})
    w3.eth.wait_for_transaction_receipt(tx)
    return tx
