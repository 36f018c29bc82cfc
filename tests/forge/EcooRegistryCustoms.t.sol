// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IEcooRegistry} from "../../contracts/IEcooRegistry.sol";
import {IEcooRegistryErrors as E} from "../../contracts/IEcooRegistryErrors.sol";
import {ItemUtilisation, UtilisationQuery} from "../../contracts/EcooRegistryTypes.sol";
import {CustomsFixture, Slots} from "./RegistryFixture.sol";

/// @notice The customs role and records: every revert with its exact error and arguments, what a
/// record writes (one slot, one event), the certified-quantity rule as a fuzz test, and the gas
/// ceiling of a utilisation record (first and later) computed as receipt gas.
contract EcooRegistryCustomsTest is CustomsFixture {
    bytes32 internal constant LEAF = keccak256("leaf");
    bytes32 internal constant DECLARATION = keccak256("declaration");
    uint16 internal constant QUANTITY_EXCEEDED = 4;

    function _expect(bytes memory error) internal {
        vm.expectRevert(error);
    }

    function _utilise(address customs, bytes32 leaf, uint16 item, uint128 certified, uint128 quantity) internal {
        vm.prank(customs);
        registry.recordUtilisation(issuer, leaf, item, certified, quantity, DECLARATION);
    }

    function _one(uint16 item) internal pure returns (uint16[] memory items) {
        items = new uint16[](1);
        items[0] = item;
    }

    // --- the role ------------------------------------------------------------------------------

    function test_grant_and_revoke_need_the_authority_role() public {
        address[4] memory callers = [admin, issuer, customsNl, stranger];
        for (uint256 i = 0; i < callers.length; ++i) {
            _expect(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, callers[i], AUTHORITY_ROLE));
            vm.prank(callers[i]);
            registry.grantCustoms(stranger, "DE");
            _expect(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, callers[i], AUTHORITY_ROLE));
            vm.prank(callers[i]);
            registry.revokeCustoms(customsNl);
        }
    }

    function test_grant_refuses_zero_key_or_country() public {
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidCustoms.selector, address(0), bytes2("DE")));
        vm.prank(authority);
        registry.grantCustoms(address(0), "DE");
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidCustoms.selector, stranger, bytes2(0)));
        vm.prank(authority);
        registry.grantCustoms(stranger, bytes2(0));
    }

    function test_grant_refuses_an_active_key() public {
        _expect(abi.encodeWithSelector(E.EcooRegistryCustomsAlreadyGranted.selector, customsNl));
        vm.prank(authority);
        registry.grantCustoms(customsNl, "DE");
    }

    function test_revoke_refuses_a_key_that_is_not_active() public {
        address[2] memory keys = [stranger, customsRevoked];
        for (uint256 i = 0; i < keys.length; ++i) {
            _expect(abi.encodeWithSelector(E.EcooRegistryNotCustoms.selector, keys[i]));
            vm.prank(authority);
            registry.revokeCustoms(keys[i]);
        }
    }

    function test_grant_revoke_and_grant_again_with_another_country() public {
        vm.expectEmit(address(registry));
        emit IEcooRegistry.CustomsGranted(stranger, "DE");
        vm.prank(authority);
        registry.grantCustoms(stranger, "DE");
        (bytes2 country, bool active) = registry.getCustoms(stranger);
        assertEq(country, bytes2("DE"));
        assertTrue(active);
        // Country and flag share one slot: the caller check is one SLOAD.
        assertEq(uint256(vm.load(address(registry), Slots.customs(stranger))), uint256(uint16(bytes2("DE"))) | (1 << 16));

        vm.expectEmit(address(registry));
        emit IEcooRegistry.CustomsRevoked(stranger);
        vm.prank(authority);
        registry.revokeCustoms(stranger);
        (country, active) = registry.getCustoms(stranger);
        assertEq(country, bytes2("DE"), "a revoked key keeps its country");
        assertFalse(active);

        vm.prank(authority);
        registry.grantCustoms(stranger, "AT");
        (country, active) = registry.getCustoms(stranger);
        assertEq(country, bytes2("AT"));
        assertTrue(active);
    }

    // --- who records -----------------------------------------------------------------------------

    function test_only_an_active_customs_key_records() public {
        // Not the authority, not the certificate's issuer, not a revoked customs key.
        address[5] memory callers = [admin, authority, issuer, stranger, customsRevoked];
        for (uint256 i = 0; i < callers.length; ++i) {
            bytes memory error = abi.encodeWithSelector(E.EcooRegistryNotCustoms.selector, callers[i]);
            _expect(error);
            vm.prank(callers[i]);
            registry.recordReceipt(issuer, LEAF, DECLARATION);
            _expect(error);
            _utilise(callers[i], LEAF, 1, 1000, 1);
            _expect(error);
            vm.prank(callers[i]);
            registry.recordRejection(issuer, LEAF, QUANTITY_EXCEEDED, DECLARATION);
        }
    }

    function test_a_revoked_key_stops_recording() public {
        _utilise(customsNl, LEAF, 1, 1000, 1);
        vm.prank(authority);
        registry.revokeCustoms(customsNl);
        _expect(abi.encodeWithSelector(E.EcooRegistryNotCustoms.selector, customsNl));
        _utilise(customsNl, LEAF, 1, 1000, 1);
        assertEq(registry.getUtilisation(issuer, LEAF, _one(1))[0].utilised, 1, "its records stay");
    }

    // --- the certified-quantity rule -------------------------------------------------------------

    function test_item_zero_is_refused() public {
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidItem.selector, issuer, LEAF, uint16(0)));
        _utilise(customsNl, LEAF, 0, 1000, 1);
    }

    function test_zero_quantity_or_zero_certified_is_refused() public {
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidQuantity.selector, issuer, LEAF, uint16(1), uint128(1000), uint128(0)));
        _utilise(customsNl, LEAF, 1, 1000, 0);
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidQuantity.selector, issuer, LEAF, uint16(1), uint128(0), uint128(1)));
        _utilise(customsNl, LEAF, 1, 0, 1);
    }

    function test_the_first_record_fixes_the_certified_quantity() public {
        _utilise(customsNl, LEAF, 1, 12_000, 2_000);
        // Another port reading another certified quantity is refused, whichever port it is.
        _expect(
            abi.encodeWithSelector(
                E.EcooRegistryCertifiedQuantityMismatch.selector, issuer, LEAF, uint16(1), uint128(12_000), uint128(13_000)
            )
        );
        _utilise(customsBe, LEAF, 1, 13_000, 1);
        _expect(
            abi.encodeWithSelector(
                E.EcooRegistryCertifiedQuantityMismatch.selector, issuer, LEAF, uint16(1), uint128(12_000), uint128(11_000)
            )
        );
        _utilise(customsNl, LEAF, 1, 11_000, 1);
        // Each item of the certificate has its own certified quantity.
        _utilise(customsBe, LEAF, 2, 13_000, 1);
    }

    function test_utilisation_never_exceeds_the_certified_quantity() public {
        // More than certified in the first record.
        _expect(
            abi.encodeWithSelector(
                E.EcooRegistryUtilisationExceeded.selector, issuer, LEAF, uint16(1), uint128(12_000), uint128(0), uint128(12_001)
            )
        );
        _utilise(customsNl, LEAF, 1, 12_000, 12_001);
        // Two ports: 8,000 + 4,000 is exactly the certified quantity; one unit more is refused.
        _utilise(customsNl, LEAF, 1, 12_000, 8_000);
        _expect(
            abi.encodeWithSelector(
                E.EcooRegistryUtilisationExceeded.selector, issuer, LEAF, uint16(1), uint128(12_000), uint128(8_000), uint128(4_001)
            )
        );
        _utilise(customsBe, LEAF, 1, 12_000, 4_001);
        _utilise(customsBe, LEAF, 1, 12_000, 4_000);
        _expect(
            abi.encodeWithSelector(
                E.EcooRegistryUtilisationExceeded.selector, issuer, LEAF, uint16(1), uint128(12_000), uint128(12_000), uint128(1)
            )
        );
        _utilise(customsNl, LEAF, 1, 12_000, 1);
        ItemUtilisation memory found = registry.getUtilisation(issuer, LEAF, _one(1))[0];
        assertEq(found.certified, 12_000);
        assertEq(found.utilised, 12_000);
    }

    function test_the_largest_quantities_do_not_overflow() public {
        uint128 max = type(uint128).max;
        _utilise(customsNl, LEAF, 1, max, max - 1);
        _expect(abi.encodeWithSelector(E.EcooRegistryUtilisationExceeded.selector, issuer, LEAF, uint16(1), max, max - 1, max));
        _utilise(customsBe, LEAF, 1, max, max);
        _utilise(customsBe, LEAF, 1, max, 1);
        (uint128 certified, uint128 utilised) = _utilisationWord(issuer, LEAF, 1);
        assertEq(certified, max);
        assertEq(utilised, max);
    }

    function test_records_are_keyed_by_issuer_and_leaf() public {
        _utilise(customsNl, LEAF, 1, 1_000, 1_000);
        // The same leaf under another issuer key, and another leaf, are untouched.
        vm.prank(customsNl);
        registry.recordUtilisation(other, LEAF, 1, 5_000, 1, DECLARATION);
        _utilise(customsNl, keccak256("another leaf"), 1, 7_000, 1);
        assertEq(registry.getUtilisation(other, LEAF, _one(1))[0].certified, 5_000);
    }

    function test_rejection_code_zero_is_refused() public {
        _expect(abi.encodeWithSelector(E.EcooRegistryInvalidRejectionCode.selector, uint16(0)));
        vm.prank(customsNl);
        registry.recordRejection(issuer, LEAF, 0, DECLARATION);
    }

    // --- what a record writes ----------------------------------------------------------------------

    function test_a_utilisation_is_one_sstore_and_one_event() public {
        _utilise(customsNl, LEAF, 3, 12_000, 2_000);
        vm.expectEmit(address(registry));
        emit IEcooRegistry.CertificateUtilised(issuer, LEAF, customsBe, 3, 500, 2_500, 12_000, DECLARATION);
        vm.record();
        _utilise(customsBe, LEAF, 3, 12_000, 500);
        (, bytes32[] memory writes) = vm.accesses(address(registry));
        assertEq(writes.length, 1, "one SSTORE");
        assertEq(writes[0], Slots.utilisation(issuer, LEAF, 3));
        (uint128 certified, uint128 utilised) = _utilisationWord(issuer, LEAF, 3);
        assertEq(certified, 12_000);
        assertEq(utilised, 2_500);
    }

    function test_receipt_and_rejection_are_events_only() public {
        vm.record();
        vm.expectEmit(address(registry));
        emit IEcooRegistry.CertificateReceived(issuer, LEAF, customsNl, DECLARATION);
        vm.prank(customsNl);
        registry.recordReceipt(issuer, LEAF, DECLARATION);
        vm.expectEmit(address(registry));
        emit IEcooRegistry.CertificateRejected(issuer, LEAF, customsBe, QUANTITY_EXCEEDED, DECLARATION);
        vm.prank(customsBe);
        registry.recordRejection(issuer, LEAF, QUANTITY_EXCEEDED, DECLARATION);
        (, bytes32[] memory writes) = vm.accesses(address(registry));
        assertEq(writes.length, 0, "no storage written");
    }

    function test_get_utilisations_answers_each_query_in_order() public {
        _utilise(customsNl, LEAF, 1, 1_000, 400);
        _utilise(customsNl, LEAF, 2, 2_000, 2_000);
        vm.prank(customsNl);
        registry.recordUtilisation(other, LEAF, 1, 3_000, 1, DECLARATION);
        UtilisationQuery[] memory queries = new UtilisationQuery[](3);
        uint16[] memory items = new uint16[](3);
        (items[0], items[1], items[2]) = (2, 9, 1);
        queries[0] = UtilisationQuery(issuer, LEAF, items);
        queries[1] = UtilisationQuery(other, LEAF, _one(1));
        queries[2] = UtilisationQuery(stranger, LEAF, new uint16[](0));
        ItemUtilisation[][] memory found = registry.getUtilisations(queries);
        assertEq(found.length, 3);
        assertEq(found[0].length, 3);
        assertEq(abi.encode(found[0][0]), abi.encode(ItemUtilisation(2_000, 2_000)));
        assertEq(abi.encode(found[0][1]), abi.encode(ItemUtilisation(0, 0)), "nothing recorded");
        assertEq(abi.encode(found[0][2]), abi.encode(ItemUtilisation(1_000, 400)));
        assertEq(abi.encode(found[1][0]), abi.encode(ItemUtilisation(3_000, 1)));
        assertEq(found[2].length, 0);
        assertEq(abi.encode(registry.getUtilisation(issuer, LEAF, items)), abi.encode(found[0]));
    }

    // --- the rule as a fuzz test --------------------------------------------------------------------

    /// @notice Any sequence of records by two ports, each stating the certified quantity right or
    /// wrong: a record succeeds exactly when the model says so, and the cumulative utilisation is
    /// the sum of the records that succeeded, never above the certified quantity.
    function testFuzz_utilisation_follows_the_model(uint128 certified, uint128[12] memory quantities, uint256 choices)
        public
    {
        certified = uint128(bound(certified, 1, type(uint128).max));
        uint128 fixedCertified;
        uint128 utilised;
        for (uint256 i = 0; i < quantities.length; ++i) {
            uint256 choice = (choices >> (i * 4)) & 0xf;
            address port = choice & 1 == 0 ? customsNl : customsBe;
            // Mostly the true certified quantity; sometimes a misread one.
            uint128 stated = choice & 6 == 6 ? certified / 2 + 1 : certified;
            // Small enough to take several records to exhaust, sometimes whatever the fuzzer gave.
            uint128 quantity = choice & 8 == 8 ? quantities[i] : uint128(bound(quantities[i], 0, certified / 4 + 1));
            bool mismatch = fixedCertified != 0 && stated != fixedCertified;
            bool ok = quantity != 0 && !mismatch && quantity <= stated - utilised;
            if (quantity == 0) {
                _expect(abi.encodeWithSelector(E.EcooRegistryInvalidQuantity.selector, issuer, LEAF, uint16(1), stated, quantity));
            } else if (mismatch) {
                _expect(
                    abi.encodeWithSelector(
                        E.EcooRegistryCertifiedQuantityMismatch.selector, issuer, LEAF, uint16(1), fixedCertified, stated
                    )
                );
            } else if (!ok) {
                _expect(
                    abi.encodeWithSelector(
                        E.EcooRegistryUtilisationExceeded.selector, issuer, LEAF, uint16(1), stated, utilised, quantity
                    )
                );
            }
            _utilise(port, LEAF, 1, stated, quantity);
            if (ok) {
                fixedCertified = stated;
                utilised += quantity;
            }
            (uint128 onChainCertified, uint128 onChainUtilised) = _utilisationWord(issuer, LEAF, 1);
            assertEq(onChainCertified, fixedCertified);
            assertEq(onChainUtilised, utilised);
            assertLe(onChainUtilised, onChainCertified);
        }
    }

    // --- gas ------------------------------------------------------------------------------------------

    uint256 internal constant UTILISATION_GAS_CEILING = 60_000;

    /// @dev Receipt gas of the last call, had it been its own transaction: 21,000, the calldata
    /// (EIP-2028: 4 per zero byte, 16 per other byte; cancun has no calldata floor) and the
    /// execution forge measured. The callee's storage is cooled first (`vm.cool`) so that every
    /// slot is read cold, as in a transaction of its own.
    function _receiptGas(bytes memory data) internal view returns (uint256 gas) {
        gas = 21_000 + vm.lastCallGas().gasTotalUsed;
        for (uint256 i = 0; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    function _measureUtilisation(address customs, bytes32 leaf, uint128 quantity) internal returns (uint256) {
        // A leaf and a declaration hash of random-looking bytes, as real ones are (no zero bytes to discount).
        bytes memory data =
            abi.encodeCall(IEcooRegistry.recordUtilisation, (issuer, leaf, 1, 12_000, quantity, keccak256(abi.encode(leaf))));
        vm.cool(address(registry));
        vm.prank(customs);
        (bool ok,) = address(registry).call(data);
        assertTrue(ok);
        return _receiptGas(data);
    }

    function test_gas_a_utilisation_record_first_and_later_stays_under_60000() public {
        for (uint256 i = 0; i < 5; ++i) {
            bytes32 leaf = keccak256(abi.encode("gas", i));
            uint256 first = _measureUtilisation(customsNl, leaf, 2_000);
            uint256 later = _measureUtilisation(customsBe, leaf, 3_000);
            uint256 last = _measureUtilisation(customsNl, leaf, 7_000); // exhausts the item
            emit log_named_uint("first utilisation, receipt gas", first);
            emit log_named_uint("later utilisation, receipt gas", later);
            assertLe(first, UTILISATION_GAS_CEILING, "first utilisation record");
            assertLe(later, UTILISATION_GAS_CEILING, "later utilisation record");
            assertLe(last, UTILISATION_GAS_CEILING, "last utilisation record");
        }
    }
}
