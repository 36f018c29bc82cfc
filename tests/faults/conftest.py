"""Fixtures of the fault suite: one service forker per session, and per test a world of its own
(a real Anvil with a state file on its own port, a fresh registry, one chamber) on SQLite and on
a real PostgreSQL. Tests using ``world`` are marked ``postgres`` from its parameter by
tests/conftest.py; every module here is marked ``anvil`` and ``slow`` itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import World, Zygote, sqlite_url


@pytest.fixture(scope="session")
def zygote() -> Iterator[Zygote]:
    forker = Zygote()
    yield forker
    forker.close()


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path, zygote: Zygote) -> Iterator[World]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else sqlite_url(tmp_path)
    built = World(tmp_path, url, zygote, request.param)
    yield built
    built.close()
