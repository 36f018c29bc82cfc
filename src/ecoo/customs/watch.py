"""The watch list's follower: every registry a watched certificate is anchored on, read for the
events that change trust after clearance, each turned into alerts exactly once.

It follows the chamber service's chain follower (:mod:`ecoo.service.follower`) in what makes a
follower safe, with its own tables (:mod:`.alert_repository`):

- only blocks with ``ECOO_CONFIRMATIONS`` confirmations are read, so a revocation that a
  reorganisation removes before it is confirmed never alerts;
- a cursor per (chain id, registry) (block number and hash), moved by compare-and-set in the
  transaction that writes the range's alerts; a restart resumes from it, so nothing that happened
  while the service was down is missed and nothing is alerted twice;
- the hash of each range's last block is read before and after its logs: a reorganisation in
  between stops the pass; a cursor whose block is no longer on the chain is rewound to the newest
  alerted block still there (else to where watching began) and read again;
- a lease per registry, so that one process follows it at a time;
- each registry on its own: one chain down only delays that registry's alerts.

A certificate joins the watch list when a declaration accepts it, which may be after the cursor
went past the blocks since its verification (the records are sent in between, which may take
long): every newly watched certificate is looked for in the blocks after the one its verification
read (stored with it), up to the cursor, and marked looked back for on its own row (ids may commit
out of order on PostgreSQL). A row stored without that block (an earlier version) is looked for
since a little before its acceptance (:data:`LOOKBACK_SECONDS`).

Only ``CertificateRevoked``, ``CertificateSuperseded``, ``CertificateSuspended``,
``IssuerSuspended`` and ``IssuerKeyRotated`` are read. Kinds: see :data:`KINDS`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..chain import NETWORK_ERRORS, connect
from ..errors import ChainUnavailableError, CursorMovedError
from ..hashing import checksum_address
from ..registry import Registry, RegistryEvent, RevocationReason
from ..service.follower import BLOCK_RANGE
from ..trustlist import TrustEntry
from ..trustlist.routing import NODE_FAILURES, RPC_TIMEOUT
from ..urls import redact_url
from .alert_repository import AlertRepository, Finding, WatchCursor, WatchedCertificate
from .store import CustomsDatabase

log = logging.getLogger(__name__)

#: The registry events the watcher reads, and nothing else.
WATCHED_EVENTS = ("CertificateRevoked", "CertificateSuperseded", "CertificateSuspended", "IssuerSuspended", "IssuerKeyRotated")
#: Every alert kind, in the order the docs list them.
KINDS = ("revoked_fraud", "revoked_error", "cancelled", "superseded", "suspended", "issuer_suspended", "key_rotated")
#: A revocation's kind by its reason (a revocation with reason SUPERSEDED is a supersession).
REVOCATION_KINDS = {
    RevocationReason.FRAUD: "revoked_fraud",
    RevocationReason.ERROR: "revoked_error",
    RevocationReason.CANCELLED: "cancelled",
    RevocationReason.SUPERSEDED: "superseded",
}
#: How long before its acceptance a newly watched certificate's events are looked for: its
#: verification came a moment before, and the chain's clock may differ from this server's.
LOOKBACK_SECONDS = 120.0
#: A claim on following a registry expires after this (a process that died mid-pass).
LEASE_SECONDS = 60.0
#: Most predecessors followed back from a suspended key (a rotation chain is short).
ROTATION_DEPTH = 32
#: Newest alerted blocks tried as a reorganisation's fork point before reading from the start.
FORK_CANDIDATES = 64


class EntrySource(Protocol):
    """Where the watcher finds a registry's trust-list entry (``CustomsRegistries`` is one)."""

    def entry(self, chain_id: int, registry: str) -> TrustEntry | None: ...


class EntryNodes:
    """The registry of one trust-list entry, through the first of its nodes that answers for the
    entry's chain; the node is kept until it fails (then the list is tried in order again)."""

    def __init__(self, entry: TrustEntry, timeout: float = RPC_TIMEOUT) -> None:
        self.entry = entry
        self.timeout = timeout
        self._current: Registry | None = None

    def registry(self) -> Registry:
        if self._current is not None:
            return self._current
        failures: list[str] = []
        for url in self.entry.rpc_urls:
            try:
                registry = Registry(connect(url, self.timeout), self.entry.address)
                if registry.chain_id != self.entry.chain_id:  # a node of another chain never answers for this one
                    raise ChainUnavailableError(url, f"it serves chain {registry.chain_id}")
            except NODE_FAILURES as exc:
                failures.append(f"{redact_url(url)}: {short_reason(exc)}")
                continue
            self._current = registry
            return registry
        raise ChainUnavailableError(
            self.entry.rpc_urls[-1], f"chain {self.entry.chain_id}: no node of the trust list answers ({'; '.join(failures)})"
        )

    @property
    def current(self) -> Registry | None:
        """The registry through the node in use, if one answered."""
        return self._current

    def drop(self) -> None:
        """Forget the node in use (it failed): the next pass tries the list in order."""
        self._current = None


def short_reason(exc: BaseException) -> str:
    """A node failure in a few words, without its URL's secrets (ChainUnavailableError's message
    shows the URL redacted, and a hint for developers left out here; requests' own messages
    repeat the URL whole)."""
    if isinstance(exc, ChainUnavailableError):
        text = str(exc).split("; start one with", 1)[0]
        _, found, detail = text.partition(f"no Ethereum node answers at {redact_url(exc.url)}: ")
        return detail if found and detail else text
    if isinstance(exc, NETWORK_ERRORS) or "://" in str(exc):
        return type(exc).__name__
    return str(exc) or type(exc).__name__


@dataclass
class WatchResult:
    """One pass over one registry."""

    chain_id: int
    registry: str
    block: int = -1  # the cursor after the pass
    alerts: list[int] = field(default_factory=list)  # ids of the alerts it created
    rewound: bool = False
    error: str | None = None
    leased_elsewhere: bool = False


def findings_of(registry: Registry, events: Iterable[RegistryEvent]) -> list[Finding]:
    """The trust-changing events among ``events``, each with the keys whose certificates it concerns."""
    found: list[Finding] = []
    for event in events:
        issuers: tuple[str, ...] = (event.issuer.lower(),)
        leaf: str | None = None
        detail: dict[str, Any] = {}
        if event.name == "CertificateRevoked":
            reason = RevocationReason(event.reason or 0)
            kind, leaf, detail = REVOCATION_KINDS.get(reason, "revoked_error"), event.subject, {"reason": reason.name.lower()}
        elif event.name == "CertificateSuperseded":
            kind, leaf, detail = "superseded", event.subject, {"successor": event.successor}
        elif event.name == "CertificateSuspended":
            kind, leaf = "suspended", event.subject
        elif event.name == "IssuerSuspended":
            kind, issuers = "issuer_suspended", rotation_chain(registry, event.issuer)
            detail = {"suspendedKey": checksum_address(event.issuer)}
        elif event.name == "IssuerKeyRotated":
            kind, detail = "key_rotated", {"newKey": checksum_address(event.subject)}
        else:
            continue
        found.append(
            Finding(
                kind=kind,
                name=event.name,
                block_number=event.block_number,
                block_hash=event.block_hash,
                tx_hash=event.tx_hash,
                log_index=event.log_index,
                issuers=issuers,
                leaf=leaf,
                detail=detail,
            )
        )
    return found


def rotation_chain(registry: Registry, key: str) -> tuple[str, ...]:
    """``key`` and every older key it was rotated from (lower-case): a certificate anchored by an
    older key now stands on ``key``'s accreditation."""
    keys = [key.lower()]
    for _ in range(ROTATION_DEPTH):
        predecessor = registry.get_issuer(keys[-1]).predecessor
        if not predecessor or predecessor.lower() in keys:
            break
        keys.append(predecessor.lower())
    return tuple(keys)


def block_time(registry: Registry, number: int) -> int:
    try:
        return int(registry.w3.eth.get_block(number)["timestamp"])
    except NETWORK_ERRORS as exc:
        raise ChainUnavailableError(registry.node.url, type(exc).__name__) from exc


def first_block_after(registry: Registry, moment: float, low: int, high: int) -> int:
    """The first block in ``low..high`` whose time is at or after ``moment`` (``high + 1`` if none):
    a binary search, as block times only grow."""
    low = max(low, 0)
    while low <= high:
        middle = (low + high) // 2
        if block_time(registry, middle) >= moment:
            high = middle - 1
        else:
            low = middle + 1
    return low


class Watcher:
    """Follows every watched registry; :meth:`run_once` is one pass over all of them."""

    def __init__(
        self,
        db: CustomsDatabase,
        entries: EntrySource,
        *,
        confirmations: int = 1,
        owner: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        lookback_seconds: float = LOOKBACK_SECONDS,
        timeout: float = RPC_TIMEOUT,
    ) -> None:
        self.repository = AlertRepository(db)
        self.entries = entries
        self.confirmations = max(1, confirmations)
        self.owner = owner or f"watcher-{uuid.uuid4().hex[:12]}"
        self.lease_seconds = lease_seconds
        self.lookback_seconds = lookback_seconds
        self.timeout = timeout
        self._nodes: dict[tuple[int, str], EntryNodes] = {}
        self._lock = threading.Lock()  # one pass at a time in this process
        self._errors: dict[tuple[int, str], str] = {}  # the failure last logged, per registry

    def run_once(self) -> list[WatchResult]:
        """One pass over every watched registry; a registry that fails is noted and skipped."""
        with self._lock:
            return [self._watch_safely(chain_id, registry) for chain_id, registry in self.repository.watched_registries()]

    def _watch_safely(self, chain_id: int, registry: str) -> WatchResult:
        result = WatchResult(chain_id, registry)
        entry = self.entries.entry(chain_id, registry)
        if entry is None:
            result.error = f"registry {registry} on chain {chain_id} is not on the trust list"
            self._failed((chain_id, registry), result.error)
            return result
        nodes = self._nodes.get(entry.key)
        if nodes is None or nodes.entry != entry:  # new, or the trust list changed
            nodes = self._nodes[entry.key] = EntryNodes(entry, self.timeout)
        try:
            try:
                self._watch(nodes.registry(), result)
            except NODE_FAILURES:
                if nodes.current is None:
                    raise  # no node of the list answered
                nodes.drop()  # the node in use stopped answering: the list's others, in order
                self._watch(nodes.registry(), result)
        except CursorMovedError as exc:
            log.info("watch list: %s", exc)  # another pass moved it: the next one goes on from there
        except NODE_FAILURES as exc:
            nodes.drop()
            result.error = short_reason(exc)
        except Exception as exc:  # noqa: BLE001 - one registry's failure never stops the others
            nodes.drop()
            result.error = f"{type(exc).__name__}: {short_reason(exc)}"
            log.exception("watch list: chain %s registry %s", chain_id, registry)
        self._failed((chain_id, registry), result.error)
        if result.error is not None:
            self.repository.note_error(chain_id, registry, result.error)
        return result

    def _failed(self, key: tuple[int, str], error: str | None) -> None:
        """Log a registry's failure when it starts or changes, and its recovery (not every pass)."""
        before = self._errors.get(key)
        if error == before:
            return
        if error is None:
            log.info("watch list: chain %s registry %s answers again", *key)
            self._errors.pop(key, None)
        else:
            log.warning("watch list: chain %s registry %s: %s", *key, error)
            self._errors[key] = error

    def _watch(self, registry: Registry, result: WatchResult) -> None:
        repository, key = self.repository, (result.chain_id, result.registry)
        head, _ = registry.head()
        confirmed = head - self.confirmations + 1
        cursor = repository.cursor(*key)
        start = cursor.start_block if cursor is not None else self._start_block(registry, confirmed)
        if not repository.acquire_lease(*key, start, self.owner, self.lease_seconds):
            result.leased_elsewhere = True
            return
        try:
            cursor = repository.cursor(*key)
            assert cursor is not None  # acquire_lease created it
            cursor, result.rewound = self._check_fork(registry, cursor)
            if cursor is None:
                result.error = "the node is behind the watch cursor"
                return
            looked_back = self._look_back(registry, cursor)
            if looked_back is None:
                result.block = cursor.block_number
                return
            result.alerts += looked_back
            result.block, alerts = self._read_forward(registry, cursor, confirmed)
            result.alerts += alerts
        finally:
            repository.release_lease(*key, self.owner)

    def _start_block(self, registry: Registry, confirmed: int) -> int:
        """Where watching a registry begins: the first block its oldest watched certificate's
        verification did not see (never after the first block not yet read)."""
        oldest = self.repository.watched_since(registry.chain_id, registry.address, 0)
        if not oldest:
            return first_block_after(registry, time.time(), 0, confirmed)
        return min(self._first_unseen(registry, oldest, confirmed), confirmed + 1)

    def _check_fork(self, registry: Registry, cursor: WatchCursor) -> tuple[WatchCursor | None, bool]:
        """The cursor, rewound if its block is no longer on the chain (None: the node has not got
        that block yet, nothing to do this pass)."""
        if cursor.block_hash is None:
            return cursor, False
        now = registry.block_hash(cursor.block_number)
        if now == cursor.block_hash:
            return cursor, False
        if now is None:
            return None, False
        block, block_hash = cursor.start_block - 1, None
        for number, stored in self.repository.alert_blocks(cursor.chain_id, cursor.registry, cursor.block_number)[
            :FORK_CANDIDATES
        ]:
            if registry.block_hash(number) == stored:
                block, block_hash = number, stored
                break
        log.warning(
            "watch list: chain %s reorganised below block %s: reading again from block %s",
            cursor.chain_id,
            cursor.block_number,
            block + 1,
        )
        self.repository.rewind(cursor.chain_id, cursor.registry, block, block_hash, after=cursor.block_number)
        rewound = self.repository.cursor(cursor.chain_id, cursor.registry)
        assert rewound is not None
        return rewound, True

    def _events(self, registry: Registry, first: int, last: int) -> list[RegistryEvent]:
        """The watched events in blocks ``first..last``, in chain order."""
        return registry.events(first, last, names=WATCHED_EVENTS)  # the node filters by topic

    def _look_back(self, registry: Registry, cursor: WatchCursor) -> list[int] | None:
        """Alerts for the certificates not yet looked back for, from events in the blocks the
        cursor went past before they were watched: from the block after the one their verification
        read (a row without it: since a little before it was accepted); None when the chain
        reorganised below the cursor meanwhile (the pass stops, the rows wait for the next)."""
        new = self.repository.not_looked_back(cursor.chain_id, cursor.registry)
        if not new:
            return []
        # Not bounded by where watching began: a certificate verified before then (its records
        # slow to send) was watched only after, and its blocks from there were never read for it.
        first = self._first_unseen(registry, new, cursor.block_number)
        findings = []
        for low in range(first, cursor.block_number + 1, BLOCK_RANGE):
            events = self._events(registry, low, min(cursor.block_number, low + BLOCK_RANGE - 1))
            findings += findings_of(registry, self._about(events, new))
        if cursor.block_hash is not None and registry.block_hash(cursor.block_number) != cursor.block_hash:
            log.warning("watch list: chain %s reorganised during a look back; next pass", cursor.chain_id)
            return None
        ids = {c.id for c in new}
        return self.repository.record(
            cursor.chain_id,
            cursor.registry,
            findings,
            cursor.block_number,
            cursor.block_hash or "",
            after=cursor.block_number,
            only=ids,
            looked_back=ids,
        )

    def _first_unseen(self, registry: Registry, certificates: list[WatchedCertificate], high: int) -> int:
        """The first block whose events the verifications of ``certificates`` did not see: the one
        after the oldest verification block; for a row without one (schema 1), the first block
        from a little before it was accepted (found within ``0..high``)."""
        blocks = [c.verified_block + 1 for c in certificates if c.verified_block is not None]
        timed = [c.accepted_at for c in certificates if c.verified_block is None]
        if timed:
            blocks.append(first_block_after(registry, min(timed) - self.lookback_seconds, 0, high))
        return min(blocks)

    @staticmethod
    def _about(events: list[RegistryEvent], certificates: list[WatchedCertificate]) -> list[RegistryEvent]:
        """The events that may concern ``certificates``: theirs, and every key event (a key's
        rotation chain is known only once the event is decoded)."""
        leaves = {c.leaf for c in certificates}
        return [e for e in events if not e.name.startswith("Certificate") or e.subject.lower() in leaves]

    def _read_forward(self, registry: Registry, cursor: WatchCursor, confirmed: int) -> tuple[int, list[int]]:
        """Read every confirmed block after the cursor, one range at a time, each range's alerts
        and the cursor's move in one transaction; returns the new cursor block and the alerts."""
        block, block_hash, created = cursor.block_number, cursor.block_hash, []
        while block < confirmed:
            last = min(confirmed, block + BLOCK_RANGE)
            # The hash of the range's last block before and after reading its logs: a
            # reorganisation in between changes it, and the pass stops (the next one rewinds).
            # The block the range starts after is checked too: a reorganisation that reaches
            # below the range must not go unnoticed behind a cursor moved past it.
            last_hash = registry.block_hash(last)
            events = self._events(registry, block + 1, last)
            findings = findings_of(registry, events)
            if (
                last_hash is None
                or registry.block_hash(last) != last_hash
                or any(e.block_number == last and e.block_hash != last_hash for e in events)
                or (block_hash is not None and registry.block_hash(block) != block_hash)
            ):
                log.warning("watch list: chain %s reorganised while blocks %s..%s were read", cursor.chain_id, block + 1, last)
                break
            created += self.repository.record(cursor.chain_id, cursor.registry, findings, last, last_hash, after=block)
            # A long catch-up keeps its claim (the same owner renews it).
            self.repository.acquire_lease(cursor.chain_id, cursor.registry, cursor.start_block, self.owner, self.lease_seconds)
            block, block_hash = last, last_hash
        return block, created
