"""Keeping a managed Anvil's state file on one history across any number of restarts.

Anvil (``--state``, i.e. ``--load-state`` plus ``--dump-state``) builds a fresh genesis block
stamped with the current time *before* it loads the file. The loaded block 0 then takes block
number 0, but the fresh genesis stays in Anvil's block store and is dumped with the rest
(``load_blocks`` never prunes: foundry-rs/foundry#15760). From then on the file holds two blocks
numbered 0; on the next load the one listed last wins, and the file lists blocks in hash-map order.
So from about the third start the chain's block 0 hash changes, and everything keyed on it (the
registry deployment record) takes the chain for a new one.

:func:`prune_stale_genesis` removes those extra geneses before each start, keeping the one block 1
names as its parent, so a loaded chain always shows the genesis it was built on. Nothing else in
the file is touched.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import rlp  # type: ignore[import-untyped]  # no py.typed; a dependency of eth-account
from eth_utils.crypto import keccak

log = logging.getLogger(__name__)

# The header fields in RLP order; the optional tail (London and later forks) is present up to
# the fork the node runs, each field only if all before it are.
_HEADER_FIELDS = (
    "parentHash",
    "sha3Uncles",
    "miner",
    "stateRoot",
    "transactionsRoot",
    "receiptsRoot",
    "logsBloom",
    "difficulty",
    "number",
    "gasLimit",
    "gasUsed",
    "timestamp",
    "extraData",
    "mixHash",
    "nonce",
)
_OPTIONAL_FIELDS = ("baseFeePerGas", "withdrawalsRoot", "blobGasUsed", "excessBlobGas", "parentBeaconBlockRoot", "requestsHash")
_INTEGER_FIELDS = frozenset(
    {"difficulty", "number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas", "blobGasUsed", "excessBlobGas"}
)


def _field(name: str, value: Any) -> int | bytes:
    text = str(value)
    if name in _INTEGER_FIELDS:
        return int(text, 16) if text.startswith("0x") else int(text)
    return bytes.fromhex(text.removeprefix("0x"))


def header_hash(header: Mapping[str, Any]) -> str:
    """The block hash of a header as Anvil's state file stores it: keccak256 of its RLP."""
    names = list(_HEADER_FIELDS)
    for name in _OPTIONAL_FIELDS:
        if header.get(name) is None:
            break
        names.append(name)
    return "0x" + keccak(bytes(rlp.encode([_field(name, header[name]) for name in names]))).hex()


def _number(block: Mapping[str, Any]) -> int:
    return int(_field("number", block["header"]["number"]))


def _original_genesis(geneses: list[dict[str, Any]], blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The genesis the chain was built on: block 1's parent; else (no block 1 yet, or a header
    format this module does not know) the oldest, since every stale one is made at a later start."""
    parents = {str(block["header"]["parentHash"]).lower() for block in blocks if _number(block) == 1}
    for genesis in geneses:
        if header_hash(genesis["header"]) in parents:
            return genesis
    return min(geneses, key=lambda genesis: int(_field("timestamp", genesis["header"]["timestamp"])))


def prune_stale_genesis(state_file: Path) -> int:
    """Remove from ``state_file`` every block 0 but the chain's own; return how many were removed.

    A file that is missing or that this function cannot read is left alone (Anvil reports it)."""
    try:
        state = json.loads(state_file.read_bytes())
        blocks = state["blocks"]
        geneses = [block for block in blocks if _number(block) == 0]
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    if len(geneses) < 2:
        return 0
    keep = _original_genesis(geneses, blocks)
    state["blocks"] = [block for block in blocks if block is keep or _number(block) != 0]
    _replace(state_file, state)
    removed = len(geneses) - 1
    log.info("removed %s stale genesis block(s) Anvil left in %s", removed, state_file)
    return removed


def _replace(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` over ``path`` atomically, keeping its permissions."""
    mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
