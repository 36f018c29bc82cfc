"""Two chains, two registries, two authorities and two customs administrations, for the customs
tests that cross chains (``tests/customs/test_two_chains.py``).

* Chain A (id 31337, the test's ``own_chain``): a registry run by Viet Nam's Ministry of Industry and
  Trade, on which the Vietnam Chamber of Commerce and Industry issues. Chain B (id 1337, a second
  Anvil, :func:`chain_b`): a registry run by Thailand's Ministry of Commerce, on which the
  Department of Foreign Trade issues. Both ids are dev chains (the chamber services fund and
  accredit with the node's unlocked account there), and both registries are the first contract of
  the same deployer: **the same address on two chains**, which is what routing by (chain id,
  registry) is for.
* Each registry's deployer hands the authority role to its ministry's own key and gives it up
  (:func:`hand_over_authority`); the ministry grants the customs role to both administrations.
* Each chamber issues through its service (``tests.support.service``) and anchors RCEP
  certificates of its country, for import into Korea and into Japan (:func:`rcep_certificate`).
* A trust list naming both registries, signed (EIP-712) by a publisher both administrations are
  configured with.
* Two administrations (:class:`Administration`): Korea's customs service on SQLite and Japan's on
  a real PostgreSQL, each with its own customs key granted on both registries, their background
  work (watcher, webhooks) running as in a deployment.

Keys: the customs keys, the ministries' and the publisher's are random, made per test; the chain
nodes' unlocked account is Anvil's public development account.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from ecoo.anvil import ManagedAnvil, free_port
from ecoo.customs.app import create_customs_app
from ecoo.customs.config import CustomsSettings
from ecoo.devchain import fund
from ecoo.examples import example_certificate
from ecoo.registry import Registry
from ecoo.signers import LocalSigner, unlocked_signer
from tests.support.chain import node_w3
from tests.support.customs import (
    CustomsHarness,
    IssuingChamber,
    customs_env,
    make_customs,
    trust_entry,
    write_trust_list,
)
from tests.support.service import CHAMBER, made_service

#: Chain A keeps Anvil's default id; chain B is the other id the chamber service accepts as a dev chain.
CHAIN_A, CHAIN_B = 31337, 1337
#: Funding of a customs or ministry key on each chain (test ether).
KEY_FUNDING_WEI = 10**18


@dataclass(frozen=True)
class ExportingCountry:
    """The chamber of an exporting country, its authority, and what its certificates say."""

    chamber: tuple[str, str, str]  # name, country, accreditation code
    authority: str  # the ministry that runs the registry (the trust list's entry)
    number_prefix: str
    issue_place: str
    exporter: dict[str, Any]
    port_of_loading: str


VIET_NAM = ExportingCountry(
    chamber=("Vietnam Chamber of Commerce and Industry", "VN", "VCCI-HN"),
    authority="Ministry of Industry and Trade, Viet Nam",
    number_prefix="VN-RCEP-2026-",
    issue_place="Hanoi",
    exporter={
        "name": "Hai Phong Brake Components JSC",
        "address": "Lot B5, Dinh Vu Industrial Zone, Hai An, Hai Phong",
        "country": "VN",
        "identifier": {"scheme": "TIN", "value": "0201234567"},
    },
    port_of_loading="VNHPH",
)
#: The example certificate's own parties (Thailand to Korea): every other customs test's.
_EXAMPLE = example_certificate("RCEP")
THAILAND = ExportingCountry(
    chamber=CHAMBER,  # the chamber of every other customs test
    authority="Ministry of Commerce, Thailand",
    number_prefix="TH-RCEP-2026-",
    issue_place=_EXAMPLE["issuePlace"],
    exporter=_EXAMPLE["exporter"],
    port_of_loading=_EXAMPLE["transport"]["portOfLoading"],
)

#: The consignee (and importer) of the certificates for each importing country, and its port.
CONSIGNEES: dict[str, tuple[dict[str, Any], str]] = {
    "KR": (_EXAMPLE["consignee"], _EXAMPLE["transport"]["portOfDischarge"]),
    "JP": (
        {
            "name": "Kansai Brake Systems K.K.",
            "address": "2-1 Nanko-higashi, Suminoe-ku, Osaka 559-0031",
            "country": "JP",
            "identifier": {"scheme": "JCN", "value": "1120001234567"},
        },
        "JPOSA",
    ),
}


def rcep_certificate(country: ExportingCountry, number: str, import_country: str) -> dict[str, Any]:
    """The example RCEP certificate (brake pads, item 1: 12000 SET; rubber, item 2: 8.4 TNE), issued
    today by ``country``'s chamber for goods of that country, consigned to ``import_country``."""
    certificate = example_certificate("RCEP", issued_on=datetime.now(UTC).date())
    name, code_country, code = country.chamber
    consignee, port_of_discharge = CONSIGNEES[import_country]
    certificate.update(
        certificateNumber=number,
        issuer={"name": name, "country": code_country, "accreditationCode": code},
        issuePlace=country.issue_place,
        exporter=copy.deepcopy(country.exporter),
        producer=copy.deepcopy(country.exporter) | {"identifier": None},
        consignee=copy.deepcopy(consignee),
        exportCountry=code_country,
        importCountry=import_country,
    )
    certificate["transport"] |= {"portOfLoading": country.port_of_loading, "portOfDischarge": port_of_discharge}
    for item in certificate["items"]:
        item["originCountry"] = code_country
    certificate["certification"]["place"] = country.issue_place
    return certificate


def issuing_chamber_of(
    made: list[Any], directory: Path, node: ManagedAnvil, country: ExportingCountry, imports: list[str]
) -> IssuingChamber:
    """``country``'s chamber service on ``node`` (a registry deployed for it), having issued and
    anchored (in one batch) one certificate for each import country of ``imports``, in order."""
    harness = made_service(made, directory, node, chamber=country.chamber)
    numbers = [f"{country.number_prefix}{8000 + i}" for i in range(len(imports))]
    ids = [harness.create(rcep_certificate(country, n, imported))["id"] for n, imported in zip(numbers, imports, strict=True)]
    assert harness.anchor() == len(ids)
    chain_id, registry = harness.app.extensions["ecoo"].chain.identity()
    chamber = IssuingChamber(node, harness, chain_id, registry, [], numbers, ids)
    chamber.documents.extend(chamber.document(certificate_id) for certificate_id in ids)
    return chamber


def fund_key(node: ManagedAnvil, address: str) -> None:
    w3 = node_w3(node)
    fund(w3, unlocked_signer(w3).address, address, KEY_FUNDING_WEI)


def hand_over_authority(chamber: IssuingChamber) -> LocalSigner:
    """The registry's authority role, from its deployer to a ministry key of its own (returned)."""
    w3 = node_w3(chamber.node)
    deployer = unlocked_signer(w3)
    ministry = LocalSigner(Account.create())
    fund_key(chamber.node, ministry.address)
    registry = Registry(w3, chamber.registry)
    registry.grant_authority(deployer, ministry.address)
    registry.renounce_authority(deployer)
    return ministry


def customs_overrides(country: str, key: LocalSigner, publisher: str) -> dict[str, Any]:
    """An administration's settings over ``customs_env``'s: its country, key, the trust list's
    publisher, and its background work running (watcher, webhooks), as in a deployment."""
    return {
        "country": country,
        "customs_key": bytes(key.account.key),
        "trust_list_publisher": publisher,
        "background": True,
        "watch_interval": 0.2,
    }


@dataclass
class Administration:
    """One importing country's customs service, its key and its database (None: SQLite)."""

    country: str
    key: LocalSigner
    directory: Path
    database_url: str | None
    harness: CustomsHarness

    @property
    def client(self) -> FlaskClient:
        return self.harness.client

    @property
    def officer(self) -> dict[str, str]:
        return self.harness.officer

    def stop(self) -> None:
        self.harness.close()

    def start(self, trust_list: Path, publisher: str) -> None:
        """A new service on the database and data directory of the stopped one (the same accounts
        and tokens): a restart."""
        assert self.harness.closed, "stop the running service first"
        overrides = customs_overrides(self.country, self.key, publisher)
        settings = CustomsSettings.from_env(customs_env(self.directory, trust_list, self.database_url), **overrides)
        app = create_customs_app(settings)
        app.config["TESTING"] = True
        self.harness = replace(self.harness, app=app, client=app.test_client(), settings=settings, closed=False)


def make_administration(
    directory: Path,
    country: str,
    chambers: list[IssuingChamber],
    ministries: dict[int, LocalSigner],
    trust_list: Path,
    publisher: str,
    database_url: str | None,
) -> Administration:
    """``country``'s customs service, with a key of its own funded on every chamber's chain and
    granted the customs role there by that registry's ministry."""
    key = LocalSigner(Account.create())
    for chamber in chambers:
        fund_key(chamber.node, key.address)
        Registry(node_w3(chamber.node), chamber.registry).grant_customs(ministries[chamber.chain_id], key.address, country)
    directory.mkdir(parents=True)
    harness = make_customs(directory, chambers[0], trust_list, database_url, **customs_overrides(country, key, publisher))
    return Administration(country, key, directory, database_url, harness)


@dataclass
class TwoChains:
    a: IssuingChamber  # Viet Nam's chamber on chain A: certificates for KR, then for JP
    b: IssuingChamber  # Thailand's chamber on chain B: certificates for KR, then for JP
    ministries: dict[int, LocalSigner]  # each registry's authority, by chain id
    publisher: LocalSigner  # signed the trust list
    trust_list: Path
    kr: Administration  # on SQLite
    jp: Administration  # on PostgreSQL

    def registry(self, chamber: IssuingChamber) -> Registry:
        return Registry(node_w3(chamber.node), chamber.registry)

    def start(self, administration: Administration) -> None:
        """Start ``administration``'s service again (after ``administration.stop()``)."""
        administration.start(self.trust_list, self.publisher.address)


@contextmanager
def served(harness: CustomsHarness) -> Iterator[str]:
    """``harness``'s app on a real HTTP port (threaded, like a deployment); its base URL."""
    server = make_server("127.0.0.1", 0, harness.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def chain_b(tmp_path: Path) -> Iterator[ManagedAnvil]:
    """A second Anvil of this test alone, chain id 1337 (``own_chain`` is 31337), which it may stop
    and restart (same port, state kept in a file)."""
    node = ManagedAnvil(tmp_path / "chain-b-state.json", port=free_port(), chain_id=CHAIN_B, log_file=tmp_path / "chain-b.log")
    try:
        node.start()
    except Exception as exc:  # noqa: BLE001 - turn any start failure into a test failure
        pytest.fail(f"could not start Anvil with chain id {CHAIN_B} (run `npm ci`): {exc}")
    yield node
    node.stop()


@pytest.fixture
def two_chains(
    tmp_path: Path, own_chain: ManagedAnvil, chain_b: ManagedAnvil, made: list[Any], postgres_url: str
) -> Iterator[TwoChains]:
    """Both chambers (two certificates each, KR and JP), their ministries, the signed trust list and
    both administrations (Korea on SQLite, Japan on PostgreSQL); the services stopped afterwards."""
    a = issuing_chamber_of(made, tmp_path / "chamber-vn", own_chain, VIET_NAM, ["KR", "JP"])
    b = issuing_chamber_of(made, tmp_path / "chamber-th", chain_b, THAILAND, ["KR", "JP"])
    ministries = {chamber.chain_id: hand_over_authority(chamber) for chamber in (a, b)}
    publisher = LocalSigner(Account.create())
    entries = [
        trust_entry(a, authority_name=VIET_NAM.authority, authority_country="VN"),
        trust_entry(b, authority_name=THAILAND.authority, authority_country="TH"),
    ]
    trust_list = write_trust_list(tmp_path / "trust-list.json", entries, publisher)
    build = {"chambers": [a, b], "ministries": ministries, "trust_list": trust_list, "publisher": publisher.address}
    kr = make_administration(tmp_path / "customs-kr", "KR", database_url=None, **build)
    jp = make_administration(tmp_path / "customs-jp", "JP", database_url=postgres_url, **build)
    world = TwoChains(a, b, ministries, publisher, trust_list, kr, jp)
    yield world
    for administration in (world.kr, world.jp):
        administration.stop()
