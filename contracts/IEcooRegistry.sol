// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

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
interface IEcooRegistry {
    // ------------------------------------------------------------------------------------------
    // Types
    // ------------------------------------------------------------------------------------------

    /// @notice Standing of an issuer key with the accreditation authority.
    enum IssuerStatus {
        None, // never accredited
        Accredited, // may issue; its anchors made while accredited verify
        Suspended, // nothing it anchored verifies until it is reinstated
        Retired // key rotated away: its past anchors stay valid, new ones never verify
    }

    /// @notice Status of one certificate (one leaf), as set by its issuer or the authority.
    enum CertificateStatus {
        Active, // no status change recorded
        Suspended, // under enquiry; can be lifted or turned into a revocation
        Revoked // final; the reason says why (fraud, error, cancelled, superseded)
    }

    /// @notice Why a certificate was revoked. `None` for active and suspended certificates.
    enum RevocationReason {
        None,
        Fraud, // REVOKED_FRAUD
        Error, // REVOKED_ERROR
        Cancelled, // CANCELLED at the exporter's request while unused
        Superseded // SUPERSEDED by the certificate whose leaf is recorded as successor
    }

    /// @notice Public view of an issuer record.
    struct Issuer {
        IssuerStatus status; // standing now
        bytes2 country; // ISO 3166-1 alpha-2, e.g. "DE"
        uint48 accreditedAt; // time of the first accreditation
        address successor; // key that replaced this one (Retired only)
        address predecessor; // key this one replaced, if it came from a rotation
        bytes32 metadataHash; // hash of the chamber's metadata document (0 if none)
        string name; // chamber name
        string accreditationCode; // e.g. the ICC WCF accreditation code
    }

    /// @notice One interval during which an issuer key was allowed to issue.
    /// @dev Anchors verify when fromBlock < anchoredBlock < untilBlock (untilBlock 0 = open). The
    /// bounds are strict because the order of transactions inside one block is not recorded.
    struct AccreditationPeriod {
        uint48 fromBlock;
        uint48 fromTime;
        uint48 untilBlock; // 0 while the period is open
        uint48 untilTime; // 0 while the period is open
    }

    /// @notice One certificate to look up: the issuer that claims it, the anchored root, the leaf
    /// and the Merkle proof from leaf to root (OpenZeppelin `MerkleProof`, sorted pairs).
    struct Query {
        address issuer;
        bytes32 root;
        bytes32 leaf;
        bytes32[] proof;
    }

    /// @notice Everything a verifier needs about one certificate, read in one call.
    struct CertificateState {
        bool proofValid; // proof leads from leaf to root
        bool anchored; // root was anchored by `issuer`
        uint48 anchoredAt; // block time of the anchoring (0 if not anchored)
        uint48 anchoredBlock; // block number of the anchoring (0 if not anchored)
        IssuerStatus issuerStatus; // standing of the issuer now
        bool accreditedAtAnchor; // anchoring block fell inside an accreditation period
        bytes2 issuerCountry;
        string issuerName;
        address currentKey; // newest key of the issuer's rotation chain (`issuer` if never rotated)
        IssuerStatus currentKeyStatus; // its standing now: a suspended chamber suspends its old keys too
        CertificateStatus status; // status of this leaf
        RevocationReason reason; // why it was revoked
        uint48 statusChangedAt; // block time of the last status change (0 if none)
        address statusChangedBy; // issuer or authority that made it
        bytes32 successor; // leaf of the replacing certificate (Superseded only)
        uint48 chainTime; // block.timestamp of the block the view ran against
        uint48 chainBlock; // block.number of the block the view ran against
    }

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
    /// @notice A certificate of `issuer` was revoked.
    event CertificateRevoked(address indexed issuer, bytes32 indexed leaf, RevocationReason reason);
    /// @notice A certificate of `issuer` was superseded by the certificate with leaf `successor`.
    event CertificateSuperseded(address indexed issuer, bytes32 indexed leaf, bytes32 indexed successor);
    /// @notice A certificate of `issuer` was suspended under enquiry.
    event CertificateSuspended(address indexed issuer, bytes32 indexed leaf, address by);
    /// @notice The suspension of a certificate of `issuer` was lifted.
    event CertificateSuspensionLifted(address indexed issuer, bytes32 indexed leaf, address by);

    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice The zero address was given where an issuer key is required.
    error EcooRegistryZeroAddress();
    /// @notice A zero root, leaf or successor hash was given.
    error EcooRegistryZeroHash();
    /// @notice The name or accreditation code is empty or longer than 256 bytes.
    error EcooRegistryInvalidMetadata();
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
    /// @notice Only the authority can lift a suspension the authority imposed.
    error EcooRegistrySuspendedByAuthority(address issuer, bytes32 leaf);
    /// @notice `reason` cannot be used here (None; Superseded needs `supersede`).
    error EcooRegistryInvalidReason(RevocationReason reason);
    /// @notice A certificate cannot supersede itself.
    error EcooRegistrySelfSupersede(bytes32 leaf);

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
    /// @return state proof validity, anchoring, issuer standing and certificate status
    function verifyCertificate(Query calldata query) external view returns (CertificateState memory state);

    /// @notice `verifyCertificate` for many certificates in one call.
    function verifyCertificates(Query[] calldata queries) external view returns (CertificateState[] memory states);

    /// @notice EIP-712 digest that the issuer signs for the certificate with leaf `leaf`.
    function hashCertificate(bytes32 leaf, string calldata certificateNumber) external view returns (bytes32);
}
