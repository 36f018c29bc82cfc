"""The service's objects, built in one place for the Flask app factory and the ``ecoo chamber``
commands alike (no Flask here: the commands do not load the web stack)."""

from __future__ import annotations

from dataclasses import dataclass

from .chain import ServiceChain
from .config import ServiceSettings
from .follower import ChainFollower
from .issuance import Issuance
from .permissions import PRIVATE_DIR, tighten
from .reconcile import Reconciler
from .store import Store
from .vault import KeyVault
from .worker import AnchoringWorker


@dataclass(frozen=True)
class ServiceObjects:
    """Everything the service runs on. The worker is built, not started."""

    settings: ServiceSettings
    store: Store
    vault: KeyVault
    chain: ServiceChain
    issuance: Issuance
    worker: AnchoringWorker
    follower: ChainFollower


def build_services(settings: ServiceSettings) -> ServiceObjects:
    """Open (and migrate) the store, and wire issuance, the chain follower and the worker to it; a new
    certificate wakes the worker. A data directory others can read is tightened first."""
    tighten(settings.data_dir, PRIVATE_DIR)
    store = Store(settings.database_url)
    store.migrate()
    vault = KeyVault(settings.master_key)
    chain = ServiceChain(settings)
    # Looked up on each use, not bound once: the registry is resolved when the chain first answers.
    follower = ChainFollower(store, lambda: chain.registry(), settings)
    issuance = Issuance(store, chain, vault, settings, follower)
    worker = AnchoringWorker(store, lambda: chain.registry(), vault, settings, follower=follower)
    worker.reconciler = Reconciler(store, lambda: chain.registry(), follower)
    issuance.on_created.append(worker.wake)
    return ServiceObjects(settings, store, vault, chain, issuance, worker, follower)
