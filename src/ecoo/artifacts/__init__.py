"""Compiled contract artifacts shipped with the package (written by ``ecoo compile``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_DIR = Path(__file__).parent


@cache
def load_artifact(name: str = "EcooRegistry") -> dict[str, Any]:
    """The artifact of contract ``name``: abi, bytecode, deployedBytecode, metadata, solc version."""
    path = _DIR / f"{name}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
