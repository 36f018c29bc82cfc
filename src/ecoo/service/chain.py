"""The service's view of its chain: which registry it trusts, resolved once, and a verifier.

The chain may be down when the service starts; the registry identity (chain id, address) is then
resolved on first use. Until it is known, issuing answers 503 and verification UNAVAILABLE.
"""

from __future__ import annotations

import functools
import logging
import threading
from urllib.parse import unquote, urlsplit

from web3 import Web3

from ..chain import NETWORK_ERRORS, http_provider
from ..deploy import open_registry
from ..errors import ChainUnavailableError, DeploymentNotFoundError, redact_url
from ..registry import Registry
from ..verify import Verifier
from .config import ServiceSettings

# The loggers that may quote the node URL: ours (messages and tracebacks of unexpected errors,
# whose causes are requests' exceptions), and web3's and urllib3's debug lines.
LOGGERS_QUOTING_THE_NODE = ("ecoo.service.app", "ecoo.service.worker", "web3.providers.HTTPProvider", "urllib3.connectionpool")


class ServiceChain:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._registry: Registry | None = None
        self._chain_id: int | None = None
        for name in LOGGERS_QUOTING_THE_NODE:
            logger = logging.getLogger(name)
            if not any(isinstance(f, NodeUrlLogFilter) and f.url == settings.rpc_url for f in logger.filters):
                logger.addFilter(NodeUrlLogFilter(settings.rpc_url))

    def registry(self) -> Registry:
        """The trusted registry (raises ChainUnavailableError while it cannot be resolved)."""
        with self._lock:
            if self._registry is None:
                w3 = Web3(http_provider(self.settings.rpc_url, self.settings.rpc_timeout))
                try:
                    chain_id = w3.eth.chain_id
                except NETWORK_ERRORS as exc:
                    raise ChainUnavailableError(self.settings.rpc_url, type(exc).__name__) from exc
                registry = open_registry(
                    w3,
                    self.settings.deployments_dir,
                    self.settings.registry,
                    receipt_timeout=self.settings.receipt_timeout,
                    # A receipt is enough to go on: the chain follower waits for the
                    # confirmations before it records anything (ECOO_CONFIRMATIONS).
                    confirmations=1,
                )
                self._registry, self._chain_id = registry, chain_id
            return self._registry

    def identity(self) -> tuple[int, str]:
        registry = self.registry()
        assert self._chain_id is not None
        return self._chain_id, registry.address

    @property
    def node(self) -> str:
        """The node as clients may see it: scheme and host[:port], never credentials, path or query."""
        return redact_url(self.settings.rpc_url)

    def failure(self, exc: BaseException) -> str:
        """A fixed phrase for a failed chain request, safe for any client (never the exception's
        text: requests and web3 put the full URL, path and query included, in theirs)."""
        if isinstance(exc, ChainUnavailableError):
            return f"no Ethereum node answers at {self.node}"
        if isinstance(exc, DeploymentNotFoundError):
            return f"no registry deployed on chain {exc.chain_id}"
        return f"the node at {self.node} did not answer as expected ({type(exc).__name__})"

    def public_text(self, text: str | None) -> str | None:
        """``text`` (an error message to relay) with every secret part of the node URL hidden."""
        return hide_node_url(text, self.settings.rpc_url) if text else text

    def verifier(self) -> Verifier:
        try:
            chain_id, _ = self.identity()
        except ChainUnavailableError as exc:
            return Verifier.offline(self.public_text(str(exc)) or "")
        return Verifier.for_registry(self.registry(), chain_id)


@functools.lru_cache(maxsize=8)  # one node URL per service: worked out once, not per log record
def _secret_parts(url: str) -> tuple[str, ...]:
    """The parts of ``url`` beyond scheme and host[:port], as they may appear in a message (the
    credentials, path, query, fragment, long path segments and query values; raw and
    percent-decoded), longest first so that a part is hidden before its pieces are."""
    try:
        parts = urlsplit(url)
        found = {parts.netloc.rpartition("@")[0], parts.username or "", parts.password or ""}
    except ValueError:  # not a URL at all: hide it whole
        return (url,) if url else ()
    found |= {parts.query, parts.fragment, parts.path if parts.path != "/" else ""}
    found |= {segment for segment in parts.path.split("/") if len(segment) >= 8}
    found |= {pair.partition("=")[2] for pair in parts.query.split("&") if len(pair.partition("=")[2]) >= 8}
    found |= {unquote(part) for part in found}
    return tuple(sorted((part for part in found if part), key=len, reverse=True))


def hide_node_url(text: str, url: str) -> str:
    """``text`` with ``url`` shown as its scheme and host[:port] and its other parts hidden."""
    text = text.replace(url, redact_url(url)) if url else text
    for secret in _secret_parts(url):
        text = text.replace(secret, "***")
    return text


class NodeUrlLogFilter(logging.Filter):
    """Hides the node URL's credentials, path and query in a logger's records (message and traceback)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = hide_node_url(message, self.url)
        if hidden != message:
            record.msg, record.args = hidden, None
        if record.exc_info or record.exc_text:  # a handler formats the traceback from exc_text when set
            trace = record.exc_text or logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
            record.exc_text = hide_node_url(trace, self.url)
        return True
