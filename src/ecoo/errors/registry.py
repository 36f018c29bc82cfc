"""The registry's custom errors as exceptions, one subclass of RegistryRevert each (mapped by selector)."""

from __future__ import annotations

from typing import Any, ClassVar

from .base import EcooError

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


# Customs records (quantities are integers in thousandths of the item's unit, ecoo.utilisation)


class InvalidCustomsError(RegistryRevert, ValueError):
    solidity_name = "EcooRegistryInvalidCustoms"
    template = "the customs role needs a key and a country (got key {customs}, country {country})"


class CustomsAlreadyGrantedError(RegistryRevert):
    solidity_name = "EcooRegistryCustomsAlreadyGranted"
    template = "{customs} already holds the customs role (revoke it first to change its country)"


class NotCustomsError(RegistryRevert, PermissionError):
    solidity_name = "EcooRegistryNotCustoms"
    template = "{account} is not an active customs key of this registry"


class InvalidItemError(RegistryRevert, ValueError):
    solidity_name = "EcooRegistryInvalidItem"
    template = "item {item} of certificate {leaf} of {issuer} does not exist: items are numbered from 1"


class InvalidQuantityError(RegistryRevert, ValueError):
    solidity_name = "EcooRegistryInvalidQuantity"
    template = (
        "item {item} of certificate {leaf} of {issuer}: the certified quantity ({certified}) and the quantity"
        " ({quantity}) must both be above 0 (thousandths of the unit)"
    )


class CertifiedQuantityMismatchError(RegistryRevert):
    solidity_name = "EcooRegistryCertifiedQuantityMismatch"
    template = (
        "item {item} of certificate {leaf} of {issuer}: the registry recorded {recorded} as its certified"
        " quantity, this record states {stated} (thousandths of the unit)"
    )


class UtilisationExceededError(RegistryRevert):
    """More of an item than remains of its certified quantity (another port may have been faster)."""

    solidity_name = "EcooRegistryUtilisationExceeded"
    template = (
        "item {item} of certificate {leaf} of {issuer}: {requested} more would exceed the certified {certified}"
        " ({utilised} already utilised; thousandths of the unit)"
    )

    @property
    def certified(self) -> int:
        return int(self.args_by_name["certified"])

    @property
    def utilised(self) -> int:
        return int(self.args_by_name["utilised"])

    @property
    def requested(self) -> int:
        return int(self.args_by_name["requested"])

    @property
    def remaining(self) -> int:
        return self.certified - self.utilised


class InvalidRejectionCodeError(RegistryRevert, ValueError):
    solidity_name = "EcooRegistryInvalidRejectionCode"
    template = "rejection code {code} does not exist: a rejection must say why (codes from 1)"


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
    InvalidCustomsError,
    CustomsAlreadyGrantedError,
    NotCustomsError,
    InvalidItemError,
    InvalidQuantityError,
    CertifiedQuantityMismatchError,
    UtilisationExceededError,
    InvalidRejectionCodeError,
)
