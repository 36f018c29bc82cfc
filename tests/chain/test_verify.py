"""Verification end to end: issue real certificates on a chain, then the tamper matrix — every
way a presented certificate can be wrong, each with its exact verdict and failing check."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from ecoo import errors
from ecoo.anvil import ManagedAnvil, free_port
from ecoo.deploy import deploy_registry
from ecoo.documents import IssuedDocument, hex_bytes
from ecoo.issuing import CertificateIssuer, InvalidCertificatesError
from ecoo.merkle import MerkleTree
from ecoo.protocol import build_document, certificate_digest, prepare, redact
from ecoo.registry import CertificateQuery, Registry, RevocationReason
from ecoo.signers import LocalSigner, NodeSigner, unlocked_signer
from ecoo.verify import CheckStatus, Verdict, Verifier, verify
from tests.support.chain import new_signer
from tests.support.samples import sample
from tests.unit.test_protocol import malleate

SAMPLES = Path(__file__).resolve().parents[1] / "vectors" / "samples"


class World:
    """A registry with an authority, an accredited chamber (the RCEP sample's issuer) and helpers."""

    def __init__(self, w3: Web3, funder: NodeSigner) -> None:
        self.w3, self.funder = w3, funder
        self.authority = new_signer(w3, funder)
        deployment, _ = deploy_registry(w3, funder, authority=self.authority.address)
        self.registry = Registry(w3, deployment.address)
        self.chamber = self.accredited("VN", "VCCI-HCM-07")
        self.issuer = CertificateIssuer(self.registry, self.chamber)
        self.verifier = Verifier.for_registry(self.registry)

    def accredited(self, country: str, code: str) -> LocalSigner:
        signer = new_signer(self.w3, self.funder)
        self.registry.accredit_issuer(self.authority, signer.address, name="Chamber", country=country, accreditation_code=code)
        return signer

    def issue(self, *certificates: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.issuer.issue(list(certificates or [sample()])).documents)


@pytest.fixture
def world(w3: Web3, funder: NodeSigner) -> World:
    return World(w3, funder)


def test_issued_certificates_verify(world: World) -> None:
    documents = world.issue(sample(number="A-1"), sample("rcep-vn-jp.json", number="A-2"), sample(number="A-3"))
    assert len({d["proof"]["root"] for d in documents}) == 1  # one batch, one root
    for document in documents:
        report = verify(document, world.verifier)
        assert report.verdict is Verdict.VALID, report.to_json()
        assert [c.status for c in report.checks] == [CheckStatus.PASSED] * 8
        assert [c.name for c in report.checks] == [
            "format",
            "integrity",
            "signature",
            "registry",
            "anchored",
            "issuer",
            "status",
            "validity",
        ]


def _mutations() -> dict[str, Callable[[dict[str, Any]], None]]:
    def setter(*path: Any, value: Any) -> Callable[[dict[str, Any]], None]:
        def mutate(document: dict[str, Any]) -> None:
            target = document["certificate"]
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value

        return mutate

    return {
        "origin country of an item": setter("items", 0, "originCountry", value="CN"),
        "quantity": setter("items", 0, "quantity", "value", value="9800"),
        "consignee": setter("consignee", "name", value="Someone Else Ltd"),
        "exporter": setter("exporter", "name", value="Forged Exporter"),
        "importer": setter("importer", "address", value="Elsewhere"),
        "producer": setter("producer", "country", value="TH"),
        "transport": setter("transport", "vesselOrFlight", value="OTHER SHIP"),
        "FOB value": setter("items", 1, "fobValue", "amount", value="1.00"),
        "invoice": setter("items", 0, "invoice", "number", value="INV-X"),
        "HS code": setter("items", 0, "hsCode", value="620530"),
        "validity": setter("validUntil", value="2099-12-31"),
        "remarks": setter("remarks", value="edited"),
        "exporter declaration": setter("exporterDeclaration", "signatory", value="Someone"),
        "flags": setter("flags", "cumulation", value=True),
        "import country": setter("importCountry", value="KR"),
    }


@pytest.mark.parametrize("part", sorted(_mutations()))
def test_tamper_any_section_fails_integrity(part: str, world: World) -> None:
    document = world.issue()[0]
    _mutations()[part](document)
    report = verify(document, world.verifier)
    assert (report.verdict, report.failed_check) == (Verdict.INVALID, "integrity"), report.to_json()
    assert report.check("anchored").status is CheckStatus.SKIPPED


def test_tamper_matrix_proof_and_signature(world: World) -> None:
    first, second = world.issue(sample(number="T-1"), sample(number="T-2"))

    def expect(document: dict[str, Any], verdict: Verdict, check: str | None) -> None:
        report = verify(document, world.verifier)
        assert (report.verdict, report.failed_check) == (verdict, check), report.to_json()

    swapped = copy.deepcopy(first)
    swapped["proof"]["signature"] = second["proof"]["signature"]
    expect(swapped, Verdict.INVALID, "signature")

    other_path = copy.deepcopy(first)  # the Merkle path of another certificate of the batch
    other_path["proof"]["merklePath"] = second["proof"]["merklePath"]
    expect(other_path, Verdict.INVALID, "integrity")

    other_leaf = copy.deepcopy(first)  # data of one certificate, proof block of another
    other_leaf["proof"] = copy.deepcopy(second["proof"])
    expect(other_leaf, Verdict.INVALID, "integrity")

    wrong_chain = copy.deepcopy(first)  # claims another chain: the signed domain no longer matches
    wrong_chain["proof"]["chainId"] = 1
    wrong_chain["proof"]["typedData"]["domain"]["chainId"] = 1
    expect(wrong_chain, Verdict.INVALID, "signature")

    claims_other_issuer = copy.deepcopy(first)
    claims_other_issuer["proof"]["issuer"] = world.authority.address
    expect(claims_other_issuer, Verdict.INVALID, "signature")

    number_changed = copy.deepcopy(first)
    number_changed["proof"]["typedData"]["message"]["number"] = "OTHER"
    expect(number_changed, Verdict.INVALID, "signature")

    not_a_document = {"certificate": first["certificate"]}
    expect(not_a_document, Verdict.INVALID, "format")

    # The same signature made malleable (r, n - s, other v): recovers to the issuer, but EIP-2 (and
    # ethers, OpenZeppelin's ECDSA) refuse it, so ecoo does too (issue 9, finding 7b).
    malleated = copy.deepcopy(first)
    malleated["proof"]["signature"] = "0x" + malleate(hex_bytes(first["proof"]["signature"], 65)).hex()
    report = verify(malleated, world.verifier)
    assert (report.verdict, report.failed_check) == (Verdict.INVALID, "signature"), report.to_json()
    assert "upper half of the curve order" in report.check("signature").message


def _forge(world: World, signer: LocalSigner, certificate: dict[str, Any], anchor_as: LocalSigner | None) -> dict[str, Any]:
    """A correctly signed document by ``signer``, its root anchored by ``anchor_as`` (or nobody)."""
    prepared = prepare(certificate)
    chain_id, registry = world.registry.chain_id, world.registry.address
    digest = certificate_digest(chain_id, registry, prepared.leaf, certificate["certificateNumber"])
    signature = signer.sign_typed_data(world.w3, {}, digest)
    if anchor_as is not None:
        world.registry.anchor(anchor_as, prepared.leaf)
    return build_document(
        prepared,
        chain_id=chain_id,
        registry=registry,
        issuer=signer.address,
        root=prepared.leaf,
        merkle_path=[],
        signature=signature,
    )


def test_tamper_matrix_registry_side(world: World) -> None:
    def expect(document: dict[str, Any], verdict: Verdict, check: str) -> None:
        report = verify(document, world.verifier)
        assert (report.verdict, report.failed_check) == (verdict, check), report.to_json()

    # Root anchored by another (accredited) issuer, not by the signer.
    other = world.accredited("VN", "VCCI-HCM-07")
    expect(_forge(world, world.chamber, sample(number="R-1"), anchor_as=other), Verdict.NOT_ANCHORED, "anchored")
    # Never anchored at all.
    expect(_forge(world, world.chamber, sample(number="R-2"), anchor_as=None), Verdict.NOT_ANCHORED, "anchored")
    # Signed and anchored by a key the authority never accredited.
    stranger = new_signer(world.w3, world.funder)
    expect(_forge(world, stranger, sample(number="R-3"), anchor_as=stranger), Verdict.UNTRUSTED_ISSUER, "issuer")
    # An accredited chamber of another country claiming to be the VN chamber.
    german = world.accredited("DE", "VCCI-HCM-07")
    expect(_forge(world, german, sample(number="R-4"), anchor_as=german), Verdict.UNTRUSTED_ISSUER, "issuer")

    # A genuine certificate from another registry (e.g. a test deployment) with the same key.
    elsewhere, _ = deploy_registry(world.w3, world.funder, authority=world.authority.address)
    other_registry = Registry(world.w3, elsewhere.address)
    other_registry.accredit_issuer(
        world.authority, world.chamber.address, name="C", country="VN", accreditation_code="VCCI-HCM-07"
    )
    foreign = CertificateIssuer(other_registry, world.chamber).issue([sample(number="R-5")]).documents[0]
    expect(foreign, Verdict.INVALID, "registry")
    assert verify(foreign, Verifier.for_registry(other_registry)).verdict is Verdict.VALID


def test_a_chamber_cannot_sign_in_the_name_of_another(world: World) -> None:
    """Issue 9, finding 7a: a second accredited chamber of the same country signs and anchors a
    certificate whose issuer block names the first chamber. It verified VALID."""
    genuine = sample(number="R-6")
    assert (genuine["issuer"]["country"], genuine["issuer"]["accreditationCode"]) == ("VN", "VCCI-HCM-07")  # world.chamber
    rival = world.accredited("VN", "VCCI-HN-01")
    report = verify(_forge(world, rival, genuine, anchor_as=rival), world.verifier)
    assert (report.verdict, report.failed_check) == (Verdict.UNTRUSTED_ISSUER, "issuer"), report.to_json()
    assert report.check("issuer").message == (
        f"the certificate names issuer accreditationCode 'VCCI-HCM-07'; "
        f"the registry accredits {rival.address} (Chamber) for accreditationCode 'VCCI-HN-01'"
    )
    assert report.state is not None and report.state.issuer_accreditation_code == "VCCI-HN-01"

    # The issuer block may name the signing key; then it must be the key that signed.
    named = sample(number="R-7")
    named["issuer"]["signingAddress"] = rival.address
    report = verify(_forge(world, world.chamber, named, anchor_as=world.chamber), world.verifier)
    assert (report.verdict, report.failed_check) == (Verdict.UNTRUSTED_ISSUER, "issuer"), report.to_json()
    assert "signingAddress" in report.check("issuer").message and world.chamber.address in report.check("issuer").message
    named["issuer"]["signingAddress"] = world.chamber.address.lower()
    assert verify(world.issue(named)[0], world.verifier).verdict is Verdict.VALID


def test_status_verdicts(world: World) -> None:
    docs = world.issue(*(sample(number=f"S-{i}") for i in range(6)))
    revoked, cancelled, suspended, superseded, error, lifted = docs
    world.issuer.revoke(revoked, RevocationReason.FRAUD)
    world.issuer.revoke(cancelled, RevocationReason.CANCELLED)
    world.issuer.revoke(error, RevocationReason.ERROR)
    world.issuer.suspend(suspended)
    world.issuer.suspend(lifted)
    world.issuer.lift(lifted)
    amended = copy.deepcopy(superseded["certificate"])
    amended["certificateNumber"] = "S-3-A"
    replacement = world.issuer.supersede(superseded, amended, "consignee address corrected")
    amendment = replacement.batch.documents[0]
    assert replacement.supersede_tx.tx_hash != replacement.batch.tx.tx_hash

    reports = world.verifier.verify_many(docs + [amendment])
    verdicts = [(r.verdict, r.failed_check) for r in reports]
    assert verdicts == [
        (Verdict.REVOKED, "status"),
        (Verdict.CANCELLED, "status"),
        (Verdict.SUSPENDED, "status"),
        (Verdict.SUPERSEDED, "status"),
        (Verdict.REVOKED, "status"),
        (Verdict.VALID, None),
        (Verdict.VALID, None),
    ]
    assert IssuedDocument.from_json(amendment).proof.leaf.hex() in reports[3].check("status").message
    assert "fraud" in reports[0].check("status").message
    assert amendment["certificate"]["replaces"]["certificateNumber"] == "S-3"


def test_certified_true_copy_supersedes_the_lost_original(world: World) -> None:
    original = world.issue(sample(number="C-1"))[0]
    batch, _ = world.issuer.certified_copy(original)  # a Replacement unpacks as (batch, tx)
    copy_doc = batch.documents[0]
    assert copy_doc["certificate"]["copyType"] == "CERTIFIED_TRUE_COPY"
    assert copy_doc["certificate"]["copyOf"]["leaf"] == original["proof"]["leaf"]
    assert verify(copy_doc, world.verifier).verdict is Verdict.VALID
    assert verify(original, world.verifier).verdict is Verdict.SUPERSEDED


def test_issuer_standing_verdicts(world: World) -> None:
    document = world.issue(sample(number="I-1"))[0]
    world.registry.suspend_issuer(world.authority, world.chamber.address)
    report = verify(document, world.verifier)
    assert (report.verdict, report.failed_check) == (Verdict.UNTRUSTED_ISSUER, "issuer")
    assert "suspended" in report.check("issuer").message
    world.registry.reinstate_issuer(world.authority, world.chamber.address)
    assert verify(document, world.verifier).verdict is Verdict.VALID


def test_validity_period(world: World) -> None:
    expired = sample(number="V-1", issued_days_ago=400)  # valid for 365 days
    future = sample(number="V-2", issued_days_ago=-30)
    reports = world.verifier.verify_many(world.issue(expired, future))
    assert [(r.verdict, r.failed_check) for r in reports] == [(Verdict.EXPIRED, "validity"), (Verdict.NOT_YET_VALID, "validity")]


def test_redacted_certificate_still_verifies(world: World) -> None:
    document = world.issue()[0]
    redacted = redact(document, ["consignee", "fob-values", "invoices"])
    assert "consignee" not in redacted["certificate"]
    report = verify(redacted, world.verifier)
    assert report.verdict is Verdict.VALID, report.to_json()
    assert set(report.withheld) == {
        "/consignee",
        "/items/0/fobValue",
        "/items/1/fobValue",
        "/items/0/invoice",
        "/items/1/invoice",
    }
    assert "withheld" in report.check("format").message
    tampered = copy.deepcopy(redacted)
    tampered["proof"]["withheld"]["/consignee"] = "0x" + "00" * 32
    assert verify(tampered, world.verifier).failed_check == "integrity"


def test_issuing_refuses_invalid_batches_and_anchors_nothing(world: World) -> None:
    good, bad = sample(number="B-1"), sample(number="B-2")
    bad["items"][0]["hsCode"] = "62"
    broken = world.issue(sample(number="B-0"))[0]
    broken["proof"]["leaf"] = "0x"
    before = world.w3.eth.get_transaction_count(world.chamber.address)
    with pytest.raises(errors.EcooError, match="^/proof/leaf: expected a 0x-prefixed 32-byte hex string$"):
        world.issuer.supersede(broken, sample(number="B-0-A"), "not a document")
    with pytest.raises(errors.EcooError, match="^/proof/leaf: "):
        world.issuer.certified_copy(broken)
    with pytest.raises(InvalidCertificatesError, match="hsCode"):
        world.issuer.issue([good, bad])
    with pytest.raises(InvalidCertificatesError, match="twice"):
        world.issuer.issue([good, copy.deepcopy(good)])
    other_country = sample(number="B-3")
    other_country["issuer"]["accreditationCode"] = "NOT-OURS"
    with pytest.raises(InvalidCertificatesError, match="accredits"):
        world.issuer.issue([other_country])
    other_key = sample(number="B-4")
    other_key["issuer"]["signingAddress"] = world.authority.address
    with pytest.raises(InvalidCertificatesError, match="signing address"):
        world.issuer.issue([other_key])
    assert world.w3.eth.get_transaction_count(world.chamber.address) == before
    stranger = CertificateIssuer(world.registry, new_signer(world.w3, world.funder))
    with pytest.raises(errors.IssuerNotAccreditedError):
        stranger.issue([good])


def test_chain_down_is_unavailable_never_revoked_or_tampered(world: World) -> None:
    document = world.issue()[0]
    dead = Registry(
        Web3(Web3.HTTPProvider(f"http://127.0.0.1:{free_port()}", request_kwargs={"timeout": 2})), world.registry.address
    )
    verifier = Verifier({(world.registry.chain_id, world.registry.address): dead})
    report = verifier.verify(document)
    assert report.verdict is Verdict.UNAVAILABLE
    assert [c.status for c in report.checks[:4]] == [CheckStatus.PASSED] * 4
    assert {c.status for c in report.checks[4:]} == {CheckStatus.UNAVAILABLE}
    offline = Verifier.offline("no node").verify(document)
    assert offline.verdict is Verdict.UNAVAILABLE and offline.check("registry").status is CheckStatus.UNAVAILABLE
    # A tampered document is still reported as tampered without the chain.
    document["certificate"]["consignee"]["name"] = "X"
    assert verifier.verify(document).failed_check == "integrity"


class CountingProvider(Web3.HTTPProvider):
    """Counts JSON-RPC requests by method."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: dict[str, int] = {}

    def make_request(self, method: Any, params: Any) -> Any:
        self.calls[method] = self.calls.get(method, 0) + 1
        return super().make_request(method, params)


def test_one_eth_call_per_certificate_and_per_batch(anvil_node: ManagedAnvil) -> None:
    """The chain checks take one verifyCertificates call per certificate or batch; the utilisation
    asks one more per batch (tests/chain/test_verify_utilisation.py), left out here to count the first."""
    provider = CountingProvider(anvil_node.url)
    w3 = Web3(provider)
    world = World(w3, unlocked_signer(w3))
    documents = world.issue(*(sample(number=f"N-{i}") for i in range(12)))
    verifier = Verifier({(31337, world.registry.address): world.registry}, utilisation=False)
    provider.calls.clear()
    assert verifier.verify(documents[0]).valid
    assert provider.calls == {"eth_call": 1}
    provider.calls.clear()
    assert all(r.valid for r in verifier.verify_many(documents))
    assert provider.calls == {"eth_call": 1}
    small_batches = Verifier({(31337, world.registry.address): world.registry}, batch_size=5, utilisation=False)
    provider.calls.clear()
    assert all(r.valid for r in small_batches.verify_many(documents))
    assert provider.calls == {"eth_call": 3}


def test_vectors_against_the_contract(tmp_path: Path) -> None:
    vectors = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "protocol.json").read_text())
    with ManagedAnvil(tmp_path / "state.json") as node:  # fresh chain: the first deployment lands at the vector address
        w3 = Web3(Web3.HTTPProvider(node.url))
        deployment, _ = deploy_registry(w3, unlocked_signer(w3))
        assert deployment.address == vectors["registry"]
        registry = Registry(w3, deployment.address)
        root = hex_bytes(vectors["root"], 32)
        queries = []
        for case in vectors["cases"]:
            leaf = hex_bytes(case["leaf"], 32)
            assert "0x" + registry.hash_certificate(leaf, case["number"]).hex() == case["eip712Digest"]
            queries.append(CertificateQuery(vectors["signer"], root, leaf, tuple(hex_bytes(n, 32) for n in case["merklePath"])))
        assert all(state.proof_valid for state in registry.verify_certificates(queries))
        assert MerkleTree.build([q.leaf for q in queries]).root == root
