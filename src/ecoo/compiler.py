"""Compile the registry contract reproducibly through py-solc-x.

The compiler configuration lives in ``contracts/compiler.json`` (shared with
``hardhat.config.js``). Sources are read here and handed to solc *inline* in the standard JSON
input, with the OpenZeppelin remapping applied while reading, so that a native solc and solcjs
receive byte-identical input and produce byte-identical bytecode.

Which compiler runs: ``ECOO_SOLC`` if set; else a native ``solc`` of the pinned version (on
``PATH`` or installed by py-solc-x); else ``scripts/solcjs-shim`` over the npm ``solc`` package.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CompilationError, CompilerNotFoundError

ARTIFACT_DIR = Path(__file__).parent / "artifacts"

_IMPORT_RE = re.compile(r"""^\s*import\s+(?:[^"';]*?\s+from\s+)?["']([^"']+)["']\s*;""", re.MULTILINE)


@dataclass(frozen=True)
class CompilerConfig:
    """The pinned compiler settings read from ``contracts/compiler.json``."""

    root: Path
    solc_version: str
    solc_long_version: str
    evm_version: str
    optimizer: dict[str, Any]
    remappings: dict[str, str]
    sources: tuple[str, ...]
    contracts: tuple[str, ...]

    @classmethod
    def load(cls, root: Path) -> CompilerConfig:
        raw = json.loads((root / "contracts" / "compiler.json").read_text(encoding="utf-8"))
        return cls(
            root=root,
            solc_version=raw["solcVersion"],
            solc_long_version=raw["solcLongVersion"],
            evm_version=raw["evmVersion"],
            optimizer=raw["optimizer"],
            remappings=raw["remappings"],
            sources=tuple(raw["sources"]),
            contracts=tuple(raw["contracts"]),
        )


def project_root() -> Path:
    """The source checkout holding ``contracts/`` (compiling needs a checkout, not a wheel)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "contracts" / "compiler.json").is_file():
            return parent
    raise CompilerNotFoundError("contracts/compiler.json not found: compiling needs a source checkout of ecoo")


def _resolve(unit: str, config: CompilerConfig) -> Path:
    for prefix, target in config.remappings.items():
        if unit.startswith(prefix):
            return config.root / (target + unit[len(prefix) :])
    return config.root / unit


def collect_sources(config: CompilerConfig) -> dict[str, str]:
    """Every source unit reachable from the configured sources, by its solc source unit name."""
    sources: dict[str, str] = {}
    pending = list(config.sources)
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        path = _resolve(unit, config)
        if not path.is_file():
            hint = " (run `npm ci` for OpenZeppelin)" if unit.startswith("@") else ""
            raise CompilationError(f"source {unit!r} not found at {path}{hint}")
        text = path.read_text(encoding="utf-8")
        sources[unit] = text
        for imported in _IMPORT_RE.findall(text):
            if imported.startswith("."):
                imported = posixpath.normpath(posixpath.join(posixpath.dirname(unit), imported))
            pending.append(imported)
    return dict(sorted(sources.items()))


def standard_input(config: CompilerConfig, sources: dict[str, str]) -> dict[str, Any]:
    """The solc standard JSON input; only ``outputSelection`` is free to differ from Hardhat's."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "evmVersion": config.evm_version,
            "optimizer": config.optimizer,
            "outputSelection": {"*": {"*": ["abi", "metadata", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }


def _version_of(executable: str) -> str | None:
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"Version: (\S+)", out)
    return match.group(1) if match else None


def find_solc(config: CompilerConfig) -> str:
    """Path of a solc executable of the pinned version (see the module docstring for the order)."""
    wanted = config.solc_version
    explicit = os.environ.get("ECOO_SOLC")
    candidates: list[str] = [explicit] if explicit else []
    native = shutil.which("solc")
    if native:
        candidates.append(native)
    try:
        import solcx.install

        candidates.append(str(solcx.install.get_executable(wanted)))
    except Exception:  # noqa: BLE001 - py-solc-x raises several types for "not installed"
        pass
    shim = config.root / "scripts" / "solcjs-shim"
    if shutil.which("node") and (config.root / "node_modules" / "solc").is_dir():
        candidates.append(str(shim))
    for candidate in candidates:
        version = _version_of(candidate)
        if version and version.split("+")[0] == wanted:
            return candidate
        if candidate == explicit:
            raise CompilerNotFoundError(f"ECOO_SOLC={explicit} is solc {version}, the project pins {wanted}")
    raise CompilerNotFoundError(
        f"no solc {wanted} found: install Node.js and run `npm ci` (for solcjs), or put a native solc {wanted} on PATH"
    )


def compile_contracts(config: CompilerConfig, solc: str | None = None) -> dict[str, dict[str, Any]]:
    """Compile and return one artifact per configured contract, keyed by contract name."""
    import solcx

    sources = collect_sources(config)
    executable = solc or find_solc(config)
    try:
        output = solcx.compile_standard(standard_input(config, sources), solc_binary=executable)
    except solcx.exceptions.SolcError as exc:
        raise CompilationError(str(exc)) from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilationError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    artifacts: dict[str, dict[str, Any]] = {}
    for unit, contracts in output["contracts"].items():
        for name, compiled in contracts.items():
            if name not in config.contracts:
                continue
            abi = compiled["abi"]
            artifacts[name] = {
                "contractName": name,
                "sourceName": unit,
                "abi": abi,
                "abiHash": abi_hash(abi),
                "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
                "metadata": compiled["metadata"],
                "solcVersion": config.solc_long_version,
                "settings": {"evmVersion": config.evm_version, "optimizer": config.optimizer},
                "sourceHashes": {name_: "0x" + hashlib.sha256(text.encode()).hexdigest() for name_, text in sources.items()},
            }
    missing = set(config.contracts) - artifacts.keys()
    if missing:
        raise CompilationError(f"compiler output lacks {sorted(missing)}")
    return artifacts


def abi_hash(abi: list[dict[str, Any]]) -> str:
    """SHA-256 of the ABI in canonical JSON (sorted keys, no whitespace)."""
    canonical = json.dumps(abi, sort_keys=True, separators=(",", ":"))
    return "0x" + hashlib.sha256(canonical.encode()).hexdigest()


def render_artifact(artifact: dict[str, Any]) -> str:
    """The artifact file's exact text (stable, so a byte comparison detects any change)."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def write_artifacts(artifacts: dict[str, dict[str, Any]], directory: Path = ARTIFACT_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, artifact in sorted(artifacts.items()):
        path = directory / f"{name}.json"
        path.write_text(render_artifact(artifact), encoding="utf-8")
        written.append(path)
    return written
