"""The ecoo exception hierarchy: one root, :class:`EcooError`, and domain subclasses.

Registry reverts are mapped by the 4-byte selector of the contract's custom error (never by
revert text) to a :class:`RegistryRevert` subclass carrying the decoded arguments.
"""

from __future__ import annotations

from typing import Any, ClassVar


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
        self.url = url
        hint = "start one with `ecoo node` (managed Anvil) or `npx hardhat node`"
        super().__init__(f"no Ethereum node answers at {url}{': ' + detail if detail else ''}; {hint}")


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


class RegistryRevert(EcooError):
    """Base of the exceptions mapped from the registry's custom errors.

    ``args_by_name`` holds the decoded error arguments; ``selector`` the 4-byte error selector.
    """

    solidity_name: ClassVar[str] = ""
    selector: ClassVar[str] = ""

    def __init__(self, **args_by_name: Any) -> None:
        self.args_by_name = args_by_name
        super().__init__(self.describe(**args_by_name))

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"{cls.solidity_name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"


class ZeroAddressError(RegistryRevert, ValueError):
    solidity_name = "EcooRegistryZeroAddress"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return "the zero address cannot be an issuer, admin or authority"


class ZeroHashError(RegistryRevert, ValueError):
    solidity_name = "EcooRegistryZeroHash"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return "a zero root, leaf or successor hash is never valid"


class InvalidMetadataError(RegistryRevert, ValueError):
    solidity_name = "EcooRegistryInvalidMetadata"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return "issuer country, name and accreditation code must be set (name and code 1..256 bytes)"


class IssuerAlreadyRegisteredError(RegistryRevert):
    solidity_name = "EcooRegistryIssuerAlreadyRegistered"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"issuer {kwargs['issuer']} is already registered (accredited, suspended or retired)"


class IssuerNotAccreditedError(RegistryRevert):
    solidity_name = "EcooRegistryIssuerNotAccredited"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"issuer {kwargs['issuer']} is not accredited (unknown, suspended or retired)"


class IssuerNotSuspendedError(RegistryRevert):
    solidity_name = "EcooRegistryIssuerNotSuspended"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"issuer {kwargs['issuer']} is not suspended"


class RootAlreadyAnchoredError(RegistryRevert):
    solidity_name = "EcooRegistryRootAlreadyAnchored"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"root 0x{kwargs['root'].hex()} is already anchored by {kwargs['issuer']}"


class UnauthorizedError(RegistryRevert, PermissionError):
    solidity_name = "EcooRegistryUnauthorized"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"{kwargs['caller']} may not change certificates of issuer {kwargs['issuer']}"


class CertificateAlreadyRevokedError(RegistryRevert):
    solidity_name = "EcooRegistryCertificateAlreadyRevoked"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"certificate 0x{kwargs['leaf'].hex()} of {kwargs['issuer']} is already revoked (final)"


class CertificateAlreadySuspendedError(RegistryRevert):
    solidity_name = "EcooRegistryCertificateAlreadySuspended"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"certificate 0x{kwargs['leaf'].hex()} of {kwargs['issuer']} is already suspended"


class CertificateNotSuspendedError(RegistryRevert):
    solidity_name = "EcooRegistryCertificateNotSuspended"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"certificate 0x{kwargs['leaf'].hex()} of {kwargs['issuer']} is not suspended"


class SuspendedByAuthorityError(RegistryRevert, PermissionError):
    solidity_name = "EcooRegistrySuspendedByAuthority"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"certificate 0x{kwargs['leaf'].hex()} of {kwargs['issuer']} was suspended by the authority; only it can lift that"


class InvalidReasonError(RegistryRevert, ValueError):
    solidity_name = "EcooRegistryInvalidReason"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"revocation reason {kwargs['reason']} is not allowed here (use supersede for SUPERSEDED)"


class SelfSupersedeError(RegistryRevert, ValueError):
    solidity_name = "EcooRegistrySelfSupersede"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"certificate 0x{kwargs['leaf'].hex()} cannot supersede itself"


class MissingRoleError(RegistryRevert, PermissionError):
    """OpenZeppelin AccessControl: the caller lacks a role."""

    solidity_name = "AccessControlUnauthorizedAccount"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return f"{kwargs['account']} lacks role 0x{kwargs['neededRole'].hex()}"


class BadConfirmationError(RegistryRevert):
    solidity_name = "AccessControlBadConfirmation"

    @classmethod
    def describe(cls, **kwargs: Any) -> str:
        return "renounceRole must be called by the account itself"


class InvalidShortStringError(RegistryRevert):
    """OpenZeppelin ShortStrings (EIP-712 name/version): only reachable at deployment."""

    solidity_name = "InvalidShortString"


class StringTooLongError(RegistryRevert):
    """OpenZeppelin ShortStrings (EIP-712 name/version): only reachable at deployment."""

    solidity_name = "StringTooLong"


REVERT_TYPES: tuple[type[RegistryRevert], ...] = (
    ZeroAddressError,
    ZeroHashError,
    InvalidMetadataError,
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
