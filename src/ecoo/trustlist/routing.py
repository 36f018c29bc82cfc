"""Verifying against a trust list: each document goes to the registry its proof names, on the nodes
its entry lists, tried in order.

:func:`trust_list_verifier` builds an :class:`ecoo.verify.Verifier` whose registries are the
entries in force now; an entry outside its validity period is named (with its dates) in the
registry check of the documents that point at it. Nothing connects until a document needs the
registry, and then :class:`FailoverRegistry` asks the entry's URLs in order: a node that does not
answer, answers for another chain, or gives an answer that does not decode is skipped; when none
answers, only that registry's documents are UNAVAILABLE.

With a maximum block age, a node whose answer comes from a block older than that (a node that has
stopped syncing would answer VALID for a certificate revoked since) counts as failed too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import requests

from ..errors import ChainUnavailableError, EcooError
from ..urls import redact_url
from ..verify import RegistryReader, TrustPolicy, Verifier
from .document import TrustEntry, TrustList, entry_period_problem

if TYPE_CHECKING:
    from ..registry import CertificateQuery, CertificateState, ItemUtilisation, Registry, UtilisationQuery

__all__ = ["FailoverRegistry", "trust_list_verifier"]

log = logging.getLogger(__name__)

#: Seconds a trust-list node has to answer before the next URL is tried.
RPC_TIMEOUT = 10.0
#: What makes the next URL be tried: no answer, an HTTP error (a gateway before a dead node answers
#: 502), a node of another chain, or an answer that is not the registry's. None of them is a verdict.
NODE_FAILURES: tuple[type[BaseException], ...] = (EcooError, requests.RequestException)
#: What makes the next URL be tried for the utilisation view: only no answer. A registry that answered
#: the chain checks and reverts getUtilisations is older than the customs records on every node alike.
NO_ANSWER: tuple[type[BaseException], ...] = (ChainUnavailableError, requests.RequestException)

T = TypeVar("T")


class FailoverRegistry:
    """The registry of one trust-list entry, asked through the first of its URLs that answers.

    The node that answered is kept for the next call; when it stops answering, the other URLs are
    tried in the list's order (the one that just failed is not asked again in the same call). A
    node is used only once it has said it serves the entry's chain, and, with ``max_block_age``
    (seconds), only while its answers come from a block no older than that.

    Calls run concurrently: the lock guards only the choice of the current node, never a network
    call, so one slow node does not hold up the other requests to its registry."""

    def __init__(
        self,
        entry: TrustEntry,
        timeout: float = RPC_TIMEOUT,
        *,
        max_block_age: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.entry = entry
        self.timeout = timeout
        self.max_block_age = max_block_age
        self.clock = clock
        self._current: tuple[str, Registry] | None = None
        self._lock = threading.Lock()

    def _connect(self, url: str) -> Registry:
        from ..chain import connect
        from ..registry import Registry

        registry = Registry(connect(url, self.timeout), self.entry.address)
        if registry.chain_id != self.entry.chain_id:  # a node of another chain never answers for this one
            raise ChainUnavailableError(
                url, f"it serves chain {registry.chain_id}, not chain {self.entry.chain_id} as the trust list says"
            )
        return registry

    def verify_certificates(self, queries: Sequence[CertificateQuery]) -> list[CertificateState]:
        def ask(registry: Registry) -> list[CertificateState]:
            states = registry.verify_certificates(queries)
            self._require_fresh(registry, min((state.chain_time for state in states), default=None))
            return states

        return self._ask(ask, NODE_FAILURES)

    def get_utilisations(self, queries: Sequence[UtilisationQuery]) -> list[list[ItemUtilisation]]:
        def ask(registry: Registry) -> list[list[ItemUtilisation]]:
            answers = registry.get_utilisations(queries)
            self._require_fresh(registry, None)
            return answers

        return self._ask(ask, NO_ANSWER)

    def _require_fresh(self, registry: Registry, chain_time: int | None) -> None:
        """ChainUnavailableError when the node's answer (its chain time, else its newest block)
        is older than ``max_block_age``: the node is behind, its verdicts may be out of date."""
        if self.max_block_age is None:
            return
        if chain_time is None:
            try:
                chain_time = int(registry.w3.eth.get_block("latest")["timestamp"])
            except NODE_FAILURES + (OSError,) as exc:
                raise ChainUnavailableError(registry.node.url, f"no newest block ({_reason(exc)})") from exc
        age = self.clock() - chain_time
        if age > self.max_block_age:
            raise ChainUnavailableError(
                registry.node.url,
                f"the node is behind: its newest block is {_duration(age)} old, more than the {self.max_block_age:g} s allowed",
            )

    def _ask(self, call: Callable[[Registry], T], failures_to_skip: tuple[type[BaseException], ...]) -> T:
        with self._lock:  # only the choice of the node: network calls run outside the lock
            current = self._current
        failures: list[str] = []
        failed_url: str | None = None
        if current is not None:
            url, registry = current
            try:
                return call(registry)
            except failures_to_skip as exc:
                log.info("trust list: %s on chain %s: %s", redact_url(url), self.entry.chain_id, _reason(exc))
                failures.append(f"{redact_url(url)} ({_reason(exc)})")
                failed_url = url
                with self._lock:
                    if self._current is current:  # another call may have moved on already
                        self._current = None
        # The node that has just failed goes last: the others first, then it once more on a fresh
        # connection (a keep-alive connection the node closed fails once and then works).
        urls = [url for url in self.entry.rpc_urls if url != failed_url] + ([failed_url] if failed_url else [])
        for url in urls:
            try:
                registry = self._connect(url)
                answers = call(registry)
            except failures_to_skip as exc:
                log.info("trust list: %s on chain %s: %s", redact_url(url), self.entry.chain_id, _reason(exc))
                failures.append(f"{redact_url(url)} ({_reason(exc)})")
                continue
            with self._lock:
                self._current = (url, registry)
            return answers
        listed = self.entry.rpc_urls
        if len(listed) == 1:
            detail = f"chain {self.entry.chain_id}, the only node on the trust list ({_reason_of(failures[-1])})"
        else:
            detail = f"chain {self.entry.chain_id}, all {len(listed)} nodes on the trust list failed: {'; '.join(failures)}"
        raise ChainUnavailableError(listed[-1], detail)


def _duration(seconds: float) -> str:
    """``seconds`` for a reader: 2.6 s, 95 s, 17 min, 3 h 5 min, 2 d 4 h."""
    whole = int(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"  # next to a limit of a few seconds, "2 s old" would not say why
    if whole < 120:
        return f"{whole} s"
    minutes, hours, days = whole // 60, whole // 3600, whole // 86400
    if hours < 2:
        return f"{minutes} min"
    if days < 2:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"


def _reason_of(failure: str) -> str:
    """The cause in a "URL (cause)" failure line."""
    return failure.partition(" (")[2].removesuffix(")")


def _reason(exc: BaseException) -> str:
    """The short cause of a node's failure (ChainUnavailableError's message carries a hint for developers)."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"  # requests' own text repeats the URL, key and all
    if isinstance(exc, requests.RequestException):
        return type(exc).__name__
    if isinstance(exc, ChainUnavailableError):
        return exc.detail or "no answer"
    return str(exc)


def trust_list_verifier(
    trust_list: TrustList,
    source: str,
    *,
    now: datetime | None = None,
    timeout: float = RPC_TIMEOUT,
    max_block_age: float | None = None,
    registries: dict[tuple[int, str], RegistryReader] | None = None,
) -> Verifier:
    """A verifier trusting the entries of ``trust_list`` in force at ``now`` (default: the clock, UTC).

    ``source`` names the list in messages; ``max_block_age`` (seconds, None: no limit) makes a node
    whose answer is older count as failed (see :class:`FailoverRegistry`). ``registries`` replaces
    the failover registry of an entry by key (tests inject counting or failing readers)."""
    moment = now or datetime.now(UTC)
    trusted: dict[tuple[int, str], RegistryReader] = {}
    untrusted: dict[tuple[int, str], str] = {}
    for entry in trust_list.entries:
        problem = entry_period_problem(entry, moment)
        if problem is not None:
            untrusted[entry.key] = problem
            continue
        trusted[entry.key] = (registries or {}).get(entry.key) or FailoverRegistry(entry, timeout, max_block_age=max_block_age)
    policy = TrustPolicy(source=f"trust list {source} (sequence {trust_list.sequence})", untrusted=untrusted)
    return Verifier(trusted, policy=policy)
