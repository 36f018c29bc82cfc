"""Deploying the registry and recording deployments per chain (``deployments/<chainId>.json``)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.exceptions import BlockNotFound

from .artifacts import load_artifact
from .chain import ChainInfo, chain_info
from .errors import ConfigurationError, DeploymentNotFoundError
from .files import read_json
from .registry import Registry, Transactor
from .signers import Signer


@dataclass(frozen=True)
class Deployment:
    """What ``deployments/<chainId>.json`` records about one registry deployment."""

    contract: str
    chain_id: int
    address: str
    deploy_tx: str
    block: int
    block_hash: str  # decides whether the chain is still the one deployed on (see live_problem)
    abi_hash: str
    bytecode_hash: str  # keccak256 of the creation bytecode of the artifact
    code_hash: str  # keccak256 of the runtime code found at the address right after deployment
    genesis_hash: str  # names a new chain (same chain id, new history) in live_problem's message
    solc_version: str
    admin: str
    authority: str
    deployed_at: str

    def to_json(self) -> dict[str, Any]:
        return {_camel(k): v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        fields = {f: data[_camel(f)] for f in cls.__dataclass_fields__}
        return cls(**fields)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def deployment_path(directory: Path, chain_id: int) -> Path:
    return directory / f"{chain_id}.json"


def load_deployment(directory: Path, chain_id: int) -> Deployment | None:
    path = deployment_path(directory, chain_id)
    if not path.is_file():
        return None
    try:
        return Deployment.from_json(read_json(path))
    except (ValueError, KeyError, TypeError) as exc:  # InputError is a ValueError
        raise ConfigurationError(f"deployment record {path} is not valid: {exc}") from None


def save_deployment(directory: Path, deployment: Deployment) -> Path:
    """Write the record atomically (a crash never leaves half a file)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = deployment_path(directory, deployment.chain_id)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{deployment.chain_id}.", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(deployment.to_json(), handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def _artifact_hashes() -> tuple[str, str, str]:
    artifact = load_artifact("EcooRegistry")
    bytecode_hash = Web3.to_hex(keccak(hexstr=artifact["bytecode"]))
    return artifact["abiHash"], bytecode_hash, artifact["solcVersion"]


def live_problem(w3: Web3, deployment: Deployment, info: ChainInfo | None = None) -> str | None:
    """Why ``deployment`` is not a usable live deployment of the current artifact, or None if it is.

    The chain is the one deployed on if it still has the deployment block: a block's hash commits
    to every block before it, genesis included, so a chain started anew (a new Anvil, a reset dev
    chain) cannot show it, whatever address the new registry gets. Block 0's hash alone does not
    decide: an Anvil reloading its state file could serve another genesis before the same blocks
    (see ecoo.anvil_state), and the record of a registry that is still there must not be dropped
    for it."""
    info = info or chain_info(w3)
    abi_hash, bytecode_hash, _ = _artifact_hashes()
    if deployment.chain_id != info.chain_id:
        return f"record is for chain {deployment.chain_id}, node is chain {info.chain_id}"
    try:
        block = w3.eth.get_block(deployment.block)
    except BlockNotFound:
        block = None
    if block is None or Web3.to_hex(block["hash"]) != deployment.block_hash:
        if deployment.genesis_hash != info.genesis_hash:
            return "the chain was reset since (different genesis block)"
        return f"the chain was reset since (block {deployment.block} is not the deployment block)"
    code = w3.eth.get_code(to_checksum_address(deployment.address))
    if not code:
        return f"no contract at {deployment.address}"
    if Web3.to_hex(keccak(code)) != deployment.code_hash:
        return f"the code at {deployment.address} is not the recorded registry"
    if deployment.bytecode_hash != bytecode_hash or deployment.abi_hash != abi_hash:
        return "it was built from other contract sources than this ecoo version ships"
    return None


def deploy_registry(
    w3: Web3,
    deployer: Signer,
    *,
    admin: str | None = None,
    authority: str | None = None,
    deployments_dir: Path | None = None,
    reuse: bool = True,
) -> tuple[Deployment, bool]:
    """Deploy (or reuse) the registry. Returns the deployment and whether an existing one was reused.

    ``admin`` (may grant the authority role) and ``authority`` (accredits issuers) default to the
    deployer. With ``deployments_dir`` the record is read first (a live deployment of the same
    artifact is reused) and written after a new deployment.
    """
    info = chain_info(w3)
    if reuse and deployments_dir is not None:
        existing = load_deployment(deployments_dir, info.chain_id)
        if existing is not None and live_problem(w3, existing, info) is None:
            return existing, True

    artifact = load_artifact("EcooRegistry")
    admin = to_checksum_address(admin or deployer.address)
    authority = to_checksum_address(authority or deployer.address)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    result = Transactor(w3).transact(deployer, factory.constructor(admin, authority))
    if result.contract_address is None:
        raise ConfigurationError(f"deployment transaction {result.tx_hash} created no contract")
    abi_hash, bytecode_hash, solc_version = _artifact_hashes()
    deployment = Deployment(
        contract="EcooRegistry",
        chain_id=info.chain_id,
        address=result.contract_address,
        deploy_tx=result.tx_hash,
        block=result.block_number,
        block_hash=Web3.to_hex(w3.eth.get_block(result.block_number)["hash"]),
        abi_hash=abi_hash,
        bytecode_hash=bytecode_hash,
        code_hash=Web3.to_hex(keccak(w3.eth.get_code(to_checksum_address(result.contract_address)))),
        genesis_hash=info.genesis_hash,
        solc_version=solc_version,
        admin=admin,
        authority=authority,
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if deployments_dir is not None and not info.embedded:
        save_deployment(deployments_dir, deployment)
    return deployment, False


def open_registry(w3: Web3, deployments_dir: Path, address: str | None = None, **options: Any) -> Registry:
    """The registry at ``address``, or the live one recorded for this chain in ``deployments_dir``."""
    if address:
        return Registry(w3, address, **options)
    info = chain_info(w3)
    deployment = load_deployment(deployments_dir, info.chain_id)
    if deployment is None:
        raise DeploymentNotFoundError(info.chain_id, str(deployment_path(deployments_dir, info.chain_id)))
    problem = live_problem(w3, deployment, info)
    if problem:
        raise DeploymentNotFoundError(info.chain_id, f"{deployment_path(deployments_dir, info.chain_id)}: {problem}")
    return Registry(w3, deployment.address, **options)
