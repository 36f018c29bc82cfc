// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

// The registry's vocabulary at file level (as EAS keeps its structs in `Common.sol`), shared by
// the behaviour interface, the errors interface and the implementation.

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
    uint48 fromBlock; // block of the accreditation or reinstatement
    uint48 fromTime; // its block time
    uint48 untilBlock; // 0 while the period is open
    uint48 untilTime; // 0 while the period is open
}

/// @notice One certificate to look up: the issuer that claims it, the anchored root, the leaf
/// and the Merkle proof from leaf to root (OpenZeppelin `MerkleProof`, sorted pairs).
struct Query {
    address issuer; // key that anchored the root (recovered from the certificate's signature)
    bytes32 root; // anchored Merkle root
    bytes32 leaf; // the certificate's leaf
    bytes32[] proof; // sibling hashes from leaf to root
}

/// @notice Everything a verifier needs about one certificate, read in one call.
struct CertificateState {
    bool proofValid; // proof leads from leaf to root
    bool anchored; // root was anchored by `issuer`
    uint48 anchoredAt; // block time of the anchoring (0 if not anchored)
    uint48 anchoredBlock; // block number of the anchoring (0 if not anchored)
    IssuerStatus issuerStatus; // standing of the issuer now
    bool accreditedAtAnchor; // anchoring block fell inside an accreditation period
    bytes2 issuerCountry; // the issuer's country
    string issuerName; // the issuer's name
    string issuerAccreditationCode; // the issuer's accreditation code: a certificate must name it
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

/// @notice What customs recorded against one item of one certificate. Quantities are integers in
/// thousandths of the item's unit (1.5 kg is 1500), as every customs record states them.
/// @dev One slot: `certified` in the low-order 16 bytes, `utilised` in the high-order 16, so a
/// utilisation record is one SSTORE (EcooRegistry `_writeUtilisation` relies on this order).
struct ItemUtilisation {
    uint128 certified; // quantity the certificate certifies, fixed by the first utilisation (0 = none yet)
    uint128 utilised; // cumulative quantity utilised so far, never above `certified`
}

/// @notice The items of one certificate (issuer = the key that anchored it, leaf) to look up.
struct UtilisationQuery {
    address issuer; // the key that anchored the certificate
    bytes32 leaf; // the certificate's leaf
    uint16[] items; // item numbers (1-based, as on the certificate)
}
