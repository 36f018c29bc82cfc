// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IEcooRegistryErrors as E} from "../../contracts/IEcooRegistryErrors.sol";
import {
    CertificateState, CertificateStatus, IssuerStatus, RevocationReason
} from "../../contracts/EcooRegistryTypes.sol";
import {RegistryFixture} from "./RegistryFixture.sol";

/// @notice Fuzz tests: anchoring any root, every status change on any leaf by any caller, and the
/// packed status record reading back exactly what was written.
contract EcooRegistryFuzzTest is RegistryFixture {
    /// @dev A caller that is none of the fixture's actors (and not a precompile or cheatcode).
    function _anyone(address caller) internal view {
        vm.assume(caller != address(0) && caller != authority && caller != admin);
        vm.assume(caller != issuer && caller != other && caller != suspended);
        assumeNotPrecompile(caller);
        assumeNotForgeAddress(caller);
    }

    // --- anchoring ---------------------------------------------------------------------------

    function testFuzz_anchor_any_root_by_any_caller(address caller, bytes32 root, uint48 blocks, uint48 time) public {
        vm.assume(root != bytes32(0));
        _anyone(caller);
        vm.roll(block.number + bound(blocks, 0, 1e9));
        vm.warp(bound(time, block.timestamp, type(uint48).max));
        vm.prank(caller);
        registry.anchor(root);
        (uint48 at, uint48 number) = registry.getAnchor(caller, root);
        assertEq(at, block.timestamp);
        assertEq(number, block.number);
        // Nobody else's namespace moved, and the stranger's anchor never verifies.
        (, uint48 issuersBlock) = registry.getAnchor(issuer, root);
        assertEq(issuersBlock, 0);
        CertificateState memory state = _state(caller, root);
        assertTrue(state.anchored && state.proofValid);
        assertFalse(state.accreditedAtAnchor);
        // A second anchor of the same root by the same key is refused.
        vm.expectRevert(abi.encodeWithSelector(E.EcooRegistryRootAlreadyAnchored.selector, caller, root));
        vm.prank(caller);
        registry.anchor(root);
    }

    function testFuzz_accredited_anchor_verifies_from_the_next_block(bytes32 root, uint8 gap) public {
        vm.assume(root != bytes32(0));
        vm.prank(issuer);
        registry.anchor(root);
        assertTrue(_state(issuer, root).accreditedAtAnchor);
        // Suspend, then anchor in the same block or later: never verifies; reinstating does not help.
        vm.roll(block.number + 1); // an anchor in the very block of the suspension would not count
        vm.prank(authority);
        registry.suspendIssuer(issuer);
        vm.roll(block.number + gap);
        bytes32 during = keccak256(abi.encode(root));
        vm.prank(issuer);
        registry.anchor(during);
        vm.roll(block.number + 1);
        vm.prank(authority);
        registry.reinstateIssuer(issuer);
        assertFalse(_state(issuer, during).accreditedAtAnchor);
        assertTrue(_state(issuer, root).accreditedAtAnchor);
    }

    // --- status changes on any leaf by any caller --------------------------------------------

    function testFuzz_revoke_own_leaf_by_anyone(address caller, bytes32 leaf, uint8 reasonSeed) public {
        _anyone(caller);
        RevocationReason reason = RevocationReason(bound(reasonSeed, 1, 3)); // Fraud, Error, Cancelled
        vm.prank(caller);
        registry.revoke(leaf, reason);
        CertificateState memory state = _state(caller, leaf);
        assertEq(uint8(state.status), uint8(CertificateStatus.Revoked));
        assertEq(uint8(state.reason), uint8(reason));
        assertEq(state.statusChangedBy, caller);
        // Only the caller's namespace changed.
        assertEq(uint8(_state(issuer, leaf).status), uint8(CertificateStatus.Active));
    }

    function testFuzz_revoke_for_another_issuer_only_by_authority(address caller, bytes32 leaf, uint8 reasonSeed) public {
        _anyone(caller);
        RevocationReason reason = RevocationReason(bound(reasonSeed, 1, 3));
        vm.expectRevert(abi.encodeWithSelector(E.EcooRegistryUnauthorized.selector, caller, issuer));
        vm.prank(caller);
        registry.revokeFor(issuer, leaf, reason);
        vm.prank(authority);
        registry.revokeFor(issuer, leaf, reason);
        (uint8 status,, bool byAuthority,, address changedBy) = _record(issuer, leaf);
        assertEq(status, uint8(CertificateStatus.Revoked));
        assertTrue(byAuthority);
        assertEq(changedBy, authority);
    }

    function testFuzz_suspend_and_lift_any_leaf(address caller, bytes32 leaf) public {
        _anyone(caller);
        // Anyone may suspend its own certificate; lifting needs standing, which a stranger lacks.
        vm.prank(caller);
        registry.suspendCertificate(leaf);
        assertEq(uint8(_state(caller, leaf).status), uint8(CertificateStatus.Suspended));
        vm.expectRevert(abi.encodeWithSelector(E.EcooRegistryIssuerNotAccredited.selector, caller));
        vm.prank(caller);
        registry.liftCertificateSuspension(leaf);
        // Others may not touch the issuer's leaf; the issuer may.
        vm.expectRevert(abi.encodeWithSelector(E.EcooRegistryUnauthorized.selector, caller, issuer));
        vm.prank(caller);
        registry.suspendCertificateFor(issuer, leaf);
        vm.startPrank(issuer);
        registry.suspendCertificate(leaf);
        registry.liftCertificateSuspension(leaf);
        vm.stopPrank();
        CertificateState memory state = _state(issuer, leaf);
        assertEq(uint8(state.status), uint8(CertificateStatus.Active));
        assertEq(state.statusChangedBy, issuer);
    }

    function testFuzz_supersede_any_leaf(address caller, bytes32 leaf, bytes32 successor) public {
        _anyone(caller);
        vm.assume(successor != bytes32(0) && successor != leaf);
        vm.expectRevert(abi.encodeWithSelector(E.EcooRegistryIssuerNotAccredited.selector, caller));
        vm.prank(caller);
        registry.supersede(leaf, successor);
        vm.expectRevert(abi.encodeWithSelector(E.EcooRegistryUnauthorized.selector, caller, issuer));
        vm.prank(caller);
        registry.supersedeFor(issuer, leaf, successor);
        vm.prank(issuer);
        registry.supersede(leaf, successor);
        CertificateState memory state = _state(issuer, leaf);
        assertEq(uint8(state.status), uint8(CertificateStatus.Revoked));
        assertEq(uint8(state.reason), uint8(RevocationReason.Superseded));
        assertEq(state.successor, successor);
        // Superseding is final too.
        vm.expectRevert(abi.encodeWithSelector(E.EcooRegistryCertificateAlreadyRevoked.selector, issuer, leaf));
        vm.prank(authority);
        registry.supersedeFor(issuer, leaf, keccak256(abi.encode(successor)));
    }

    function testFuzz_successor_key_acts_for_its_predecessor(bytes32 leaf, address newKey) public {
        _anyone(newKey);
        vm.assume(newKey != stranger);
        vm.prank(authority);
        registry.rotateIssuerKey(issuer, newKey);
        vm.startPrank(newKey);
        registry.suspendCertificateFor(issuer, leaf);
        registry.liftCertificateSuspensionFor(issuer, leaf);
        registry.revokeFor(issuer, leaf, RevocationReason.Error);
        vm.stopPrank();
        CertificateState memory state = _state(issuer, leaf);
        assertEq(state.statusChangedBy, newKey);
        assertEq(state.currentKey, newKey);
        assertEq(uint8(state.currentKeyStatus), uint8(IssuerStatus.Accredited));
    }

    // --- the packed status record ------------------------------------------------------------

    /// @notice Every status, reason, authority flag, time and address reads back exactly, through
    /// the view and through the raw slot at solc's offsets.
    function testFuzz_packed_record_round_trips(address caller, bytes32 leaf, uint8 kind, bool asAuthority, uint48 time)
        public
    {
        _anyone(caller);
        vm.warp(time);
        address key = caller;
        if (asAuthority) {
            // Any address can hold the authority role: the flag and `changedBy` must both survive.
            vm.prank(admin);
            registry.grantRole(AUTHORITY_ROLE, caller);
            key = issuer;
        } else {
            vm.prank(authority);
            registry.accreditIssuer(caller, "NL", "Kamer van Koophandel", "WCF-NL-0001", bytes32(0));
        }
        kind = uint8(bound(kind, 0, 5));
        (CertificateStatus status, RevocationReason reason) = _change(caller, key, leaf, kind);
        _assertRecord(key, leaf, Expected(status, reason, asAuthority, time, caller));
        assertEq(_state(key, leaf).successor, kind == 5 ? ~leaf : bytes32(0));
    }

    struct Expected {
        CertificateStatus status;
        RevocationReason reason;
        bool byAuthority;
        uint48 changedAt;
        address changedBy;
    }

    /// @dev Makes status change `kind` (0 lifted, 1 suspended, 2-4 revoked, 5 superseded).
    function _change(address caller, address key, bytes32 leaf, uint8 kind)
        internal
        returns (CertificateStatus status, RevocationReason reason)
    {
        vm.startPrank(caller);
        if (kind == 0) {
            registry.suspendCertificateFor(key, leaf);
            registry.liftCertificateSuspensionFor(key, leaf);
            status = CertificateStatus.Active;
        } else if (kind == 1) {
            registry.suspendCertificateFor(key, leaf);
            status = CertificateStatus.Suspended;
        } else if (kind <= 4) {
            reason = RevocationReason(kind - 1); // Fraud, Error, Cancelled
            registry.revokeFor(key, leaf, reason);
            status = CertificateStatus.Revoked;
        } else {
            registry.supersedeFor(key, leaf, ~leaf);
            (status, reason) = (CertificateStatus.Revoked, RevocationReason.Superseded);
        }
        vm.stopPrank();
    }

    function _assertRecord(address key, bytes32 leaf, Expected memory want) internal view {
        (uint8 rawStatus, uint8 rawReason, bool byAuthority, uint48 changedAt, address changedBy) = _record(key, leaf);
        assertEq(rawStatus, uint8(want.status));
        assertEq(rawReason, uint8(want.reason));
        assertEq(byAuthority, want.byAuthority);
        assertEq(changedAt, want.changedAt);
        assertEq(changedBy, want.changedBy);
        assertEq(uint256(vm.load(address(registry), _recordSlot(key, leaf))) >> 232, 0); // bytes 29-31 unused

        CertificateState memory state = _state(key, leaf);
        assertEq(uint8(state.status), uint8(want.status));
        assertEq(uint8(state.reason), uint8(want.reason));
        assertEq(state.statusChangedAt, want.changedAt);
        assertEq(state.statusChangedBy, want.changedBy);
    }
}
