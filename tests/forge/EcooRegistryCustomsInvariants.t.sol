// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {console2} from "forge-std/console2.sol";
import {EcooRegistry} from "../../contracts/EcooRegistry.sol";
import {IEcooRegistryErrors as E} from "../../contracts/IEcooRegistryErrors.sol";
import {ItemUtilisation, UtilisationQuery} from "../../contracts/EcooRegistryTypes.sol";
import {CustomsHandler} from "./CustomsHandler.sol";

/// @notice The customs rules as properties over random sequences of grants, revocations and
/// records by five customs keys on eight items (2 issuers x 2 leaves x 2) (CustomsHandler; CI: 64 runs x 50 calls,
/// `make fuzz-long` 256 x 100).
contract EcooRegistryCustomsInvariantTest is Test {
    EcooRegistry internal registry;
    CustomsHandler internal handler;
    address internal authority = makeAddr("authority");

    function setUp() public {
        registry = new EcooRegistry(makeAddr("admin"), authority);
        address[] memory customs = new address[](5);
        for (uint256 i = 0; i < customs.length; ++i) {
            customs[i] = makeAddr(string.concat("customs-", vm.toString(i)));
        }
        address[] memory issuers = new address[](2);
        (issuers[0], issuers[1]) = (makeAddr("chamber-0"), makeAddr("chamber-1"));
        handler = new CustomsHandler(registry, authority, customs, issuers);
        // Four ports start with the role; one key never had it (the handler may grant them).
        vm.startPrank(authority);
        for (uint256 i = 0; i < 4; ++i) {
            registry.grantCustoms(customs[i], "NL");
            handler.granted(customs[i]);
        }
        vm.stopPrank();
        targetContract(address(handler));
        // Utilisations six times as often as a revocation, grants twice: ports racing on the same
        // items, with keys coming and going.
        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = CustomsHandler.grantCustoms.selector;
        selectors[1] = CustomsHandler.grantCustoms.selector;
        selectors[2] = CustomsHandler.revokeCustoms.selector;
        selectors[3] = CustomsHandler.recordReceipt.selector;
        selectors[4] = CustomsHandler.recordRejection.selector;
        for (uint256 i = 5; i < selectors.length; ++i) {
            selectors[i] = CustomsHandler.recordUtilisation.selector;
        }
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice For every (issuer, leaf, item): the cumulative utilised quantity never exceeds the
    /// certified one, equals the sum of the utilisations that succeeded, and the certified
    /// quantity is the one the first success stated; every call ended as the model predicts; and
    /// `getCustoms` agrees with the grants and revocations. One `getUtilisations` call reads all.
    function invariant_utilisation_never_exceeds_the_certified_quantity() public view {
        assertEq(handler.violations(), 0, handler.firstViolation());
        (address[] memory issuers, bytes32[] memory leaves, uint16 items) =
            (handler.issuers(), handler.leaves(), handler.items());
        UtilisationQuery[] memory queries = new UtilisationQuery[](issuers.length * leaves.length);
        uint16[] memory asked = new uint16[](items);
        for (uint16 item = 1; item <= items; ++item) {
            asked[item - 1] = item;
        }
        for (uint256 i = 0; i < issuers.length; ++i) {
            for (uint256 l = 0; l < leaves.length; ++l) {
                queries[i * leaves.length + l] = UtilisationQuery(issuers[i], leaves[l], asked);
            }
        }
        ItemUtilisation[][] memory found = registry.getUtilisations(queries);
        for (uint256 q = 0; q < queries.length; ++q) {
            for (uint16 item = 1; item <= items; ++item) {
                ItemUtilisation memory u = found[q][item - 1];
                bytes32 k = handler.key(queries[q].issuer, queries[q].leaf, item);
                assertLe(u.utilised, u.certified, "utilised beyond certified");
                assertEq(u.utilised, handler.ghostUtilised(k), "utilised is not the sum of the successful records");
                assertEq(u.certified, handler.ghostCertified(k), "certified is not the first record's");
            }
        }
        address[] memory customs = handler.customsKeys();
        for (uint256 c = 0; c < customs.length; ++c) {
            (, bool active) = registry.getCustoms(customs[c]);
            assertEq(active, handler.active(customs[c]), "customs role differs from the grants");
        }
    }

    function afterInvariant() external view {
        console2.log("utilisations recorded:", handler.succeeded("recordUtilisation"));
        console2.log("receipts / rejections:", handler.succeeded("recordReceipt"), handler.succeeded("recordRejection"));
        console2.log("grants / revocations:", handler.succeeded("grantCustoms"), handler.succeeded("revokeCustoms"));
        console2.log("refused: exceeded", handler.refused(E.EcooRegistryUtilisationExceeded.selector));
        console2.log("refused: certified mismatch", handler.refused(E.EcooRegistryCertifiedQuantityMismatch.selector));
        console2.log("refused: not customs", handler.refused(E.EcooRegistryNotCustoms.selector));
    }
}
