"""Registry behaviour on both chains: anchoring, certificate status, issuer lifecycle, key
rotation, Merkle proofs against the contract, and the EIP-712 digest mirror."""

from __future__ import annotations

import pytest
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from web3 import Web3

from ecoo import errors
from ecoo.artifacts import load_artifact
from ecoo.merkle import MerkleTree, verify_proof
from ecoo.registry import CertificateQuery, CertificateStatus, IssuerStatus, Registry, RevocationReason
from tests.support.chain import Actors, accredit, new_signer, random_hash


def _state(registry: Registry, issuer: str, root: bytes, leaf: bytes | None = None, proof: tuple[bytes, ...] = ()):  # type: ignore[no-untyped-def]
    return registry.verify_certificate(CertificateQuery(issuer, root, leaf or root, proof))


def test_anchor_records_time_and_block_and_refuses_twice(registry: Registry, actors: Actors) -> None:
    root = random_hash()
    result = registry.anchor(actors.issuer, root)
    at, block = registry.get_anchor(actors.issuer.address, root)  # type: ignore[misc]
    assert block == result.block_number
    assert at == registry.w3.eth.get_block(block)["timestamp"]
    with pytest.raises(errors.RootAlreadyAnchoredError) as raised:
        registry.anchor(actors.issuer, root)
    assert raised.value.args_by_name == {"issuer": actors.issuer.address, "root": root}
    with pytest.raises(errors.InvalidRootError) as zero:
        registry.anchor(actors.issuer, b"\0" * 32)
    assert isinstance(zero.value, errors.ZeroHashError) and zero.value.args_by_name == {"root": b"\0" * 32}
    assert registry.get_anchor(actors.issuer.address, random_hash()) is None


def test_unanchored_root_reports_not_anchored(registry: Registry, actors: Actors) -> None:
    root = random_hash()
    state = _state(registry, actors.issuer.address, root)
    assert state.proof_valid and not state.anchored and not state.issuer_trusted
    assert state.anchored_block == 0 and state.issuer_status is IssuerStatus.ACCREDITED


def test_revoke_one_leaf_leaves_the_rest_of_the_batch(registry: Registry, actors: Actors) -> None:
    leaves = [random_hash() for _ in range(5)]
    tree = MerkleTree.build(leaves)
    registry.anchor(actors.issuer, tree.root)
    registry.revoke(actors.issuer, leaves[3], RevocationReason.FRAUD)
    states = registry.verify_certificates(
        [CertificateQuery(actors.issuer.address, tree.root, leaf, tree.proof(i)) for i, leaf in enumerate(leaves)]
    )
    assert [s.status for s in states] == [CertificateStatus.ACTIVE] * 3 + [CertificateStatus.REVOKED, CertificateStatus.ACTIVE]
    assert states[3].reason is RevocationReason.FRAUD
    assert states[3].status_changed_by == actors.issuer.address and states[3].status_changed_at > 0
    assert all(s.issuer_trusted and s.proof_valid for s in states)


@pytest.mark.parametrize("reason", [RevocationReason.FRAUD, RevocationReason.ERROR, RevocationReason.CANCELLED])
def test_revocation_is_final_and_keeps_its_reason(reason: RevocationReason, registry: Registry, actors: Actors) -> None:
    leaf = random_hash()
    registry.revoke(actors.issuer, leaf, reason)
    for again in (
        lambda: registry.revoke(actors.issuer, leaf, RevocationReason.ERROR),
        lambda: registry.supersede(actors.issuer, leaf, random_hash()),
        lambda: registry.suspend_certificate(actors.issuer, leaf),
        lambda: registry.revoke(actors.authority, leaf, RevocationReason.FRAUD, issuer=actors.issuer.address),
    ):
        with pytest.raises(errors.CertificateAlreadyRevokedError):
            again()
    with pytest.raises(errors.CertificateNotSuspendedError):
        registry.lift_certificate_suspension(actors.issuer, leaf)
    state = _state(registry, actors.issuer.address, leaf)
    assert (state.status, state.reason) == (CertificateStatus.REVOKED, reason)


@pytest.mark.parametrize("reason", [RevocationReason.NONE, RevocationReason.SUPERSEDED])
def test_revoke_needs_a_real_reason(reason: RevocationReason, registry: Registry, actors: Actors) -> None:
    with pytest.raises(errors.InvalidReasonError) as raised:
        registry.revoke(actors.issuer, random_hash(), reason)
    assert raised.value.args_by_name == {"reason": int(reason)}


def test_supersede_records_the_successor(registry: Registry, actors: Actors) -> None:
    leaf, successor = random_hash(), random_hash()
    with pytest.raises(errors.SelfSupersedeError) as self_:
        registry.supersede(actors.issuer, leaf, leaf)
    assert self_.value.args_by_name == {"leaf": leaf}
    with pytest.raises(errors.InvalidSuccessorError) as zero:
        registry.supersede(actors.issuer, leaf, b"\0" * 32)
    assert isinstance(zero.value, errors.ZeroHashError)
    assert zero.value.args_by_name == {"leaf": leaf, "successor": b"\0" * 32}
    registry.supersede(actors.issuer, leaf, successor)
    state = _state(registry, actors.issuer.address, leaf)
    assert (state.status, state.reason, state.successor) == (CertificateStatus.REVOKED, RevocationReason.SUPERSEDED, successor)


def test_suspend_lift_then_revoke(registry: Registry, actors: Actors) -> None:
    leaf = random_hash()
    registry.suspend_certificate(actors.issuer, leaf)
    assert _state(registry, actors.issuer.address, leaf).status is CertificateStatus.SUSPENDED
    with pytest.raises(errors.CertificateAlreadySuspendedError):
        registry.suspend_certificate(actors.issuer, leaf)
    registry.lift_certificate_suspension(actors.issuer, leaf)
    state = _state(registry, actors.issuer.address, leaf)
    assert (state.status, state.reason) == (CertificateStatus.ACTIVE, RevocationReason.NONE)
    with pytest.raises(errors.CertificateNotSuspendedError):
        registry.lift_certificate_suspension(actors.issuer, leaf)
    registry.suspend_certificate(actors.issuer, leaf)
    registry.revoke(actors.issuer, leaf, RevocationReason.FRAUD)
    assert _state(registry, actors.issuer.address, leaf).status is CertificateStatus.REVOKED


def test_issuer_suspension_history_decides_trust(registry: Registry, actors: Actors) -> None:
    issuer, authority = actors.issuer, actors.authority
    before = random_hash()
    registry.anchor(issuer, before)
    registry.suspend_issuer(authority, issuer.address)
    suspended_now = _state(registry, issuer.address, before)
    assert suspended_now.issuer_status is IssuerStatus.SUSPENDED and not suspended_now.issuer_trusted
    during = random_hash()
    registry.anchor(issuer, during)  # open by design, but it must never verify
    with pytest.raises(errors.IssuerNotSuspendedError):
        registry.reinstate_issuer(authority, actors.other.address)
    registry.reinstate_issuer(authority, issuer.address)
    after = random_hash()
    registry.anchor(issuer, after)
    assert _state(registry, issuer.address, before).issuer_trusted
    assert _state(registry, issuer.address, after).issuer_trusted
    during_state = _state(registry, issuer.address, during)
    assert during_state.anchored and not during_state.accredited_at_anchor and not during_state.issuer_trusted
    periods = registry.get_accreditation_periods(issuer.address)
    assert len(periods) == 2 and periods[0].until_block is not None and periods[1].until_block is None


def test_anchor_before_accreditation_never_verifies(w3: Web3, registry: Registry, actors: Actors) -> None:
    late = new_signer(w3, actors.admin)
    early = random_hash()
    registry.anchor(late, early)
    accredit(registry, actors.authority, late.address)
    assert not _state(registry, late.address, early).issuer_trusted
    fresh = random_hash()
    registry.anchor(late, fresh)
    assert _state(registry, late.address, fresh).issuer_trusted


def test_accreditation_input_checks(w3: Web3, registry: Registry, actors: Actors) -> None:
    target = new_signer(w3, actors.admin).address
    authority = actors.authority
    fns = registry.contract.functions
    zero = "0x" + "00" * 20
    with pytest.raises(errors.InvalidIssuerError) as raised:
        registry.transact(authority, fns.accreditIssuer(zero, b"DE", "n", "c", b"\0" * 32))
    assert isinstance(raised.value, errors.ZeroAddressError) and raised.value.args_by_name == {"issuer": zero}
    # Each field has its own error, naming the offending value (EIP-6093 style).
    bad_metadata: list[tuple[str, str, bytes, type[errors.InvalidMetadataError], dict[str, object]]] = [
        ("", "c", b"DE", errors.InvalidNameError, {"issuer": target, "name": ""}),
        ("x" * 257, "c", b"DE", errors.InvalidNameError, {"issuer": target, "name": "x" * 257}),
        ("n", "", b"DE", errors.InvalidAccreditationCodeError, {"issuer": target, "accreditationCode": ""}),
        ("n", "c" * 257, b"DE", errors.InvalidAccreditationCodeError, {"issuer": target, "accreditationCode": "c" * 257}),
        ("n", "c", b"\0\0", errors.InvalidCountryError, {"issuer": target, "country": b"\0\0"}),
    ]
    for name, code, country, error, args in bad_metadata:
        with pytest.raises(error) as raised:
            registry.transact(authority, fns.accreditIssuer(target, country, name, code, b"\0" * 32))
        assert isinstance(raised.value, errors.InvalidMetadataError) and raised.value.args_by_name == args
    with pytest.raises(errors.ConfigurationError):
        registry.accredit_issuer(authority, target, name="n", country="de", accreditation_code="c")
    registry.accredit_issuer(
        authority, target, name="ü" * 128, country="DE", accreditation_code="c", metadata_hash=keccak(b"doc")
    )
    record = registry.get_issuer(target)
    assert record.name == "ü" * 128 and record.metadata_hash == Web3.to_hex(keccak(b"doc"))
    with pytest.raises(errors.IssuerAlreadyRegisteredError):
        registry.accredit_issuer(authority, target, name="n", country="DE", accreditation_code="c")
    with pytest.raises(errors.IssuerNotAccreditedError):
        registry.suspend_issuer(authority, actors.stranger.address)


def test_key_rotation(w3: Web3, registry: Registry, actors: Actors) -> None:
    old, authority = actors.issuer, actors.authority
    new = new_signer(w3, actors.admin)
    kept = random_hash()
    registry.anchor(old, kept)
    registry.rotate_issuer_key(authority, old.address, new.address)
    old_record, new_record = registry.get_issuer(old.address), registry.get_issuer(new.address)
    assert old_record.status is IssuerStatus.RETIRED and old_record.successor == new.address
    assert new_record.status is IssuerStatus.ACCREDITED and new_record.predecessor == old.address
    assert (new_record.name, new_record.country) == (old_record.name, old_record.country)

    # What the old key anchored while accredited stays valid; what it anchors now never is.
    state = _state(registry, old.address, kept)
    assert state.issuer_status is IssuerStatus.RETIRED and state.current_key == new.address and state.issuer_trusted
    stale = random_hash()
    registry.anchor(old, stale)
    assert not _state(registry, old.address, stale).issuer_trusted

    # The new key looks after the old key's certificates; the old key may still revoke, not restore.
    registry.suspend_certificate(new, kept, issuer=old.address)
    with pytest.raises(errors.IssuerNotAccreditedError):
        registry.lift_certificate_suspension(old, kept)
    registry.lift_certificate_suspension(new, kept, issuer=old.address)
    with pytest.raises(errors.UnauthorizedError):
        registry.revoke(old, random_hash(), RevocationReason.FRAUD, issuer=new.address)

    # Rotation needs an accredited old key and a fresh new key.
    with pytest.raises(errors.IssuerNotAccreditedError):
        registry.rotate_issuer_key(authority, old.address, new_signer(w3, actors.admin).address)
    with pytest.raises(errors.IssuerAlreadyRegisteredError):
        registry.rotate_issuer_key(authority, new.address, actors.other.address)
    zero = "0x" + "00" * 20
    with pytest.raises(errors.InvalidNewKeyError) as raised:
        registry.transact(authority, registry.contract.functions.rotateIssuerKey(new.address, zero))
    assert raised.value.args_by_name == {"oldKey": new.address, "newKey": zero}

    # Suspending the chamber's current key suspends trust in its old keys' certificates too.
    registry.suspend_issuer(authority, new.address)
    state = _state(registry, old.address, kept)
    assert state.current_key_status is IssuerStatus.SUSPENDED and not state.issuer_trusted


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_merkle_proofs_match_the_contract(size: int, registry: Registry, actors: Actors) -> None:
    leaves = [keccak(i.to_bytes(4, "big") + b"leaf") for i in range(size)]
    tree = MerkleTree.build(leaves)
    registry.anchor(actors.issuer, tree.root)
    indices = list(range(size)) if size <= 7 else [0, 1, 2, 511, 512, 998, 999]
    queries = [CertificateQuery(actors.issuer.address, tree.root, leaves[i], tree.proof(i)) for i in indices]
    assert all(s.proof_valid and s.anchored and s.issuer_trusted for s in registry.verify_certificates(queries))
    assert all(verify_proof(tree.root, q.leaf, q.proof) for q in queries)
    if size == 1:
        assert tree.root == leaves[0] and tree.proof(0) == ()


@pytest.mark.slow
def test_merkle_all_thousand_proofs_in_one_call(registry: Registry, actors: Actors) -> None:
    leaves = [keccak(i.to_bytes(4, "big")) for i in range(1000)]
    tree = MerkleTree.build(leaves)
    registry.anchor(actors.issuer, tree.root)
    states = registry.verify_certificates(
        [CertificateQuery(actors.issuer.address, tree.root, leaf, tree.proof(i)) for i, leaf in enumerate(leaves)]
    )
    assert len(states) == 1000 and all(s.proof_valid and s.issuer_trusted for s in states)


def test_wrong_proofs_are_rejected_by_contract_and_mirror(registry: Registry, actors: Actors) -> None:
    leaves = [random_hash() for _ in range(7)]
    tree = MerkleTree.build(leaves)
    registry.anchor(actors.issuer, tree.root)
    proof = tree.proof(2)
    flipped = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    wrong = {
        "other leaf's proof": (leaves[2], tree.proof(3)),
        "truncated": (leaves[2], proof[:-1]),
        "extra node": (leaves[2], (*proof, random_hash())),
        "flipped byte": (leaves[2], (flipped, *proof[1:])),
        "foreign leaf": (random_hash(), proof),
        "inner node as leaf": (tree.levels[1][0], proof),
    }
    queries = [CertificateQuery(actors.issuer.address, tree.root, leaf, p) for leaf, p in wrong.values()]
    states = registry.verify_certificates(queries)
    for name, query, state in zip(wrong, queries, states, strict=True):
        assert not state.proof_valid, name
        assert not verify_proof(tree.root, query.leaf, query.proof), name
    wrong_root = _state(registry, actors.issuer.address, random_hash(), leaves[2], proof)
    assert not wrong_root.proof_valid and not wrong_root.anchored


def test_status_events_name_who_acted(registry: Registry, actors: Actors) -> None:
    """Every certificate status event carries `by`: the issuer itself or the authority acting for it."""
    events = registry.contract.events
    issuer, authority = actors.issuer, actors.authority
    leaf = random_hash()
    changes = [
        (events.CertificateSuspended, registry.suspend_certificate(authority, leaf, issuer=issuer.address), authority),
        (
            events.CertificateSuspensionLifted,
            registry.lift_certificate_suspension(authority, leaf, issuer=issuer.address),
            authority,
        ),
        (events.CertificateRevoked, registry.revoke(authority, leaf, RevocationReason.ERROR, issuer=issuer.address), authority),
        (events.CertificateRevoked, registry.revoke(issuer, random_hash(), RevocationReason.FRAUD), issuer),
        (events.CertificateSuperseded, registry.supersede(issuer, random_hash(), random_hash()), issuer),
    ]
    for event, result, actor in changes:
        receipt = registry.w3.eth.get_transaction_receipt(result.tx_hash)  # type: ignore[arg-type]
        (log,) = event().process_receipt(receipt)
        assert log["args"]["issuer"] == issuer.address and log["args"]["by"] == actor.address


@pytest.mark.parametrize("role", ["admin", "authority"])
def test_deployment_refuses_a_zero_governor(role: str, registry: Registry, actors: Actors) -> None:
    zero = "0x" + "00" * 20
    admin, authority = (zero, actors.authority.address) if role == "admin" else (actors.admin.address, zero)
    factory = registry.w3.eth.contract(abi=registry.contract.abi, bytecode=load_artifact("EcooRegistry")["bytecode"])
    expected = errors.InvalidAdminError if role == "admin" else errors.InvalidAuthorityError
    with pytest.raises(expected) as raised:
        registry.transact(actors.admin, factory.constructor(admin, authority))
    assert isinstance(raised.value, errors.ZeroAddressError) and raised.value.args_by_name == {role: zero}


def test_eip712_digest_mirror_matches_contract(registry: Registry) -> None:
    leaf = keccak(b"certificate")
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Certificate": [{"name": "leaf", "type": "bytes32"}, {"name": "number", "type": "string"}],
        },
        "primaryType": "Certificate",
        "domain": {"name": "ecoo", "version": "1", "chainId": registry.chain_id, "verifyingContract": registry.address},
        "message": {"leaf": leaf, "number": "DE-HH-2026-000123"},
    }
    message = encode_typed_data(full_message=typed)
    digest = keccak(b"\x19" + message.version + message.header + message.body)
    assert registry.hash_certificate(leaf, "DE-HH-2026-000123") == digest
    # ERC-5267: the domain is discoverable from the contract.
    assert registry.eip712_domain() == {
        "name": "ecoo",
        "version": "1",
        "chainId": registry.chain_id,
        "verifyingContract": registry.address,
    }
