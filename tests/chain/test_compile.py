"""The shipped artifact is exactly what the pinned compiler makes of contracts/ today."""

from __future__ import annotations

import json
import subprocess

import pytest

from ecoo import errors
from ecoo.artifacts import load_artifact
from ecoo.compiler import ARTIFACT_DIR, CompilerConfig, collect_sources, compile_contracts, find_solc, render_artifact
from tests.support.chain import ROOT


@pytest.fixture(scope="module")
def config() -> CompilerConfig:
    return CompilerConfig.load(ROOT)


@pytest.mark.slow
def test_shipped_artifact_equals_a_fresh_build(config: CompilerConfig) -> None:
    artifacts = compile_contracts(config)
    shipped = (ARTIFACT_DIR / "EcooRegistry.json").read_text(encoding="utf-8")
    assert render_artifact(artifacts["EcooRegistry"]) == shipped, "run `make compile` and commit the artifact"


def test_artifact_carries_what_users_need(config: CompilerConfig) -> None:
    artifact = load_artifact("EcooRegistry")
    assert artifact["solcVersion"].startswith(config.solc_version + "+commit")
    assert artifact["settings"] == {"evmVersion": config.evm_version, "optimizer": config.optimizer}
    metadata = json.loads(artifact["metadata"])
    assert metadata["settings"]["evmVersion"] == config.evm_version
    assert metadata["compiler"]["version"] == config.solc_long_version
    # Runtime code must fit the EIP-170 limit every chain enforces.
    assert len(bytes.fromhex(artifact["deployedBytecode"][2:])) <= 24_576


def test_sources_come_from_pinned_openzeppelin(config: CompilerConfig) -> None:
    sources = collect_sources(config)
    assert "contracts/EcooRegistry.sol" in sources and "contracts/IEcooRegistry.sol" in sources
    assert "@openzeppelin/contracts/access/AccessControl.sol" in sources
    assert "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol" in sources
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    pinned = package["devDependencies"]["@openzeppelin/contracts"]
    assert lock["packages"]["node_modules/@openzeppelin/contracts"]["version"] == pinned
    assert f"(last updated v{pinned})" in sources["@openzeppelin/contracts/access/AccessControl.sol"]


@pytest.mark.slow
def test_solcjs_shim_speaks_native_solc(config: CompilerConfig) -> None:
    shim = str(ROOT / "scripts" / "solcjs-shim")
    version = subprocess.run([shim, "--version"], capture_output=True, text=True, check=True).stdout
    assert f"Version: {config.solc_long_version}" in version
    out = subprocess.run(
        [shim, "--standard-json"],
        input='{"language":"Solidity","sources":{"a.sol":{"content":"contract A {}"}}}',
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out)["sources"]["a.sol"]["id"] == 0  # pure JSON: no ">>>" line before it


def test_wrong_solc_version_is_refused(config: CompilerConfig, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "solc"
    fake.write_text("#!/bin/sh\necho 'Version: 0.8.19+commit.7dd6d404.Linux.g++'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("ECOO_SOLC", str(fake))
    with pytest.raises(errors.CompilerNotFoundError, match="pins 0.8.30"):
        find_solc(config)


@pytest.mark.slow
def test_compile_check_command_passes() -> None:
    from ecoo.cli import main

    assert main(["compile", "--check"]) == 0
