"""A customs service for tests, and the chamber whose certificates it checks.

* :func:`make_issuing_chamber`: a chamber's service on a real Anvil (a fresh registry, one accredited
  chamber — Thailand's DFT, ``tests.support.service``) that has issued and anchored a few RCEP
  certificates (exported from TH, imported into KR).
* :func:`write_trust_list`: a trust list naming that registry (signed by a publisher if asked).
* :func:`make_customs`: the customs service (``create_customs_app``) on SQLite or a given
  PostgreSQL URL, trusting that list, administration of KR, with an officer and an admin account
  (passwords :data:`OFFICER_PASSWORD`, :data:`ADMIN_PASSWORD`) and an API token for each role.
  The background work is off: tests drive the watcher by hand.

The fixtures over these (``issuing_chamber``, ``trust_list_file``, ``customs``, ``customs_app``,
``customs_db``) are defined at the end of this module; ``tests/customs/conftest.py`` offers them to
every test there, and a test elsewhere imports them from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ecoo.anvil import ManagedAnvil
from ecoo.customs.accounts import ADMIN, OFFICER, create_account, create_token
from ecoo.customs.app import create_customs_app
from ecoo.customs.config import CustomsSettings
from ecoo.customs.wiring import CustomsObjects
from ecoo.signers import LocalSigner
from ecoo.trustlist import TrustEntry, TrustList, sign_trust_list
from ecoo.trustlist import write_trust_list as write_list
from ecoo.trustlist.document import format_moment
from tests.support.service import ServiceHarness, made_service

#: The administration of the tests: the example certificates are imported into Korea.
COUNTRY = "KR"
OFFICER_NAME, OFFICER_PASSWORD = "olivia", "officer password 1"
ADMIN_NAME, ADMIN_PASSWORD = "adam", "admin password 12"


@dataclass
class IssuingChamber:
    """A chamber that issued certificates on a real chain, and its service (to revoke, suspend ...)."""

    node: ManagedAnvil
    service: ServiceHarness
    chain_id: int
    registry: str
    documents: list[dict[str, Any]]  # issued and anchored, in the order of ``numbers``
    numbers: list[str]
    ids: list[int]  # the certificates' ids in the chamber's service (its API: revoke, suspend, pdf ...)

    def issue(self, number: str) -> dict[str, Any]:
        """Issue and anchor one more certificate; its issued document."""
        created = self.service.create(self.service.certificate(number))
        assert self.service.anchor() == 1
        document = self.document(created["id"])
        self.documents.append(document)
        self.numbers.append(number)
        self.ids.append(created["id"])
        return document

    def document(self, certificate_id: int) -> dict[str, Any]:
        response = self.service.client.get(f"/api/v1/certificates/{certificate_id}/document", headers=self.service.auth)
        assert response.status_code == 200, response.json
        return dict(response.json or {})

    def pdf(self, certificate_id: int) -> bytes:
        """The certificate's PDF, as the exporter hands it to the importer."""
        response = self.service.client.get(f"/api/v1/certificates/{certificate_id}/pdf", headers=self.service.auth)
        assert response.status_code == 200 and response.data.startswith(b"%PDF"), response.status_code
        return bytes(response.data)

    def revoke(self, certificate_id: int, reason: str = "fraud") -> None:
        """Revoke through the chamber's API and anchor the change (the registry records it)."""
        response = self.service.client.post(
            f"/api/v1/certificates/{certificate_id}/revoke", json={"reason": reason}, headers=self.service.auth
        )
        assert response.status_code in (200, 202), response.json
        self.service.anchor()


def make_issuing_chamber(made: list[ServiceHarness], tmp_path: Path, node: ManagedAnvil, count: int = 3) -> IssuingChamber:
    """A chamber service on ``node`` (remembered in ``made``, closed after the test) that issued and
    anchored ``count`` certificates (in one batch)."""
    harness = made_service(made, tmp_path / "chamber", node)
    numbers = [f"TH-RCEP-2026-{7000 + i}" for i in range(count)]
    ids = [harness.create(harness.certificate(number))["id"] for number in numbers]
    assert harness.anchor() == count
    chain_id, registry = harness.app.extensions["ecoo"].chain.identity()
    chamber = IssuingChamber(node, harness, chain_id, registry, [], numbers, ids)
    chamber.documents.extend(chamber.document(certificate_id) for certificate_id in ids)
    return chamber


def trust_entry(chamber: IssuingChamber, **changes: Any) -> TrustEntry:
    values: dict[str, Any] = {
        "chain_id": chamber.chain_id,
        "registry": chamber.registry,
        "rpc_urls": (chamber.node.url,),
        "authority_name": "Ministry of Commerce, Thailand",
        "authority_country": "TH",
        "valid_from": "2026-01-01",
    } | changes
    return TrustEntry(**values)


def write_trust_list(path: Path, entries: list[TrustEntry], publisher: LocalSigner | None = None, sequence: int = 1) -> Path:
    """A trust list of ``entries`` in ``path``, signed by ``publisher`` if given."""
    trust_list = TrustList(
        name="Customs of Korea (tests)", sequence=sequence, issued=format_moment(datetime.now(UTC)), entries=tuple(entries)
    )
    if publisher is not None:
        trust_list = sign_trust_list(trust_list, publisher)
    return write_list(trust_list, path)


@dataclass
class CustomsHarness:
    app: Flask
    client: FlaskClient
    settings: CustomsSettings
    chamber: IssuingChamber
    officer_token: str
    admin_token: str
    officer_token_id: int
    admin_token_id: int
    closed: bool = field(default=False)

    @property
    def objects(self) -> CustomsObjects:
        built: CustomsObjects = self.app.extensions["ecoo_customs"]
        return built

    @property
    def officer(self) -> dict[str, str]:
        """Headers of a request with the officer's API token."""
        return {"Authorization": f"Bearer {self.officer_token}"}

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def new_client(self) -> FlaskClient:
        return self.app.test_client()

    def sign_in(self, client: FlaskClient | None = None, username: str = OFFICER_NAME, password: str = OFFICER_PASSWORD) -> Any:
        """Sign ``client`` (default: the harness's) in through the sign-in form; the response."""
        client = client or self.client
        page = client.get("/login")
        return client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf_of(page.get_data(as_text=True))},
        )

    def close(self) -> None:
        if not self.closed:
            stop = self.app.extensions.get("ecoo_customs_stop")
            if stop is not None:
                stop()
            self.objects.db.close()
            self.closed = True


def csrf_of(html: str) -> str:
    """The CSRF token in a page's form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def customs_env(tmp_path: Path, trust_list: Path, database_url: str | None = None) -> dict[str, str]:
    env = {
        "ECOO_TRUST_LIST": str(trust_list),
        "ECOO_CUSTOMS_COUNTRY": COUNTRY,
        "ECOO_DATA_DIR": str(tmp_path / "customs-data"),
        "ECOO_WORKER": "0",
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def make_customs(
    tmp_path: Path, chamber: IssuingChamber, trust_list: Path, database_url: str | None = None, **overrides: Any
) -> CustomsHarness:
    """The customs service trusting ``trust_list``, with an officer and an admin (accounts and tokens)."""
    settings = CustomsSettings.from_env(customs_env(tmp_path, trust_list, database_url), **overrides)
    app = create_customs_app(settings)
    app.config["TESTING"] = True
    built: CustomsObjects = app.extensions["ecoo_customs"]
    with built.db.transaction() as conn:
        create_account(conn, OFFICER_NAME, OFFICER_PASSWORD, OFFICER)
        create_account(conn, ADMIN_NAME, ADMIN_PASSWORD, ADMIN)
        officer, officer_token = create_token(conn, "officer system", OFFICER)
        admin, admin_token = create_token(conn, "admin system", ADMIN)
    return CustomsHarness(app, app.test_client(), settings, chamber, officer_token, admin_token, officer.id, admin.id)


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def issuing_chamber(own_chain: ManagedAnvil, made: list[Any], tmp_path: Path) -> IssuingChamber:
    """A chamber on an Anvil of this test's own that issued and anchored three certificates (TH -> KR)."""
    return make_issuing_chamber(made, tmp_path, own_chain)


@pytest.fixture
def trust_list_file(issuing_chamber: IssuingChamber, tmp_path: Path) -> Path:
    """A trust list naming the issuing chamber's registry (unsigned)."""
    return write_trust_list(tmp_path / "trust-list.json", [trust_entry(issuing_chamber)])


@pytest.fixture
def customs(issuing_chamber: IssuingChamber, trust_list_file: Path, tmp_path: Path) -> Iterator[CustomsHarness]:
    """The customs service on SQLite, trusting the issuing chamber's registry."""
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
    """:func:`customs` on SQLite and on a real PostgreSQL (parametrised by ``database_url``)."""
    harness = make_customs(tmp_path, issuing_chamber, trust_list_file, database_url)
    yield harness
    harness.close()
