// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {console2} from "forge-std/console2.sol";
import {EcooRegistry} from "../../contracts/EcooRegistry.sol";
import {
    AccreditationPeriod,
    CertificateState,
    CertificateStatus,
    Issuer,
    IssuerStatus,
    Query,
    RevocationReason
} from "../../contracts/EcooRegistryTypes.sol";
import {Slots} from "./RegistryFixture.sol";
import {RegistryHandler} from "./RegistryHandler.sol";

/// @notice The registry's rules as properties, checked after every call of random sequences that
/// RegistryHandler drives (CI: 64 runs x 50 calls; `make fuzz-long`: 256 x 100).
contract EcooRegistryInvariantTest is Test {
    EcooRegistry internal registry;
    RegistryHandler internal handler;
    address internal admin = makeAddr("admin");
    address internal authority = makeAddr("authority");

    function setUp() public {
        vm.roll(100);
        vm.warp(1_750_000_000);
        registry = new EcooRegistry(admin, authority);
        address[] memory keys = new address[](6);
        for (uint256 i = 0; i < keys.length; ++i) {
            keys[i] = makeAddr(string.concat("key-", vm.toString(i)));
        }
        handler = new RegistryHandler(registry, admin, authority, keys);
        vm.startPrank(authority);
        for (uint256 i = 0; i < 3; ++i) {
            registry.accreditIssuer(keys[i], "DE", "Chamber", "WCF-DE-0001", bytes32(0));
            handler.openedPeriod(keys[i], uint48(block.number));
        }
        vm.stopPrank();
        vm.roll(101);
        targetContract(address(handler));
        // Every registry function the handler wraps; not its setup hook `openedPeriod`.
        bytes4[] memory selectors = new bytes4[](15);
        selectors[0] = RegistryHandler.accreditIssuer.selector;
        selectors[1] = RegistryHandler.suspendIssuer.selector;
        selectors[2] = RegistryHandler.reinstateIssuer.selector;
        selectors[3] = RegistryHandler.rotateIssuerKey.selector;
        selectors[4] = RegistryHandler.grantRole.selector;
        selectors[5] = RegistryHandler.revokeRole.selector;
        selectors[6] = RegistryHandler.renounceRole.selector;
        selectors[7] = RegistryHandler.anchor.selector;
        selectors[8] = RegistryHandler.revoke.selector;
        selectors[9] = RegistryHandler.revokeFor.selector;
        selectors[10] = RegistryHandler.supersede.selector;
        selectors[11] = RegistryHandler.supersedeFor.selector;
        selectors[12] = RegistryHandler.suspendCertificate.selector;
        selectors[13] = RegistryHandler.suspendCertificateFor.selector;
        selectors[14] = RegistryHandler.liftCertificateSuspension.selector;
        bytes4[] memory all = new bytes4[](16);
        for (uint256 i = 0; i < selectors.length; ++i) {
            all[i] = selectors[i];
        }
        all[15] = RegistryHandler.liftCertificateSuspensionFor.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: all}));
    }

    /// @notice Every rule below, after every call. One invariant function rather than one per
    /// rule: forge runs a separate campaign per invariant function, and one campaign that checks
    /// every rule after each call finds the same breaks in a fraction of the time. The views are
    /// read once per check, for every actor and leaf, in one `verifyCertificates` call.
    function invariant_registry_rules() public view {
        (address[] memory actors, bytes32[] memory leaves) = (handler.actors(), handler.leaves());
        Query[] memory queries = new Query[](actors.length * leaves.length);
        for (uint256 a = 0; a < actors.length; ++a) {
            for (uint256 l = 0; l < leaves.length; ++l) {
                queries[a * leaves.length + l] = Query(actors[a], leaves[l], leaves[l], new bytes32[](0));
            }
        }
        CertificateState[] memory states = registry.verifyCertificates(queries);
        _only_the_issuer_its_successors_or_the_authority_change_its_records();
        for (uint256 i = 0; i < queries.length; ++i) {
            _revocation_is_final(queries[i], states[i]);
            _superseded_leaf_names_its_successor(queries[i], states[i]);
            _view_agrees_with_getters(queries[i], states[i]);
        }
        for (uint256 a = 0; a < actors.length; ++a) {
            _anchors_outside_accreditation_never_verify(actors[a], leaves, states, a * leaves.length);
            _periods_never_overlap_and_match_status(actors[a]);
            _rotation_chain_ends(actors[a], states[a * leaves.length].currentKey, actors.length);
        }
        // The single view agrees with the batch (one pair per check, a different one each block).
        uint256 sample = block.number % queries.length;
        assertEq(
            keccak256(abi.encode(registry.verifyCertificate(queries[sample]))),
            keccak256(abi.encode(states[sample])),
            "verifyCertificate differs from verifyCertificates"
        );
    }

    /// @notice Nobody changes another issuer's anchors or certificate statuses except the
    /// authority or a key that succeeded the issuer; no call changes anything but its target.
    function _only_the_issuer_its_successors_or_the_authority_change_its_records() internal view {
        assertEq(handler.violations(), 0, handler.firstViolation());
    }

    /// @notice A revocation is final: once a record reads Revoked, its word never changes again.
    function _revocation_is_final(Query memory q, CertificateState memory state) internal view {
        bytes32 revoked = handler.revokedWord(q.issuer, q.leaf);
        if (revoked == bytes32(0)) return;
        assertEq(vm.load(address(registry), Slots.record(q.issuer, q.leaf)), revoked, "revocation undone or rewritten");
        assertEq(uint8(state.status), uint8(CertificateStatus.Revoked), "revoked leaf reads otherwise");
    }

    /// @notice A superseded leaf always names its successor (never zero, never itself, never
    /// changed), and only a superseded leaf has one.
    function _superseded_leaf_names_its_successor(Query memory q, CertificateState memory state) internal view {
        bool superseded = state.status == CertificateStatus.Revoked && state.reason == RevocationReason.Superseded;
        assertEq(superseded, state.successor != bytes32(0), "successor without supersede, or supersede without one");
        assertTrue(state.successor != q.leaf, "leaf supersedes itself");
        assertEq(state.successor, handler.successorSeen(q.issuer, q.leaf), "successor changed");
        if (state.status != CertificateStatus.Revoked) {
            assertEq(uint8(state.reason), uint8(RevocationReason.None), "reason without revocation");
        }
    }

    /// @notice An anchor made outside an accreditation period of its key never verifies; one made
    /// strictly inside always counts (checked against the handler's own record of the periods).
    function _anchors_outside_accreditation_never_verify(
        address key,
        bytes32[] memory leaves,
        CertificateState[] memory states,
        uint256 first
    ) internal view {
        RegistryHandler.Period[] memory periods = handler.periods(key);
        for (uint256 l = 0; l < leaves.length; ++l) {
            CertificateState memory state = states[first + l];
            if (!state.anchored) continue;
            bool inside = false;
            for (uint256 p = 0; p < periods.length; ++p) {
                bool open = periods[p].untilBlock == 0;
                if (periods[p].fromBlock < state.anchoredBlock && (open || state.anchoredBlock < periods[p].untilBlock)) {
                    inside = true;
                }
            }
            assertEq(state.accreditedAtAnchor, inside, "accreditation at anchor");
        }
    }

    /// @notice Accreditation periods never overlap, only the last may be open, it is open exactly
    /// while the key is accredited, and they are the periods the successful calls opened and closed.
    function _periods_never_overlap_and_match_status(address key) internal view {
        AccreditationPeriod[] memory periods = registry.getAccreditationPeriods(key);
        RegistryHandler.Period[] memory ghost = handler.periods(key);
        IssuerStatus status = registry.getIssuer(key).status;
        assertEq(periods.length, ghost.length, "period count");
        assertEq(periods.length == 0, status == IssuerStatus.None, "periods without accreditation");
        for (uint256 p = 0; p < periods.length; ++p) {
            assertEq(periods[p].fromBlock, ghost[p].fromBlock, "period start");
            assertEq(periods[p].untilBlock, ghost[p].untilBlock, "period end");
            bool last = p + 1 == periods.length;
            if (!last) {
                assertTrue(periods[p].untilBlock != 0, "an earlier period is open");
                assertLe(periods[p].untilBlock, periods[p + 1].fromBlock, "periods overlap");
            }
            if (periods[p].untilBlock != 0) assertLe(periods[p].fromBlock, periods[p].untilBlock, "period ends first");
            if (last) assertEq(periods[p].untilBlock == 0, status == IssuerStatus.Accredited, "open period vs status");
        }
    }

    /// @notice The key-rotation chain ends, links both ways, and its end is the view's current key.
    function _rotation_chain_ends(address start, address currentKey, uint256 maxSteps) internal view {
        address key = start;
        uint256 steps = 0;
        for (address next = registry.getIssuer(key).successor; next != address(0); next = registry.getIssuer(key).successor) {
            assertEq(registry.getIssuer(next).predecessor, key, "successor does not name its predecessor");
            assertEq(uint8(registry.getIssuer(key).status), uint8(IssuerStatus.Retired), "rotated key not retired");
            key = next;
            ++steps;
            assertLe(steps, maxSteps, "rotation chain does not end");
        }
        assertEq(currentKey, key, "current key");
    }

    /// @notice The one-call view agrees with the individual getters and the raw record.
    function _view_agrees_with_getters(Query memory q, CertificateState memory state) internal view {
        (uint48 anchoredAt, uint48 anchoredBlock) = registry.getAnchor(q.issuer, q.root);
        assertEq(state.anchoredAt, anchoredAt, "anchoredAt");
        assertEq(state.anchoredBlock, anchoredBlock, "anchoredBlock");
        assertEq(state.anchored, anchoredBlock != 0, "anchored");
        assertTrue(state.proofValid, "one-leaf proof");
        uint256 word = uint256(vm.load(address(registry), Slots.record(q.issuer, q.leaf)));
        assertEq(uint8(state.status), uint8(word), "status");
        assertEq(uint8(state.reason), uint8(word >> 8), "reason");
        assertEq(state.statusChangedAt, uint48(word >> 24), "changedAt");
        assertEq(state.statusChangedBy, address(uint160(word >> 72)), "changedBy");
        assertEq(state.chainBlock, block.number, "chain block");
        // Issuer fields (cheap storage reads; strings are compared through their hashes).
        Issuer memory issuer = registry.getIssuer(q.issuer);
        assertEq(uint8(state.issuerStatus), uint8(issuer.status), "issuer status");
        assertEq(state.issuerCountry, issuer.country, "issuer country");
        assertEq(keccak256(bytes(state.issuerName)), keccak256(bytes(issuer.name)), "issuer name");
        assertEq(
            keccak256(bytes(state.issuerAccreditationCode)), keccak256(bytes(issuer.accreditationCode)), "accreditation code"
        );
        assertEq(uint8(state.currentKeyStatus), uint8(registry.getIssuer(state.currentKey).status), "current key status");
    }

    /// @notice How many calls of each kind succeeded (printed with -vv): a run that never
    /// suspends, rotates or supersedes would prove little.
    function afterInvariant() public view {
        string[15] memory names = [
            "accreditIssuer",
            "suspendIssuer",
            "reinstateIssuer",
            "rotateIssuerKey",
            "grantRole",
            "revokeRole",
            "renounceRole",
            "anchor",
            "revoke",
            "revokeFor",
            "supersede",
            "supersedeFor",
            "suspendCertificate",
            "suspendCertificateFor",
            "liftCertificateSuspension"
        ];
        for (uint256 i = 0; i < names.length; ++i) {
            console2.log(names[i], handler.succeeded(names[i]));
        }
        console2.log("liftCertificateSuspensionFor", handler.succeeded("liftCertificateSuspensionFor"));
    }

    function _state(address key, bytes32 leaf) internal view returns (CertificateState memory) {
        return registry.verifyCertificate(Query(key, leaf, leaf, new bytes32[](0)));
    }
}
