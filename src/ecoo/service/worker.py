"""The anchoring worker: collects PENDING certificates into batches, anchors each batch's root,
and marks the certificates ISSUED with their documents.

Crash safety: a batch is written to the database (PREPARED, certificates assigned) before its
root is sent, and finished in one transaction after the receipt. On restart an open batch is
first looked up on chain (``getAnchor``): if its root is anchored, it is finished from the chain's
record; if not, it is sent (again). The registry refuses a second anchor of the same root, so a
root is never anchored twice. One worker at a time holds a chamber's lease, so one key's nonces
are never used by two workers. While the chain is down the worker backs off; nothing is lost.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

from ..errors import ChainUnavailableError, EcooError, RootAlreadyAnchoredError
from ..merkle import MerkleTree
from ..protocol import Prepared, build_document
from ..registry import Registry
from .config import ServiceSettings
from .store import BatchRow, CertificateRow, Store
from .vault import KeyVault

log = logging.getLogger(__name__)


def prepared_of(row: CertificateRow) -> Prepared:
    return Prepared(
        certificate=row.data,
        salts=row.salt_bytes,
        leaf=row.leaf_bytes,
    )


class AnchoringWorker:
    def __init__(
        self,
        store: Store,
        registry: Callable[[], Registry],
        vault: KeyVault,
        settings: ServiceSettings,
        *,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.registry = registry
        self.vault = vault
        self.settings = settings
        self.owner = owner or f"worker-{uuid.uuid4().hex[:12]}"
        self.clock = clock
        self.failures = 0
        self.last_error: str | None = None
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
                wait = self.settings.worker_interval if self.failures == 0 else self.backoff()
            except Exception:  # noqa: BLE001 - the worker must survive anything and try again
                log.exception("anchoring pass failed")
                self.failures += 1
                wait = self.backoff()
            self._wake.wait(wait)
            self._wake.clear()

    def backoff(self) -> float:
        return float(min(self.settings.max_backoff, 0.5 * 2 ** min(self.failures, 10)))

    # -- one pass --------------------------------------------------------------------------------

    def run_once(self, force: bool = False) -> int:
        """One pass over all chambers; returns how many certificates were issued. ``force``
        anchors pending certificates without waiting for the batch window."""
        issued = 0
        for chamber_id in self.store.chambers_with_pending():
            if self._stop.is_set():
                break
            if not self.store.acquire_lease(chamber_id, self.owner, self.settings.lease_seconds):
                continue  # another worker anchors for this chamber
            try:
                issued += self._chamber_pass(chamber_id, force)
                self.failures, self.last_error = 0, None
            except EcooError as exc:  # the chain is down (ChainUnavailableError) or refused: retry later
                self.failures += 1
                self.last_error = str(exc)
                log.warning("anchoring for chamber %s failed (attempt %s): %s", chamber_id, self.failures, exc)
            finally:
                self.store.release_lease(chamber_id, self.owner)
        return issued

    def _chamber_pass(self, chamber_id: int, force: bool) -> int:
        issued = 0
        for batch in self.store.batch_repository.unanchored(chamber_id):
            issued += self._anchor_batch(batch)
        while True:
            pending = self.store.pending(chamber_id, self.settings.batch_size)
            if not pending:
                return issued
            age = self.clock() - pending[0].created_at
            if not force and len(pending) < self.settings.batch_size and age < self.settings.batch_window:
                return issued  # wait for more certificates to share the root
            key_id = pending[0].key_id
            group = [row for row in pending if row.key_id == key_id]
            tree = MerkleTree.build([row.leaf_bytes for row in group])
            batch_id = self.store.create_batch(chamber_id, key_id, "0x" + tree.root.hex(), [row.id for row in group])
            created = self.store.batch_repository.get(batch_id)
            assert created is not None
            issued += self._anchor_batch(created)

    def _anchor_batch(self, batch: BatchRow) -> int:
        registry = self.registry()
        key = self.store.key(batch.key_id)
        address, ciphertext, chamber_id = key.address, key.ciphertext, key.chamber_id
        root = batch.root_bytes
        anchored = registry.get_anchor(address, root)
        tx_hash: str | None = None
        if anchored is None:
            signer = self.vault.signer(ciphertext, chamber_id)
            try:
                result = registry.anchor(signer, root)
                tx_hash, block = result.tx_hash, result.block_number
            except RootAlreadyAnchoredError:
                anchored = registry.get_anchor(address, root)  # a previous attempt got through after all
            except EcooError as exc:
                self.store.batch_attempt(batch.id, str(exc))
                raise
        if tx_hash is None:
            if anchored is None:
                raise ChainUnavailableError(self.settings.rpc_url, "anchor state unknown")
            block = anchored[1]
            tx_hash = registry.anchor_transaction(address, root, block)
        rows = self.store.batch_certificates(batch.id)
        tree = MerkleTree.build([row.leaf_bytes for row in rows])
        if tree.root != root:
            raise EcooError(f"batch {batch.id}: stored certificates do not make root {batch.root}")
        chain_id, registry_address = registry.chain_id, registry.address
        documents = {
            row.id: build_document(
                prepared_of(row),
                chain_id=chain_id,
                registry=registry_address,
                issuer=address,
                root=root,
                merkle_path=tree.proof(index),
                signature=row.signature_bytes,
            )
            for index, row in enumerate(rows)
        }
        self.store.finish_batch(batch.id, tx_hash, block, documents)
        log.info("anchored batch %s (%s certificates) in %s", batch.id, len(rows), tx_hash)
        return len(rows)
