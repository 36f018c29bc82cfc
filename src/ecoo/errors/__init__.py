"""Every exception ecoo raises on purpose (defined in :mod:`.base`, :mod:`.registry` and
:mod:`.service`, all importable from here): one root, :class:`EcooError`, and domain subclasses.

Where callers expect a builtin, a class also inherits it (``ValueError``, ``ConnectionError``,
``PermissionError``). The hierarchy::

    EcooError
    ├── ConfigurationError (ValueError)      a setting, key source or argument is wrong
    │   └── TrustListRefusedError            a trust list refused (signature, publisher, rollback)
    ├── CompilerNotFoundError, CompilationError
    ├── ChainUnavailableError (ConnectionError), SendOutcomeUnknownError   never a verdict
    ├── DeploymentNotFoundError, TransactionFailedError, AnvilError, DataDirectoryInUseError
    ├── InputError (ValueError)              a file or body is not what it should be
    │   └── DeclarationInputError            a customs declaration that cannot be read
    ├── CanonicalizationError, ProtocolError, PdfError (ValueError)
    ├── InvalidCertificatesError (ValueError)     the library refused a batch
    ├── RegistryRevert                       one subclass per custom error of the contract,
    │   ├── ZeroAddressError, ZeroHashError, InvalidMetadataError (ValueError) ...
    │   ├── IssuerNotAccreditedError, UnauthorizedError (PermissionError) ...
    │   └── NotCustomsError, UtilisationExceededError, CertifiedQuantityMismatchError ...  customs records
    ├── ServiceError                         what the chamber's service refuses, with an API code
    │   ├── NoCertificatesError, BatchTooLargeError, RejectedCertificatesError ...
    │   └── FinalStatusError, NotSuspendedError, RegistryRefusedError ...
    ├── StoreError: DuplicateCertificateError, IntentConflictError, CursorMovedError
    └── VaultError

Reverts map by the custom error's 4-byte selector (never by text) to a :class:`RegistryRevert`
subclass with the decoded arguments. The HTTP layer's ``ApiError`` and the one table mapping these
classes to HTTP statuses are in :mod:`ecoo.service.http`.
"""

from __future__ import annotations

from ..urls import redact_url as redact_url  # where callers have always found it
from .base import (
    AnvilError as AnvilError,
)
from .base import (
    CanonicalizationError as CanonicalizationError,
)
from .base import (
    ChainUnavailableError as ChainUnavailableError,
)
from .base import (
    CompilationError as CompilationError,
)
from .base import (
    CompilerNotFoundError as CompilerNotFoundError,
)
from .base import (
    ConfigurationError as ConfigurationError,
)
from .base import (
    CursorMovedError as CursorMovedError,
)
from .base import (
    DataDirectoryInUseError as DataDirectoryInUseError,
)
from .base import (
    DeclarationInputError as DeclarationInputError,
)
from .base import (
    DeploymentNotFoundError as DeploymentNotFoundError,
)
from .base import (
    DuplicateCertificateError as DuplicateCertificateError,
)
from .base import (
    EcooError as EcooError,
)
from .base import (
    InputError as InputError,
)
from .base import (
    IntentConflictError as IntentConflictError,
)
from .base import (
    InvalidCertificatesError as InvalidCertificatesError,
)
from .base import (
    PdfError as PdfError,
)
from .base import (
    ProtocolError as ProtocolError,
)
from .base import (
    SendOutcomeUnknownError as SendOutcomeUnknownError,
)
from .base import (
    StoreError as StoreError,
)
from .base import (
    TransactionFailedError as TransactionFailedError,
)
from .base import (
    TrustListRefusedError as TrustListRefusedError,
)
from .base import (
    VaultError as VaultError,
)
from .registry import (
    REVERT_TYPES as REVERT_TYPES,
)
from .registry import (
    BadConfirmationError as BadConfirmationError,
)
from .registry import (
    CertificateAlreadyRevokedError as CertificateAlreadyRevokedError,
)
from .registry import (
    CertificateAlreadySuspendedError as CertificateAlreadySuspendedError,
)
from .registry import (
    CertificateNotSuspendedError as CertificateNotSuspendedError,
)
from .registry import (
    CertifiedQuantityMismatchError as CertifiedQuantityMismatchError,
)
from .registry import (
    CustomsAlreadyGrantedError as CustomsAlreadyGrantedError,
)
from .registry import (
    InvalidAccreditationCodeError as InvalidAccreditationCodeError,
)
from .registry import (
    InvalidAdminError as InvalidAdminError,
)
from .registry import (
    InvalidAuthorityError as InvalidAuthorityError,
)
from .registry import (
    InvalidCountryError as InvalidCountryError,
)
from .registry import (
    InvalidCustomsError as InvalidCustomsError,
)
from .registry import (
    InvalidIssuerError as InvalidIssuerError,
)
from .registry import (
    InvalidItemError as InvalidItemError,
)
from .registry import (
    InvalidMetadataError as InvalidMetadataError,
)
from .registry import (
    InvalidNameError as InvalidNameError,
)
from .registry import (
    InvalidNewKeyError as InvalidNewKeyError,
)
from .registry import (
    InvalidQuantityError as InvalidQuantityError,
)
from .registry import (
    InvalidReasonError as InvalidReasonError,
)
from .registry import (
    InvalidRejectionCodeError as InvalidRejectionCodeError,
)
from .registry import (
    InvalidRootError as InvalidRootError,
)
from .registry import (
    InvalidShortStringError as InvalidShortStringError,
)
from .registry import (
    InvalidSuccessorError as InvalidSuccessorError,
)
from .registry import (
    IssuerAlreadyRegisteredError as IssuerAlreadyRegisteredError,
)
from .registry import (
    IssuerNotAccreditedError as IssuerNotAccreditedError,
)
from .registry import (
    IssuerNotSuspendedError as IssuerNotSuspendedError,
)
from .registry import (
    MissingRoleError as MissingRoleError,
)
from .registry import (
    NotCustomsError as NotCustomsError,
)
from .registry import (
    RegistryRevert as RegistryRevert,
)
from .registry import (
    RootAlreadyAnchoredError as RootAlreadyAnchoredError,
)
from .registry import (
    SelfSupersedeError as SelfSupersedeError,
)
from .registry import (
    StringTooLongError as StringTooLongError,
)
from .registry import (
    SuspendedByAuthorityError as SuspendedByAuthorityError,
)
from .registry import (
    UnauthorizedError as UnauthorizedError,
)
from .registry import (
    UtilisationExceededError as UtilisationExceededError,
)
from .registry import (
    ZeroAddressError as ZeroAddressError,
)
from .registry import (
    ZeroHashError as ZeroHashError,
)
from .service import (
    AnchoringInProgressError as AnchoringInProgressError,
)
from .service import (
    BatchTooLargeError as BatchTooLargeError,
)
from .service import (
    ChangeInProgressError as ChangeInProgressError,
)
from .service import (
    FinalStatusError as FinalStatusError,
)
from .service import (
    InvalidAmendmentError as InvalidAmendmentError,
)
from .service import (
    InvalidReasonTextError as InvalidReasonTextError,
)
from .service import (
    MissingAmendmentReasonError as MissingAmendmentReasonError,
)
from .service import (
    NoCertificatesError as NoCertificatesError,
)
from .service import (
    NotIssuedError as NotIssuedError,
)
from .service import (
    NotSuspendedError as NotSuspendedError,
)
from .service import (
    RegistryRefusedError as RegistryRefusedError,
)
from .service import (
    RegistryUnreachableError as RegistryUnreachableError,
)
from .service import (
    RejectedCertificatesError as RejectedCertificatesError,
)
from .service import (
    ServiceError as ServiceError,
)
from .service import (
    UnknownRevocationReasonError as UnknownRevocationReasonError,
)
