"""Sending intents to the registry: the one place that turns a stored intent into a transaction.

The request that stores an intent sends it at once; the worker sends what is still QUEUED (a crash
before sending, a transaction the chain dropped, a cancel waiting for its batch's anchor) and gives
up after :data:`MAX_ATTEMPTS`. Before sending, the registry's own state is read: a change the chain
already shows is never sent twice, and a refusal is checked against it (an earlier attempt may have
got through). Nothing here writes a certificate's status: the chain follower does, from the event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..errors import ChainUnavailableError, EcooError, RegistryRevert, SendOutcomeUnknownError
from ..registry import CertificateState, Registry, RevocationReason
from ..registry import CertificateStatus as ChainStatus
from .faults import fault_point
from .status import CertificateStatus, IntentKind, IntentState
from .store import CertificateRow, IntentRow, Store
from .vault import KeyVault

log = logging.getLogger(__name__)

#: Transactions sent for one intent before it is given up (FAILED, with the last error).
MAX_ATTEMPTS = 5

#: The service status each intent leads to.
TARGET = {
    IntentKind.SUSPEND: CertificateStatus.SUSPENDED,
    IntentKind.LIFT: CertificateStatus.ISSUED,
    IntentKind.SUPERSEDE: CertificateStatus.SUPERSEDED,
}


def target_status(intent: IntentRow) -> CertificateStatus:
    if intent.kind == IntentKind.REVOKE:
        cancelled = intent.revocation_reason == RevocationReason.CANCELLED
        return CertificateStatus.CANCELLED if cancelled else CertificateStatus.REVOKED
    return TARGET[intent.kind]


def chain_shows(intent: IntentRow, state: CertificateState) -> bool:
    """Whether the registry's state of the certificate is already what ``intent`` asks for."""
    if intent.kind == IntentKind.REVOKE:
        return state.status == ChainStatus.REVOKED
    if intent.kind == IntentKind.SUSPEND:
        return state.status == ChainStatus.SUSPENDED
    if intent.kind == IntentKind.LIFT:
        return state.status == ChainStatus.ACTIVE
    if intent.kind == IntentKind.SUPERSEDE:
        return state.status == ChainStatus.REVOKED and state.reason == RevocationReason.SUPERSEDED
    return False


class IntentSender:
    def __init__(self, store: Store, registry: Callable[[], Registry], vault: KeyVault, claim_seconds: float = 60.0) -> None:
        self.store, self.registry, self.vault = store, registry, vault
        self.claim_seconds = claim_seconds  # a crashed sender's claim on an intent expires after this (ECOO_LEASE_SECONDS)

    def send(self, intent: IntentRow, *, raise_refusal: bool = False) -> str:
        """Move ``intent`` on by one step; returns what happened: "sent" (mined), "waiting" (on its
        transaction, its batch's anchor or the follower), "failed" (refused or given up) or "done".
        Raises ChainUnavailableError when the chain cannot be reached before anything is sent, and
        with ``raise_refusal`` the registry's refusal (after closing the intent as failed)."""
        intents = self.store.intent_repository
        if intent.kind == IntentKind.ROTATE or intent.certificate_id is None:
            return "waiting"  # a rotation is sent by its command, with the authority's key
        claimed = intents.claim(intent.id, self.claim_seconds)  # the intent as it is now, if nobody else sends it
        if claimed is None:
            current = intents.get(intent.id)
            return "waiting" if current is not None and current.state.open else "done"
        try:
            return self._step(claimed, raise_refusal)
        finally:
            intents.release(intent.id)

    def _step(self, intent: IntentRow, raise_refusal: bool) -> str:
        intents = self.store.intent_repository
        row = self.store.get_certificate(intent.certificate_id or 0)
        assert row is not None
        target = target_status(intent)
        if row.status.final and row.status != target:
            intents.mark_failed(intent.id, f"the certificate is {row.status} on the registry")
            self._withdraw_replacement(intent)
            return "failed"
        if row.status == CertificateStatus.PENDING:
            return "waiting"  # a cancel of a batched certificate: sent once the batch is anchored
        registry = self.registry()
        if intent.state == IntentState.SENT and intent.tx_hash:
            state = registry.transaction_state(intent.tx_hash)
            if state in ("mined", "pending"):
                return "waiting"  # the follower completes it from the event
        if self._chain_shows(registry, intent, row):
            if row.status == target:  # the follower recorded it before this intent existed
                intents.mark_done(intent.id, f"the certificate is {row.status}")
                return "done"
            return "waiting"  # an earlier attempt got through: the follower completes it
        if intent.attempts >= MAX_ATTEMPTS:
            intents.mark_failed(intent.id, f"given up after {intent.attempts} attempts: {intent.last_error}")
            self._withdraw_replacement(intent)
            return "failed"
        return self._transact(registry, intent, row, raise_refusal)

    def _chain_shows(self, registry: Registry, intent: IntentRow, row: CertificateRow) -> bool:
        if row.document is None:
            return False
        proof = row.document["proof"]
        return chain_shows(intent, registry.verify_certificate(row.query(proof["issuer"], proof["root"])))

    def _transact(self, registry: Registry, intent: IntentRow, row: CertificateRow, raise_refusal: bool) -> str:
        intents = self.store.intent_repository
        chamber = self.store.chamber(intent.chamber_id)
        assert chamber is not None
        signer = self.vault.signer(self.store.key(chamber.key_id).ciphertext, chamber.id)
        owner = self.store.key(row.key_id).address
        sent: list[str] = []

        def on_sent(tx_hash: str) -> None:
            sent.append(tx_hash)
            intents.mark_sent(intent.id, tx_hash)
            fault_point("intent.after_send", intent.kind)

        call = self._call(registry, intent, row, signer, owner, on_sent)
        fault_point("intent.before_send", intent.kind)
        try:
            call()
        except RegistryRevert as exc:
            if self._chain_shows(registry, intent, row):
                return "waiting"
            intents.mark_failed(intent.id, f"the registry refused it: {exc}")
            self._withdraw_replacement(intent)
            if raise_refusal:
                raise
            return "failed"
        except SendOutcomeUnknownError as exc:
            # The node may have the transaction (its answer was lost): never "nothing was sent".
            # The next pass looks at the chain and sends again only if it shows nothing.
            intents.note_error(intent.id, str(exc))
            return "waiting"
        except ChainUnavailableError:
            if sent:
                return "waiting"  # the node has it; the next pass looks its receipt up
            raise
        except EcooError as exc:  # no receipt in time, or a send error: try again on the next pass
            if sent:
                intents.note_error(intent.id, str(exc))
            else:
                intents.requeue(intent.id, str(exc))
            return "waiting"
        return "sent"

    @staticmethod
    def _call(registry: Registry, intent: IntentRow, row: CertificateRow, signer: Any, owner: str, on_sent: Any) -> Any:
        leaf = row.leaf_bytes
        if intent.kind == IntentKind.REVOKE:
            reason = RevocationReason(intent.revocation_reason or 0)
            return lambda: registry.revoke(signer, leaf, reason, issuer=owner, on_sent=on_sent)
        if intent.kind == IntentKind.SUSPEND:
            return lambda: registry.suspend_certificate(signer, leaf, issuer=owner, on_sent=on_sent)
        if intent.kind == IntentKind.LIFT:
            return lambda: registry.lift_certificate_suspension(signer, leaf, issuer=owner, on_sent=on_sent)
        assert intent.successor_leaf is not None
        successor = bytes.fromhex(intent.successor_leaf[2:])
        return lambda: registry.supersede(signer, leaf, successor, issuer=owner, on_sent=on_sent)

    def _withdraw_replacement(self, intent: IntentRow) -> None:
        """A supersede that will not happen: withdraw its replacement if no batch took it yet, so
        that the same amendment or copy can be asked for again."""
        if intent.kind == IntentKind.SUPERSEDE and intent.successor_leaf:
            replacement = self.store.find_by_leaf(intent.successor_leaf)
            if replacement is not None:
                self.store.withdraw(replacement.id, "the supersede it belonged to failed", "worker")
