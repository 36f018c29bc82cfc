"""A running ecoo service for tests: fresh registry on the session's Anvil, fresh database, one
accredited chamber with its token. The anchoring worker is driven by hand (``anchor()``)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from web3 import Web3

from ecoo.anvil import ManagedAnvil
from ecoo.deploy import deploy_registry
from ecoo.examples import example_certificate
from ecoo.service.app import create_app
from ecoo.service.chambers import create_chamber
from ecoo.service.config import ServiceSettings
from ecoo.signers import unlocked_signer

CHAMBER = ("Department of Foreign Trade, Ministry of Commerce", "TH", "DFT-BKK")


@dataclass
class ServiceHarness:
    app: Flask
    client: FlaskClient
    settings: ServiceSettings
    token: str
    chamber_id: int
    address: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def worker(self) -> Any:
        return self.app.extensions["ecoo"].worker

    def certificate(self, number: str = "TH-RCEP-2026-0048815", scheme: str = "RCEP") -> dict[str, Any]:
        co = example_certificate(scheme, issued_on=datetime.now(UTC).date())
        co["certificateNumber"] = number
        return co

    def create(self, co: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post("/api/v1/certificates", json=co, headers=self.auth)
        assert response.status_code == 202, response.json
        return dict(response.json or {})

    def anchor(self) -> int:
        return int(self.worker.run_once(force=True))

    def issue(self, number: str = "TH-RCEP-2026-0048815") -> dict[str, Any]:
        """Create, anchor and return the issued document."""
        created = self.create(self.certificate(number))
        assert self.anchor() >= 1
        response = self.client.get(f"/api/v1/certificates/{created['id']}/document", headers=self.auth)
        assert response.status_code == 200, response.json
        return dict(response.json or {})


def make_service(
    tmp_path: Path,
    anvil: ManagedAnvil,
    database_url: str | None = None,
    *,
    chamber: tuple[str, str, str] = CHAMBER,
    **overrides: Any,
) -> ServiceHarness:
    """The service on a registry deployed for it, with one ``chamber`` (name, country, accreditation
    code) funded and accredited by the node's unlocked account."""
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    deploy_registry(w3, unlocked_signer(w3), deployments_dir=tmp_path / "deployments", reuse=False)
    env = {
        "ECOO_RPC_URL": anvil.url,
        "ECOO_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
        "ECOO_DATA_DIR": str(tmp_path / "data"),
        "ECOO_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ECOO_WORKER": "0",
        "ECOO_BATCH_WINDOW": "0",
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    settings = ServiceSettings.from_env(env, **overrides)
    created = create_chamber(settings, *chamber, dev=True)
    app = create_app(settings)
    app.config["TESTING"] = True
    return ServiceHarness(app, app.test_client(), settings, created["token"], created["chamber"], created["address"])


def made_service(made: list[ServiceHarness], *args: Any, **kwargs: Any) -> ServiceHarness:
    """``make_service(*args, **kwargs)``, remembered in the ``made`` fixture's list (closed after the test)."""
    made.append(make_service(*args, **kwargs))
    return made[-1]
