"""keccak256, from the C implementation of safe-pysha3 when installed (about 3.5x faster per call
than eth-utils over pycryptodome, which matters at ~15 hashes per certificate), else eth-utils."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from eth_utils.address import is_hex_address, to_checksum_address

keccak: Callable[[bytes], bytes]

try:
    from sha3 import keccak_256 as _keccak_256

    def keccak(data: bytes) -> bytes:
        return bytes(_keccak_256(data).digest())

except ImportError:  # pragma: no cover - the slower, pure-dependency path
    from eth_utils.crypto import keccak as _eth_keccak

    def keccak(data: bytes) -> bytes:
        return bytes(_eth_keccak(data))


@lru_cache(maxsize=4096)
def checksum_address(address: str) -> str:
    """EIP-55 form of ``address`` (cached: a verifier meets the same few issuers and registries)."""
    return str(to_checksum_address(address))


def is_checksummed(value: str) -> bool:
    return is_hex_address(value) and checksum_address(value) == value
