"""The customs part of the registry client: argument checks for the customs records, and the
utilisation views encoded by hand like the verification views (one ``eth_call`` per batch, no
middleware round trips), with their answers as :class:`~ecoo.registry.types.ItemUtilisation`.

Quantities are integers in thousandths of the item's unit (``ecoo.utilisation.to_units``); the
contract's rules (certified quantity fixed by the first record, never utilised beyond it) are
enforced on chain and surface as the typed reverts of :mod:`ecoo.errors.registry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from ..errors import ConfigurationError
from ..hashing import checksum_address
from .types import ItemUtilisation, UtilisationQuery

# ABI of the utilisation views (checked against the artifact's ABI by tests/chain/test_customs_registry.py).
UTILISATION_QUERY_TYPE = "(address,bytes32,uint16[])"
ITEM_UTILISATION_TYPE = "(uint128,uint128)"
GET_UTILISATION_SELECTOR = keccak(text="getUtilisation(address,bytes32,uint16[])")[:4]
GET_UTILISATIONS_SELECTOR = keccak(text=f"getUtilisations({UTILISATION_QUERY_TYPE}[])")[:4]


def require_uint(value: object, bits: int, what: str) -> int:
    """``value`` if it is an integer that fits the contract's ``uint<bits>``; ConfigurationError
    otherwise (a negative or oversized number would fail deep in the ABI encoder)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
        raise ConfigurationError(f"{what} must be an integer from 0 to 2**{bits}-1, got {value!r}")
    return value


def require_bytes32(value: object, what: str) -> bytes:
    """``value`` if it is 32 bytes (a leaf or a declaration hash); ConfigurationError otherwise."""
    if not isinstance(value, bytes) or len(value) != 32:
        raise ConfigurationError(f"{what} must be 32 bytes, got {value!r}")
    return value


def utilisation_call(issuer: str, leaf: bytes, items: Sequence[int]) -> bytes:
    """Call data of ``getUtilisation(issuer, leaf, items)``."""
    arguments = [checksum_address(issuer), require_bytes32(leaf, "leaf"), [require_uint(i, 16, "item") for i in items]]
    return GET_UTILISATION_SELECTOR + abi_encode(["address", "bytes32", "uint16[]"], arguments)


def utilisations_call(queries: Sequence[UtilisationQuery]) -> bytes:
    """Call data of ``getUtilisations(queries)``."""
    for query in queries:
        require_bytes32(query.leaf, "leaf")
        for item in query.items:
            require_uint(item, 16, "item")
    return GET_UTILISATIONS_SELECTOR + abi_encode([UTILISATION_QUERY_TYPE + "[]"], [[q.as_abi() for q in queries]])


def items_from_abi(raw: Sequence[Any]) -> list[ItemUtilisation]:
    """The decoded ``ItemUtilisation[]`` of one certificate."""
    return [ItemUtilisation(certified=int(certified), utilised=int(utilised)) for certified, utilised in raw]
