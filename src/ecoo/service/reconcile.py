"""Reconciliation: compare every certificate's status in the database with what the chain says,
report what differs, and repair it from the chain.

The chain is asked directly, at the newest confirmed block, through the registry's batch view
(one ``eth_call`` per 200 certificates), not through the events the follower stored: a projection
that missed or misread an event is found. A repair projects every certificate again from the
stored events and, if that is not enough, reads the registry's events again from its deployment.
``ecoo reconcile`` runs it by hand; the worker runs it every ``ECOO_RECONCILE_INTERVAL`` seconds,
and ``/api/v1/health`` shows how many certificates the last run left divergent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ..registry import CertificateState, Registry, RevocationReason
from ..registry import CertificateStatus as ChainStatus
from .follower import ChainFollower
from .status import CertificateStatus
from .store import Store

log = logging.getLogger(__name__)

#: Certificates per verification call.
CHUNK = 200


@dataclass(frozen=True)
class Divergence:
    id: int
    number: str
    database: str
    chain: str


@dataclass
class ReconcileReport:
    block: int = -1
    checked: int = 0
    found: list[Divergence] = field(default_factory=list)  # before any repair
    remaining: list[Divergence] = field(default_factory=list)  # after it
    repaired: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "block": self.block,
            "checked": self.checked,
            "divergent": [d.__dict__ for d in self.found],
            "repaired": self.repaired,
            "remaining": [d.__dict__ for d in self.remaining],
        }


def chain_status(state: CertificateState) -> CertificateStatus:
    """The service status the registry's answer stands for."""
    if not state.anchored or not state.accredited_at_anchor:  # an untrusted anchor issues nothing
        return CertificateStatus.PENDING
    if state.status == ChainStatus.ACTIVE:
        return CertificateStatus.ISSUED
    if state.status == ChainStatus.SUSPENDED:
        return CertificateStatus.SUSPENDED
    if state.reason == RevocationReason.CANCELLED:
        return CertificateStatus.CANCELLED
    if state.reason == RevocationReason.SUPERSEDED:
        return CertificateStatus.SUPERSEDED
    return CertificateStatus.REVOKED


class Reconciler:
    def __init__(self, store: Store, registry: Callable[[], Registry], follower: ChainFollower) -> None:
        self.store, self.registry, self.follower = store, registry, follower

    def run(self, repair: bool = True) -> ReconcileReport:
        """Check every batched certificate against the chain; with ``repair``, repair what differs."""
        registry = self.registry()
        self.follower.run_once(force=True)
        report = ReconcileReport()
        report.found = self._divergent(registry, report)
        report.remaining = report.found
        if report.found and repair:
            log.warning("reconcile: %s certificate(s) differ from the chain; repairing", len(report.found))
            self.store.chain_repository.reproject_all(registry.address)
            report.remaining = self._divergent(registry, ReconcileReport())
            if report.remaining:  # the stored events themselves are short: read them all again
                self.follower.reread()
                self.store.chain_repository.reproject_all(registry.address)
                report.remaining = self._divergent(registry, ReconcileReport())
            report.repaired = True
        self.store.chain_repository.set_divergent(registry.address, len(report.remaining))
        return report

    def _divergent(self, registry: Registry, report: ReconcileReport) -> list[Divergence]:
        # Compared at the block the projection has read up to: a change mined since is not a
        # divergence, only something the follower has yet to read.
        cursor = self.store.chain_repository.cursor(registry.address)
        confirmed = max(0, cursor.block_number) if cursor is not None else 0
        report.block = confirmed
        rows = self.store.chain_repository.batched_certificates()
        found: list[Divergence] = []
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            queries = [row.query(issuer, root) for row, issuer, root in chunk]
            states = registry.verify_certificates(queries, block=confirmed)
            for (row, _, _), state in zip(chunk, states, strict=True):
                expected = chain_status(state)
                if expected != row.status:
                    found.append(Divergence(row.id, row.number, row.status, expected))
        report.checked = len(rows)
        return found
