"""The chain follower: reads the registry's events and projects them onto the service's database.

Anchoring and status in the database are a projection of registry events, never written from the
result of a call that might not have happened. The follower

- reads ``eth_getLogs`` over block ranges, only up to the newest block with ``ECOO_CONFIRMATIONS``
  confirmations, so nothing is ISSUED before its anchor has them;
- keeps its cursor (block number and hash) in the database and resumes from it after a restart;
- notices a reorganisation when the cursor's block hash is no longer on the chain, rewinds to the
  newest stored event whose block is still there, and reads again (an anchor the reorganisation
  removed makes its batch unanchored again, and the worker sends it again);
- runs in one service process per registry at a time (a lease in the database).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..chain import NETWORK_ERRORS
from ..deploy import load_deployment
from ..errors import ChainUnavailableError, EcooError
from ..merkle import MerkleTree
from ..protocol import Prepared, build_document
from ..registry import CertificateQuery, Registry, RegistryEvent
from .config import ServiceSettings
from .store import CertificateRow, Store
from .store.chain_repository import Projected
from .store.customs_records import CUSTOMS_EVENTS

log = logging.getLogger(__name__)

#: Most blocks one eth_getLogs asks for (nodes limit the range; a long catch-up takes several).
BLOCK_RANGE = 2_000


@dataclass
class FollowResult:
    """One pass: how far it read, what it projected, and how many events a reorganisation undid."""

    block: int = -1
    events: int = 0
    issued: int = 0
    changed: int = 0
    rewound: int = 0
    rotated: tuple[int, ...] = ()
    customs: int = 0  # customs records (receipt, utilisation, rejection) of this service's certificates


def prepared_of(row: CertificateRow) -> Prepared:
    """The prepared certificate (salted, hashed) a stored row holds."""
    return Prepared(certificate=row.data, salts=row.salt_bytes, leaf=row.leaf_bytes)


class ChainFollower:
    def __init__(
        self, store: Store, registry: Callable[[], Registry], settings: ServiceSettings, *, owner: str | None = None
    ) -> None:
        self.store = store
        self.registry = registry
        self.settings = settings
        self.owner = owner or f"follower-{uuid.uuid4().hex[:12]}"
        self.last_block: int | None = None
        self._seen: tuple[int, str] | None = None  # the head (number, hash) the last full pass saw
        self._lock = threading.Lock()

    def start_block(self, registry: Registry) -> int:
        """The registry's deployment block, where there is nothing earlier to read (0 if unknown)."""
        deployment = load_deployment(self.settings.deployments_dir, registry.chain_id)
        if deployment is not None and deployment.address.lower() == registry.address.lower():
            return int(deployment.block)
        return 0

    def run_once(self, force: bool = False) -> FollowResult:
        """Read every confirmed block since the cursor and project its events (raises
        ChainUnavailableError while the chain is down; the next pass resumes). Without ``force``
        a pass that finds the chain's head exactly as the last pass left it (number and hash: a
        reorganisation changes the hash) touches neither the node's logs nor the database."""
        registry = self.registry()
        seen = registry.head()
        if not force and seen == self._seen:
            return FollowResult(block=self.last_block if self.last_block is not None else -1)
        with self._leased(registry) as held:
            if not held:
                return FollowResult()  # another process follows this registry
            result = self._follow(registry)
        self._seen = seen
        return result

    def reread(self) -> int:
        """Read the registry's events again from its deployment (a repair), holding the lease so
        that no other pass records meanwhile; returns the events read."""
        registry = self.registry()
        with self._leased(registry, wait=self.settings.lease_seconds) as held:
            if not held:
                raise EcooError(f"another process has followed the chain for over {self.settings.lease_seconds:.0f} s: try again")
            self.store.chain_repository.rewind(registry.address, self.start_block(registry) - 1, None, repair=True)
            result = self._follow(registry)
        self._seen = None
        return result.events

    @contextmanager
    def _leased(self, registry: Registry, wait: float = 0.0) -> Iterator[bool]:
        """One pass at a time: a lock in this process (the worker, requests and reconciliation
        share the follower) and the lease in the database across processes."""
        if not self._lock.acquire(timeout=max(wait, self.settings.lease_seconds)):
            yield False
            return
        try:
            chains = self.store.chain_repository
            start, deadline = self.start_block(registry), time.monotonic() + wait
            held = chains.acquire_lease(registry.address, registry.chain_id, start, self.owner, self.settings.lease_seconds)
            while not held and time.monotonic() < deadline:
                time.sleep(0.2)
                held = chains.acquire_lease(registry.address, registry.chain_id, start, self.owner, self.settings.lease_seconds)
            try:
                yield held
            finally:
                if held:
                    chains.release_lease(registry.address, self.owner)
        finally:
            self._lock.release()

    def _follow(self, registry: Registry) -> FollowResult:
        chains = self.store.chain_repository
        result = FollowResult()
        cursor = chains.cursor(registry.address)
        assert cursor is not None  # acquire_lease created it
        block = cursor.block_number
        if cursor.block_hash is not None and registry.block_hash(block) != cursor.block_hash:
            block, block_hash = self._fork_point(registry, block)
            result.rewound = chains.rewind(registry.address, block, block_hash)
            log.warning("reorganisation: rewound to block %s (%s events undone)", block, result.rewound)
        head, _ = registry.head()
        confirmed = head - self.settings.confirmations + 1
        known = chains.known_issuers()
        while block < confirmed:
            to = min(confirmed, block + BLOCK_RANGE)
            # The hash of the range's last block before and after reading its logs: a
            # reorganisation in between changes it, and the pass stops (the next one rewinds).
            to_hash = registry.block_hash(to)
            events, documents = self._anchored_batches(
                registry, [e for e in registry.events(block + 1, to) if self._ours(e, known)]
            )
            times = self._block_times(registry, events)
            if registry.block_hash(to) != to_hash or any(e.block_number == to and e.block_hash != to_hash for e in events):
                log.warning("the chain reorganised while blocks %s..%s were read; reading again next pass", block + 1, to)
                break
            projected = chains.record(registry.address, events, to, to_hash, documents, after=block, times=times)
            # A long catch-up keeps its claim (the same owner renews it).
            chains.acquire_lease(registry.address, registry.chain_id, 0, self.owner, self.settings.lease_seconds)
            self._add(result, events, projected)
            block = to
        result.block = block
        self.last_block = block
        return result

    @staticmethod
    def _ours(event: RegistryEvent, known: set[str]) -> bool:
        return event.issuer.lower() in known or (event.name == "IssuerKeyRotated" and event.subject.lower() in known)

    @staticmethod
    def _add(result: FollowResult, events: list[RegistryEvent], projected: Projected) -> None:
        result.events += len(events)
        result.issued += projected.issued
        result.changed += projected.changed
        result.rotated += projected.rotated
        result.customs += projected.customs

    @staticmethod
    def _block_times(registry: Registry, events: list[RegistryEvent]) -> dict[int, float]:
        """The time of each block holding a customs record (what the chamber sees as "at"): one
        request per such block, none for a range without customs records."""
        times: dict[int, float] = {}
        for number in sorted({e.block_number for e in events if e.name in CUSTOMS_EVENTS}):
            try:
                times[number] = float(registry.w3.eth.get_block(number)["timestamp"])
            except NETWORK_ERRORS as exc:
                raise ChainUnavailableError(registry.node.url, type(exc).__name__) from exc
        return times

    def _fork_point(self, registry: Registry, cursor_block: int) -> tuple[int, str | None]:
        """The newest block at or below the cursor whose stored events are still on the chain; the
        block before the registry's deployment when none are."""
        for number, block_hash in self.store.chain_repository.event_blocks(registry.address, -1):
            if number <= cursor_block and registry.block_hash(number) == block_hash:
                return number, block_hash
        return self.start_block(registry) - 1, None

    def _anchored_batches(
        self, registry: Registry, events: list[RegistryEvent]
    ) -> tuple[list[RegistryEvent], dict[int, dict[int, dict[str, Any]]]]:
        """The events that may be recorded, and the issued documents of every batch they anchor
        (batch id → certificate id → document). An anchor is recorded only if its key was
        accredited when it was made (verifiers trust nothing else; the registry accepts an anchor
        from anyone): an untrusted one leaves its certificates PENDING, the batch saying why."""
        kept: list[RegistryEvent] = []
        documents: dict[int, dict[int, dict[str, Any]]] = {}
        for event in events:
            batch = self.store.batch_repository.by_root(event.issuer, event.subject) if event.name == "BatchAnchored" else None
            rows = self.store.batch_certificates(batch.id) if batch is not None else []
            if batch is None or not rows:
                kept.append(event)
                continue
            # Asked at the newest block: the registry keeps each anchor's time and the key's
            # accreditation periods, and a restarted or pruned node has no state of older blocks.
            query = CertificateQuery(issuer=event.issuer, root=batch.root_bytes, leaf=rows[0].leaf_bytes, proof=())
            state = registry.verify_certificate(query)
            if not state.accredited_at_anchor and state.anchored:  # not anchored now: the reorg check decides
                self.store.batch_attempt(
                    batch.id,
                    "anchored while the chamber's key was not accredited: verifiers will not trust it; issue these again",
                )
                log.error("batch %s was anchored in %s while its key was not accredited", batch.id, event.tx_hash)
                continue
            kept.append(event)
            tree = MerkleTree.build([row.leaf_bytes for row in rows])
            if tree.root != batch.root_bytes:
                log.error("batch %s: its stored certificates do not make root %s", batch.id, batch.root)
                continue
            documents[batch.id] = {
                row.id: build_document(
                    prepared_of(row),
                    chain_id=registry.chain_id,
                    registry=registry.address,
                    issuer=event.issuer,
                    root=batch.root_bytes,
                    merkle_path=tree.proof(index),
                    signature=row.signature_bytes,
                )
                for index, row in enumerate(rows)
            }
        return kept, documents
