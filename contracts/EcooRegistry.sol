// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {
    AccreditationPeriod,
    CertificateState,
    CertificateStatus,
    Issuer,
    IssuerStatus,
    ItemUtilisation,
    Query,
    RevocationReason,
    UtilisationQuery
} from "./EcooRegistryTypes.sol";
import {IEcooRegistry} from "./IEcooRegistry.sol";
import {IEcooRegistryErrors} from "./IEcooRegistryErrors.sol";

/// @title EcooRegistry
/// @notice Registry of electronic certificates of origin. See {IEcooRegistry}; errors in
/// {IEcooRegistryErrors}.
contract EcooRegistry is IEcooRegistry, IEcooRegistryErrors, AccessControl, EIP712 {
    /// @inheritdoc IEcooRegistry
    /// @dev keccak256("ECOO_AUTHORITY_ROLE")
    bytes32 public constant AUTHORITY_ROLE = keccak256("ECOO_AUTHORITY_ROLE");

    /// @dev keccak256("Certificate(bytes32 leaf,string number)")
    bytes32 private constant _CERTIFICATE_TYPEHASH = keccak256("Certificate(bytes32 leaf,string number)");

    /// @dev Longest name or accreditation code accepted, in bytes.
    uint256 private constant _MAX_METADATA_LENGTH = 256;

    /// @dev When an issuer anchored a root. One slot; anchoredBlock != 0 means "anchored".
    struct Anchor {
        uint48 anchoredAt; // block.timestamp of the anchoring transaction
        uint48 anchoredBlock; // block.number of the anchoring transaction
    }

    /// @dev Status of one certificate, one slot, always written whole (one SSTORE per change).
    struct CertificateRecord {
        CertificateStatus status; // Active (never written), Suspended or Revoked
        RevocationReason reason; // set with Revoked
        bool byAuthority; // the authority made the last change (guards lifting its suspensions)
        uint48 changedAt; // block.timestamp of the last change
        address changedBy; // who made the last change
    }

    /// @dev A customs administration's key. One slot: checking the caller of a record is one SLOAD.
    struct CustomsKey {
        bytes2 country; // ISO 3166-1 alpha-2 country of the administration
        bool active; // holds the customs role now (a revoked key keeps its country)
    }

    mapping(address issuer => Issuer) private _issuers;
    mapping(address issuer => AccreditationPeriod[]) private _periods;
    mapping(address issuer => mapping(bytes32 root => Anchor)) private _anchors;
    mapping(address issuer => mapping(bytes32 leaf => CertificateRecord)) private _certificates;
    mapping(address issuer => mapping(bytes32 leaf => bytes32 successor)) private _successors;
    mapping(address customs => CustomsKey) private _customs;
    mapping(address issuer => mapping(bytes32 leaf => mapping(uint16 item => ItemUtilisation))) private _utilisations;

    /// @param admin holds DEFAULT_ADMIN_ROLE: grants and revokes the authority role
    /// @param authority holds AUTHORITY_ROLE: accredits and suspends issuers
    constructor(address admin, address authority) EIP712("ecoo", "1") {
        // A registry nobody can govern could never accredit an issuer.
        if (admin == address(0)) revert EcooRegistryInvalidAdmin(admin);
        if (authority == address(0)) revert EcooRegistryInvalidAuthority(authority);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(AUTHORITY_ROLE, authority);
    }

    // ------------------------------------------------------------------------------------------
    // Accreditation
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEcooRegistry
    function accreditIssuer(
        address issuer,
        bytes2 country,
        string calldata name,
        string calldata accreditationCode,
        bytes32 metadataHash
    ) external onlyRole(AUTHORITY_ROLE) {
        // The zero address is what ecrecover returns for a bad signature: never trust it.
        if (issuer == address(0)) revert EcooRegistryInvalidIssuer(issuer);
        // A key is accredited once; suspended keys are reinstated, retired keys stay retired.
        if (_issuers[issuer].status != IssuerStatus.None) revert EcooRegistryIssuerAlreadyRegistered(issuer);
        // Verifiers display these; empty or unbounded values help nobody.
        if (country == bytes2(0)) revert EcooRegistryInvalidCountry(issuer, country);
        if (bytes(name).length == 0 || bytes(name).length > _MAX_METADATA_LENGTH) {
            revert EcooRegistryInvalidName(issuer, name);
        }
        if (bytes(accreditationCode).length == 0 || bytes(accreditationCode).length > _MAX_METADATA_LENGTH) {
            revert EcooRegistryInvalidAccreditationCode(issuer, accreditationCode);
        }

        Issuer storage record = _issuers[issuer];
        record.status = IssuerStatus.Accredited;
        record.country = country;
        record.accreditedAt = uint48(block.timestamp);
        record.metadataHash = metadataHash;
        record.name = name;
        record.accreditationCode = accreditationCode;
        _openPeriod(issuer);
        emit IssuerAccredited(issuer, country, name, accreditationCode, metadataHash);
    }

    /// @inheritdoc IEcooRegistry
    function suspendIssuer(address issuer) external onlyRole(AUTHORITY_ROLE) {
        // Only a key that may issue now can be suspended; unknown and retired keys issue nothing.
        if (_issuers[issuer].status != IssuerStatus.Accredited) revert EcooRegistryIssuerNotAccredited(issuer);
        _issuers[issuer].status = IssuerStatus.Suspended;
        _closePeriod(issuer);
        emit IssuerSuspended(issuer, _msgSender());
    }

    /// @inheritdoc IEcooRegistry
    function reinstateIssuer(address issuer) external onlyRole(AUTHORITY_ROLE) {
        // Reinstating is the way back from a suspension, not a way to accredit a new key.
        if (_issuers[issuer].status != IssuerStatus.Suspended) revert EcooRegistryIssuerNotSuspended(issuer);
        _issuers[issuer].status = IssuerStatus.Accredited;
        _openPeriod(issuer);
        emit IssuerReinstated(issuer, _msgSender());
    }

    /// @inheritdoc IEcooRegistry
    function rotateIssuerKey(address oldKey, address newKey) external onlyRole(AUTHORITY_ROLE) {
        // A suspended key is dealt with by reinstating or by accrediting a fresh key.
        if (_issuers[oldKey].status != IssuerStatus.Accredited) revert EcooRegistryIssuerNotAccredited(oldKey);
        // The zero address is what ecrecover returns for a bad signature: never trust it.
        if (newKey == address(0)) revert EcooRegistryInvalidNewKey(oldKey, newKey);
        // A fresh key only: reusing a known key would merge two histories (and could loop).
        if (_issuers[newKey].status != IssuerStatus.None) revert EcooRegistryIssuerAlreadyRegistered(newKey);

        Issuer storage old = _issuers[oldKey];
        old.status = IssuerStatus.Retired;
        old.successor = newKey;
        _closePeriod(oldKey);

        Issuer storage next = _issuers[newKey];
        next.status = IssuerStatus.Accredited;
        next.country = old.country;
        next.accreditedAt = uint48(block.timestamp);
        next.predecessor = oldKey;
        next.metadataHash = old.metadataHash;
        next.name = old.name;
        next.accreditationCode = old.accreditationCode;
        _openPeriod(newKey);
        emit IssuerKeyRotated(oldKey, newKey);
    }

    // ------------------------------------------------------------------------------------------
    // Anchoring and certificate status
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEcooRegistry
    function anchor(bytes32 root) external {
        // A zero root is what an uninitialised variable holds, never a real batch.
        if (root == bytes32(0)) revert EcooRegistryInvalidRoot(root);
        Anchor storage record = _anchors[_msgSender()][root];
        // Anchoring twice would move the recorded time and so the accreditation check.
        if (record.anchoredBlock != 0) revert EcooRegistryRootAlreadyAnchored(_msgSender(), root);
        // One SSTORE of the whole slot: anchoredAt (bytes 0-5), anchoredBlock (bytes 6-11).
        uint256 packed = uint256(uint48(block.timestamp)) | (uint256(uint48(block.number)) << 48);
        assembly ("memory-safe") {
            sstore(record.slot, packed)
        }
        emit BatchAnchored(_msgSender(), root);
    }

    /// @inheritdoc IEcooRegistry
    function revoke(bytes32 leaf, RevocationReason reason) external {
        _revoke(_msgSender(), leaf, reason, false);
    }

    /// @inheritdoc IEcooRegistry
    function revokeFor(address issuer, bytes32 leaf, RevocationReason reason) external {
        _revoke(issuer, leaf, reason, _authorizeFor(issuer, false));
    }

    /// @inheritdoc IEcooRegistry
    function supersede(bytes32 leaf, bytes32 successor) external {
        _requireStanding(_msgSender());
        _supersede(_msgSender(), leaf, successor, false);
    }

    /// @inheritdoc IEcooRegistry
    function supersedeFor(address issuer, bytes32 leaf, bytes32 successor) external {
        _supersede(issuer, leaf, successor, _authorizeFor(issuer, true));
    }

    /// @inheritdoc IEcooRegistry
    function suspendCertificate(bytes32 leaf) external {
        _suspendCertificate(_msgSender(), leaf, false);
    }

    /// @inheritdoc IEcooRegistry
    function suspendCertificateFor(address issuer, bytes32 leaf) external {
        _suspendCertificate(issuer, leaf, _authorizeFor(issuer, false));
    }

    /// @inheritdoc IEcooRegistry
    function liftCertificateSuspension(bytes32 leaf) external {
        _requireStanding(_msgSender());
        _liftCertificateSuspension(_msgSender(), leaf, false);
    }

    /// @inheritdoc IEcooRegistry
    function liftCertificateSuspensionFor(address issuer, bytes32 leaf) external {
        _liftCertificateSuspension(issuer, leaf, _authorizeFor(issuer, true));
    }

    // ------------------------------------------------------------------------------------------
    // Customs
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEcooRegistry
    function grantCustoms(address customs, bytes2 country) external onlyRole(AUTHORITY_ROLE) {
        // The zero address is what ecrecover returns for a bad signature, and every record names a country.
        if (customs == address(0) || country == bytes2(0)) revert EcooRegistryInvalidCustoms(customs, country);
        // Changing an active key's country goes through a revocation, so the log shows both.
        if (_customs[customs].active) revert EcooRegistryCustomsAlreadyGranted(customs);
        _customs[customs] = CustomsKey({country: country, active: true});
        emit CustomsGranted(customs, country);
    }

    /// @inheritdoc IEcooRegistry
    function revokeCustoms(address customs) external onlyRole(AUTHORITY_ROLE) {
        // Revoking a key that cannot record would log a change that did not happen.
        if (!_customs[customs].active) revert EcooRegistryNotCustoms(customs);
        _customs[customs].active = false;
        emit CustomsRevoked(customs);
    }

    /// @inheritdoc IEcooRegistry
    function recordReceipt(address issuer, bytes32 leaf, bytes32 declarationHash) external {
        _requireCustoms();
        emit CertificateReceived(issuer, leaf, _msgSender(), declarationHash);
    }

    /// @inheritdoc IEcooRegistry
    function recordUtilisation(
        address issuer,
        bytes32 leaf,
        uint16 item,
        uint128 certified,
        uint128 quantity,
        bytes32 declarationHash
    ) external {
        _requireCustoms();
        // Items are numbered from 1 on the certificate; 0 is what an unset field holds.
        if (item == 0) revert EcooRegistryInvalidItem(issuer, leaf, item);
        // A zero quantity records nothing, and a zero certified quantity would look like "no record yet".
        if (certified == 0 || quantity == 0) revert EcooRegistryInvalidQuantity(issuer, leaf, item, certified, quantity);
        ItemUtilisation storage record = _utilisations[issuer][leaf][item];
        uint128 recorded = record.certified;
        uint128 utilised = record.utilised;
        // The first record fixes the certified quantity: another figure means another reading of the certificate.
        if (recorded != 0 && recorded != certified) {
            revert EcooRegistryCertifiedQuantityMismatch(issuer, leaf, item, recorded, certified);
        }
        // Never beyond what the certificate certifies (utilised <= certified always holds, so no underflow).
        if (quantity > certified - utilised) {
            revert EcooRegistryUtilisationExceeded(issuer, leaf, item, certified, utilised, quantity);
        }
        utilised += quantity;
        _writeUtilisation(record, certified, utilised);
        emit CertificateUtilised(issuer, leaf, _msgSender(), item, quantity, utilised, certified, declarationHash);
    }

    /// @inheritdoc IEcooRegistry
    function recordRejection(address issuer, bytes32 leaf, uint16 reasonCode, bytes32 declarationHash) external {
        _requireCustoms();
        // A rejection always says why; 0 is what an unset field holds.
        if (reasonCode == 0) revert EcooRegistryInvalidRejectionCode(reasonCode);
        emit CertificateRejected(issuer, leaf, _msgSender(), reasonCode, declarationHash);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IEcooRegistry
    function getIssuer(address issuer) external view returns (Issuer memory) {
        return _issuers[issuer];
    }

    /// @inheritdoc IEcooRegistry
    function getAccreditationPeriods(address issuer) external view returns (AccreditationPeriod[] memory) {
        return _periods[issuer];
    }

    /// @inheritdoc IEcooRegistry
    function getAnchor(address issuer, bytes32 root) external view returns (uint48 anchoredAt, uint48 anchoredBlock) {
        Anchor storage record = _anchors[issuer][root];
        return (record.anchoredAt, record.anchoredBlock);
    }

    /// @inheritdoc IEcooRegistry
    function verifyCertificate(Query calldata query) external view returns (CertificateState memory state) {
        _readIssuerStrings(query.issuer, state);
        _fillCertificateState(query, state);
    }

    /// @inheritdoc IEcooRegistry
    /// @dev One `_fillCertificateState` per query; see the interface for the cost and the bound.
    /// Memory costs quadratically, and this view's cost is mostly memory: it fills the zeroed
    /// structs `new` allocates for every element instead of allocating a second one each, and a
    /// query for the same issuer as the one before it (every query of a batch) shares that one's
    /// strings instead of copying them from storage again.
    function verifyCertificates(Query[] calldata queries) external view returns (CertificateState[] memory states) {
        states = new CertificateState[](queries.length);
        for (uint256 i = 0; i < queries.length; ++i) {
            CertificateState memory state = states[i];
            if (i > 0 && queries[i].issuer == queries[i - 1].issuer) {
                state.issuerName = states[i - 1].issuerName;
                state.issuerAccreditationCode = states[i - 1].issuerAccreditationCode;
            } else {
                _readIssuerStrings(queries[i].issuer, state);
            }
            _fillCertificateState(queries[i], state);
        }
    }

    /// @inheritdoc IEcooRegistry
    function getCustoms(address customs) external view returns (bytes2 country, bool active) {
        CustomsKey storage record = _customs[customs];
        return (record.country, record.active);
    }

    /// @inheritdoc IEcooRegistry
    function getUtilisation(address issuer, bytes32 leaf, uint16[] calldata items)
        external
        view
        returns (ItemUtilisation[] memory)
    {
        return _readUtilisation(issuer, leaf, items);
    }

    /// @inheritdoc IEcooRegistry
    function getUtilisations(UtilisationQuery[] calldata queries)
        external
        view
        returns (ItemUtilisation[][] memory found)
    {
        found = new ItemUtilisation[][](queries.length);
        for (uint256 i = 0; i < queries.length; ++i) {
            found[i] = _readUtilisation(queries[i].issuer, queries[i].leaf, queries[i].items);
        }
    }

    /// @inheritdoc IEcooRegistry
    function hashCertificate(bytes32 leaf, string calldata certificateNumber) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(_CERTIFICATE_TYPEHASH, leaf, keccak256(bytes(certificateNumber)))));
    }

    // ------------------------------------------------------------------------------------------
    // Internal
    // ------------------------------------------------------------------------------------------

    /// @dev The issuer's name and accreditation code, copied from storage into `state`.
    function _readIssuerStrings(address issuer, CertificateState memory state) private view {
        Issuer storage record = _issuers[issuer];
        state.issuerName = record.name;
        state.issuerAccreditationCode = record.accreditationCode;
    }

    /// @dev Every field of `state` but the issuer's strings (`_readIssuerStrings`).
    function _fillCertificateState(Query calldata query, CertificateState memory state) private view {
        Anchor storage anchored = _anchors[query.issuer][query.root];
        CertificateRecord storage record = _certificates[query.issuer][query.leaf];
        Issuer storage issuer = _issuers[query.issuer];

        state.proofValid = MerkleProof.verifyCalldata(query.proof, query.root, query.leaf);
        state.anchored = anchored.anchoredBlock != 0;
        state.anchoredAt = anchored.anchoredAt;
        state.anchoredBlock = anchored.anchoredBlock;
        state.issuerStatus = issuer.status;
        state.accreditedAtAnchor = state.anchored && _accreditedAt(query.issuer, anchored.anchoredBlock);
        state.issuerCountry = issuer.country;
        (state.currentKey, state.currentKeyStatus) = _currentKey(query.issuer);
        state.status = record.status;
        state.reason = record.reason;
        state.statusChangedAt = record.changedAt;
        state.statusChangedBy = record.changedBy;
        state.successor = _successors[query.issuer][query.leaf];
        state.chainTime = uint48(block.timestamp);
        state.chainBlock = uint48(block.number);
    }

    /// @dev Whether `blockNumber` lies strictly inside one of the accreditation periods of `issuer`.
    /// Cost: one cold storage read (2,100 gas) per period, oldest first. A key gains a period only
    /// when the authority accredits or reinstates it, so the loop is as long as that key's
    /// suspension history (one period for almost every key); it runs in views only.
    function _accreditedAt(address issuer, uint48 blockNumber) private view returns (bool) {
        AccreditationPeriod[] storage periods = _periods[issuer];
        for (uint256 i = 0; i < periods.length; ++i) {
            AccreditationPeriod storage period = periods[i];
            if (period.fromBlock < blockNumber && (period.untilBlock == 0 || blockNumber < period.untilBlock)) {
                return true;
            }
        }
        return false;
    }

    /// @dev The newest key in the rotation chain of `issuer` and its status.
    /// Cost: one cold storage read (2,100 gas) per rotation of the chamber's key; only the
    /// authority rotates keys, so the chain is as long as the chamber's rotation history.
    function _currentKey(address issuer) private view returns (address key, IssuerStatus status) {
        key = issuer;
        // Rotation only ever points at a fresh key, so the chain ends.
        while (_issuers[key].successor != address(0)) {
            key = _issuers[key].successor;
        }
        status = _issuers[key].status;
    }

    function _revoke(address issuer, bytes32 leaf, RevocationReason reason, bool byAuthority) private {
        // Superseding needs a successor (see supersede), and a revocation always says why.
        if (reason == RevocationReason.None || reason == RevocationReason.Superseded) {
            revert EcooRegistryInvalidReason(reason);
        }
        CertificateRecord storage record = _certificates[issuer][leaf];
        // Revocation is final: its reason and time must not be rewritten.
        if (record.status == CertificateStatus.Revoked) revert EcooRegistryCertificateAlreadyRevoked(issuer, leaf);
        _writeRecord(record, CertificateStatus.Revoked, reason, byAuthority);
        emit CertificateRevoked(issuer, leaf, reason, _msgSender());
    }

    function _supersede(address issuer, bytes32 leaf, bytes32 successor, bool byAuthority) private {
        // A zero successor is what an uninitialised variable holds: it would redirect nowhere.
        if (successor == bytes32(0)) revert EcooRegistryInvalidSuccessor(leaf, successor);
        // A certificate pointing at itself would send verifiers in a circle.
        if (successor == leaf) revert EcooRegistrySelfSupersede(leaf);
        CertificateRecord storage record = _certificates[issuer][leaf];
        // Revocation is final, and superseding is a revocation.
        if (record.status == CertificateStatus.Revoked) revert EcooRegistryCertificateAlreadyRevoked(issuer, leaf);
        // An enquiry the authority opened is closed by the authority.
        if (record.status == CertificateStatus.Suspended && record.byAuthority && !byAuthority) {
            revert EcooRegistrySuspendedByAuthority(issuer, leaf);
        }
        _writeRecord(record, CertificateStatus.Revoked, RevocationReason.Superseded, byAuthority);
        _successors[issuer][leaf] = successor;
        emit CertificateSuperseded(issuer, leaf, successor, _msgSender());
    }

    function _suspendCertificate(address issuer, bytes32 leaf, bool byAuthority) private {
        CertificateRecord storage record = _certificates[issuer][leaf];
        // Revocation is final: a revoked certificate is never suspended (and so never lifted).
        if (record.status == CertificateStatus.Revoked) revert EcooRegistryCertificateAlreadyRevoked(issuer, leaf);
        // A second suspension would overwrite who opened the enquiry.
        if (record.status == CertificateStatus.Suspended) revert EcooRegistryCertificateAlreadySuspended(issuer, leaf);
        _writeRecord(record, CertificateStatus.Suspended, RevocationReason.None, byAuthority);
        emit CertificateSuspended(issuer, leaf, _msgSender());
    }

    function _liftCertificateSuspension(address issuer, bytes32 leaf, bool byAuthority) private {
        CertificateRecord storage record = _certificates[issuer][leaf];
        // Only a suspension can be lifted: lifting must never reactivate a revoked certificate.
        if (record.status != CertificateStatus.Suspended) revert EcooRegistryCertificateNotSuspended(issuer, leaf);
        // An enquiry the authority opened is closed by the authority.
        if (record.byAuthority && !byAuthority) revert EcooRegistrySuspendedByAuthority(issuer, leaf);
        _writeRecord(record, CertificateStatus.Active, RevocationReason.None, byAuthority);
        emit CertificateSuspensionLifted(issuer, leaf, _msgSender());
    }

    /// @dev Reverts unless `issuer` is accredited now: restoring or redirecting trust needs standing.
    function _requireStanding(address issuer) private view {
        if (_issuers[issuer].status != IssuerStatus.Accredited) revert EcooRegistryIssuerNotAccredited(issuer);
    }

    /// @dev Checks that the caller may change certificates of `issuer` on its behalf and returns
    /// whether it acts as the authority. `requireStanding` is set for changes that restore or
    /// redirect trust: a successor key then has to be accredited, while lowering trust never needs it.
    function _authorizeFor(address issuer, bool requireStanding) private view returns (bool byAuthority) {
        address caller = _msgSender();
        if (caller == issuer) {
            if (requireStanding) _requireStanding(caller);
            return false;
        }
        if (hasRole(AUTHORITY_ROLE, caller)) return true;
        // A key that replaced `issuer` by rotation looks after the certificates `issuer` anchored.
        // Cost: one storage read per rotation of the chamber's key (authority-made, so short).
        for (address key = _issuers[issuer].successor; key != address(0); key = _issuers[key].successor) {
            if (key == caller) {
                if (requireStanding) _requireStanding(caller);
                return false;
            }
        }
        revert EcooRegistryUnauthorized(caller, issuer);
    }

    /// @dev Writes a whole CertificateRecord in one SSTORE. Solidity lays a packed struct out from
    /// the low-order end in declaration order: status (byte 0), reason (1), byAuthority (2),
    /// changedAt (bytes 3-8), changedBy (bytes 9-28). Assigning the fields one by one costs two
    /// extra SSTOREs, which would put revoke over its 47,000 gas budget.
    function _writeRecord(
        CertificateRecord storage record,
        CertificateStatus status,
        RevocationReason reason,
        bool byAuthority
    ) private {
        uint256 packed = uint256(uint8(status)) | (uint256(uint8(reason)) << 8) | (byAuthority ? uint256(1) << 16 : 0)
            | (uint256(uint48(block.timestamp)) << 24) | (uint256(uint160(_msgSender())) << 72);
        assembly ("memory-safe") {
            sstore(record.slot, packed)
        }
    }

    /// @dev Reverts unless the caller holds the customs role now (one SLOAD: country and flag share a slot).
    function _requireCustoms() private view {
        if (!_customs[_msgSender()].active) revert EcooRegistryNotCustoms(_msgSender());
    }

    /// @dev What was recorded against `items` of (issuer, leaf), in the order asked.
    function _readUtilisation(address issuer, bytes32 leaf, uint16[] calldata items)
        private
        view
        returns (ItemUtilisation[] memory found)
    {
        mapping(uint16 item => ItemUtilisation) storage recorded = _utilisations[issuer][leaf];
        found = new ItemUtilisation[](items.length);
        for (uint256 i = 0; i < items.length; ++i) {
            found[i] = recorded[items[i]];
        }
    }

    /// @dev Writes a whole ItemUtilisation in one SSTORE. Solidity lays the struct out from the
    /// low-order end in declaration order: certified (bytes 0-15), utilised (bytes 16-31).
    /// Assigning the two fields one by one reads and masks the slot for each.
    function _writeUtilisation(ItemUtilisation storage record, uint128 certified, uint128 utilised) private {
        uint256 packed = uint256(certified) | (uint256(utilised) << 128);
        assembly ("memory-safe") {
            sstore(record.slot, packed)
        }
    }

    function _openPeriod(address issuer) private {
        _periods[issuer].push(
            AccreditationPeriod({
                fromBlock: uint48(block.number),
                fromTime: uint48(block.timestamp),
                untilBlock: 0,
                untilTime: 0
            })
        );
    }

    function _closePeriod(address issuer) private {
        AccreditationPeriod storage period = _periods[issuer][_periods[issuer].length - 1];
        period.untilBlock = uint48(block.number);
        period.untilTime = uint48(block.timestamp);
    }
}
