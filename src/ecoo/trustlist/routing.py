"""Verifying against a trust list: each document goes to the registry its proof names, on the nodes
its entry lists, tried in order.

:func:`trust_list_verifier` builds an :class:`ecoo.verify.Verifier` whose registries are the
entries in force now; an entry outside its validity period is named (with its dates) in the
registry check of the documents that point at it. Nothing connects until a document needs the
registry, and then :class:`FailoverRegistry` asks the entry's URLs in order: a node that does not
answer, answers for another chain, or gives an answer that does not decode is skipped; when none
answers, only that registry's documents are UNAVAILABLE.
"""

from __future__ import annotations

import logging
import threading
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

    The node that answered is kept for the next call; when it stops answering, the URLs are tried
    again in the list's order. A node is used only once it has said it serves the entry's chain."""

    def __init__(self, entry: TrustEntry, timeout: float = RPC_TIMEOUT) -> None:
        self.entry = entry
        self.timeout = timeout
        self._current: Registry | None = None
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
        return self._ask(lambda registry: registry.verify_certificates(queries), NODE_FAILURES)

    def get_utilisations(self, queries: Sequence[UtilisationQuery]) -> list[list[ItemUtilisation]]:
        return self._ask(lambda registry: registry.get_utilisations(queries), NO_ANSWER)

    def _ask(self, call: Callable[[Registry], T], failures_to_skip: tuple[type[BaseException], ...]) -> T:
        with self._lock:  # one caller at a time: the failover state is per registry
            failures: list[str] = []
            if self._current is not None:
                try:
                    return call(self._current)
                except failures_to_skip as exc:
                    failures.append(f"{redact_url(self._current.node.url)} ({_reason(exc)})")
                    self._current = None
            for url in self.entry.rpc_urls:
                try:
                    registry = self._connect(url)
                    answers = call(registry)
                except failures_to_skip as exc:
                    log.info("trust list: %s on chain %s: %s", redact_url(url), self.entry.chain_id, _reason(exc))
                    failures.append(f"{redact_url(url)} ({_reason(exc)})")
                    continue
                self._current = registry
                return answers
            urls = self.entry.rpc_urls
            if len(urls) == 1 and len(failures) == 1:
                detail = f"chain {self.entry.chain_id}, the only node on the trust list ({_reason_of(failures[0])})"
            else:
                detail = f"chain {self.entry.chain_id}, all {len(urls)} nodes on the trust list failed: {'; '.join(failures)}"
            raise ChainUnavailableError(urls[-1], detail)


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
    registries: dict[tuple[int, str], RegistryReader] | None = None,
) -> Verifier:
    """A verifier trusting the entries of ``trust_list`` in force at ``now`` (default: the clock, UTC).

    ``source`` names the list in messages. ``registries`` replaces the failover registry of an
    entry by key (tests inject counting or failing readers)."""
    moment = now or datetime.now(UTC)
    trusted: dict[tuple[int, str], RegistryReader] = {}
    untrusted: dict[tuple[int, str], str] = {}
    for entry in trust_list.entries:
        problem = entry_period_problem(entry, moment)
        if problem is not None:
            untrusted[entry.key] = problem
            continue
        trusted[entry.key] = (registries or {}).get(entry.key) or FailoverRegistry(entry, timeout)
    policy = TrustPolicy(source=f"trust list {source} (sequence {trust_list.sequence})", untrusted=untrusted)
    return Verifier(trusted, policy=policy)
