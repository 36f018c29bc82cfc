// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {EcooRegistry} from "../../contracts/EcooRegistry.sol";
import {CertificateState, Query} from "../../contracts/EcooRegistryTypes.sol";

/// @notice Storage slots of EcooRegistry's records, from solc's layout (AccessControl `_roles` 0,
/// EIP712's two fallback strings 1-2, then `_issuers` 3, `_periods` 4, `_anchors` 5,
/// `_certificates` 6, `_successors` 7, `_customs` 8, `_utilisations` 9).
/// tests/chain/test_storage_layout.py asks solc for the same.
library Slots {
    uint256 internal constant ANCHORS = 5;
    uint256 internal constant CERTIFICATES = 6;
    uint256 internal constant SUCCESSORS = 7;
    uint256 internal constant CUSTOMS = 8;
    uint256 internal constant UTILISATIONS = 9;

    function customs(address key) internal pure returns (bytes32) {
        return keccak256(abi.encode(key, CUSTOMS));
    }

    function utilisation(address key, bytes32 leaf, uint16 item) internal pure returns (bytes32) {
        return keccak256(abi.encode(item, keccak256(abi.encode(leaf, keccak256(abi.encode(key, UTILISATIONS))))));
    }

    function record(address key, bytes32 leaf) internal pure returns (bytes32) {
        return keccak256(abi.encode(leaf, keccak256(abi.encode(key, CERTIFICATES))));
    }

    function successor(address key, bytes32 leaf) internal pure returns (bytes32) {
        return keccak256(abi.encode(leaf, keccak256(abi.encode(key, SUCCESSORS))));
    }

    function anchor(address key, bytes32 root) internal pure returns (bytes32) {
        return keccak256(abi.encode(root, keccak256(abi.encode(key, ANCHORS))));
    }
}

/// @notice A deployed registry with the cast of the Python access matrix: admin, authority, two
/// accredited issuers, a suspended issuer and a stranger; plus raw reads of the packed records.
abstract contract RegistryFixture is Test {
    bytes32 internal constant AUTHORITY_ROLE = keccak256("ECOO_AUTHORITY_ROLE");

    EcooRegistry internal registry;
    address internal admin = makeAddr("admin");
    address internal authority = makeAddr("authority");
    address internal issuer = makeAddr("issuer");
    address internal other = makeAddr("other");
    address internal suspended = makeAddr("suspended");
    address internal stranger = makeAddr("stranger");

    function setUp() public virtual {
        vm.roll(100);
        vm.warp(1_750_000_000);
        registry = new EcooRegistry(admin, authority);
        vm.startPrank(authority);
        registry.accreditIssuer(issuer, "DE", "Handelskammer Hamburg", "WCF-DE-0001", bytes32(0));
        registry.accreditIssuer(other, "FR", "CCI Paris", "WCF-FR-0001", keccak256("metadata"));
        registry.accreditIssuer(suspended, "IT", "Camera di Commercio", "WCF-IT-0001", bytes32(0));
        registry.suspendIssuer(suspended);
        vm.stopPrank();
        // Anchors verify strictly after the block that opened the accreditation period.
        vm.roll(101);
        vm.warp(1_750_000_012);
    }

    /// @dev The certificate record word of (`key`, `leaf`), read from storage, unpacked at the
    /// offsets solc gives the struct (status 0, reason 1, byAuthority 2, changedAt 3, changedBy 9).
    function _record(address key, bytes32 leaf)
        internal
        view
        returns (uint8 status, uint8 reason, bool byAuthority, uint48 changedAt, address changedBy)
    {
        uint256 word = uint256(vm.load(address(registry), _recordSlot(key, leaf)));
        status = uint8(word);
        reason = uint8(word >> 8);
        byAuthority = uint8(word >> 16) != 0;
        changedAt = uint48(word >> 24);
        changedBy = address(uint160(word >> 72));
    }

    function _recordSlot(address key, bytes32 leaf) internal pure returns (bytes32) {
        return Slots.record(key, leaf);
    }

    /// @dev The one-call view for a one-leaf batch (`root == leaf`, empty proof).
    function _state(address key, bytes32 leaf) internal view returns (CertificateState memory) {
        return registry.verifyCertificate(Query({issuer: key, root: leaf, leaf: leaf, proof: new bytes32[](0)}));
    }
}

/// @notice RegistryFixture plus two customs administrations (two ports of entry that may race on
/// the same certificate) and a revoked customs key.
abstract contract CustomsFixture is RegistryFixture {
    address internal customsNl = makeAddr("customs-nl");
    address internal customsBe = makeAddr("customs-be");
    address internal customsRevoked = makeAddr("customs-revoked");

    function setUp() public virtual override {
        super.setUp();
        vm.startPrank(authority);
        registry.grantCustoms(customsNl, "NL");
        registry.grantCustoms(customsBe, "BE");
        registry.grantCustoms(customsRevoked, "LU");
        registry.revokeCustoms(customsRevoked);
        vm.stopPrank();
    }

    /// @dev The utilisation word of (`key`, `leaf`, `item`), unpacked at solc's offsets
    /// (certified in bytes 0-15, utilised in bytes 16-31).
    function _utilisationWord(address key, bytes32 leaf, uint16 item)
        internal
        view
        returns (uint128 certified, uint128 utilised)
    {
        uint256 word = uint256(vm.load(address(registry), Slots.utilisation(key, leaf, item)));
        return (uint128(word), uint128(word >> 128));
    }
}
