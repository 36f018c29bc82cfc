"""keccak256, from the C implementation of safe-pysha3 when installed (about 3.5x faster per call
than eth-utils over pycryptodome, which matters at ~15 hashes per certificate), else eth-utils."""

from __future__ import annotations

from collections.abc import Callable

keccak: Callable[[bytes], bytes]

try:
    from sha3 import keccak_256 as _keccak_256

    def keccak(data: bytes) -> bytes:
        return bytes(_keccak_256(data).digest())

except ImportError:  # pragma: no cover - the slower, pure-dependency path
    from eth_utils.crypto import keccak as _eth_keccak

    def keccak(data: bytes) -> bytes:
        return bytes(_eth_keccak(data))
