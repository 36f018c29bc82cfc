"""The floor contracts (floor/Floor.sol): the cheapest designs that do the same job, compiled with the project's pinned solc and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# -- floor contracts ---------------------------------------------------------------------------

FLOOR_SOURCE_FILE = Path(__file__).resolve().parent / "floor" / "Floor.sol"


def compile_floor() -> tuple[dict[str, dict[str, Any]], str]:
    """Compile the floor contracts with the project's pinned solc and settings (ecoo.compiler)."""
    import solcx

    from ecoo.compiler import CompilerConfig, find_solc, project_root

    config = CompilerConfig.load(project_root())
    solc = find_solc(config)
    output = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"Floor.sol": {"content": FLOOR_SOURCE_FILE.read_text(encoding="utf-8")}},
            "settings": {
                "evmVersion": config.evm_version,
                "optimizer": config.optimizer,
                "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
            },
        },
        solc_binary=solc,
    )
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError("floor contracts do not compile:\n" + "\n".join(e.get("formattedMessage", "") for e in errors))
    contracts = output["contracts"]["Floor.sol"]
    return {
        name: {"abi": c["abi"], "bytecode": "0x" + c["evm"]["bytecode"]["object"]} for name, c in contracts.items()
    }, f"{config.solc_long_version} ({Path(solc).name})"
