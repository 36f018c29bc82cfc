"""Fixtures of the customs service's tests (see tests/support/customs.py):

* ``issuing_chamber``: a chamber on a real Anvil of the test's own (``own_chain``) that issued and
  anchored three certificates (TH → KR);
* ``trust_list_file``: a trust list naming that chamber's registry;
* ``customs``: the customs service on SQLite trusting that list, with an officer and an admin
  (accounts and API tokens); ``customs_app`` is its Flask app;
* ``customs_db``: the same on SQLite and on a real PostgreSQL (parametrised, ``database_url``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from ecoo.anvil import ManagedAnvil
from tests.support.customs import (
    CustomsHarness,
    IssuingChamber,
    make_customs,
    make_issuing_chamber,
    trust_entry,
    write_trust_list,
)


@pytest.fixture
def issuing_chamber(own_chain: ManagedAnvil, made: list[Any], tmp_path: Path) -> IssuingChamber:
    return make_issuing_chamber(made, tmp_path, own_chain)


@pytest.fixture
def trust_list_file(issuing_chamber: IssuingChamber, tmp_path: Path) -> Path:
    return write_trust_list(tmp_path / "trust-list.json", [trust_entry(issuing_chamber)])


@pytest.fixture
def customs(issuing_chamber: IssuingChamber, trust_list_file: Path, tmp_path: Path) -> Iterator[CustomsHarness]:
    harness = make_customs(tmp_path, issuing_chamber, trust_list_file)
    yield harness
    harness.close()


@pytest.fixture
def customs_app(customs: CustomsHarness) -> Flask:
    return customs.app


@pytest.fixture
def customs_db(
    issuing_chamber: IssuingChamber, trust_list_file: Path, tmp_path: Path, database_url: str | None
) -> Iterator[CustomsHarness]:
    harness = make_customs(tmp_path, issuing_chamber, trust_list_file, database_url)
    yield harness
    harness.close()
