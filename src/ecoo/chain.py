"""Connecting to a chain: the embedded in-process chain or any JSON-RPC node."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import requests
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3RPCError

from .embedded import EMBEDDED as EMBEDDED
from .embedded import EmbeddedNode, new_embedded_web3
from .errors import ChainUnavailableError

log = logging.getLogger(__name__)

#: Chain ids of local development chains (Anvil and Hardhat use 31337; Ganache and others 1337).
DEV_CHAIN_IDS = frozenset({31337, 1337})

#: Exceptions that mean "the node did not answer", as opposed to "the node answered no".
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    ConnectionError,
    TimeoutError,
)


@dataclass(frozen=True)
class ChainInfo:
    """Identity of a connected chain."""

    url: str
    chain_id: int
    genesis_hash: str
    embedded: bool

    @property
    def is_dev(self) -> bool:
        """A local development chain whose unlocked accounts may be used."""
        return self.embedded or self.chain_id in DEV_CHAIN_IDS


class NodeAdapter(Protocol):
    """What code that talks to a chain needs to know about the node behind it.

    A JSON-RPC node (:class:`JsonRpcNode`) or the embedded chain
    (:class:`ecoo.embedded.EmbeddedNode`, home of every eth-tester quirk); :func:`node_adapter`
    picks one, so no caller tests which kind of node it has.
    """

    @property
    def url(self) -> str:
        """The endpoint URL, or ``"embedded"``."""
        ...

    @property
    def embedded(self) -> bool:
        """The in-process chain: it lives in this process's memory only."""
        ...

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        """What the node raises in-process where a JSON-RPC node answers with an error."""
        ...

    def identity(self) -> str:
        """Tells this node from any other in the process, even one with the same chain id and accounts."""
        ...

    def revert_data(self, exc: BaseException) -> bytes | None:
        """The revert data carried by one of :attr:`errors`, if any."""
        ...

    def call_sender(self) -> str | None:
        """The ``from`` an ``eth_call`` needs, or None when the node needs none."""
        ...


@dataclass(frozen=True)
class JsonRpcNode:
    """A node behind a JSON-RPC endpoint: errors arrive as JSON-RPC error responses."""

    url: str
    embedded: bool = False
    errors: tuple[type[BaseException], ...] = ()

    def identity(self) -> str:
        return self.url

    def revert_data(self, exc: BaseException) -> bytes | None:
        return None

    def call_sender(self) -> str | None:
        return None


def node_adapter(w3: Web3) -> NodeAdapter:
    """The adapter for the node behind ``w3``: a provider without an endpoint URL is in-process."""
    url = getattr(w3.provider, "endpoint_uri", None)
    return JsonRpcNode(str(url)) if url else EmbeddedNode(w3)


def embedded_chain() -> Web3:
    """A fresh in-process chain (py-evm through eth-tester).

    It lives in this process's memory only: everything on it is gone when the process exits.
    """
    log.warning("using the embedded in-memory chain: nothing anchored on it survives this process")
    return new_embedded_web3()


def http_provider(url: str, timeout: float = 10.0) -> HTTPProvider:
    """An HTTP provider; for a node on loopback, one whose session skips proxy lookups in the
    environment (requests re-reads them on every call: a large share of a local verification)."""
    host = urlsplit(url).hostname or ""
    session = None
    if host in ("127.0.0.1", "localhost", "::1"):
        session = requests.Session()
        session.trust_env = False
    return HTTPProvider(url, request_kwargs={"timeout": timeout}, session=session)


def connect(url: str | None, timeout: float = 10.0) -> Web3:
    """Connect to ``url`` (``"embedded"`` or None for the in-process chain) and check it answers."""
    if url in (None, "", EMBEDDED):
        return embedded_chain()
    assert url is not None
    if not url.startswith(("http://", "https://")):
        raise ChainUnavailableError(url, "only http(s) JSON-RPC URLs or 'embedded' are supported")
    w3 = Web3(http_provider(url, timeout))
    try:
        w3.eth.chain_id  # noqa: B018 - the first request: does anything answer?
    except NETWORK_ERRORS as exc:
        raise ChainUnavailableError(url, type(exc).__name__) from exc
    except (Web3RPCError, ValueError) as exc:
        raise ChainUnavailableError(url, f"not an Ethereum JSON-RPC endpoint ({exc})") from exc
    return w3


def chain_info(w3: Web3) -> ChainInfo:
    """Chain id and genesis hash (the genesis hash tells a restarted dev chain from the old one)."""
    node = node_adapter(w3)
    try:
        chain_id = w3.eth.chain_id
        genesis = w3.eth.get_block(0)["hash"]
    except NETWORK_ERRORS as exc:
        raise ChainUnavailableError(node.url, type(exc).__name__) from exc
    return ChainInfo(url=node.url, chain_id=chain_id, genesis_hash=Web3.to_hex(genesis), embedded=node.embedded)
