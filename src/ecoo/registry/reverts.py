"""Contract reverts mapped by custom-error selector to the exceptions in :mod:`ecoo.errors`."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from .. import errors
from ..errors import RegistryRevert


class RevertDecoder:
    """Maps raw revert data to a typed :class:`RegistryRevert`, by 4-byte selector."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        by_name = {cls.solidity_name: cls for cls in errors.REVERT_TYPES}
        self._by_selector: dict[bytes, tuple[type[RegistryRevert], list[str], list[str]]] = {}
        for item in abi:
            if item.get("type") != "error":
                continue
            types = [inp["type"] for inp in item["inputs"]]
            selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
            cls = by_name.get(item["name"])
            if cls is None:  # an error without a Python class would be a bug in this module
                raise RuntimeError(f"no exception class for registry error {item['name']}")
            self._by_selector[selector] = (cls, [inp["name"] for inp in item["inputs"]], types)

    @property
    def selectors(self) -> dict[str, str]:
        return {"0x" + s.hex(): cls.solidity_name for s, (cls, _, _) in self._by_selector.items()}

    def decode(self, data: Any) -> RegistryRevert | None:
        # Hardhat nests the revert data in a dict: {"message": ..., "data": "0x..."}.
        while isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str):
            try:
                data = bytes.fromhex(data.removeprefix("0x"))
            except ValueError:
                return None
        if not data or len(data) < 4 or data[:4] not in self._by_selector:
            return None
        cls, names, types = self._by_selector[data[:4]]
        try:
            values = abi_decode(types, data[4:])
        except Exception:  # noqa: BLE001 - malformed revert data is "unknown", not a crash
            return None
        kwargs = {n: (to_checksum_address(v) if t == "address" else v) for n, t, v in zip(names, types, values, strict=True)}
        return cls(**kwargs)
