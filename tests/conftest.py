"""Shared fixtures: chains (embedded and a real Anvil the tests start), a fresh registry, actors.

Markers are applied here from what a test uses, so that ``make test-fast`` can leave out every
test that needs an external process: ``anvil`` (the ``anvil_node`` fixture, or a module that
starts its own node), ``postgres`` (the ``postgres_server`` fixture), ``browser`` (tests/browser)
``hardhat`` (modules that run Hardhat) and ``slow`` (set by hand on tests of several seconds:
many CLI processes, the compiler, a thousand proofs).

The Anvil fixture fails (never skips) when Anvil cannot start: a skipped integration test is a
hidden red.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from web3 import Web3

from ecoo.anvil import ManagedAnvil, free_port
from ecoo.chain import embedded_chain
from ecoo.deploy import deploy_registry
from ecoo.registry import Registry
from ecoo.signers import LocalSigner, NodeSigner, unlocked_signer
from tests.support.chain import Actors, accredit, new_signer
from tests.support.postgres import PostgresServer

CHAINS = ["embedded", "anvil"]


# Property tests: 400 examples each in `make test`; `make test-fast` picks the "fast" profile.
settings.register_profile("full", max_examples=400)
settings.register_profile("fast", max_examples=40)
settings.load_profile("full")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        params = getattr(getattr(item, "callspec", None), "params", {})
        # the chain and service fixtures are parametrised by name ("anvil", "postgres")
        named = {value for value in params.values() if isinstance(value, str)}
        if "anvil_node" in fixtures or "anvil" in named:
            item.add_marker(pytest.mark.anvil)
        if "postgres_server" in fixtures or "postgres" in named:
            item.add_marker(pytest.mark.postgres)
        if Path(str(item.fspath)).parent.name == "browser":
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def anvil_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedAnvil]:
    """One real Anvil for the session (state persisted to a temp file)."""
    directory = tmp_path_factory.mktemp("anvil")
    node = ManagedAnvil(directory / "state.json", log_file=directory / "anvil.log")
    try:
        node.start()
    except Exception as exc:  # noqa: BLE001 - turn any start failure into a test failure
        pytest.fail(f"could not start Anvil (run `npm ci`): {exc}")
    yield node
    node.stop()


@pytest.fixture(params=CHAINS)
def w3(request: pytest.FixtureRequest) -> Web3:
    """A connected chain: a fresh embedded chain, or the session's Anvil."""
    if request.param == "embedded":
        return embedded_chain()
    node: ManagedAnvil = request.getfixturevalue("anvil_node")
    return Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))


@pytest.fixture
def funder(w3: Web3) -> NodeSigner:
    """The node's first unlocked account: deploys, is the registry admin and funds the actors."""
    return unlocked_signer(w3)


@pytest.fixture
def registry(w3: Web3, funder: NodeSigner) -> Registry:
    authority = new_signer(w3, funder)
    deployment, _ = deploy_registry(w3, funder, admin=funder.address, authority=authority.address)
    reg = Registry(w3, deployment.address)
    reg.test_authority = authority  # type: ignore[attr-defined]
    return reg


@pytest.fixture
def actors(w3: Web3, funder: NodeSigner, registry: Registry) -> Actors:
    authority: LocalSigner = registry.test_authority  # type: ignore[attr-defined]
    issuer, other, suspended, stranger = (new_signer(w3, funder) for _ in range(4))
    for i, signer in enumerate((issuer, other, suspended)):
        accredit(registry, authority, signer.address, f"Chamber {i}")
    registry.suspend_issuer(authority, suspended.address)
    return Actors(funder, authority, issuer, other, suspended, stranger)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway real PostgreSQL server per session (per xdist worker)."""
    server = PostgresServer()
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001 - a start failure is a test failure, never a skip
        pytest.fail(f"could not start PostgreSQL (apt-get install postgresql, or set ECOO_PG_BIN): {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh empty database for one test, dropped afterwards."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest, tmp_path: Path, anvil_node: ManagedAnvil):  # type: ignore[no-untyped-def]
    """A fresh ecoo service with one accredited chamber, on SQLite and on a real PostgreSQL;
    see tests/support/service.py."""
    from tests.support.service import make_service

    database_url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    harness = make_service(tmp_path, anvil_node, database_url)
    yield harness
    harness.worker.stop()
    harness.app.extensions["ecoo"].store.close()


@pytest.fixture
def own_chain(tmp_path: Path) -> Iterator[ManagedAnvil]:
    """An Anvil of this test alone, which it may stop, restart (same port, state kept in a file) or
    reorganise."""
    node = ManagedAnvil(tmp_path / "chain-state.json", port=free_port()).start()
    yield node
    node.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None (the service's SQLite file) or a fresh database on the real PostgreSQL."""
    return request.getfixturevalue("postgres_url") if request.param == "postgres" else None


@pytest.fixture
def made() -> Iterator[list[Any]]:
    """Services a test made with ``tests.support.service.made_service``: their stores are closed
    after it (before its database is dropped)."""
    services: list[Any] = []
    yield services
    for service in services:
        service.app.extensions["ecoo"].store.close()
