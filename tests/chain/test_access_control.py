"""Access-control matrix: every state-changing registry function x every kind of caller,
asserting success or the exact custom error (mapped by selector to an ecoo exception)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from web3 import Web3

from ecoo import errors
from ecoo.errors.registry import NotCustomsError
from ecoo.registry import CertificateQuery, CertificateStatus, Registry, RevocationReason
from tests.support.chain import Actors, accredit, new_signer, random_hash

CALLERS = ["admin", "authority", "issuer", "other", "suspended", "stranger"]
OK = None

ROLE = errors.MissingRoleError
UNAUTH = errors.UnauthorizedError
NO_STANDING = errors.IssuerNotAccreditedError

# Expected outcome per function and caller. "Own" certificate functions act on the caller's
# namespace; "...For" functions act on the accredited `issuer`'s certificates.
EXPECTED: dict[str, dict[str, type[Exception] | None]] = {
    "accreditIssuer": {"admin": ROLE, "authority": OK, "issuer": ROLE, "other": ROLE, "suspended": ROLE, "stranger": ROLE},
    "suspendIssuer": {"admin": ROLE, "authority": OK, "issuer": ROLE, "other": ROLE, "suspended": ROLE, "stranger": ROLE},
    "reinstateIssuer": {"admin": ROLE, "authority": OK, "issuer": ROLE, "other": ROLE, "suspended": ROLE, "stranger": ROLE},
    "rotateIssuerKey": {"admin": ROLE, "authority": OK, "issuer": ROLE, "other": ROLE, "suspended": ROLE, "stranger": ROLE},
    "grantRole": {"admin": OK, "authority": ROLE, "issuer": ROLE, "other": ROLE, "suspended": ROLE, "stranger": ROLE},
    "revokeRole": {"admin": OK, "authority": ROLE, "issuer": ROLE, "other": ROLE, "suspended": ROLE, "stranger": ROLE},
    # Anchoring is open by design; whether it counts is decided at verification (test below).
    "anchor": dict.fromkeys(CALLERS, OK),
    # Lowering trust in one's own certificates never needs standing.
    "revoke": dict.fromkeys(CALLERS, OK),
    "suspendCertificate": dict.fromkeys(CALLERS, OK),
    # Restoring or redirecting trust needs an accredited caller.
    "supersede": {
        "admin": NO_STANDING,
        "authority": NO_STANDING,
        "issuer": OK,
        "other": OK,
        "suspended": NO_STANDING,
        "stranger": NO_STANDING,
    },
    "liftCertificateSuspension": {
        "admin": NO_STANDING,
        "authority": NO_STANDING,
        "issuer": OK,
        "other": OK,
        "suspended": NO_STANDING,
        "stranger": NO_STANDING,
    },
    # On behalf of `issuer`: the authority, or `issuer` itself; nobody else.
    "revokeFor": {"admin": UNAUTH, "authority": OK, "issuer": OK, "other": UNAUTH, "suspended": UNAUTH, "stranger": UNAUTH},
    "supersedeFor": {"admin": UNAUTH, "authority": OK, "issuer": OK, "other": UNAUTH, "suspended": UNAUTH, "stranger": UNAUTH},
    "suspendCertificateFor": {
        "admin": UNAUTH,
        "authority": OK,
        "issuer": OK,
        "other": UNAUTH,
        "suspended": UNAUTH,
        "stranger": UNAUTH,
    },
    "liftCertificateSuspensionFor": {
        "admin": UNAUTH,
        "authority": OK,
        "issuer": OK,
        "other": UNAUTH,
        "suspended": UNAUTH,
        "stranger": UNAUTH,
    },
    # The authority governs the customs role; only a customs key records, not even the authority
    # ("other" is granted the role for the record functions, see _action).
    "grantCustoms": {"admin": ROLE, "authority": OK, "issuer": ROLE, "other": ROLE, "suspended": ROLE, "stranger": ROLE},
    "revokeCustoms": {"admin": ROLE, "authority": OK, "issuer": ROLE, "other": ROLE, "suspended": ROLE, "stranger": ROLE},
    **{
        record: {**dict.fromkeys(CALLERS, NotCustomsError), "other": OK}
        for record in ("recordReceipt", "recordUtilisation", "recordRejection")
    },
}


def _action(name: str, registry: Registry, w3: Web3, actors: Actors) -> Callable[[Any], Any]:
    """Prepare the state `name` needs (as the authority or issuer) and return the call to try."""
    fns = registry.contract.functions
    authority, issuer = actors.authority, actors.issuer
    funder = actors.admin

    if name == "accreditIssuer":
        target = new_signer(w3, funder).address
        return lambda caller: registry.accredit_issuer(caller, target, name="X", country="FR", accreditation_code="C")
    if name in ("suspendIssuer", "rotateIssuerKey"):
        target = new_signer(w3, funder).address
        accredit(registry, authority, target)
        if name == "suspendIssuer":
            return lambda caller: registry.suspend_issuer(caller, target)
        new_key = new_signer(w3, funder).address
        return lambda caller: registry.rotate_issuer_key(caller, target, new_key)
    if name == "reinstateIssuer":
        target = new_signer(w3, funder).address
        accredit(registry, authority, target)
        registry.suspend_issuer(authority, target)
        return lambda caller: registry.reinstate_issuer(caller, target)
    if name == "grantRole":
        return lambda caller: registry.grant_authority(caller, new_signer(w3, funder).address)
    if name == "revokeRole":
        granted = new_signer(w3, funder).address
        registry.grant_authority(funder, granted)
        return lambda caller: registry.revoke_authority(caller, granted)
    if name == "anchor":
        return lambda caller: registry.anchor(caller, random_hash())
    if name == "revoke":
        return lambda caller: registry.revoke(caller, random_hash(), RevocationReason.FRAUD)
    if name == "suspendCertificate":
        return lambda caller: registry.suspend_certificate(caller, random_hash())
    if name == "supersede":
        return lambda caller: registry.supersede(caller, random_hash(), random_hash())
    if name == "liftCertificateSuspension":

        def lift_own(caller: Any) -> Any:
            leaf = random_hash()
            registry.suspend_certificate(caller, leaf)  # allowed to everyone, see EXPECTED
            return registry.lift_certificate_suspension(caller, leaf)

        return lift_own
    if name == "grantCustoms":
        return lambda caller: registry.grant_customs(caller, new_signer(w3, funder).address, "NL")
    if name == "revokeCustoms":
        granted = new_signer(w3, funder).address
        registry.grant_customs(authority, granted, "NL")
        return lambda caller: registry.revoke_customs(caller, granted)
    if name.startswith("record"):
        if not registry.get_customs(actors.other.address).active:
            registry.grant_customs(authority, actors.other.address, "NL")
        records: dict[str, Callable[[Any], Any]] = {
            "recordReceipt": lambda caller: registry.record_receipt(caller, issuer.address, random_hash(), random_hash()),
            "recordUtilisation": lambda caller: registry.record_utilisation(
                caller, issuer.address, random_hash(), 1, 1000, 1000, random_hash()
            ),
            "recordRejection": lambda caller: registry.record_rejection(caller, issuer.address, random_hash(), 4, random_hash()),
        }
        return records[name]
    leaf = random_hash()
    if name == "revokeFor":
        return lambda caller: registry.transact(caller, fns.revokeFor(issuer.address, leaf, int(RevocationReason.ERROR)))
    if name == "supersedeFor":
        return lambda caller: registry.transact(caller, fns.supersedeFor(issuer.address, leaf, random_hash()))
    if name == "suspendCertificateFor":
        return lambda caller: registry.transact(caller, fns.suspendCertificateFor(issuer.address, leaf))
    if name == "liftCertificateSuspensionFor":
        registry.suspend_certificate(issuer, leaf)
        return lambda caller: registry.transact(caller, fns.liftCertificateSuspensionFor(issuer.address, leaf))
    raise AssertionError(name)


def test_matrix_covers_every_state_changing_function(registry: Registry) -> None:
    abi_functions = {
        item["name"]
        for item in registry.contract.abi
        if item["type"] == "function" and item["stateMutability"] not in ("view", "pure")
    }
    # renounceRole is OpenZeppelin's self-service exit and takes no caller but the account itself.
    assert abi_functions - {"renounceRole"} == set(EXPECTED)


# ~30 s of deployments on the embedded chain: in `make test` (both chains), not in `make test-fast`;
# `make forge` checks every revert path with its exact error in seconds.
@pytest.mark.slow
@pytest.mark.parametrize("function", sorted(EXPECTED))
def test_access_matrix(function: str, w3: Web3, registry: Registry, actors: Actors) -> None:
    for caller_name in CALLERS:
        caller = getattr(actors, caller_name)
        call = _action(function, registry, w3, actors)
        expected = EXPECTED[function][caller_name]
        if expected is None:
            result = call(caller)
            assert result.gas_used > 0, (function, caller_name)
        else:
            with pytest.raises(expected) as raised:
                call(caller)
            # The decoded error names the caller where the error has an account argument.
            args = raised.value.args_by_name  # type: ignore[attr-defined]
            if "account" in args:
                assert args["account"] == caller.address
            if "caller" in args:
                assert args["caller"] == caller.address


def test_anchors_by_anyone_verify_only_for_accredited_issuers(registry: Registry, actors: Actors) -> None:
    trusted = {"admin": False, "authority": False, "issuer": True, "other": True, "suspended": False, "stranger": False}
    for name, expected in trusted.items():
        caller = getattr(actors, name)
        root = random_hash()
        registry.anchor(caller, root)
        state = registry.verify_certificate(CertificateQuery(caller.address, root, root))
        assert state.anchored and state.proof_valid
        assert state.issuer_trusted is expected, name


def test_nobody_can_touch_another_issuers_root(registry: Registry, actors: Actors) -> None:
    root = random_hash()
    # A stranger anchoring the issuer's root first only creates a record under its own address.
    registry.anchor(actors.stranger, root)
    registry.anchor(actors.issuer, root)
    state = registry.verify_certificate(CertificateQuery(actors.issuer.address, root, root))
    assert state.anchored and state.issuer_trusted
    # Revoking "the same leaf" from another key changes only that key's namespace.
    registry.revoke(actors.other, root, RevocationReason.FRAUD)
    assert registry.verify_certificate(CertificateQuery(actors.issuer.address, root, root)).status is CertificateStatus.ACTIVE


def test_authority_can_renounce_its_own_role_only(registry: Registry, actors: Actors) -> None:
    assert registry.is_authority(actors.authority.address) and registry.is_admin(actors.admin.address)
    fns = registry.contract.functions
    with pytest.raises(errors.BadConfirmationError):  # renouncing for someone else
        registry.transact(actors.stranger, fns.renounceRole(registry.authority_role, actors.authority.address))
    registry.renounce_authority(actors.authority)
    assert not registry.is_authority(actors.authority.address)
    with pytest.raises(errors.MissingRoleError):
        registry.suspend_issuer(actors.authority, actors.issuer.address)


def test_authority_suspension_of_certificate_cannot_be_lifted_by_issuer(registry: Registry, actors: Actors) -> None:
    leaf = random_hash()
    registry.suspend_certificate(actors.authority, leaf, issuer=actors.issuer.address)
    with pytest.raises(errors.SuspendedByAuthorityError):
        registry.lift_certificate_suspension(actors.issuer, leaf)
    with pytest.raises(errors.SuspendedByAuthorityError):
        registry.supersede(actors.issuer, leaf, random_hash())
    # The issuer may still lower trust further; the authority lifts its own suspension.
    registry.lift_certificate_suspension(actors.authority, leaf, issuer=actors.issuer.address)
    registry.revoke(actors.issuer, leaf, RevocationReason.ERROR)
    state = registry.verify_certificate(CertificateQuery(actors.issuer.address, leaf, leaf))
    assert (state.status, state.reason) == (CertificateStatus.REVOKED, RevocationReason.ERROR)
