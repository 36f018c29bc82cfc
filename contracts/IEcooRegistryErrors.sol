// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {RevocationReason} from "./EcooRegistryTypes.sol";

/// @title IEcooRegistryErrors
/// @notice Custom errors of {IEcooRegistry}, kept apart from the behaviour interface as
/// OpenZeppelin keeps `IERC20Errors`. In the style of EIP-6093 every error names the offending
/// value, and an error that can arise in more than one role says which role it is.
interface IEcooRegistryErrors {
    /// @notice The registry was deployed with the zero address as `admin`.
    error EcooRegistryInvalidAdmin(address admin);
    /// @notice The registry was deployed with the zero address as `authority`.
    error EcooRegistryInvalidAuthority(address authority);
    /// @notice The zero address was given as the `issuer` key to accredit.
    error EcooRegistryInvalidIssuer(address issuer);
    /// @notice The zero address was given as the `newKey` to replace `oldKey`.
    error EcooRegistryInvalidNewKey(address oldKey, address newKey);
    /// @notice `root` (zero) cannot be anchored.
    error EcooRegistryInvalidRoot(bytes32 root);
    /// @notice `successor` (zero) cannot supersede the certificate `leaf`.
    error EcooRegistryInvalidSuccessor(bytes32 leaf, bytes32 successor);
    /// @notice The `country` given for `issuer` is not set (zero).
    error EcooRegistryInvalidCountry(address issuer, bytes2 country);
    /// @notice The `name` given for `issuer` is empty or longer than 256 bytes.
    error EcooRegistryInvalidName(address issuer, string name);
    /// @notice The `accreditationCode` given for `issuer` is empty or longer than 256 bytes.
    error EcooRegistryInvalidAccreditationCode(address issuer, string accreditationCode);
    /// @notice `issuer` is already known to the registry (accredited, suspended or retired).
    error EcooRegistryIssuerAlreadyRegistered(address issuer);
    /// @notice `issuer` is not accredited (it is unknown, suspended or retired).
    error EcooRegistryIssuerNotAccredited(address issuer);
    /// @notice `issuer` is not suspended, so it cannot be reinstated.
    error EcooRegistryIssuerNotSuspended(address issuer);
    /// @notice `issuer` has already anchored `root`.
    error EcooRegistryRootAlreadyAnchored(address issuer, bytes32 root);
    /// @notice `caller` may not change the status of certificates of `issuer`.
    error EcooRegistryUnauthorized(address caller, address issuer);
    /// @notice The certificate `leaf` of `issuer` is already revoked (revocation is final).
    error EcooRegistryCertificateAlreadyRevoked(address issuer, bytes32 leaf);
    /// @notice The certificate `leaf` of `issuer` is already suspended.
    error EcooRegistryCertificateAlreadySuspended(address issuer, bytes32 leaf);
    /// @notice The certificate `leaf` of `issuer` is not suspended.
    error EcooRegistryCertificateNotSuspended(address issuer, bytes32 leaf);
    /// @notice The certificate `leaf` of `issuer` was suspended by the authority, which alone can
    /// lift that suspension or redirect the certificate.
    error EcooRegistrySuspendedByAuthority(address issuer, bytes32 leaf);
    /// @notice `reason` cannot be used here (None; Superseded needs `supersede`).
    error EcooRegistryInvalidReason(RevocationReason reason);
    /// @notice The certificate `leaf` cannot supersede itself.
    error EcooRegistrySelfSupersede(bytes32 leaf);
    /// @notice The zero address or a zero `country` was given for the customs key `customs`.
    error EcooRegistryInvalidCustoms(address customs, bytes2 country);
    /// @notice `customs` already holds the customs role (revoke it first to change its country).
    error EcooRegistryCustomsAlreadyGranted(address customs);
    /// @notice `account` is not an active customs key: it may not record, nor be revoked as one.
    error EcooRegistryNotCustoms(address account);
    /// @notice Item 0 does not exist: items are numbered from 1 as on the certificate.
    error EcooRegistryInvalidItem(address issuer, bytes32 leaf, uint16 item);
    /// @notice A utilisation must state a non-zero `certified` quantity and a non-zero `quantity`.
    error EcooRegistryInvalidQuantity(address issuer, bytes32 leaf, uint16 item, uint128 certified, uint128 quantity);
    /// @notice The first utilisation of `item` recorded `recorded` as its certified quantity; this one
    /// states `stated`.
    error EcooRegistryCertifiedQuantityMismatch(address issuer, bytes32 leaf, uint16 item, uint128 recorded, uint128 stated);
    /// @notice `requested` more of `item` would take its utilisation (`utilised` so far) beyond the
    /// `certified` quantity.
    error EcooRegistryUtilisationExceeded(
        address issuer, bytes32 leaf, uint16 item, uint128 certified, uint128 utilised, uint128 requested
    );
    /// @notice Rejection code 0 means nothing: a rejection always says why.
    error EcooRegistryInvalidRejectionCode(uint16 code);
}
