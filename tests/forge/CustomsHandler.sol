// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {EcooRegistry} from "../../contracts/EcooRegistry.sol";
import {IEcooRegistryErrors as E} from "../../contracts/IEcooRegistryErrors.sol";

/// @notice Drives random sequences of the customs functions: the authority (and strangers)
/// granting and revoking customs keys, and many customs keys — active, revoked, never granted —
/// recording receipts, rejections and utilisations on a small set of (issuer, leaf, item) so that
/// ports collide on the same item, each stating the item's true certified quantity or a misread
/// one, with quantities that exhaust it in a few records.
///
/// Every call's outcome is predicted from a model kept here (which keys are active, what each
/// item's certified quantity and cumulative utilisation are): a success the model forbids, or a
/// revert with another error than the model's, is counted as a violation.
contract CustomsHandler is Test {
    EcooRegistry public immutable registry;
    address public immutable authority;

    address[] internal _customs; // customs keys (some granted in setUp, some never)
    address[] internal _issuers;
    bytes32[] internal _leaves;
    uint16 internal constant ITEMS = 2; // items 1..2; the handler also tries item 0

    mapping(address customs => bool active) public active;
    mapping(bytes32 key => uint128 certified) public ghostCertified; // fixed by the first success
    mapping(bytes32 key => uint128 utilised) public ghostUtilised; // sum of the successes

    uint256 public violations;
    string public firstViolation;
    mapping(string name => uint256 count) public succeeded;
    /// @dev Expected reverts seen, by error selector (to show the campaign reaches every rule).
    mapping(bytes4 selector => uint256 count) public refused;

    constructor(EcooRegistry registry_, address authority_, address[] memory customs_, address[] memory issuers_) {
        registry = registry_;
        authority = authority_;
        _customs = customs_;
        _issuers = issuers_;
        for (uint256 i = 0; i < 2; ++i) {
            _leaves.push(keccak256(abi.encode("leaf", i)));
        }
    }

    // --- views for the invariant ------------------------------------------------------------

    function customsKeys() external view returns (address[] memory) {
        return _customs;
    }

    function issuers() external view returns (address[] memory) {
        return _issuers;
    }

    function leaves() external view returns (bytes32[] memory) {
        return _leaves;
    }

    function items() external pure returns (uint16) {
        return ITEMS;
    }

    function key(address issuer, bytes32 leaf, uint16 item) public pure returns (bytes32) {
        return keccak256(abi.encode(issuer, leaf, item));
    }

    /// @dev The setUp's grants, before the handler took over.
    function granted(address customs) external {
        active[customs] = true;
    }

    // --- the true certified quantity of each item (a certificate says one thing) ---------------

    function trueCertified(address issuer, bytes32 leaf, uint16 item) public pure returns (uint128) {
        return uint128(1_000 * (1 + uint256(key(issuer, leaf, item)) % 20));
    }

    // --- governance ----------------------------------------------------------------------------

    function grantCustoms(uint256 callerSeed, uint256 customsSeed) external {
        address caller = callerSeed % 5 == 0 ? _customs[callerSeed % _customs.length] : authority;
        address customs = _customs[customsSeed % _customs.length];
        bytes memory expected;
        if (caller != authority) expected = _missingRole(caller);
        else if (active[customs]) expected = abi.encodeWithSelector(E.EcooRegistryCustomsAlreadyGranted.selector, customs);
        vm.prank(caller);
        try registry.grantCustoms(customs, "NL") {
            _succeeded("grantCustoms", expected);
            active[customs] = true;
        } catch (bytes memory reason) {
            _reverted("grantCustoms", expected, reason);
        }
    }

    function revokeCustoms(uint256 callerSeed, uint256 customsSeed) external {
        address caller = callerSeed % 5 == 0 ? _customs[callerSeed % _customs.length] : authority;
        address customs = _customs[customsSeed % _customs.length];
        bytes memory expected;
        if (caller != authority) expected = _missingRole(caller);
        else if (!active[customs]) expected = abi.encodeWithSelector(E.EcooRegistryNotCustoms.selector, customs);
        vm.prank(caller);
        try registry.revokeCustoms(customs) {
            _succeeded("revokeCustoms", expected);
            active[customs] = false;
        } catch (bytes memory reason) {
            _reverted("revokeCustoms", expected, reason);
        }
    }

    // --- records -------------------------------------------------------------------------------

    /// @dev One utilisation record to try (a struct: the handler's arguments and the model's
    /// state would not fit the stack otherwise).
    struct Utilisation {
        address customs;
        address issuer;
        bytes32 leaf;
        uint16 item;
        uint128 stated;
        uint128 quantity;
    }

    function recordUtilisation(uint256 customsSeed, uint256 targetSeed, uint256 statedSeed, uint128 quantity) external {
        Utilisation memory u;
        u.customs = _customs[customsSeed % _customs.length];
        u.issuer = _issuers[targetSeed % _issuers.length];
        u.leaf = _leaves[(targetSeed >> 8) % _leaves.length];
        // Item 0 one time in 16, else 1..ITEMS.
        u.item = (targetSeed >> 16) % 16 == 0 ? 0 : uint16(1 + (targetSeed >> 24) % ITEMS);
        uint128 truth = trueCertified(u.issuer, u.leaf, u.item);
        // The true certified quantity mostly; a misread one or zero sometimes.
        uint256 pick = statedSeed % 8;
        u.stated = pick == 0 ? truth + 1_000 : (pick == 1 ? 0 : truth);
        // Quantities that exhaust the item in two or three records, sometimes anything (0 included).
        u.quantity = (statedSeed >> 8) & 3 != 0 ? uint128(bound(quantity, 1, truth / 2 + 1)) : quantity;

        bytes32 k = key(u.issuer, u.leaf, u.item);
        bytes memory expected = _expectedUtilisation(u, ghostCertified[k], ghostUtilised[k]);
        vm.prank(u.customs);
        try registry.recordUtilisation(u.issuer, u.leaf, u.item, u.stated, u.quantity, keccak256(abi.encode(targetSeed))) {
            _succeeded("recordUtilisation", expected);
            ghostCertified[k] = u.stated;
            ghostUtilised[k] += u.quantity;
        } catch (bytes memory reason) {
            _reverted("recordUtilisation", expected, reason);
        }
    }

    /// @dev The model: the revert data `u` must produce, empty when it must succeed.
    function _expectedUtilisation(Utilisation memory u, uint128 fixedCertified, uint128 utilised)
        internal
        view
        returns (bytes memory)
    {
        if (!active[u.customs]) return abi.encodeWithSelector(E.EcooRegistryNotCustoms.selector, u.customs);
        if (u.item == 0) return abi.encodeWithSelector(E.EcooRegistryInvalidItem.selector, u.issuer, u.leaf, u.item);
        if (u.stated == 0 || u.quantity == 0) {
            return abi.encodeWithSelector(
                E.EcooRegistryInvalidQuantity.selector, u.issuer, u.leaf, u.item, u.stated, u.quantity
            );
        }
        if (fixedCertified != 0 && fixedCertified != u.stated) {
            return abi.encodeWithSelector(
                E.EcooRegistryCertifiedQuantityMismatch.selector, u.issuer, u.leaf, u.item, fixedCertified, u.stated
            );
        }
        if (u.quantity > u.stated - utilised) {
            return abi.encodeWithSelector(
                E.EcooRegistryUtilisationExceeded.selector, u.issuer, u.leaf, u.item, u.stated, utilised, u.quantity
            );
        }
        return "";
    }

    function recordReceipt(uint256 customsSeed, uint256 targetSeed) external {
        address customs = _customs[customsSeed % _customs.length];
        bytes memory expected;
        if (!active[customs]) expected = abi.encodeWithSelector(E.EcooRegistryNotCustoms.selector, customs);
        vm.prank(customs);
        try registry.recordReceipt(_issuers[targetSeed % _issuers.length], _leaves[(targetSeed >> 8) % _leaves.length], bytes32(targetSeed)) {
            _succeeded("recordReceipt", expected);
        } catch (bytes memory reason) {
            _reverted("recordReceipt", expected, reason);
        }
    }

    function recordRejection(uint256 customsSeed, uint256 targetSeed, uint16 code) external {
        address customs = _customs[customsSeed % _customs.length];
        code = targetSeed % 8 == 0 ? 0 : code;
        bytes memory expected;
        if (!active[customs]) expected = abi.encodeWithSelector(E.EcooRegistryNotCustoms.selector, customs);
        else if (code == 0) expected = abi.encodeWithSelector(E.EcooRegistryInvalidRejectionCode.selector, code);
        vm.prank(customs);
        try registry.recordRejection(
            _issuers[targetSeed % _issuers.length], _leaves[(targetSeed >> 8) % _leaves.length], code, bytes32(targetSeed)
        ) {
            _succeeded("recordRejection", expected);
        } catch (bytes memory reason) {
            _reverted("recordRejection", expected, reason);
        }
    }

    // --- bookkeeping ---------------------------------------------------------------------------

    function _missingRole(address caller) internal view returns (bytes memory) {
        return abi.encodeWithSignature("AccessControlUnauthorizedAccount(address,bytes32)", caller, registry.AUTHORITY_ROLE());
    }

    function _succeeded(string memory name, bytes memory expected) internal {
        if (expected.length != 0) _violation(string.concat(name, " succeeded where the model expects a revert"));
        ++succeeded[name];
    }

    function _reverted(string memory name, bytes memory expected, bytes memory reason) internal {
        if (keccak256(reason) != keccak256(expected)) {
            _violation(string.concat(name, " reverted with another error than the model's: ", vm.toString(reason)));
        } else {
            ++refused[bytes4(reason)];
        }
    }

    function _violation(string memory what) internal {
        if (violations == 0) firstViolation = what;
        ++violations;
    }
}
