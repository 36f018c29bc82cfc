// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {
    AccreditationPeriod,
    CertificateState,
    Issuer,
    ItemUtilisation,
    Query,
    RevocationReason,
    UtilisationQuery
} from "./EcooRegistryTypes.sol";

/// @title IEcooRegistry
/// @notice Registry of electronic certificates of origin (eCOs). Chambers of commerce (issuers)
/// anchor Merkle roots that each cover a batch of certificates; an accreditation authority
/// governs which issuer keys are trusted; the status of each certificate (revoked, suspended,
/// superseded) is kept per leaf. One view answers everything a verifier needs in one `eth_call`.
///
/// @dev Trust is decided at *verification* time, not at anchoring time: anchoring is open to any
/// address but every record is keyed by the anchoring address, so nobody can squat or overwrite
/// another issuer's root, and a root only verifies if its anchoring block falls inside one of the
/// issuer's accreditation periods and the issuer is not suspended now. This keeps anchoring one
/// storage write plus one event (see README, "Gas").
///
/// The types live in `EcooRegistryTypes.sol` and the custom errors in {IEcooRegistryErrors}.
interface IEcooRegistry {
    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice `issuer` was accredited by the authority.
    event IssuerAccredited(address indexed issuer, bytes2 country, string name, string accreditationCode, bytes32 metadataHash);
    /// @notice `issuer` was suspended: nothing it anchored verifies until it is reinstated.
    event IssuerSuspended(address indexed issuer, address indexed by);
    /// @notice A suspended `issuer` was reinstated.
    event IssuerReinstated(address indexed issuer, address indexed by);
    /// @notice `oldKey` was retired and `newKey` took over its accreditation.
    event IssuerKeyRotated(address indexed oldKey, address indexed newKey);
    /// @notice `issuer` anchored the Merkle root `root` of a batch of certificates.
    event BatchAnchored(address indexed issuer, bytes32 indexed root);
    /// @notice A certificate of `issuer` was revoked for `reason` by `by` (the issuer, a successor
    /// key or the authority).
    /// @dev `by` is not indexed: a topic costs 375 gas against 256 for a data word, and revoke has
    /// to stay under 47,000 gas (README, "Gas"). Filter on `issuer` and read `by` from the data.
    event CertificateRevoked(address indexed issuer, bytes32 indexed leaf, RevocationReason reason, address by);
    /// @notice A certificate of `issuer` was superseded by the certificate with leaf `successor`,
    /// by `by`.
    /// @dev Three topics are the most an event may index, so `by` is data here as well.
    event CertificateSuperseded(address indexed issuer, bytes32 indexed leaf, bytes32 indexed successor, address by);
    /// @notice A certificate of `issuer` was suspended under enquiry by `by`.
    event CertificateSuspended(address indexed issuer, bytes32 indexed leaf, address by);
    /// @notice The suspension of a certificate of `issuer` was lifted by `by`.
    event CertificateSuspensionLifted(address indexed issuer, bytes32 indexed leaf, address by);
    /// @notice The authority granted the customs role to `customs`, the key of the customs
    /// administration of `country`.
    event CustomsGranted(address indexed customs, bytes2 country);
    /// @notice The authority revoked the customs role of `customs`.
    event CustomsRevoked(address indexed customs);
    /// @notice `customs` received the certificate `leaf` of `issuer` with the declaration whose salted
    /// hash is `declarationHash`.
    event CertificateReceived(address indexed issuer, bytes32 indexed leaf, address indexed customs, bytes32 declarationHash);
    /// @notice `customs` utilised `quantity` of `item` of the certificate `leaf` of `issuer`, which
    /// brings the item to `utilised` of its `certified` quantity (thousandths of the item's unit).
    event CertificateUtilised(
        address indexed issuer,
        bytes32 indexed leaf,
        address indexed customs,
        uint16 item,
        uint128 quantity,
        uint128 utilised,
        uint128 certified,
        bytes32 declarationHash
    );
    /// @notice `customs` rejected the certificate `leaf` of `issuer` for the reason `reasonCode`
    /// (ecoo's `RejectionCode`) in the declaration whose salted hash is `declarationHash`.
    event CertificateRejected(
        address indexed issuer, bytes32 indexed leaf, address indexed customs, uint16 reasonCode, bytes32 declarationHash
    );

    // ------------------------------------------------------------------------------------------
    // Accreditation (authority only)
    // ------------------------------------------------------------------------------------------

    /// @notice Accredits a new issuer key and opens its first accreditation period.
    /// @param issuer the chamber's signing and anchoring key
    /// @param country ISO 3166-1 alpha-2 country of the chamber
    /// @param name the chamber's name (1..256 bytes)
    /// @param accreditationCode the chamber's accreditation code (1..256 bytes)
    /// @param metadataHash hash of a metadata document about the chamber, or 0
    function accreditIssuer(address issuer, bytes2 country, string calldata name, string calldata accreditationCode, bytes32 metadataHash) external;

    /// @notice Suspends an accredited issuer: nothing it anchored verifies while it is suspended,
    /// and nothing it anchors during the suspension ever verifies.
    function suspendIssuer(address issuer) external;

    /// @notice Reinstates a suspended issuer and opens a new accreditation period.
    function reinstateIssuer(address issuer) external;

    /// @notice Retires `oldKey` and accredits `newKey` with the same metadata. What `oldKey`
    /// anchored while accredited stays valid; what it anchors from now on never verifies.
    /// `newKey` may change the status of certificates anchored by `oldKey`.
    function rotateIssuerKey(address oldKey, address newKey) external;

    // ------------------------------------------------------------------------------------------
    // Anchoring and certificate status
    // ------------------------------------------------------------------------------------------

    /// @notice Anchors the Merkle root of a batch of certificates under the caller's address.
    /// @dev Open to any address by design: records are keyed by the caller, and whether the caller
    /// was accredited when it anchored is decided at verification time.
    function anchor(bytes32 root) external;

    /// @notice Revokes the caller's certificate `leaf` for `reason` (Fraud, Error or Cancelled).
    /// @dev Lowering trust never needs standing: a suspended or retired key may still revoke.
    /// The issuer address is the caller rather than an argument to keep this under 47,000 gas.
    function revoke(bytes32 leaf, RevocationReason reason) external;

    /// @notice Revokes certificate `leaf` of `issuer`: by the authority, or by a key that succeeded
    /// `issuer` by rotation.
    function revokeFor(address issuer, bytes32 leaf, RevocationReason reason) external;

    /// @notice Marks the caller's certificate `leaf` as superseded by certificate `successor`.
    /// @dev Redirecting verifiers needs an accredited caller.
    function supersede(bytes32 leaf, bytes32 successor) external;

    /// @notice `supersede` for a certificate of `issuer`, by the authority or an accredited successor key.
    function supersedeFor(address issuer, bytes32 leaf, bytes32 successor) external;

    /// @notice Suspends the caller's certificate `leaf` while an enquiry runs.
    function suspendCertificate(bytes32 leaf) external;

    /// @notice `suspendCertificate` for a certificate of `issuer`, by the authority or a successor key.
    function suspendCertificateFor(address issuer, bytes32 leaf) external;

    /// @notice Lifts the suspension of the caller's certificate `leaf`.
    /// @dev Needs an accredited caller; a suspension the authority imposed is lifted by the authority only.
    function liftCertificateSuspension(bytes32 leaf) external;

    /// @notice `liftCertificateSuspension` for a certificate of `issuer`, by the authority or an
    /// accredited successor key.
    function liftCertificateSuspensionFor(address issuer, bytes32 leaf) external;

    // ------------------------------------------------------------------------------------------
    // Customs (receipt, utilisation and rejection notices)
    // ------------------------------------------------------------------------------------------

    /// @notice Grants the customs role to `customs`, the key of the customs administration of
    /// `country` (authority only).
    /// @param customs the administration's signing key (not zero, not already an active customs key)
    /// @param country ISO 3166-1 alpha-2 country of the administration (not zero)
    function grantCustoms(address customs, bytes2 country) external;

    /// @notice Revokes the customs role of `customs` (authority only). Its records stay.
    function revokeCustoms(address customs) external;

    /// @notice Records that the caller (an active customs key) received the certificate `leaf` of
    /// `issuer` with a declaration.
    /// @dev The registry does not check that `leaf` is anchored (it cannot without the proof):
    /// customs verify the certificate first. Records are keyed by (issuer, leaf) like statuses.
    /// @param issuer the key that anchored the certificate
    /// @param leaf the certificate's leaf
    /// @param declarationHash salted hash of the declaration's reference (nothing readable on chain)
    function recordReceipt(address issuer, bytes32 leaf, bytes32 declarationHash) external;

    /// @notice Records that the caller (an active customs key) utilised `quantity` of `item` of the
    /// certificate `leaf` of `issuer`. Quantities are in thousandths of the item's unit.
    /// @dev The first utilisation of an item fixes its certified quantity (which that customs
    /// verified); later ones must state the same. The cumulative utilised quantity never exceeds
    /// the certified one: of two records racing for the rest, the second reverts. One SSTORE and
    /// one event, at most 60,000 gas (README, "Gas").
    /// @param item the item number on the certificate, from 1
    /// @param certified the item's certified quantity as the certificate states it (not zero)
    /// @param quantity the quantity this declaration utilises (not zero)
    function recordUtilisation(
        address issuer,
        bytes32 leaf,
        uint16 item,
        uint128 certified,
        uint128 quantity,
        bytes32 declarationHash
    ) external;

    /// @notice Records that the caller (an active customs key) rejected the certificate `leaf` of
    /// `issuer` for the reason `reasonCode` (ecoo's `RejectionCode`, not zero).
    function recordRejection(address issuer, bytes32 leaf, uint16 reasonCode, bytes32 declarationHash) external;

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice Role that accredits, suspends, reinstates and rotates issuers.
    function AUTHORITY_ROLE() external view returns (bytes32);

    /// @notice The issuer record of `issuer`.
    function getIssuer(address issuer) external view returns (Issuer memory);

    /// @notice The accreditation history of `issuer`, oldest first.
    function getAccreditationPeriods(address issuer) external view returns (AccreditationPeriod[] memory);

    /// @notice When `issuer` anchored `root`: (block time, block number), both 0 if it did not.
    function getAnchor(address issuer, bytes32 root) external view returns (uint48 anchoredAt, uint48 anchoredBlock);

    /// @notice Everything a verifier needs about one certificate.
    /// @param query issuer, root, leaf and the proof from leaf to root
    /// @return state proof validity, anchoring, the issuer's record (standing, name, country and
    /// accreditation code, which a verifier compares with the certificate's issuer block) and
    /// certificate status
    function verifyCertificate(Query calldata query) external view returns (CertificateState memory state);

    /// @notice `verifyCertificate` for many certificates in one call.
    /// @dev Cost grows with the list: about 22,000 gas per certificate in a batch of 100 (README,
    /// "Gas"), more with long proofs, many accreditation periods or a long rotation chain. The view
    /// is free through `eth_call`, but nodes cap its gas (Anvil and Hardhat at the 30M block gas
    /// limit), so ecoo's verifier sends at most 500 certificates per call (`ecoo.verify.BATCH_SIZE`,
    /// about 12M gas) and splits longer lists.
    function verifyCertificates(Query[] calldata queries) external view returns (CertificateState[] memory states);

    /// @notice The country of the customs key `customs` and whether it holds the role now
    /// (a revoked key keeps its country; an unknown key answers zero and false).
    function getCustoms(address customs) external view returns (bytes2 country, bool active);

    /// @notice What customs recorded against `items` of the certificate `leaf` of `issuer`, in the
    /// order asked (zeros for an item nothing was recorded against).
    function getUtilisation(address issuer, bytes32 leaf, uint16[] calldata items)
        external
        view
        returns (ItemUtilisation[] memory);

    /// @notice `getUtilisation` for many certificates in one call, one list per query.
    /// @dev One cold storage read (2,100 gas) per item asked; ecoo asks at most 500 certificates
    /// per call, as for `verifyCertificates`.
    function getUtilisations(UtilisationQuery[] calldata queries) external view returns (ItemUtilisation[][] memory);

    /// @notice EIP-712 digest that the issuer signs for the certificate with leaf `leaf`.
    function hashCertificate(bytes32 leaf, string calldata certificateNumber) external view returns (bytes32);
}
