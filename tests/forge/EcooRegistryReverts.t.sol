// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {EcooRegistry} from "../../contracts/EcooRegistry.sol";
import {IEcooRegistryErrors as E} from "../../contracts/IEcooRegistryErrors.sol";
import {RevocationReason} from "../../contracts/EcooRegistryTypes.sol";
import {RegistryFixture} from "./RegistryFixture.sol";

/// @notice Every revert path of the registry, each with its exact custom error and arguments.
contract EcooRegistryRevertsTest is RegistryFixture {
    bytes32 internal constant LEAF = keccak256("leaf");
    bytes32 internal constant NEXT = keccak256("next");

    function _expect(bytes memory error) internal {
        vm.expectRevert(error);
    }

    function _missingRole(address caller, bytes32 role) internal {
        _expect(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, role));
    }

    // --- deployment ------------------------------------------------------------------------

    function test_constructor_refuses_zero_admin() public {
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidAdmin.selector, address(0)));
        new EcooRegistry(address(0), authority);
    }

    function test_constructor_refuses_zero_authority() public {
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidAuthority.selector, address(0)));
        new EcooRegistry(admin, address(0));
    }

    // --- accreditation -----------------------------------------------------------------------

    function test_accredit_needs_the_authority_role() public {
        _missingRole(stranger, AUTHORITY_ROLE);
        vm.prank(stranger);
        registry.accreditIssuer(stranger, "DE", "n", "c", bytes32(0));
    }

    function test_accredit_refuses_zero_issuer() public {
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidIssuer.selector, address(0)));
        vm.prank(authority);
        registry.accreditIssuer(address(0), "DE", "n", "c", bytes32(0));
    }

    function test_accredit_refuses_a_known_key() public {
        for (uint256 i = 0; i < 2; ++i) {
            address known = i == 0 ? issuer : suspended;
            _expect(abi.encodeWithSelector(E.EcooRegistryIssuerAlreadyRegistered.selector, known));
            vm.prank(authority);
            registry.accreditIssuer(known, "DE", "n", "c", bytes32(0));
        }
    }

    function test_accredit_refuses_missing_country() public {
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidCountry.selector, stranger, bytes2(0)));
        vm.prank(authority);
        registry.accreditIssuer(stranger, bytes2(0), "n", "c", bytes32(0));
    }

    function test_accredit_refuses_empty_or_long_name() public {
        string[2] memory names = ["", string(new bytes(257))];
        for (uint256 i = 0; i < names.length; ++i) {
            _expect(abi.encodeWithSelector(E.EcooRegistryInvalidName.selector, stranger, names[i]));
            vm.prank(authority);
            registry.accreditIssuer(stranger, "DE", names[i], "c", bytes32(0));
        }
    }

    function test_accredit_refuses_empty_or_long_code() public {
        string[2] memory codes = ["", string(new bytes(257))];
        for (uint256 i = 0; i < codes.length; ++i) {
            _expect(abi.encodeWithSelector(E.EcooRegistryInvalidAccreditationCode.selector, stranger, codes[i]));
            vm.prank(authority);
            registry.accreditIssuer(stranger, "DE", "n", codes[i], bytes32(0));
        }
    }

    function test_suspend_issuer_needs_role_and_an_accredited_key() public {
        _missingRole(issuer, AUTHORITY_ROLE);
        vm.prank(issuer);
        registry.suspendIssuer(other);
        address[2] memory notAccredited = [stranger, suspended];
        for (uint256 i = 0; i < notAccredited.length; ++i) {
            _expect(abi.encodeWithSelector(E.EcooRegistryIssuerNotAccredited.selector, notAccredited[i]));
            vm.prank(authority);
            registry.suspendIssuer(notAccredited[i]);
        }
    }

    function test_reinstate_needs_role_and_a_suspended_key() public {
        _missingRole(admin, AUTHORITY_ROLE);
        vm.prank(admin);
        registry.reinstateIssuer(suspended);
        _expect(abi.encodeWithSelector(E.EcooRegistryIssuerNotSuspended.selector, issuer));
        vm.prank(authority);
        registry.reinstateIssuer(issuer);
    }

    function test_rotate_needs_role_accredited_old_key_and_fresh_new_key() public {
        address fresh = makeAddr("fresh");
        _missingRole(issuer, AUTHORITY_ROLE);
        vm.prank(issuer);
        registry.rotateIssuerKey(issuer, fresh);

        vm.startPrank(authority);
        _expect(abi.encodeWithSelector(E.EcooRegistryIssuerNotAccredited.selector, suspended));
        registry.rotateIssuerKey(suspended, fresh);
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidNewKey.selector, issuer, address(0)));
        registry.rotateIssuerKey(issuer, address(0));
        _expect(abi.encodeWithSelector(E.EcooRegistryIssuerAlreadyRegistered.selector, other));
        registry.rotateIssuerKey(issuer, other);
        registry.rotateIssuerKey(issuer, fresh);
        // A retired key rotates no further.
        _expect(abi.encodeWithSelector(E.EcooRegistryIssuerNotAccredited.selector, issuer));
        registry.rotateIssuerKey(issuer, makeAddr("third"));
        vm.stopPrank();
    }

    function test_roles_admin_and_renounce() public {
        _missingRole(authority, bytes32(0));
        vm.prank(authority);
        registry.grantRole(AUTHORITY_ROLE, stranger);
        _missingRole(stranger, bytes32(0));
        vm.prank(stranger);
        registry.revokeRole(AUTHORITY_ROLE, authority);
        _expect(abi.encodeWithSelector(IAccessControl.AccessControlBadConfirmation.selector));
        vm.prank(stranger);
        registry.renounceRole(AUTHORITY_ROLE, authority);
    }

    // --- anchoring ---------------------------------------------------------------------------

    function test_anchor_refuses_zero_root_and_a_second_anchor() public {
        vm.startPrank(issuer);
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidRoot.selector, bytes32(0)));
        registry.anchor(bytes32(0));
        registry.anchor(LEAF);
        _expect(abi.encodeWithSelector(E.EcooRegistryRootAlreadyAnchored.selector, issuer, LEAF));
        registry.anchor(LEAF);
        vm.stopPrank();
    }

    // --- certificate status ------------------------------------------------------------------

    function test_revoke_needs_a_real_reason() public {
        RevocationReason[2] memory reasons = [RevocationReason.None, RevocationReason.Superseded];
        for (uint256 i = 0; i < reasons.length; ++i) {
            _expect(abi.encodeWithSelector(E.EcooRegistryInvalidReason.selector, reasons[i]));
            vm.prank(issuer);
            registry.revoke(LEAF, reasons[i]);
        }
    }

    function test_revoked_certificate_refuses_every_change() public {
        vm.startPrank(issuer);
        registry.revoke(LEAF, RevocationReason.Fraud);
        bytes memory revoked = abi.encodeWithSelector(E.EcooRegistryCertificateAlreadyRevoked.selector, issuer, LEAF);
        _expect(revoked);
        registry.revoke(LEAF, RevocationReason.Error);
        _expect(revoked);
        registry.supersede(LEAF, NEXT);
        _expect(revoked);
        registry.suspendCertificate(LEAF);
        _expect(abi.encodeWithSelector(E.EcooRegistryCertificateNotSuspended.selector, issuer, LEAF));
        registry.liftCertificateSuspension(LEAF);
        vm.stopPrank();
        _expect(revoked);
        vm.prank(authority);
        registry.revokeFor(issuer, LEAF, RevocationReason.Error);
    }

    function test_supersede_checks_standing_and_successor() public {
        _expect(abi.encodeWithSelector(E.EcooRegistryIssuerNotAccredited.selector, stranger));
        vm.prank(stranger);
        registry.supersede(LEAF, NEXT);
        vm.startPrank(issuer);
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidSuccessor.selector, LEAF, bytes32(0)));
        registry.supersede(LEAF, bytes32(0));
        _expect(abi.encodeWithSelector(E.EcooRegistrySelfSupersede.selector, LEAF));
        registry.supersede(LEAF, LEAF);
        vm.stopPrank();
    }

    function test_suspend_twice_and_lift_unsuspended() public {
        vm.startPrank(issuer);
        _expect(abi.encodeWithSelector(E.EcooRegistryCertificateNotSuspended.selector, issuer, LEAF));
        registry.liftCertificateSuspension(LEAF);
        registry.suspendCertificate(LEAF);
        _expect(abi.encodeWithSelector(E.EcooRegistryCertificateAlreadySuspended.selector, issuer, LEAF));
        registry.suspendCertificate(LEAF);
        vm.stopPrank();
        _expect(abi.encodeWithSelector(E.EcooRegistryIssuerNotAccredited.selector, suspended));
        vm.prank(suspended);
        registry.liftCertificateSuspension(LEAF);
    }

    function test_authority_suspension_binds_the_issuer() public {
        vm.prank(authority);
        registry.suspendCertificateFor(issuer, LEAF);
        bytes memory byAuthority = abi.encodeWithSelector(E.EcooRegistrySuspendedByAuthority.selector, issuer, LEAF);
        vm.startPrank(issuer);
        _expect(byAuthority);
        registry.liftCertificateSuspension(LEAF);
        _expect(byAuthority);
        registry.supersede(LEAF, NEXT);
        _expect(byAuthority);
        registry.liftCertificateSuspensionFor(issuer, LEAF);
        vm.stopPrank();
    }

    function test_on_behalf_functions_refuse_strangers_and_other_issuers() public {
        address[4] memory intruders = [stranger, other, admin, suspended];
        for (uint256 i = 0; i < intruders.length; ++i) {
            bytes memory refused = abi.encodeWithSelector(E.EcooRegistryUnauthorized.selector, intruders[i], issuer);
            vm.startPrank(intruders[i]);
            _expect(refused);
            registry.revokeFor(issuer, LEAF, RevocationReason.Fraud);
            _expect(refused);
            registry.supersedeFor(issuer, LEAF, NEXT);
            _expect(refused);
            registry.suspendCertificateFor(issuer, LEAF);
            _expect(refused);
            registry.liftCertificateSuspensionFor(issuer, LEAF);
            vm.stopPrank();
        }
    }

    function test_predecessor_may_not_act_for_its_successor() public {
        address fresh = makeAddr("fresh");
        vm.prank(authority);
        registry.rotateIssuerKey(issuer, fresh);
        _expect(abi.encodeWithSelector(E.EcooRegistryUnauthorized.selector, issuer, fresh));
        vm.prank(issuer);
        registry.revokeFor(fresh, LEAF, RevocationReason.Fraud);
    }

    function test_suspended_successor_may_lower_but_not_restore_trust() public {
        address fresh = makeAddr("fresh");
        vm.startPrank(authority);
        registry.rotateIssuerKey(issuer, fresh);
        registry.suspendIssuer(fresh);
        vm.stopPrank();
        vm.startPrank(fresh);
        registry.suspendCertificateFor(issuer, LEAF);
        bytes memory noStanding = abi.encodeWithSelector(E.EcooRegistryIssuerNotAccredited.selector, fresh);
        _expect(noStanding);
        registry.liftCertificateSuspensionFor(issuer, LEAF);
        _expect(noStanding);
        registry.supersedeFor(issuer, LEAF, NEXT);
        registry.revokeFor(issuer, LEAF, RevocationReason.Error);
        vm.stopPrank();
        // A retired issuer restoring trust through the ...For form needs standing as well.
        _expect(abi.encodeWithSelector(E.EcooRegistryIssuerNotAccredited.selector, issuer));
        vm.prank(issuer);
        registry.supersedeFor(issuer, NEXT, LEAF);
    }
}
