"""ecoo only ever produces low-s (EIP-2) signatures, through every signer it has.

The verifier refuses high-s signatures (issue 9, finding 7b); these tests show that refusing them
can never reject a certificate ecoo signed: every path that signs a certificate digest — a local
key through libsecp256k1 (coincurve), a local key through eth-account (the fallback without
coincurve), the service's key vault, and a node-unlocked account (``eth_signTypedData_v4``) —
gives ``s <= n/2`` and a signature that recovers to the signer.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from eth_account import Account
from web3 import Web3

from ecoo.anvil import ManagedAnvil
from ecoo.protocol import SECP256K1_HALF_ORDER, certificate_digest, recover_signer, typed_data
from ecoo.service.vault import KeyVault
from ecoo.signers import LocalSigner, Signer, unlocked_signer

DIGESTS = 512  # random certificate digests per signer; about half would be high-s without normalisation
REGISTRY = "0x" + "5f" * 20


def _sign_and_check(signer: Signer, w3: Web3 | None, count: int) -> None:
    for index in range(count):
        leaf, number = secrets.token_bytes(32), f"LOW-S-{index}"
        digest = certificate_digest(31337, REGISTRY, leaf, number)
        signature = signer.sign_typed_data(w3, typed_data(31337, REGISTRY, leaf, number), digest)  # type: ignore[arg-type]
        assert len(signature) == 65 and signature[64] in (27, 28), signature.hex()
        assert int.from_bytes(signature[32:64], "big") <= SECP256K1_HALF_ORDER, f"high s for digest {digest.hex()}"
        assert recover_signer(digest, signature) == signer.address


def _vault_signer() -> LocalSigner:
    """A chamber key as the service holds it: encrypted in the vault, decrypted to sign."""
    vault = KeyVault(secrets.token_bytes(32))
    return vault.signer(vault.encrypt(bytes(Account.create().key), 7), 7)


LOCAL_SIGNERS: dict[str, Callable[[], LocalSigner]] = {
    "local key": lambda: LocalSigner(Account.create()),
    "service vault": _vault_signer,
}


@pytest.mark.parametrize("name", sorted(LOCAL_SIGNERS))
@pytest.mark.parametrize("backend", ["coincurve", "eth-account"])
def test_local_signers_sign_low_s_only(name: str, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "eth-account":  # the path taken where coincurve is not installed
        monkeypatch.setattr("ecoo.signers._CoincurveKey", None)
    else:
        import ecoo.signers

        assert ecoo.signers._CoincurveKey is not None, "coincurve is a dependency: its path must be the one tested"
    _sign_and_check(LOCAL_SIGNERS[name](), None, DIGESTS)


def test_node_signer_signs_low_s_only(anvil_node: ManagedAnvil) -> None:
    w3 = Web3(Web3.HTTPProvider(anvil_node.url))
    _sign_and_check(unlocked_signer(w3), w3, DIGESTS // 4)  # one JSON-RPC request each
