"""`ecoo verify --trust-list` on two real Anvil nodes with different chain ids, a registry and an
accredited chamber on each: documents of both verified in one run, routed by chain id and
registry; one ``verifyCertificates`` call per registry per 500 documents (counted by a JSON-RPC
proxy in front of each node), the registries asked at the same time; failover to the second URL;
an expired entry, a registry not on the list; a signed list pinned to its publisher; and one node
down making only its own documents UNAVAILABLE."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from ecoo.anvil import ManagedAnvil, free_port
from ecoo.cli import main
from ecoo.deploy import deploy_registry
from ecoo.files import write_documents
from ecoo.issuing import CertificateIssuer
from ecoo.registry import Registry
from ecoo.signers import LocalSigner, unlocked_signer
from tests.support.chain import new_signer
from tests.support.samples import sample

pytestmark = pytest.mark.anvil

CHAIN_A, CHAIN_B = 7001, 7002
#: Documents issued on chain A: one more than a verifyCertificates batch, so two calls.
MANY = 501
PUBLISHER_KEY = "0x" + "33" * 32


class CountingProxy:
    """A JSON-RPC proxy in front of a node: counts each method and records when each eth_call ran
    (``delay`` seconds long). When the node is gone it answers 502, as a gateway in front of a dead
    node does. With a ``rendezvous`` barrier, the first eth_call waits (up to 20 s) until every
    proxy sharing the barrier holds one: ``met`` says whether they all did, which only concurrent
    callers achieve, however slow the machine."""

    def __init__(self, upstream: str, delay: float = 0.3) -> None:
        self.upstream, self.delay = upstream, delay
        self.calls: list[tuple[str, float, float]] = []
        self.rendezvous: threading.Barrier | None = None
        self.met: bool | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                method = json.loads(body).get("method", "?")
                started = time.monotonic()
                if method == "eth_call":
                    if proxy.rendezvous is not None and proxy.met is None:
                        try:
                            proxy.rendezvous.wait(timeout=20)
                            proxy.met = True
                        except threading.BrokenBarrierError:
                            proxy.met = False
                    time.sleep(proxy.delay)
                request = urllib.request.Request(proxy.upstream, data=body, headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status, answer = 200, response.read()
                except (urllib.error.URLError, OSError):
                    status, answer = 502, b"bad gateway"
                proxy.calls.append((method, started, time.monotonic()))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def eth_calls(self) -> list[tuple[str, float, float]]:
        return [call for call in self.calls if call[0] == "eth_call"]

    def reset(self) -> None:
        self.calls.clear()
        self.rendezvous, self.met = None, None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Chain:
    node: ManagedAnvil
    proxy: CountingProxy
    registry: str
    documents: list[Path]


def _chain(chain_id: int, count: int, out: Path, log_dir: Path) -> Chain:
    node = ManagedAnvil(chain_id=chain_id, log_file=log_dir / f"anvil-{chain_id}.log").start()
    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
    funder = unlocked_signer(w3)
    authority = new_signer(w3, funder)
    deployment, _ = deploy_registry(w3, funder, authority=authority.address)
    registry = Registry(w3, deployment.address)
    chamber = new_signer(w3, funder)  # the RCEP sample names a VN chamber, VCCI-HCM-07
    registry.accredit_issuer(authority, chamber.address, name="VCCI", country="VN", accreditation_code="VCCI-HCM-07")
    certificates = [sample(number=f"C{chain_id}-{i:04d}") for i in range(count)]
    batch = CertificateIssuer(registry, chamber).issue(certificates)
    written = write_documents(batch.documents, out)
    return Chain(node, CountingProxy(node.url), deployment.address, written)


@pytest.fixture(scope="module")
def chains(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Chain, Chain, Path]]:
    base = tmp_path_factory.mktemp("trust")
    documents = base / "presented"
    made: list[Chain] = []
    try:
        made.append(_chain(CHAIN_A, MANY, documents, base))
        made.append(_chain(CHAIN_B, 3, documents, base))
    except Exception as exc:  # noqa: BLE001 - a failed start is a failed test, never a skip
        for chain in made:
            chain.node.stop()
        pytest.fail(f"could not start the two Anvil nodes (run `npm ci`): {exc}")
    yield made[0], made[1], documents
    for chain in made:
        chain.proxy.close()
        chain.node.stop()


def _entry(chain_id: int, chain: Chain, urls: list[str], **changes: Any) -> dict[str, Any]:
    entry = {
        "chainId": chain_id,
        "registry": chain.registry,
        "rpcUrls": urls,
        "authority": {"name": f"Authority of chain {chain_id}", "country": "VN"},
        "validFrom": "2026-01-01",
    }
    entry.update(changes)
    return entry


def _write_list(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "format": "ecoo-trust-list/1",
                "name": "Test customs",
                "sequence": 1,
                "issued": "2026-12-01T00:00:00Z",
                "entries": entries,
            }
        ),
        encoding="utf-8",
    )
    return path


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["verify", *args, "--json"])
    out, err = capsys.readouterr()
    assert out.strip(), err
    return code, json.loads(out)


def _verdicts(result: dict[str, Any], chain_id: int) -> set[str]:
    """The verdicts of the documents of one chain (both registries have the same address: the same
    deployer and nonce on two fresh chains, so only the chain id tells them apart)."""
    return {r["verdict"] for r in result["reports"] if r["chainId"] == chain_id}


def _check(result: dict[str, Any], chain_id: int, name: str) -> str:
    report = next(r for r in result["reports"] if r["chainId"] == chain_id)
    return str(next(c for c in report["checks"] if c["name"] == name)["message"])


def test_one_run_routes_each_document_to_its_chain_with_one_call_per_registry_per_500(
    chains: tuple[Chain, Chain, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, documents = chains
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: the first URL of chain A fails over
    trust = _write_list(tmp_path / "list.json", [_entry(CHAIN_A, a, [dead, a.proxy.url]), _entry(CHAIN_B, b, [b.proxy.url])])
    a.proxy.reset(), b.proxy.reset()
    a.proxy.rendezvous = b.proxy.rendezvous = threading.Barrier(2)  # met only if both chains are asked at once

    code, result = _verify(capsys, str(documents), "--trust-list", str(trust))

    assert code == 0, result["verdicts"]
    assert result["count"] == MANY + 3 and result["verdicts"] == {"VALID": MANY + 3}
    # 501 documents: 500 + 1, each batch one verifyCertificates and one getUtilisations call
    assert len(a.proxy.eth_calls()) == 4
    assert len(b.proxy.eth_calls()) == 2
    assert {json.dumps(r["utilisation"]) for r in result["reports"]} == {"[]"}  # asked, and nothing recorded
    assert "sequence 1" in _check(result, CHAIN_A, "registry")
    # Concurrent: each chain's first eth_call was held at its proxy until the other chain's arrived.
    assert a.proxy.met is True and b.proxy.met is True
    a.proxy.reset(), b.proxy.reset()
    assert result["trustList"]["signature"]["signed"] is False


def test_an_expired_entry_and_a_registry_not_on_the_list_are_not_trusted(
    chains: tuple[Chain, Chain, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, documents = chains
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    expired = _write_list(
        tmp_path / "expired.json",
        [_entry(CHAIN_A, a, [a.proxy.url]), _entry(CHAIN_B, b, [b.proxy.url], validFrom="2025-01-01", validUntil=yesterday)],
    )
    b.proxy.reset()
    code, result = _verify(capsys, str(documents), "--trust-list", str(expired))
    assert code == 1
    assert _verdicts(result, CHAIN_A) == {"VALID"} and _verdicts(result, CHAIN_B) == {"INVALID"}
    message = _check(result, CHAIN_B, "registry")
    assert f"is not trusted by trust list {expired} (sequence 1): expired" in message
    assert f"valid from 2025-01-01 until {yesterday}" in message
    assert b.proxy.eth_calls() == []  # an untrusted registry is never asked

    only_a = _write_list(tmp_path / "only-a.json", [_entry(CHAIN_A, a, [a.proxy.url])])
    code, result = _verify(capsys, str(documents), "--trust-list", str(only_a))
    assert code == 1 and _verdicts(result, CHAIN_B) == {"INVALID"}
    assert _check(result, CHAIN_B, "registry").endswith(
        f"is not trusted by trust list {only_a} (sequence 1): it is not on the list"
    )

    # A node that answers for another chain is never taken for the listed one.
    wrong_chain = _write_list(tmp_path / "wrong.json", [_entry(CHAIN_A, a, [b.proxy.url])])
    single = str(a.documents[0])
    code, result = _verify(capsys, single, "--trust-list", str(wrong_chain))
    assert code == 3 and result["verdict"] == "UNAVAILABLE"
    assert f"it serves chain {CHAIN_B}, not chain {CHAIN_A}" in json.dumps(result["checks"])


def test_a_signed_list_is_pinned_to_its_publisher(
    chains: tuple[Chain, Chain, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, _ = chains
    publisher = LocalSigner(Account.from_key(PUBLISHER_KEY))
    trust = _write_list(tmp_path / "signed.json", [_entry(CHAIN_A, a, [a.proxy.url])])
    monkeypatch.setenv("ECOO_TRUST_LIST_KEY", PUBLISHER_KEY)
    assert main(["trust-list", "sign", str(trust), "--json"]) == 0
    capsys.readouterr()
    document = str(a.documents[0])

    monkeypatch.setenv("ECOO_TRUST_LIST", str(trust))  # the list and its publisher from the environment
    monkeypatch.setenv("ECOO_DATA_DIR", str(tmp_path / "data"))  # where the accepted sequence is pinned
    monkeypatch.setenv("ECOO_TRUST_LIST_PUBLISHER", publisher.address)
    code, result = _verify(capsys, document)
    assert code == 0 and result["verdict"] == "VALID"
    assert result["trustList"]["signature"]["publisher"] == publisher.address

    signed_first = trust.read_text(encoding="utf-8")
    altered = json.loads(signed_first)
    altered["entries"].append(_entry(CHAIN_B, b, [b.proxy.url]))  # someone slips in another registry
    trust.write_text(json.dumps(altered), encoding="utf-8")
    code, result = _verify(capsys, document)
    assert code == 1 and result["error"] == "TrustListRefusedError"
    assert "the signature does not match the list" in result["message"]

    # The publisher withdraws registry A (the next sequence, signed). A verifier that accepted it
    # never goes back: the older signed list, which still verifies on its own, is refused.
    trust.write_text(signed_first, encoding="utf-8")
    assert main(["trust-list", "remove", str(trust), "--chain-id", str(CHAIN_A), "--registry", a.registry, "--json"]) == 0
    assert main(["trust-list", "sign", str(trust), "--json"]) == 0
    capsys.readouterr()
    code, result = _verify(capsys, document)
    assert code == 1 and result["verdict"] == "INVALID" and result["trustList"]["sequence"] == 2
    trust.write_text(signed_first, encoding="utf-8")  # the rollback
    code, result = _verify(capsys, document)
    assert code == 1 and result["error"] == "TrustListRefusedError"
    assert "sequence 1 is older than sequence 2" in result["message"]
    pins = json.loads((tmp_path / "data" / "trust-list-pins.json").read_text(encoding="utf-8"))
    assert [pin["sequence"] for pin in pins.values()] == [2]


def test_the_single_registry_options_still_work_for_a_directory(
    chains: tuple[Chain, Chain, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a trust list, --rpc-url and --registry trust one registry, as before; a directory is
    verified in batches of 500 against it, and chain B's documents (same address, other chain) are
    not trusted."""
    a, _, documents = chains
    monkeypatch.delenv("ECOO_TRUST_LIST", raising=False)
    a.proxy.reset()
    code, result = _verify(capsys, str(documents), "--rpc-url", a.proxy.url, "--registry", a.registry)
    assert code == 1
    assert _verdicts(result, CHAIN_A) == {"VALID"} and _verdicts(result, CHAIN_B) == {"INVALID"}
    assert "is not one this verifier trusts" in _check(result, CHAIN_B, "registry")
    assert len(a.proxy.eth_calls()) == 4  # (500 + 1) × (verifyCertificates, getUtilisations)

    listed = tmp_path / "two.json"  # one file holding a list of documents
    listed.write_text(json.dumps([json.loads(p.read_text(encoding="utf-8")) for p in a.documents[:2]]), encoding="utf-8")
    code, result = _verify(capsys, str(listed), "--rpc-url", a.proxy.url, "--registry", a.registry)
    assert code == 0 and [r["source"] for r in result["reports"]] == [f"{listed}[0]", f"{listed}[1]"]
    empty = tmp_path / "empty.json"
    empty.write_text("[]", encoding="utf-8")
    code, result = _verify(capsys, str(empty), "--rpc-url", a.proxy.url, "--registry", a.registry)
    assert code == 1 and "an empty list: no certificate to verify" in result["message"]


def test_one_chain_down_makes_only_its_documents_unavailable(
    chains: tuple[Chain, Chain, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, documents = chains
    trust = _write_list(tmp_path / "list.json", [_entry(CHAIN_A, a, [a.proxy.url]), _entry(CHAIN_B, b, [b.proxy.url])])
    b.node.stop()  # the last test of the module: chain B stays down

    code, result = _verify(capsys, str(documents), "--trust-list", str(trust))

    assert code == 3  # UNAVAILABLE and nothing worse
    assert _verdicts(result, CHAIN_A) == {"VALID"}
    assert _verdicts(result, CHAIN_B) == {"UNAVAILABLE"}
    message = _check(result, CHAIN_B, "anchored")
    assert f"chain {CHAIN_B}, the only node on the trust list (HTTP 502)" in message
