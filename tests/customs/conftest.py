"""Fixtures of the customs service's tests, defined in tests/support/customs.py:

* ``issuing_chamber``: a chamber on a real Anvil of the test's own (``own_chain``) that issued and
  anchored three certificates (TH → KR), with helpers to issue more, revoke, and fetch PDFs;
* ``trust_list_file``: a trust list naming that chamber's registry;
* ``customs``: the customs service on SQLite trusting that list, with an officer and an admin
  (accounts and API tokens); ``customs_app`` is its Flask app;
* ``customs_db``: the same on SQLite and on a real PostgreSQL (parametrised, ``database_url``).

Defined in tests/support/two_chains.py:

* ``chain_b``: a second Anvil of the test's own, chain id 1337 (``own_chain`` is 31337);
* ``two_chains``: a chamber and a registry with its own authority on each chain, a signed trust
  list naming both, and two administrations (KR on SQLite, JP on PostgreSQL) with customs keys
  granted on both registries.

The webhooks of these tests go to receivers on this machine (127.0.0.1), which the service refuses
unless ``ECOO_WEBHOOK_ALLOW_PRIVATE=1``: every test here runs with it set; the tests of that guard
unset it themselves.
"""

from __future__ import annotations

import pytest

from ecoo.customs.config import ALLOW_PRIVATE_ENV
from tests.support.customs import customs, customs_app, customs_db, issuing_chamber, trust_list_file
from tests.support.two_chains import chain_b, two_chains

__all__ = ["chain_b", "customs", "customs_app", "customs_db", "issuing_chamber", "trust_list_file", "two_chains"]


@pytest.fixture(autouse=True)
def local_webhook_receivers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
