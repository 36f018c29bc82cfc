"""Intents: a change whose transaction the chain keeps dropping is sent again, then given up with
its reason; a change the chain could not be asked for is closed at once (503), not left open."""

from __future__ import annotations

from typing import Any

import pytest

from ecoo.errors import ChainUnavailableError
from ecoo.service.intents import MAX_ATTEMPTS
from tests.support.service import ServiceHarness


def test_a_dropped_transaction_is_sent_again_then_given_up(service: ServiceHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    created = service.create(service.certificate("INT-DROPPED"))
    service.anchor()
    registry = service.app.extensions["ecoo"].chain.registry()
    sent: list[str] = []

    def dropped(signer: Any, leaf: bytes, *, issuer: str | None = None, on_sent: Any = None) -> Any:
        """The node takes the transaction and then forgets it (a dropped transaction)."""
        tx_hash = "0x" + f"{len(sent) + 1:064x}"
        sent.append(tx_hash)
        on_sent(tx_hash)
        raise ChainUnavailableError(service.settings.rpc_url, "dropped")

    monkeypatch.setattr(registry, "suspend_certificate", dropped)
    monkeypatch.setattr(registry, "transaction_state", lambda tx_hash: "unknown")
    accepted = service.client.post(f"/api/v1/certificates/{created['id']}/suspend", json={"reason": "enquiry"}, headers=service.auth)
    assert accepted.status_code == 202 and accepted.json["status"] == "ISSUED"
    assert accepted.json["intent"]["state"] == "SENT" and accepted.json["intent"]["attempts"] == 1
    for _ in range(MAX_ATTEMPTS + 1):
        service.anchor()  # each pass finds the transaction gone and sends it again, up to the limit
    assert len(sent) == MAX_ATTEMPTS
    detail = service.client.get(f"/api/v1/certificates/{created['id']}", headers=service.auth).json
    assert detail["status"] == "ISSUED" and detail["intent"] is None
    failed = detail["audit"][-1]
    assert failed["action"] == "REQUEST_FAILED" and f"given up after {MAX_ATTEMPTS} attempts" in failed["reason"]
    monkeypatch.undo()
    # The chamber can ask again, and this time it goes through.
    again = service.client.post(f"/api/v1/certificates/{created['id']}/suspend", json={"reason": "enquiry"}, headers=service.auth)
    assert again.status_code == 200 and again.json["status"] == "SUSPENDED" and again.json["intent"] is None


def test_a_change_the_chain_could_not_be_asked_for_is_closed(service: ServiceHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    created = service.create(service.certificate("INT-DOWN"))
    service.anchor()
    chain = service.app.extensions["ecoo"].chain

    def down() -> Any:
        raise ChainUnavailableError("http://127.0.0.1:9")

    monkeypatch.setattr(chain, "registry", down)
    refused = service.client.post(f"/api/v1/certificates/{created['id']}/revoke", json={"reason": "error"}, headers=service.auth)
    assert refused.status_code == 503 and refused.json["error"] == "chain_unavailable"
    assert service.client.get("/api/v1/health").json["projection"]["intentsInFlight"] == 0
    monkeypatch.undo()
    revoked = service.client.post(f"/api/v1/certificates/{created['id']}/revoke", json={"reason": "error"}, headers=service.auth)
    assert revoked.status_code == 200 and revoked.json["status"] == "REVOKED"


def test_a_refused_change_is_closed_with_the_registrys_reason(service: ServiceHarness) -> None:
    """The registry refuses a suspend of a certificate someone revoked on chain meanwhile (the
    projection had not recorded it yet): 409, and the intent is closed, not left open."""
    from ecoo.registry import RevocationReason
    from ecoo.signers import unlocked_signer

    created = service.create(service.certificate("INT-REFUSED"))
    service.anchor()
    objects = service.app.extensions["ecoo"]
    registry = objects.chain.registry()
    row = objects.store.get_certificate(created["id"])
    registry.revoke(unlocked_signer(registry.w3), row.leaf_bytes, RevocationReason.FRAUD, issuer=service.address)  # not followed yet
    refused = service.client.post(f"/api/v1/certificates/{created['id']}/suspend", json={}, headers=service.auth)
    assert refused.status_code == 409 and refused.json["error"] == "registry_refused", refused.json
    service.anchor()
    detail = service.client.get(f"/api/v1/certificates/{created['id']}", headers=service.auth).json
    assert detail["status"] == "REVOKED" and detail["intent"] is None
    assert [e["action"] for e in detail["audit"]][-3:] == ["REQUESTED", "REQUEST_FAILED", "REVOKED"]
