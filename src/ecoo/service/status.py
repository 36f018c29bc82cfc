"""The service's status vocabulary, one enum per lifecycle.

These are the states the service records for its own rows; the registry's on-chain states are
:class:`ecoo.registry.CertificateStatus` and :class:`ecoo.registry.IssuerStatus`. Members are
``StrEnum``s, so they are stored, compared and serialised as their plain upper-case names.
"""

from __future__ import annotations

from enum import StrEnum


class CertificateStatus(StrEnum):
    """A certificate as the chamber's service sees it."""

    PENDING = "PENDING"  # accepted and signed, waiting for its batch to be anchored
    ISSUED = "ISSUED"  # its batch is anchored: the certificate verifies
    SUSPENDED = "SUSPENDED"  # on hold on chain (an enquiry); can be lifted
    REVOKED = "REVOKED"  # revoked on chain; final
    CANCELLED = "CANCELLED"  # withdrawn by the chamber (before anchoring, or revoked as Cancelled); final
    SUPERSEDED = "SUPERSEDED"  # replaced on chain by an amendment; final

    @property
    def final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({CertificateStatus.REVOKED, CertificateStatus.CANCELLED, CertificateStatus.SUPERSEDED})


class BatchStatus(StrEnum):
    """A batch of certificates on its way to the registry."""

    PREPARED = "PREPARED"  # its root is fixed and stored; no transaction sent yet
    SENT = "SENT"  # the anchoring transaction was sent; its hash is stored
    ANCHORED = "ANCHORED"  # the chain follower recorded the anchor
    DISSOLVED = "DISSOLVED"  # never anchored, signed by a retired key: its certificates were batched again


class AuditAction(StrEnum):
    """What an audit record says happened to a certificate (a status change, or its creation)."""

    CREATED = "CREATED"
    PENDING = "PENDING"
    ISSUED = "ISSUED"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    CANCELLED = "CANCELLED"
    SUPERSEDED = "SUPERSEDED"
    REQUESTED = "REQUESTED"  # a change was asked of the registry (an intent was stored)
    REQUEST_FAILED = "REQUEST_FAILED"  # the registry refused it, or it was given up


class IntentKind(StrEnum):
    """What a chamber asked the registry to do for one certificate (or key)."""

    REVOKE = "REVOKE"
    SUSPEND = "SUSPEND"
    LIFT = "LIFT"
    SUPERSEDE = "SUPERSEDE"  # also a certified true copy: the original points to its replacement
    ROTATE = "ROTATE"  # the chamber's signing key


class IntentState(StrEnum):
    """An intent from the request that stored it to the event that completes it."""

    QUEUED = "QUEUED"  # stored; not sent yet (or to be sent again)
    SENT = "SENT"  # its transaction is with the node; its hash is stored
    DONE = "DONE"  # the follower saw the registry's event
    FAILED = "FAILED"  # the registry refused it, or it was given up; last_error says why

    @property
    def open(self) -> bool:
        return self in (IntentState.QUEUED, IntentState.SENT)
