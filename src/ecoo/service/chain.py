"""The service's view of its chain: which registry it trusts, resolved once, and a verifier.

The chain may be down when the service starts; the registry identity (chain id, address) is then
resolved on first use. Until it is known, issuing answers 503 and verification UNAVAILABLE.
"""

from __future__ import annotations

import threading

from web3 import Web3

from ..chain import NETWORK_ERRORS, http_provider
from ..deploy import open_registry
from ..errors import ChainUnavailableError
from ..registry import Registry
from ..verify import Verifier
from .config import ServiceSettings


class ServiceChain:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._registry: Registry | None = None
        self._chain_id: int | None = None

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
                    confirmations=self.settings.confirmations,
                )
                self._registry, self._chain_id = registry, chain_id
            return self._registry

    def identity(self) -> tuple[int, str]:
        registry = self.registry()
        assert self._chain_id is not None
        return self._chain_id, registry.address

    def verifier(self) -> Verifier:
        try:
            chain_id, _ = self.identity()
        except ChainUnavailableError as exc:
            return Verifier.offline(str(exc))
        return Verifier.for_registry(self.registry(), chain_id)
