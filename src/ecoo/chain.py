"""Connecting to a chain: the embedded in-process chain or any JSON-RPC node."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3RPCError

from .errors import ChainUnavailableError

log = logging.getLogger(__name__)

EMBEDDED = "embedded"
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


def embedded_chain() -> Web3:
    """A fresh in-process chain (py-evm through eth-tester).

    It lives in this process's memory only: everything on it is gone when the process exits.
    """
    from web3 import EthereumTesterProvider

    log.warning("using the embedded in-memory chain: nothing anchored on it survives this process")
    return Web3(EthereumTesterProvider())


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
    provider: Any = w3.provider
    url = getattr(provider, "endpoint_uri", None) or EMBEDDED
    try:
        chain_id = w3.eth.chain_id
        genesis = w3.eth.get_block(0)["hash"]
    except NETWORK_ERRORS as exc:
        raise ChainUnavailableError(str(url), type(exc).__name__) from exc
    return ChainInfo(url=str(url), chain_id=chain_id, genesis_hash=Web3.to_hex(genesis), embedded=url == EMBEDDED)
