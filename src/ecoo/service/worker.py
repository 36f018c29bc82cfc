"""The worker: sends what the database intends and lets the chain follower record what happened.

Each pass it follows the chain (``follower.py``), then, per chamber under that chamber's lease (one
key's nonces are never used by two processes): re-signs certificates still signed by a key the
chain has rotated away, sends every batch not yet anchored, forms new batches of PENDING
certificates and sends them, sends the chamber's queued intents (``intents.py``), and follows the
chain again. It never marks anything ISSUED or changed itself: the follower does, from the events.

Crash safety: a batch (the anchoring intent) is stored PREPARED, with its certificates, before its
root is sent; its transaction's hash is stored (SENT) as soon as the node has it. On the next pass
an unanchored batch is sent again only when the registry has no anchor of its root and the node no
longer knows its transaction; the registry refuses a second anchor of the same root in any case.
While the chain is down the worker backs off; nothing is lost.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..errors import EcooError, RootAlreadyAnchoredError
from ..merkle import MerkleTree
from ..protocol import certificate_digest
from ..registry import IssuerStatus, Registry
from .config import ServiceSettings
from .faults import fault_point
from .follower import ChainFollower
from .intents import IntentSender
from .status import BatchStatus
from .store import BatchRow, Store
from .vault import KeyVault

log = logging.getLogger(__name__)


class AnchoringWorker:
    def __init__(
        self,
        store: Store,
        registry: Callable[[], Registry],
        vault: KeyVault,
        settings: ServiceSettings,
        *,
        follower: ChainFollower | None = None,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.follower = follower or ChainFollower(store, registry, settings)
        self.sender = IntentSender(store, registry, vault, settings.lease_seconds)
        self.store = store
        self.registry = registry
        self.vault = vault
        self.settings = settings
        self.owner = owner or f"worker-{uuid.uuid4().hex[:12]}"
        self.clock = clock
        self.failures = 0
        self.last_error: str | None = None
        self.reconciler: Any = None  # a service.reconcile.Reconciler, set by the wiring
        self.reconciled_at = float("-inf")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- thread ----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="ecoo-anchoring", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """New certificates arrived: look now instead of at the next interval."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                self.maybe_reconcile()
                wait = self.settings.worker_interval if self.failures == 0 else self.backoff()
            except Exception as exc:  # noqa: BLE001 - the worker must survive anything and try again
                log.exception("worker pass failed")
                self.failures += 1
                self.last_error = f"{type(exc).__name__} in a worker pass (see the service's log)"
                wait = self.backoff()
            self._wake.wait(wait)
            self._wake.clear()

    def maybe_reconcile(self) -> None:
        """Check the database against the chain (and repair it) every ``reconcile_interval`` seconds."""
        if self.reconciler is None or self.clock() - self.reconciled_at < self.settings.reconcile_interval:
            return
        self.reconciled_at = self.clock()
        report = self.reconciler.run(repair=True)
        if report.found:
            log.warning("reconcile: %s found divergent, %s remain", len(report.found), len(report.remaining))

    def backoff(self) -> float:
        return float(min(self.settings.max_backoff, 0.5 * 2 ** min(self.failures, 10)))

    # -- one pass --------------------------------------------------------------------------------

    def run_once(self, force: bool = False) -> int:
        """One pass: follow, send, follow. Returns how many certificates became ISSUED. ``force``
        anchors pending certificates without waiting for the batch window."""
        issued = 0
        try:
            issued += self.follower.run_once().issued
        except EcooError as exc:
            self._failed(exc)
            return issued
        except Exception as exc:  # a database error in the projection: counted, shown in health, logged
            log.exception("following the chain failed")
            self._failed(EcooError(f"following the chain failed ({type(exc).__name__}; see the service's log)"))
            return issued
        failed, sent = False, 0
        chambers = sorted(set(self.store.chambers_with_pending()) | set(self.store.intent_repository.chambers_with_open()))
        for chamber_id in chambers:
            if self._stop.is_set():
                break
            if not self.store.acquire_lease(chamber_id, self.owner, self.settings.lease_seconds):
                continue  # another worker sends for this chamber
            try:
                sent += self._chamber_pass(chamber_id, force)
            except EcooError as exc:  # the chain is down (ChainUnavailableError) or refused: retry later
                failed = True
                self._failed(exc, chamber_id)
            finally:
                self.store.release_lease(chamber_id, self.owner)
        try:
            if sent:  # record what this pass sent (an idle pass asks the node once)
                issued += self.follower.run_once().issued
        except EcooError as exc:
            self._failed(exc)
            return issued
        if not failed:
            self.failures, self.last_error = 0, None
        return issued

    def _failed(self, exc: EcooError, chamber_id: int | None = None) -> None:
        self.failures += 1
        self.last_error = str(exc)
        where = f"for chamber {chamber_id} " if chamber_id is not None else ""
        log.warning("worker pass %sfailed (attempt %s): %s", where, self.failures, exc)

    def _chamber_pass(self, chamber_id: int, force: bool) -> int:
        """Send what the chamber has to send; returns how many transactions went out."""
        sent = 0
        for batch in self.store.batch_repository.unanchored(chamber_id):
            sent += self._send_batch(batch)
        self._resign_stale(chamber_id)  # after a dissolved batch too: its certificates are unbatched now
        while True:
            pending = self.store.pending(chamber_id, self.settings.batch_size)
            if not pending:
                break
            age = self.clock() - pending[0].created_at
            if not force and len(pending) < self.settings.batch_size and age < self.settings.batch_window:
                break  # wait for more certificates to share the root
            key_id = pending[0].key_id
            group = [row for row in pending if row.key_id == key_id]
            tree = MerkleTree.build([row.leaf_bytes for row in group])
            batch_id = self.store.create_batch(chamber_id, key_id, "0x" + tree.root.hex(), [row.id for row in group])
            created = self.store.batch_repository.get(batch_id)
            assert created is not None
            sent += self._send_batch(created)
        for intent in self.store.intent_repository.open_intents(chamber_id):
            sent += self.sender.send(intent) == "sent"
        return sent

    def _resign_stale(self, chamber_id: int) -> None:
        """Certificates not yet batched but signed by a key the chamber no longer uses (a rotation
        the follower confirmed) are signed again with the current key."""
        chamber = self.store.chamber(chamber_id)
        if chamber is None:
            return
        stale = self.store.certificate_repository.stale_pending(chamber_id, chamber.key_id)
        if not stale:
            return
        chain_id, registry_address = self.registry().chain_id, self.registry().address
        signer = self.vault.signer(self.store.key(chamber.key_id).ciphertext, chamber.id)
        signatures = {
            row.id: "0x" + signer.sign_digest(certificate_digest(chain_id, registry_address, row.leaf_bytes, row.number)).hex()
            for row in stale
        }
        self.store.resign_pending(chamber_id, chamber.key_id, signatures)

    def _send_batch(self, batch: BatchRow) -> bool:
        """Send ``batch``'s anchor unless it is anchored or on its way (whether it sent it); the
        follower records it."""
        registry = self.registry()
        key = self.store.key(batch.key_id)
        root = batch.root_bytes
        if batch.status == BatchStatus.SENT and batch.tx_hash:
            if registry.transaction_state(batch.tx_hash) in ("mined", "pending"):
                return False
        if registry.get_anchor(key.address, root) is not None:
            return False  # an earlier attempt got through
        standing = registry.get_issuer(key.address).status
        if standing != IssuerStatus.ACCREDITED:
            # The registry takes an anchor from anyone; verifiers trust only one made while the key
            # was accredited. A key rotated away: its batch is dissolved, to be re-signed and
            # batched with the chamber's key. A suspended chamber: its certificates wait.
            chamber = self.store.chamber(key.chamber_id)
            if chamber is not None and chamber.key_id != batch.key_id and self.store.batch_repository.dissolve(batch.id):
                log.warning("batch %s was signed by a key the chamber no longer uses: dissolved", batch.id)
                return False
            message = f"not sent: the chamber's key {key.address} is {standing.name} on the registry"
            self.store.batch_attempt(batch.id, message)
            raise EcooError(message)  # the worker backs off; health shows why
        signer = self.vault.signer(key.ciphertext, key.chamber_id)

        def on_sent(tx_hash: str) -> None:
            self.store.batch_attempt(batch.id, None, tx_hash)
            fault_point("anchor.after_send")

        fault_point("anchor.before_send")
        try:
            result = registry.anchor(signer, root, on_sent=on_sent)
        except RootAlreadyAnchoredError:
            return False  # a previous attempt got through after all
        except EcooError as exc:
            self.store.batch_attempt(batch.id, str(exc))
            raise
        log.info("sent the anchor of batch %s in %s", batch.id, result.tx_hash)
        return True
