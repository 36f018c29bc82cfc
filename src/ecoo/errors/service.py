"""What the chamber's service refuses to do, and why (each with its API ``code``)."""

from __future__ import annotations

from typing import Any

from .base import EcooError
from .registry import RegistryRevert

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
