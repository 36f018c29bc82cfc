"""Trust-list nodes that are behind or slow, on real Anvil nodes: a node whose newest block is
older than the maximum block age is skipped (its documents UNAVAILABLE, saying by how much it is
behind, when no node is fresh); a fresh node of the same chain (an Anvil forked from the stale one,
where the certificate was revoked since) answers instead. Two calls to a registry whose node is
slow run at the same time, and a node that just failed is not asked twice in one call."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from ecoo.anvil import ManagedAnvil, free_port
from ecoo.cli import main
from ecoo.deploy import deploy_registry
from ecoo.files import write_documents
from ecoo.issuing import CertificateIssuer, leaf_of
from ecoo.registry import CertificateQuery, Registry, RevocationReason
from ecoo.signers import LocalSigner, unlocked_signer
from ecoo.trustlist import FailoverRegistry
from ecoo.trustlist.document import TrustEntry
from ecoo.trustlist.routing import _duration
from tests.chain.test_trust_list import CountingProxy, _verify
from tests.support.chain import new_signer, node_rpc
from tests.support.samples import sample

pytestmark = pytest.mark.anvil

CHAIN = 7101


@dataclass
class StaleChain:
    node: ManagedAnvil  # mines only on demand: idle, its head grows old
    registry: str
    chamber: LocalSigner
    document: Path
    root: bytes
    leaf: bytes


@pytest.fixture
def stale(tmp_path: Path) -> Iterator[StaleChain]:
    node = ManagedAnvil(chain_id=CHAIN, port=free_port(), log_file=tmp_path / "stale.log").start()
    try:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        funder = unlocked_signer(w3)
        authority = new_signer(w3, funder)
        deployment, _ = deploy_registry(w3, funder, authority=authority.address)
        registry = Registry(w3, deployment.address)
        chamber = new_signer(w3, funder)  # the RCEP sample names a VN chamber, VCCI-HCM-07
        registry.accredit_issuer(authority, chamber.address, name="VCCI", country="VN", accreditation_code="VCCI-HCM-07")
        batch = CertificateIssuer(registry, chamber).issue([sample(number="F-0001")])
        [document] = write_documents(batch.documents, tmp_path / "presented")
        yield StaleChain(node, deployment.address, chamber, document, batch.root, leaf_of(batch.documents[0]))
    finally:
        node.stop()


def _trust_list(path: Path, registry: str, urls: list[str]) -> Path:
    entry = {
        "chainId": CHAIN,
        "registry": registry,
        "rpcUrls": urls,
        "authority": {"name": "Authority", "country": "VN"},
        "validFrom": "2026-01-01",
    }
    body = {"format": "ecoo-trust-list/1", "name": "Test customs", "sequence": 1, "issued": "2026-12-01T00:00:00Z"}
    path.write_text(json.dumps(body | {"entries": [entry]}), encoding="utf-8")
    return path


def _anchored_check(result: dict[str, Any]) -> str:
    return str(next(c for c in result["checks"] if c["name"] == "anchored")["message"])


def test_a_node_behind_is_skipped_for_a_fresh_one(stale: StaleChain, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A second node of the same chain, forked from the first: the revocation reaches it only.
    fresh = ManagedAnvil(
        chain_id=CHAIN, port=free_port(), log_file=tmp_path / "fresh.log", extra_args=("--fork-url", stale.node.url)
    ).start()
    try:
        fresh_registry = Registry(Web3(Web3.HTTPProvider(fresh.url)), stale.registry)
        fresh_registry.revoke(stale.chamber, stale.leaf, RevocationReason.FRAUD)
        time.sleep(2.5)  # no block on the stale node meanwhile: its head is now > 2 s old
        only_stale = _trust_list(tmp_path / "stale.json", stale.registry, [stale.node.url])
        both = _trust_list(tmp_path / "both.json", stale.registry, [stale.node.url, fresh.url])

        # Without a limit (the default: a development chain's idle head is old) the stale node is believed.
        code, result = _verify(capsys, str(stale.document), "--trust-list", str(only_stale))
        assert (code, result["verdict"]) == (0, "VALID")

        code, result = _verify(capsys, str(stale.document), "--trust-list", str(only_stale), "--max-block-age", "2")
        assert (code, result["verdict"]) == (3, "UNAVAILABLE")
        message = _anchored_check(result)
        assert re.search(r"the node is behind: its newest block is \d+\.\d s old, more than the 2 s allowed", message), message

        node_rpc(fresh, "evm_mine")  # the fresh node's head: now
        code, result = _verify(capsys, str(stale.document), "--trust-list", str(both), "--max-block-age", "2")
        assert result["verdict"] == "REVOKED", _anchored_check(result)
        assert code == 1
    finally:
        fresh.stop()


def test_max_block_age_needs_a_trust_list_and_a_positive_number(stale: StaleChain, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["verify", str(stale.document), "--rpc-url", stale.node.url, "--registry", stale.registry, "--max-block-age", "5"])
        != 0
    )
    assert "--max-block-age applies to the trust list's nodes" in capsys.readouterr().err
    assert main(["verify", str(stale.document), "--trust-list", "x.json", "--max-block-age", "0"]) == 2
    assert "--max-block-age" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(2.61, "2.6 s"), (95, "95 s"), (1000, "16 min"), (3 * 3600 + 300, "3 h 5 min"), (2 * 86400 + 4 * 3600, "2 d 4 h")],
)
def test_how_far_behind_is_said_for_a_reader(seconds: float, said: str) -> None:
    assert _duration(seconds) == said


def _entry(registry: str, urls: list[str]) -> TrustEntry:
    return TrustEntry.from_json(
        {
            "chainId": CHAIN,
            "registry": registry,
            "rpcUrls": urls,
            "authority": {"name": "Authority", "country": "VN"},
            "validFrom": "2026-01-01",
        }
    )


def test_two_calls_to_a_slow_node_run_at_the_same_time(stale: StaleChain) -> None:
    slow = CountingProxy(stale.node.url, delay=0.5)  # each eth_call takes 0.5 s there
    try:
        reader = FailoverRegistry(_entry(stale.registry, [slow.url]), timeout=10)
        query = [CertificateQuery(stale.chamber.address, stale.root, stale.leaf, ())]
        reader.verify_certificates(query)  # connected: the node is now the current one
        slow.reset()
        threads = [threading.Thread(target=reader.verify_certificates, args=(query,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        (_, first_start, first_end), (_, second_start, second_end) = sorted(slow.eth_calls(), key=lambda c: c[1])
        assert second_start < first_end, "the second call waited for the first one's node"
    finally:
        slow.close()


def test_the_node_that_just_failed_is_not_asked_again_in_the_same_call(stale: StaleChain) -> None:
    failing, other = CountingProxy(stale.node.url, delay=0), CountingProxy(stale.node.url, delay=0)
    try:
        reader = FailoverRegistry(_entry(stale.registry, [failing.url, other.url]), timeout=10)
        query = [CertificateQuery(stale.chamber.address, stale.root, stale.leaf, ())]
        reader.verify_certificates(query)
        assert other.calls == []  # the first URL answered and is the current node
        failing.upstream = f"http://127.0.0.1:{free_port()}"  # its node is gone: the proxy answers 502
        failing.reset()

        [state] = reader.verify_certificates(query)

        assert state.anchored
        # asked as the current node only (web3 retries the answer 502 a few times), never connected
        # to again (eth_chainId) before the next URL
        assert {method for method, _, _ in failing.calls} == {"eth_call"}
        assert max(start for _, start, _ in failing.calls) < min(start for _, start, _ in other.calls)
        assert [method for method, _, _ in other.eth_calls()] == ["eth_call"]
    finally:
        failing.close(), other.close()
