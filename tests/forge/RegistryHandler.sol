// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {EcooRegistry} from "../../contracts/EcooRegistry.sol";
import {RevocationReason} from "../../contracts/EcooRegistryTypes.sol";
import {Slots} from "./RegistryFixture.sol";

/// @notice Drives random sequences of every external state-changing function of the registry,
/// called by the authority, a deputy authority, the admin, issuer keys (accredited, suspended,
/// retired by rotation, fresh) and strangers, on a small set of leaves so that calls collide.
///
/// Around every call it compares every certificate record, successor and anchor of every actor
/// before and after, and counts a violation when anything changed that the call had no right to
/// change. Reverts are expected (most random calls are forbidden) and swallowed.
contract RegistryHandler is Test {
    bytes32 public constant AUTHORITY_ROLE = keccak256("ECOO_AUTHORITY_ROLE");
    uint8 internal constant REVOKED = 2;

    EcooRegistry public immutable registry;
    address public immutable admin;
    address public immutable authority;
    address public immutable deputy = makeAddr("deputy");

    /// @dev Everyone who calls: admin, authority, deputy, six issuer keys, two strangers.
    address[] internal _actors;
    /// @dev Issuer keys (indices 0-2 accredited in the test's setUp, 3-5 fresh).
    address[] internal _keys;
    /// @dev Leaves, also used as roots (one-certificate batches) and successors.
    bytes32[] internal _leaves;

    /// @dev Ghost accreditation periods, kept from the calls that succeeded.
    struct Period {
        uint48 fromBlock;
        uint48 untilBlock;
    }

    mapping(address key => Period[]) internal _periods;
    /// @dev First record word seen with status Revoked: it must never change again.
    mapping(address key => mapping(bytes32 leaf => bytes32 word)) public revokedWord;
    /// @dev First successor seen for a leaf: it must never change again.
    mapping(address key => mapping(bytes32 leaf => bytes32 successor)) public successorSeen;

    uint256 public violations;
    string public firstViolation;
    mapping(string name => uint256 count) public succeeded;

    /// @dev What a call may change: the record (and successor) of (`issuer`, `leaf`), or the
    /// anchor (`caller`, `root`). `issuer == address(0)`: no certificate; `root == 0`: no anchor.
    struct Target {
        address caller;
        address issuer;
        bytes32 leaf;
        bytes32 root;
        bool allowed; // caller is the issuer, holds the authority role, or succeeded the issuer
    }

    constructor(EcooRegistry registry_, address admin_, address authority_, address[] memory keys_) {
        registry = registry_;
        admin = admin_;
        authority = authority_;
        _keys = keys_;
        _actors.push(admin_);
        _actors.push(authority_);
        _actors.push(deputy);
        for (uint256 i = 0; i < keys_.length; ++i) {
            _actors.push(keys_[i]);
        }
        _actors.push(makeAddr("stranger-1"));
        _actors.push(makeAddr("stranger-2"));
        for (uint256 i = 0; i < 4; ++i) {
            _leaves.push(keccak256(abi.encode("leaf", i)));
        }
    }

    // --- views for the invariants ------------------------------------------------------------

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function leaves() external view returns (bytes32[] memory) {
        return _leaves;
    }

    function periods(address key) external view returns (Period[] memory) {
        return _periods[key];
    }

    /// @dev Records the accreditations the test's setUp made before the handler took over.
    function openedPeriod(address key, uint48 fromBlock) external {
        _periods[key].push(Period(fromBlock, 0));
    }

    // --- governance (authority role; admin for roles) ----------------------------------------

    function accreditIssuer(uint256 callerSeed, uint256 keySeed) external {
        (address caller, address key) = (_governor(callerSeed), _key(keySeed));
        _tick(callerSeed);
        Target memory none = _noTarget(caller);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.accreditIssuer(key, "DE", "Chamber", "WCF-DE-0001", bytes32(0)) {
            _periods[key].push(Period(uint48(block.number), 0));
            _count("accreditIssuer");
        } catch {}
        _compare(before, none);
    }

    function suspendIssuer(uint256 callerSeed, uint256 keySeed) external {
        (address caller, address key) = (_governor(callerSeed), _key(keySeed));
        _tick(callerSeed);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.suspendIssuer(key) {
            _closePeriod(key);
            _count("suspendIssuer");
        } catch {}
        _compare(before, _noTarget(caller));
    }

    function reinstateIssuer(uint256 callerSeed, uint256 keySeed) external {
        (address caller, address key) = (_governor(callerSeed), _key(keySeed));
        _tick(callerSeed);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.reinstateIssuer(key) {
            _periods[key].push(Period(uint48(block.number), 0));
            _count("reinstateIssuer");
        } catch {}
        _compare(before, _noTarget(caller));
    }

    function rotateIssuerKey(uint256 callerSeed, uint256 oldSeed, uint256 newSeed) external {
        (address caller, address oldKey, address newKey) = (_governor(callerSeed), _key(oldSeed), _key(newSeed));
        _tick(callerSeed);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.rotateIssuerKey(oldKey, newKey) {
            _closePeriod(oldKey);
            _periods[newKey].push(Period(uint48(block.number), 0));
            _count("rotateIssuerKey");
        } catch {}
        _compare(before, _noTarget(caller));
    }

    function grantRole(uint256 callerSeed, bool toDeputy) external {
        address caller = callerSeed % 2 == 0 ? admin : _actor(callerSeed >> 1);
        address account = toDeputy ? deputy : _actor(callerSeed >> 8);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.grantRole(AUTHORITY_ROLE, account) {
            _count("grantRole");
        } catch {}
        _compare(before, _noTarget(caller));
    }

    function revokeRole(uint256 callerSeed, uint256 accountSeed) external {
        address caller = callerSeed % 2 == 0 ? admin : _actor(callerSeed >> 1);
        address account = _actor(accountSeed);
        // Keep the main authority: a registry nobody governs stops exercising the rest.
        if (account == authority) account = deputy;
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.revokeRole(AUTHORITY_ROLE, account) {
            _count("revokeRole");
        } catch {}
        _compare(before, _noTarget(caller));
    }

    function renounceRole(uint256 callerSeed, uint256 accountSeed) external {
        address caller = _actor(callerSeed);
        address account = _actor(accountSeed);
        if (caller == authority) caller = deputy;
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.renounceRole(AUTHORITY_ROLE, account) {
            _count("renounceRole");
        } catch {}
        _compare(before, _noTarget(caller));
    }

    // --- anchoring and certificate status (anyone) -------------------------------------------

    function anchor(uint256 callerSeed, uint256 rootSeed) external {
        address caller = _actor(callerSeed);
        bytes32 root = rootSeed % 8 == 0 ? bytes32(0) : _leaf(rootSeed);
        _tick(callerSeed);
        Target memory target = Target(caller, address(0), bytes32(0), root, true);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.anchor(root) {
            _count("anchor");
        } catch {}
        _compare(before, target);
    }

    function revoke(uint256 callerSeed, uint256 leafSeed, uint8 reasonSeed) external {
        address caller = _actor(callerSeed);
        bytes32 leaf = _leaf(leafSeed);
        _tick(callerSeed);
        Target memory target = _target(caller, caller, leaf);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.revoke(leaf, RevocationReason(reasonSeed % 5)) {
            _count("revoke");
        } catch {}
        _compare(before, target);
    }

    function revokeFor(uint256 callerSeed, uint256 issuerSeed, uint256 leafSeed, uint8 reasonSeed) external {
        (address caller, address issuer, bytes32 leaf) = (_actor(callerSeed), _key(issuerSeed), _leaf(leafSeed));
        _tick(callerSeed);
        Target memory target = _target(caller, issuer, leaf);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.revokeFor(issuer, leaf, RevocationReason(reasonSeed % 5)) {
            _count("revokeFor");
        } catch {}
        _compare(before, target);
    }

    function supersede(uint256 callerSeed, uint256 leafSeed, uint256 successorSeed) external {
        address caller = _actor(callerSeed);
        (bytes32 leaf, bytes32 successor) = (_leaf(leafSeed), _successor(successorSeed));
        _tick(callerSeed);
        Target memory target = _target(caller, caller, leaf);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.supersede(leaf, successor) {
            _count("supersede");
        } catch {}
        _compare(before, target);
    }

    function supersedeFor(uint256 callerSeed, uint256 issuerSeed, uint256 leafSeed, uint256 successorSeed) external {
        (address caller, address issuer, bytes32 leaf) = (_actor(callerSeed), _key(issuerSeed), _leaf(leafSeed));
        bytes32 successor = _successor(successorSeed);
        _tick(callerSeed);
        Target memory target = _target(caller, issuer, leaf);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.supersedeFor(issuer, leaf, successor) {
            _count("supersedeFor");
        } catch {}
        _compare(before, target);
    }

    function suspendCertificate(uint256 callerSeed, uint256 leafSeed) external {
        address caller = _actor(callerSeed);
        bytes32 leaf = _leaf(leafSeed);
        _tick(callerSeed);
        Target memory target = _target(caller, caller, leaf);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.suspendCertificate(leaf) {
            _count("suspendCertificate");
        } catch {}
        _compare(before, target);
    }

    function suspendCertificateFor(uint256 callerSeed, uint256 issuerSeed, uint256 leafSeed) external {
        (address caller, address issuer, bytes32 leaf) = (_actor(callerSeed), _key(issuerSeed), _leaf(leafSeed));
        _tick(callerSeed);
        Target memory target = _target(caller, issuer, leaf);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.suspendCertificateFor(issuer, leaf) {
            _count("suspendCertificateFor");
        } catch {}
        _compare(before, target);
    }

    function liftCertificateSuspension(uint256 callerSeed, uint256 leafSeed) external {
        address caller = _actor(callerSeed);
        bytes32 leaf = _leaf(leafSeed);
        _tick(callerSeed);
        Target memory target = _target(caller, caller, leaf);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.liftCertificateSuspension(leaf) {
            _count("liftCertificateSuspension");
        } catch {}
        _compare(before, target);
    }

    function liftCertificateSuspensionFor(uint256 callerSeed, uint256 issuerSeed, uint256 leafSeed) external {
        (address caller, address issuer, bytes32 leaf) = (_actor(callerSeed), _key(issuerSeed), _leaf(leafSeed));
        _tick(callerSeed);
        Target memory target = _target(caller, issuer, leaf);
        bytes32[] memory before = _snapshot();
        vm.prank(caller);
        try registry.liftCertificateSuspensionFor(issuer, leaf) {
            _count("liftCertificateSuspensionFor");
        } catch {}
        _compare(before, target);
    }

    // --- helpers -----------------------------------------------------------------------------

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % _actors.length];
    }

    /// @dev Governance calls come from the authority half of the time, from anyone otherwise.
    function _governor(uint256 seed) internal view returns (address) {
        return seed % 2 == 0 ? authority : _actor(seed >> 1);
    }

    function _key(uint256 seed) internal view returns (address) {
        return _keys[seed % _keys.length];
    }

    function _leaf(uint256 seed) internal view returns (bytes32) {
        return _leaves[seed % _leaves.length];
    }

    /// @dev A successor: another leaf, the leaf itself (refused) or zero (refused) now and then.
    function _successor(uint256 seed) internal view returns (bytes32) {
        return seed % 10 == 0 ? bytes32(0) : _leaf(seed >> 4);
    }

    /// @dev Moves the chain 0, 1 or 2 blocks on, so that some calls share a block (the strict
    /// period bounds) and others do not.
    function _tick(uint256 seed) internal {
        uint256 blocks = (seed >> 128) % 3;
        vm.roll(block.number + blocks);
        vm.warp(block.timestamp + 12 * blocks);
    }

    function _count(string memory name) internal {
        ++succeeded[name];
    }

    function _closePeriod(address key) internal {
        _periods[key][_periods[key].length - 1].untilBlock = uint48(block.number);
    }

    function _noTarget(address caller) internal pure returns (Target memory) {
        return Target(caller, address(0), bytes32(0), bytes32(0), false);
    }

    /// @dev Who may change certificates of `issuer`, decided before the call from the state then.
    function _target(address caller, address issuer, bytes32 leaf) internal view returns (Target memory t) {
        t = Target(caller, issuer, leaf, bytes32(0), false);
        if (caller == issuer || registry.hasRole(AUTHORITY_ROLE, caller)) {
            t.allowed = true;
            return t;
        }
        // Keys are never reused by rotation, so the chain is at most as long as the key list.
        address key = registry.getIssuer(issuer).successor;
        for (uint256 i = 0; key != address(0) && i <= _keys.length; ++i) {
            if (key == caller) {
                t.allowed = true;
                return t;
            }
            key = registry.getIssuer(key).successor;
        }
    }

    /// @dev Every certificate record, successor and anchor of every actor on every leaf.
    function _snapshot() internal view returns (bytes32[] memory words) {
        uint256 n = _actors.length * _leaves.length;
        words = new bytes32[](3 * n);
        for (uint256 a = 0; a < _actors.length; ++a) {
            for (uint256 l = 0; l < _leaves.length; ++l) {
                uint256 i = a * _leaves.length + l;
                words[i] = vm.load(address(registry), Slots.record(_actors[a], _leaves[l]));
                words[n + i] = vm.load(address(registry), Slots.successor(_actors[a], _leaves[l]));
                words[2 * n + i] = vm.load(address(registry), Slots.anchor(_actors[a], _leaves[l]));
            }
        }
    }

    function _compare(bytes32[] memory before, Target memory target) internal {
        bytes32[] memory afterwards = _snapshot();
        uint256 n = _actors.length * _leaves.length;
        for (uint256 a = 0; a < _actors.length; ++a) {
            for (uint256 l = 0; l < _leaves.length; ++l) {
                uint256 i = a * _leaves.length + l;
                (address key, bytes32 leaf) = (_actors[a], _leaves[l]);
                bool isTarget = key == target.issuer && leaf == target.leaf;
                if (before[i] != afterwards[i] || before[n + i] != afterwards[n + i]) {
                    if (!isTarget) _violation("a certificate other than the call's target changed");
                    else if (!target.allowed) _violation("a certificate changed by a caller without the right");
                    if (uint8(uint256(before[i])) == REVOKED) _violation("a revoked certificate changed");
                }
                if (before[2 * n + i] != afterwards[2 * n + i]) {
                    if (key != target.caller || leaf != target.root) _violation("an anchor other than the caller's changed");
                    if (before[2 * n + i] != bytes32(0)) _violation("an existing anchor was rewritten");
                }
                // Ghosts for the invariants: the first revoked word and the first successor.
                if (uint8(uint256(afterwards[i])) == REVOKED && revokedWord[key][leaf] == bytes32(0)) {
                    revokedWord[key][leaf] = afterwards[i];
                }
                if (afterwards[n + i] != bytes32(0) && successorSeen[key][leaf] == bytes32(0)) {
                    successorSeen[key][leaf] = afterwards[n + i];
                }
            }
        }
    }

    function _violation(string memory what) internal {
        if (violations == 0) firstViolation = what;
        ++violations;
    }
}
