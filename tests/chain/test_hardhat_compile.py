"""Hardhat (hardhat.config.js, solcjs from npm) reproduces the shipped EcooRegistry bytecode.

Both builds read contracts/compiler.json; the metadata hash at the end of the bytecode covers the
settings and every source's hash, so equal bytecode means equal compiler input as well.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.hardhat  # starts its own node or build: left out of `make test-fast`

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "src" / "ecoo" / "artifacts" / "EcooRegistry.json"
HARDHAT_ARTIFACT = ROOT / "artifacts" / "contracts" / "EcooRegistry.sol" / "EcooRegistry.json"


def test_hardhat_bytecode_matches_shipped_artifact() -> None:
    npx = shutil.which("npx")
    if npx is None or shutil.which("node") is None:
        pytest.fail("Node.js (node and npx) is not on PATH: install Node >= 20 to run the Hardhat build")
    if not (ROOT / "node_modules" / "hardhat").is_dir():
        pytest.fail(f"hardhat is not installed in {ROOT / 'node_modules'}: run `npm ci` in {ROOT}")

    result = subprocess.run(
        [npx, "--no-install", "hardhat", "compile", "--force"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"`npx hardhat compile --force` exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert HARDHAT_ARTIFACT.is_file(), f"Hardhat wrote no artifact at {HARDHAT_ARTIFACT}"

    built = json.loads(HARDHAT_ARTIFACT.read_text(encoding="utf-8"))
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert built["bytecode"] == shipped["bytecode"], "creation bytecode differs from the shipped artifact"
    assert built["deployedBytecode"] == shipped["deployedBytecode"], "deployed bytecode differs from the shipped artifact"
