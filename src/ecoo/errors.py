"""Every exception ecoo raises on purpose: one root, :class:`EcooError`, and domain subclasses.

Where callers expect a builtin, a class also inherits it (``ValueError``, ``ConnectionError``,
``PermissionError``). The hierarchy::

    EcooError
    ├── ConfigurationError (ValueError)      a setting, key source or argument is wrong
    ├── CompilerNotFoundError, CompilationError
    ├── ChainUnavailableError (ConnectionError)   never a verdict: "unavailable"
    ├── DeploymentNotFoundError, TransactionFailedError, AnvilError
    ├── DataDirectoryInUseError               another process runs this data directory's node
    ├── InputError (ValueError)              a file or body is not what it should be
    ├── CanonicalizationError, ProtocolError, PdfError (ValueError)
    ├── InvalidCertificatesError (ValueError)     the library refused a batch
    ├── RegistryRevert                       one subclass per custom error of the contract,
    │   ├── ZeroAddressError, ZeroHashError, InvalidMetadataError (ValueError) ...
    │   └── IssuerNotAccreditedError, UnauthorizedError (PermissionError) ...
    ├── ServiceError                         what the chamber's service refuses, with an API code
    │   ├── NoCertificatesError, BatchTooLargeError, RejectedCertificatesError ...
    │   └── FinalStatusError, NotSuspendedError, RegistryRefusedError ...
    ├── StoreError
    │   └── DuplicateCertificateError, IntentConflictError
    └── VaultError

Registry reverts are mapped by the 4-byte selector of the contract's custom error (never by
revert text) to a :class:`RegistryRevert` subclass carrying the decoded arguments, its message
formatted from the class's ``template``. The HTTP layer's own ``ApiError`` (a bad request, not a
domain refusal) lives in :mod:`ecoo.service.http`, beside the one table that maps these classes to
HTTP statuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .urls import redact_url as redact_url  # where callers have always found it


class EcooError(Exception):
    """Root of every error ecoo raises on purpose."""


class ConfigurationError(EcooError, ValueError):
    """A setting, key source or argument is missing or wrong."""


class CompilerNotFoundError(EcooError):
    """No solc of the pinned version is available."""


class CompilationError(EcooError):
    """solc rejected the sources."""


class ChainUnavailableError(EcooError, ConnectionError):
    """The chain's JSON-RPC endpoint cannot be reached or does not answer.

    Never a verdict about a certificate: callers must report "unavailable", not "revoked".
    """

    def __init__(self, url: str, detail: str = "") -> None:
        self.url = url  # in full, for code; the message shows only redact_url(url)
        hint = "start one with `ecoo node` (managed Anvil) or `npx hardhat node`"
        super().__init__(f"no Ethereum node answers at {redact_url(url)}{': ' + detail if detail else ''}; {hint}")


class DeploymentNotFoundError(EcooError):
    """No live registry deployment is recorded for this chain."""

    def __init__(self, chain_id: int, where: str) -> None:
        self.chain_id = chain_id
        super().__init__(f"no registry deployed on chain {chain_id} (looked in {where}); run `ecoo deploy` first")


class TransactionFailedError(EcooError):
    """A transaction was mined but reverted without a recognisable registry error."""

    def __init__(self, tx_hash: str, detail: str = "") -> None:
        self.tx_hash = tx_hash
        super().__init__(f"transaction {tx_hash} failed{': ' + detail if detail else ''}")


class AnvilError(EcooError):
    """The managed Anvil could not be started."""


class DataDirectoryInUseError(EcooError):
    """Another ecoo process runs the managed node of this data directory (see ecoo.datadir_lock)."""

    def __init__(self, data_dir: str, holder: str) -> None:
        self.data_dir = data_dir
        self.holder = holder
        super().__init__(f"data directory {data_dir} is in use by {holder}; stop that one first, or set ECOO_DATA_DIR")


# Input and the certificate protocol


class InputError(EcooError, ValueError):
    """An input file cannot be read as what it should be."""


class CanonicalizationError(EcooError, ValueError):
    """The value has no RFC 8785 form."""


class ProtocolError(EcooError, ValueError):
    """A certificate or proof block is not well formed."""


class PdfError(EcooError, ValueError):
    """A PDF is not an ecoo certificate PDF, or a document cannot be printed as one."""


class InvalidCertificatesError(EcooError, ValueError):
    """Some certificates of a batch failed validation; nothing was anchored."""

    def __init__(self, failures: Mapping[int, Sequence[Any]], labels: Sequence[str]) -> None:
        self.failures = dict(failures)
        first_index = min(self.failures)
        first = self.failures[first_index][0]
        count = sum(len(v) for v in self.failures.values())
        super().__init__(
            f"{len(self.failures)} of {len(labels)} certificate(s) invalid ({count} issue(s)); nothing was issued. "
            f"First: {labels[first_index]} {first.path or '/'}: {first.message}"
        )


# Registry reverts


class RegistryRevert(EcooError):
    """Base of the exceptions mapped from the registry's custom errors.

    ``args_by_name`` holds the decoded error arguments. Each subclass names its Solidity error in
    ``solidity_name`` and words its message in ``template``, a :meth:`str.format` string over the
    argument names (hashes and other bytes shown as ``0x`` hex).
    """

    solidity_name: ClassVar[str] = ""
    selector: ClassVar[str] = ""
    template: ClassVar[str] = ""

    def __init__(self, **args_by_name: Any) -> None:
        self.args_by_name = args_by_name
        super().__init__(self.describe(**args_by_name))

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        shown = {name: "0x" + value.hex() if isinstance(value, bytes) else value for name, value in kwargs.items()}
        if cls.template:
            return cls.template.format(**shown)
        return f"{cls.solidity_name}({', '.join(f'{k}={v}' for k, v in shown.items())})"


class ZeroAddressError(RegistryRevert, ValueError):
    """The zero address was given where a key is required; the subclass says in which role."""


class InvalidAdminError(ZeroAddressError):
    solidity_name = "EcooRegistryInvalidAdmin"
    template = "the registry's admin cannot be the zero address ({admin})"


class InvalidAuthorityError(ZeroAddressError):
    solidity_name = "EcooRegistryInvalidAuthority"
    template = "the registry's authority cannot be the zero address ({authority})"


class InvalidIssuerError(ZeroAddressError):
    solidity_name = "EcooRegistryInvalidIssuer"
    template = "the zero address ({issuer}) cannot be accredited as an issuer"


class InvalidNewKeyError(ZeroAddressError):
    solidity_name = "EcooRegistryInvalidNewKey"
    template = "issuer {oldKey} cannot be rotated to the zero address ({newKey})"


class ZeroHashError(RegistryRevert, ValueError):
    """A zero root or successor hash was given; the subclass says which."""


class InvalidRootError(ZeroHashError):
    solidity_name = "EcooRegistryInvalidRoot"
    template = "root {root} cannot be anchored: a zero hash is never a real batch"


class InvalidSuccessorError(ZeroHashError):
    solidity_name = "EcooRegistryInvalidSuccessor"
    template = "certificate {leaf} cannot be superseded by the zero hash {successor}"


class InvalidMetadataError(RegistryRevert, ValueError):
    """An issuer's country, name or accreditation code is missing or too long; the subclass says which."""


class InvalidCountryError(InvalidMetadataError):
    solidity_name = "EcooRegistryInvalidCountry"
    template = "the country {country} given for issuer {issuer} is not set"


class InvalidNameError(InvalidMetadataError):
    solidity_name = "EcooRegistryInvalidName"
    template = "the name {name!r} given for issuer {issuer} must be 1..256 bytes"


class InvalidAccreditationCodeError(InvalidMetadataError):
    solidity_name = "EcooRegistryInvalidAccreditationCode"
    template = "the accreditation code {accreditationCode!r} given for issuer {issuer} must be 1..256 bytes"


class IssuerAlreadyRegisteredError(RegistryRevert):
    solidity_name = "EcooRegistryIssuerAlreadyRegistered"
    template = "issuer {issuer} is already registered (accredited, suspended or retired)"


class IssuerNotAccreditedError(RegistryRevert):
    solidity_name = "EcooRegistryIssuerNotAccredited"
    template = "issuer {issuer} is not accredited (unknown, suspended or retired)"


class IssuerNotSuspendedError(RegistryRevert):
    solidity_name = "EcooRegistryIssuerNotSuspended"
    template = "issuer {issuer} is not suspended"


class RootAlreadyAnchoredError(RegistryRevert):
    solidity_name = "EcooRegistryRootAlreadyAnchored"
    template = "root {root} is already anchored by {issuer}"


class UnauthorizedError(RegistryRevert, PermissionError):
    solidity_name = "EcooRegistryUnauthorized"
    template = "{caller} may not change certificates of issuer {issuer}"


class CertificateAlreadyRevokedError(RegistryRevert):
    solidity_name = "EcooRegistryCertificateAlreadyRevoked"
    template = "certificate {leaf} of {issuer} is already revoked (final)"


class CertificateAlreadySuspendedError(RegistryRevert):
    solidity_name = "EcooRegistryCertificateAlreadySuspended"
    template = "certificate {leaf} of {issuer} is already suspended"


class CertificateNotSuspendedError(RegistryRevert):
    solidity_name = "EcooRegistryCertificateNotSuspended"
    template = "certificate {leaf} of {issuer} is not suspended"


class SuspendedByAuthorityError(RegistryRevert, PermissionError):
    solidity_name = "EcooRegistrySuspendedByAuthority"
    template = "certificate {leaf} of {issuer} was suspended by the authority; only it can lift that"


class InvalidReasonError(RegistryRevert, ValueError):
    solidity_name = "EcooRegistryInvalidReason"
    template = "revocation reason {reason} is not allowed here (use supersede for SUPERSEDED)"


class SelfSupersedeError(RegistryRevert, ValueError):
    solidity_name = "EcooRegistrySelfSupersede"
    template = "certificate {leaf} cannot supersede itself"


class MissingRoleError(RegistryRevert, PermissionError):
    """OpenZeppelin AccessControl: the caller lacks a role."""

    solidity_name = "AccessControlUnauthorizedAccount"
    template = "{account} lacks role {neededRole}"


class BadConfirmationError(RegistryRevert):
    solidity_name = "AccessControlBadConfirmation"
    template = "renounceRole must be called by the account itself"


class InvalidShortStringError(RegistryRevert):
    """OpenZeppelin ShortStrings (EIP-712 name/version): only reachable at deployment."""

    solidity_name = "InvalidShortString"


class StringTooLongError(RegistryRevert):
    """OpenZeppelin ShortStrings (EIP-712 name/version): only reachable at deployment."""

    solidity_name = "StringTooLong"


#: One class per custom error in the registry's ABI (``ecoo.registry.RevertDecoder`` maps them by
#: ``solidity_name``). The role-less bases ``ZeroAddressError``, ``ZeroHashError`` and
#: ``InvalidMetadataError`` are not listed: they exist so callers can catch a family at once.
REVERT_TYPES: tuple[type[RegistryRevert], ...] = (
    InvalidAdminError,
    InvalidAuthorityError,
    InvalidIssuerError,
    InvalidNewKeyError,
    InvalidRootError,
    InvalidSuccessorError,
    InvalidCountryError,
    InvalidNameError,
    InvalidAccreditationCodeError,
    IssuerAlreadyRegisteredError,
    IssuerNotAccreditedError,
    IssuerNotSuspendedError,
    RootAlreadyAnchoredError,
    UnauthorizedError,
    CertificateAlreadyRevokedError,
    CertificateAlreadySuspendedError,
    CertificateNotSuspendedError,
    SuspendedByAuthorityError,
    InvalidReasonError,
    SelfSupersedeError,
    MissingRoleError,
    BadConfirmationError,
    InvalidShortStringError,
    StringTooLongError,
)


# Service domain errors
#
# What the chamber's service refuses to do, and why. Each class carries the stable ``code`` of the
# API's ``error`` field and builds its message from the values involved; none knows about HTTP:
# ecoo.service.http maps each class to a status code, in one table.


class ServiceError(EcooError):
    """A request the service refuses for a reason its client can act on.

    ``code`` is the stable machine code (the API's ``error`` field), ``message`` says what to do,
    ``details`` is optional JSON-serialisable data (for example the issues of each certificate).
    """

    code: str = "service_error"

    def __init__(self, message: str, details: Any = None) -> None:
        self.message, self.details = message, details
        super().__init__(message)


class NoCertificatesError(ServiceError, ValueError):
    code = "empty"

    def __init__(self) -> None:
        super().__init__("no certificates given")


class BatchTooLargeError(ServiceError, ValueError):
    code = "batch_too_large"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"at most {limit} certificates per request")


class RejectedCertificatesError(ServiceError, ValueError):
    """Some certificates of a request are invalid; none was stored. ``problems`` (also the
    ``details``) lists, per invalid certificate, its index, number and issues."""

    code = "invalid_certificate"

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems
        count = sum(len(problem["issues"]) for problem in problems)
        first = problems[0]["issues"][0]
        super().__init__(
            f"{len(problems)} certificate(s) invalid ({count} issue(s)); first: {first['path'] or '/'}: {first['message']}",
            problems,
        )


class RegistryUnreachableError(ServiceError, ConnectionError):
    """The registry's chain cannot be reached: nothing was signed or changed; try again later.

    With a ``cause`` (nothing signed yet) the message shows it; without, it says that the
    registry was left unchanged. ``where`` names what did not answer.
    """

    code = "chain_unavailable"

    def __init__(self, action: str, where: str = "the registry's chain", cause: object = None) -> None:
        self.action, self.cause = action, cause
        if cause is not None:
            super().__init__(f"cannot {action}: {where} is unreachable ({cause})")
        else:
            super().__init__(f"could not {action}: {where} is unreachable; nothing was changed")


class UnknownRevocationReasonError(ServiceError, ValueError):
    code = "invalid_reason"

    def __init__(self, reason: object, allowed: list[str]) -> None:
        self.reason = reason
        super().__init__(f"reason must be one of {', '.join(sorted(allowed))}")


class AnchoringInProgressError(ServiceError):
    """The change would race the anchoring worker; ``advice`` says when to try again."""

    code = "anchoring_in_progress"

    def __init__(self, what: str, advice: str) -> None:
        super().__init__(f"{what}; {advice}")


class FinalStatusError(ServiceError):
    code = "final_status"

    def __init__(self, status: str) -> None:
        self.status = status
        super().__init__(f"the certificate is {status}; that is final")


class NotIssuedError(ServiceError):
    """Only an ISSUED certificate (or, for some actions, a SUSPENDED one) can be ``done`` so."""

    code = "not_issued"

    def __init__(self, status: str, done: str) -> None:
        self.status = status
        super().__init__(f"only an issued certificate can be {done}; this one is {status}")


class NotSuspendedError(ServiceError):
    """A lift of a certificate the service does not hold as SUSPENDED (checked before the chain;
    the registry's own refusal is :class:`CertificateNotSuspendedError`)."""

    code = "not_suspended"

    def __init__(self, status: str) -> None:
        self.status = status
        super().__init__(f"the certificate is {status}, not SUSPENDED")


class RegistryRefusedError(ServiceError):
    """The registry reverted the transaction (``revert``); nothing was changed."""

    code = "registry_refused"

    def __init__(self, action: str, revert: RegistryRevert) -> None:
        self.action, self.revert = action, revert
        super().__init__(f"the registry refused to {action}: {revert}")


class ChangeInProgressError(ServiceError):
    """The certificate already has a change on its way to the registry (an open intent)."""

    code = "change_in_progress"

    def __init__(self, certificate_id: int | None) -> None:
        self.certificate_id = certificate_id
        what = f"certificate {certificate_id} already has a change on its way to the registry"
        super().__init__(f"{what}; wait until it is done or has failed (GET the certificate: 'intent')")


class InvalidReasonTextError(ServiceError, ValueError):
    """A reason a chamber gave is not text the audit trail can hold."""

    code = "invalid_reason"

    def __init__(self, limit: int) -> None:
        super().__init__(f"'reason' must be text of at most {limit} characters, without control characters")


class InvalidAmendmentError(ServiceError, ValueError):
    code = "invalid_body"

    def __init__(self) -> None:
        super().__init__("'certificate' must be the amended certificate object")


class MissingAmendmentReasonError(ServiceError, ValueError):
    code = "missing_reason"

    def __init__(self) -> None:
        super().__init__("'reason' (why the certificate was amended) is required")


class StoreError(EcooError):
    """A database operation failed for a reason the caller should report."""


class DuplicateCertificateError(StoreError):
    """The chamber already has a certificate with this number."""

    def __init__(self, number: str, existing_id: int) -> None:
        self.number, self.existing_id = number, existing_id
        super().__init__(f"certificate {number!r} already exists (id {existing_id}); it is never issued twice")


class IntentConflictError(StoreError):
    """The certificate already has an open intent (the store's unique open-intent column)."""


class VaultError(EcooError):
    """A stored key cannot be decrypted (wrong master key or tampered row)."""
