"""A further real chain for the customs tests: its own Anvil (another chain id, a free port), a
registry deployed on it, a chamber key accredited and a customs key granted, all with Anvil's
well-known development keys so that every chain of a test has the same cast.

    with customs_chain(tmp_path, chain_id=31338, customs_country="NL") as chain:
        chain.registry.record_receipt(chain.customs, chain.chamber.address, leaf, declaration)

Anvil is started by :class:`ecoo.anvil.ManagedAnvil` (as ``tests/conftest.py`` does) and stopped
when the block ends; starting fails the test (never skips it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from ecoo.anvil import ManagedAnvil
from ecoo.deploy import deploy_registry
from ecoo.registry import Registry
from ecoo.signers import LocalSigner

#: Anvil's development keys (mnemonic "test test test test test test test test test test test
#: junk", accounts 0-5), funded with 10,000 ETH on every Anvil: public, for test chains only.
ANVIL_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
)


def anvil_signer(index: int) -> LocalSigner:
    """Anvil's ``index``-th development key (0: deployer and admin, 1: authority, 2: chamber,
    3: customs, 4-5: spare, e.g. a second port)."""
    return LocalSigner(Account.from_key(ANVIL_KEYS[index]))


@dataclass(frozen=True)
class CustomsChain:
    """One chain of a customs test and its cast."""

    node: ManagedAnvil
    w3: Web3
    registry: Registry
    admin: LocalSigner  # deployed the registry; DEFAULT_ADMIN_ROLE
    authority: LocalSigner  # AUTHORITY_ROLE: accredits chambers, grants the customs role
    chamber: LocalSigner  # an accredited chamber key (country chamber_country)
    customs: LocalSigner  # a customs key (country customs_country)

    @property
    def chain_id(self) -> int:
        return self.node.chain_id


@contextmanager
def customs_chain(
    directory: Path, *, chain_id: int = 31338, chamber_country: str = "DE", customs_country: str = "NL"
) -> Iterator[CustomsChain]:
    """Start an Anvil with ``chain_id`` on a free port (its log in ``directory``), deploy a
    registry, accredit the chamber key and grant the customs key; stop the node afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    node = ManagedAnvil(log_file=directory / f"anvil-{chain_id}.log", chain_id=chain_id)
    try:
        node.start()
    except Exception as exc:  # noqa: BLE001 - turn any start failure into a test failure
        pytest.fail(f"could not start Anvil with chain id {chain_id} (run `npm ci`): {exc}")
    try:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        admin, authority, chamber, customs = (anvil_signer(i) for i in range(4))
        deployment, _ = deploy_registry(w3, admin, admin=admin.address, authority=authority.address)
        registry = Registry(w3, deployment.address)
        registry.accredit_issuer(
            authority,
            chamber.address,
            name=f"Chamber of Commerce {chamber_country}",
            country=chamber_country,
            accreditation_code=f"WCF-{chamber_country}-0001",
        )
        registry.grant_customs(authority, customs.address, customs_country)
        yield CustomsChain(node, w3, registry, admin, authority, chamber, customs)
    finally:
        node.stop()


__all__ = ["ANVIL_KEYS", "CustomsChain", "anvil_signer", "customs_chain"]
