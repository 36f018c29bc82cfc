"""The registries of the customs service's trust list: one reader (views with failover), one sender
(records, signed by the administration's key) and one verifier over all of them.

Built on :mod:`ecoo.trustlist.routing`: each entry keeps one :class:`FailoverRegistry` for the
service's lifetime, so the node that answered last is asked first by every request, the verifier's
and the watcher's alike. Nothing connects until something needs an entry.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import ChainUnavailableError, ConfigurationError
from ..hashing import checksum_address
from ..trustlist import FailoverRegistry, TrustEntry, TrustList, trust_list_verifier
from ..trustlist.document import entry_period_problem
from ..trustlist.routing import NODE_FAILURES
from ..urls import redact_url

if TYPE_CHECKING:
    from ..registry import Registry
    from ..verify import Verifier

__all__ = ["CustomsRegistries", "UnknownRegistryError"]

Key = tuple[int, str]


class UnknownRegistryError(ConfigurationError, LookupError):
    """A registry that is not on the trust list (its documents are never trusted)."""

    def __init__(self, chain_id: int, registry: str) -> None:
        self.chain_id, self.registry = chain_id, registry
        super().__init__(f"registry {registry} on chain {chain_id} is not on the trust list")


def _key(chain_id: int, registry: str) -> Key | None:
    try:
        return int(chain_id), checksum_address(registry)
    except (TypeError, ValueError):
        return None


class CustomsRegistries:
    """Every entry of ``trust_list`` by (chain id, registry address). ``source`` names the list in
    the verifier's messages (its file); ``max_block_age`` (seconds) skips the nodes that are behind."""

    def __init__(
        self,
        trust_list: TrustList,
        source: str,
        *,
        timeout: float = 10.0,
        receipt_timeout: float = 120.0,
        confirmations: int = 1,
        max_block_age: float | None = None,
    ) -> None:
        self.trust_list, self.source, self.timeout = trust_list, source, timeout
        self.receipt_timeout, self.confirmations = receipt_timeout, confirmations
        self._entries: dict[Key, TrustEntry] = {entry.key: entry for entry in trust_list.entries}
        self._readers: dict[Key, FailoverRegistry] = {
            key: FailoverRegistry(e, timeout, max_block_age=max_block_age) for key, e in self._entries.items()
        }
        self._senders: dict[Key, Registry] = {}
        self._lock = threading.Lock()

    def entries(self) -> tuple[TrustEntry, ...]:
        return self.trust_list.entries

    def entry(self, chain_id: int, registry: str) -> TrustEntry | None:
        """The entry of ``registry`` on ``chain_id`` (any letter case), or None if the list has none."""
        key = _key(chain_id, registry)
        return self._entries.get(key) if key else None

    def _require(self, chain_id: int, registry: str) -> Key:
        key = _key(chain_id, registry)
        if key is None or key not in self._entries:
            raise UnknownRegistryError(chain_id, registry)
        return key

    def reader(self, chain_id: int, registry: str) -> FailoverRegistry:
        """The entry's registry for views (``verify_certificates``), asked through its URLs in order.
        UnknownRegistryError for a registry not on the list."""
        return self._readers[self._require(chain_id, registry)]

    def sender(self, chain_id: int, registry: str) -> Registry:
        """The entry's registry connected through the first of its URLs that answers (and serves the
        entry's chain), for sending records; kept while its node answers. ChainUnavailableError when
        none does, UnknownRegistryError for a registry not on the list."""
        key = self._require(chain_id, registry)
        with self._lock:
            current = self._senders.get(key)
            if current is not None:
                try:
                    current.w3.eth.block_number  # noqa: B018 - does the node still answer?
                    return current
                except NODE_FAILURES + (OSError,):
                    del self._senders[key]
            registry_client = self._connect(self._entries[key])
            self._senders[key] = registry_client
            return registry_client

    def _connect(self, entry: TrustEntry) -> Registry:
        from ..chain import connect
        from ..registry import Registry

        failures: list[str] = []
        for url in entry.rpc_urls:
            try:
                w3 = connect(url, self.timeout)
                if w3.eth.chain_id != entry.chain_id:
                    failures.append(f"{redact_url(url)} (serves chain {w3.eth.chain_id})")
                    continue
            except NODE_FAILURES as exc:
                failures.append(f"{redact_url(url)} ({type(exc).__name__})")
                continue
            return Registry(w3, entry.address, receipt_timeout=self.receipt_timeout, confirmations=self.confirmations)
        raise ChainUnavailableError(
            entry.rpc_urls[-1], f"chain {entry.chain_id}: no node on the trust list answers ({'; '.join(failures)})"
        )

    def verifier(self, now: datetime | None = None) -> Verifier:
        """A verifier trusting the entries in force at ``now`` (default: the clock): many documents
        give one call per registry per 500, the registries asked concurrently."""
        return trust_list_verifier(
            self.trust_list,
            self.source,
            now=now,
            timeout=self.timeout,
            registries=dict(self._readers),
        )

    def health(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Each entry as the health endpoint shows it: who runs it, whether it is in force, and
        whether one of its nodes answers now (the node's URL redacted: it may carry an API key)."""
        moment = now or datetime.now(UTC)
        entries = self.trust_list.entries
        if len(entries) <= 1:
            return [self._entry_health(entry, moment) for entry in entries]
        # At the same time: one dead chain's timeout must not add up with the others'.
        with ThreadPoolExecutor(max_workers=min(len(entries), 8), thread_name_prefix="customs-health") as pool:
            return list(pool.map(lambda entry: self._entry_health(entry, moment), entries))

    def _entry_health(self, entry: TrustEntry, moment: datetime) -> dict[str, Any]:
        from ..chain import connect

        problem = entry_period_problem(entry, moment)
        view: dict[str, Any] = {
            "chainId": entry.chain_id,
            "registry": entry.address,
            "authority": {"name": entry.authority_name, "country": entry.authority_country},
            "validFrom": entry.valid_from,
            "validUntil": entry.valid_until,
            "inForce": problem is None,
            "reachable": False,
            "node": None,
            "block": None,
            "nodes": len(entry.rpc_urls),
        }
        if problem is not None:
            view["problem"] = problem
        failures: list[str] = []
        for url in entry.rpc_urls:
            try:
                w3 = connect(url, self.timeout)
                chain_id = w3.eth.chain_id
                if chain_id != entry.chain_id:
                    failures.append(f"{redact_url(url)}: serves chain {chain_id}")
                    continue
                view.update(reachable=True, node=redact_url(url), block=w3.eth.block_number)
                break
            except NODE_FAILURES + (OSError,) as exc:
                failures.append(f"{redact_url(url)}: {type(exc).__name__}")
        if failures:
            view["failures"] = failures
        return view
