"""Customs across two chains, end to end: two real Anvils (chain ids 31337 and 1337), a registry on
each with its own authority (Viet Nam's ministry on A, Thailand's on B: the same contract address on
both chains), a chamber issuing on each, a signed trust list naming both registries, and two
administrations — Korea on SQLite, Japan on a real PostgreSQL — each with its own customs key
granted on both registries, their background work running. The world is built by
``tests/support/two_chains.py``.

One scenario, in order (each step builds on what the chain and the databases hold from the last):

1. a declaration presenting certificates of both chains at once, at each administration: every line
   accepted, each utilisation recorded by that administration's key on its certificate's chain;
2. chain B stopped: only chain B's certificates are UNAVAILABLE, chain A's verified and recorded;
   chain B restarted: both again;
3. one certificate cannot be over-utilised across the two administrations;
4. fraud after clearance on chain B alerts the administration that cleared it (and only it), once,
   within a few blocks;
5. that service restarted: the alert is still there, once; what happened on chain A meanwhile
   alerts after the restart;
6. an officer of that administration signs in with a real browser and sees the alerts and the
   two-chain declaration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ecoo.customs.alert_repository import AlertRepository
from ecoo.errors.registry import UtilisationExceededError
from ecoo.registry import Registry
from tests.browser.test_browser import page  # noqa: F401 - the Chromium tab fixture (asked for in step 6)
from tests.browser.test_customs_signin import sign_in
from tests.support.chain import node_rpc
from tests.support.customs import OFFICER_PASSWORD, IssuingChamber
from tests.support.two_chains import CHAIN_A, CHAIN_B, CONSIGNEES, THAILAND, VIET_NAM, Administration, TwoChains, served

pytestmark = [pytest.mark.anvil, pytest.mark.postgres, pytest.mark.browser, pytest.mark.slow]

#: Seconds a background watcher may take to turn a confirmed event into an alert (it reads every 0.2 s).
ARRIVAL_TIMEOUT = 30.0
SCREENSHOT = Path("/tmp/ecoo-customs-two-chains.png")


# -- declarations ------------------------------------------------------------------------------------


def line(number: int, certificate: int, quantity: str, item: int = 1) -> dict[str, Any]:
    """A declaration line on ``item`` of the ``certificate``-th document presented (the example's
    items: 1 brake pads in SET, 2 natural rubber in TNE)."""
    hs_code, unit = ("870830", "SET") if item == 1 else ("400122", "TNE")
    return {"line": number, "certificate": certificate, "item": item, "hsCode": hs_code, "quantity": quantity, "unit": unit}


def declare(
    administration: Administration, reference: str, documents: list[dict[str, Any]], *lines: dict[str, Any]
) -> dict[str, Any]:
    """POST the declaration to ``administration``'s service; its answer (201)."""
    consignee, port = CONSIGNEES[administration.country]
    body = {
        "reference": reference,
        "importer": {"name": consignee["name"], "identifier": consignee["identifier"]},
        "portOfEntry": port,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "certificates": documents,
        "lines": list(lines),
    }
    response = administration.client.post("/api/v1/declarations", json=body, headers=administration.officer)
    assert response.status_code == 201, response.json
    return dict(response.json or {})


def decisions(answer: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """Each line's decision, and its record's kind and state (None: no record)."""
    return [
        (entry["decision"], (entry["record"] or {}).get("kind"), (entry["record"] or {}).get("state"))
        for entry in answer["lines"]
    ]


def leaf_of(document: dict[str, Any]) -> bytes:
    return bytes.fromhex(document["proof"]["leaf"][2:])


def utilised(registry: Registry, document: dict[str, Any], item: int = 1) -> tuple[int, int]:
    """(certified, utilised) of ``item`` as ``registry`` holds it, in thousandths of the unit."""
    (found,) = registry.get_utilisation(document["proof"]["issuer"], leaf_of(document), [item])
    return found.certified, found.utilised


def utilisations(registry: Registry) -> list[tuple[str, str | None, int | None, int | None]]:
    """Every CertificateUtilised event of ``registry``: (leaf, customs key, item, quantity)."""
    return [(e.subject, e.customs, e.item, e.quantity) for e in registry.events(0, "latest", ["CertificateUtilised"])]


def receipts(registry: Registry) -> list[tuple[str, str | None]]:
    """Every CertificateReceived event of ``registry``: (leaf, customs key)."""
    return [(e.subject, e.customs) for e in registry.events(0, "latest", ["CertificateReceived"])]


# -- alerts ------------------------------------------------------------------------------------------


def feed(administration: Administration, after: str | None = None) -> dict[str, Any]:
    query = {"after": after} if after is not None else {}
    response = administration.client.get("/api/v1/alerts", query_string=query, headers=administration.officer)
    assert response.status_code == 200, response.json
    return dict(response.json or {})


def wait_for(condition: Callable[[], Any], what: str, timeout: float = ARRIVAL_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.1)
    return result


def read_up_to(administration: Administration, chamber: IssuingChamber, block: int) -> bool:
    """Whether ``administration``'s watcher has read ``chamber``'s registry up to ``block``."""
    cursor = AlertRepository(administration.harness.objects.db).cursor(chamber.chain_id, chamber.registry)
    return cursor is not None and cursor.block_number >= block


def head(chamber: IssuingChamber) -> int:
    return int(node_rpc(chamber.node, "eth_blockNumber"), 16)


# -- the scenario ------------------------------------------------------------------------------------


def test_two_chains_two_registries_two_administrations(two_chains: TwoChains, request: pytest.FixtureRequest) -> None:
    world = two_chains
    a, b, kr, jp = world.a, world.b, world.kr, world.jp
    registry_a, registry_b = world.registry(a), world.registry(b)
    vn_kr, vn_jp = a.documents  # Viet Nam's certificates (chain A) for Korea and for Japan
    th_kr, th_jp = b.documents  # Thailand's (chain B)

    # The world: two chains; two registries at the same address, each with its own authority;
    # both administrations' keys granted on both.
    assert (a.chain_id, b.chain_id) == (CHAIN_A, CHAIN_B)
    assert a.registry == b.registry  # routing must go by (chain id, registry), never the address alone
    ministry_a, ministry_b = world.ministries[CHAIN_A], world.ministries[CHAIN_B]
    assert ministry_a.address != ministry_b.address
    assert registry_a.is_authority(ministry_a.address) and not registry_a.is_authority(ministry_b.address)
    assert registry_b.is_authority(ministry_b.address) and not registry_b.is_authority(ministry_a.address)
    for registry in (registry_a, registry_b):
        assert [registry.get_customs(x.key.address).country for x in (kr, jp)] == ["KR", "JP"]
    health = kr.client.get("/api/v1/health").json or {}
    assert health["trustList"]["signature"]["publisher"] == world.publisher.address
    assert [(e["chainId"], e["reachable"]) for e in health["trustList"]["entries"]] == [(CHAIN_A, True), (CHAIN_B, True)]

    # 1. One declaration, certificates of both chains, at each administration.
    kr_first = declare(kr, "KR-IMP-2026-000001", [vn_kr, th_kr], line(1, 0, "2000"), line(2, 1, "3000"), line(3, 1, "2.4", 2))
    assert kr_first["outcome"] == "accepted", kr_first
    assert decisions(kr_first) == [("accept", "utilisation", "confirmed")] * 3
    reports = [c["report"] for c in kr_first["certificates"]]
    assert [(r["verdict"], r["chainId"]) for r in reports] == [("VALID", CHAIN_A), ("VALID", CHAIN_B)]
    assert [r["trustEntry"]["authority"] for r in reports] == [VIET_NAM.authority, THAILAND.authority]
    jp_first = declare(jp, "JP-IMP-2026-000001", [vn_jp, th_jp], line(1, 0, "500"), line(2, 1, "700"))
    assert jp_first["outcome"] == "accepted" and decisions(jp_first) == [("accept", "utilisation", "confirmed")] * 2
    # Read back from each registry: each utilisation on its certificate's chain, by the key of the
    # administration that accepted it, and nothing on the other chain.
    kr_key, jp_key = kr.key.address, jp.key.address
    assert utilisations(registry_a) == [
        (vn_kr["proof"]["leaf"], kr_key, 1, 2_000_000),
        (vn_jp["proof"]["leaf"], jp_key, 1, 500_000),
    ]
    assert utilisations(registry_b) == [
        (th_kr["proof"]["leaf"], kr_key, 1, 3_000_000),
        (th_kr["proof"]["leaf"], kr_key, 2, 2_400),
        (th_jp["proof"]["leaf"], jp_key, 1, 700_000),
    ]
    assert receipts(registry_a) == [(vn_kr["proof"]["leaf"], kr_key), (vn_jp["proof"]["leaf"], jp_key)]
    assert receipts(registry_b) == [(th_kr["proof"]["leaf"], kr_key), (th_jp["proof"]["leaf"], jp_key)]
    assert utilised(registry_a, vn_kr) == (12_000_000, 2_000_000) and utilised(registry_b, th_kr) == (12_000_000, 3_000_000)
    assert utilised(registry_b, th_kr, 2) == (8_400, 2_400) and utilised(registry_b, th_jp) == (12_000_000, 700_000)
    assert utilised(registry_a, th_kr) == (0, 0) and utilised(registry_b, vn_kr) == (0, 0)

    # 2. Chain B stops: only its certificate is UNAVAILABLE (no verdict, nothing recorded, declare
    # the line again later); chain A's is verified and recorded.
    b.node.stop()
    degraded = kr.client.get("/api/v1/health").json or {}
    assert [(e["chainId"], e["reachable"]) for e in degraded["trustList"]["entries"]] == [(CHAIN_A, True), (CHAIN_B, False)]
    kr_down = declare(kr, "KR-IMP-2026-000002", [vn_kr, th_kr], line(1, 0, "100"), line(2, 1, "100"))
    assert [c["report"]["verdict"] for c in kr_down["certificates"]] == ["VALID", "UNAVAILABLE"]
    assert kr_down["outcome"] == "partly_accepted"
    assert decisions(kr_down) == [("accept", "utilisation", "confirmed"), ("reject", None, None)]
    (unavailable,) = kr_down["lines"][1]["reasons"]
    assert unavailable["code"] == "certificate_not_valid" and "its chain did not answer" in unavailable["message"]
    assert utilised(registry_a, vn_kr) == (12_000_000, 2_100_000)
    b.node.start()  # its state file kept everything
    assert utilised(registry_b, th_kr) == (12_000_000, 3_000_000)
    kr_again = declare(kr, "KR-IMP-2026-000003", [vn_kr, th_kr], line(1, 0, "100"), line(2, 1, "100"))
    assert kr_again["outcome"] == "accepted" and [c["report"]["verdict"] for c in kr_again["certificates"]] == ["VALID"] * 2
    assert decisions(kr_again) == [("accept", "utilisation", "confirmed")] * 2
    assert utilised(registry_a, vn_kr) == (12_000_000, 2_200_000) and utilised(registry_b, th_kr) == (12_000_000, 3_100_000)

    # 3. Over-utilisation across the two administrations. Korea takes what remains of Thailand's
    # certificate for Korea; Japan, presented the same certificate, rejects it clearly and records
    # the rejection; and the registry itself refuses Japan's key any further utilisation.
    kr_rest = declare(kr, "KR-IMP-2026-000004", [th_kr], line(1, 0, "8900"))
    assert kr_rest["outcome"] == "accepted" and utilised(registry_b, th_kr) == (12_000_000, 12_000_000)
    jp_late = declare(jp, "JP-IMP-2026-000002", [th_kr], line(1, 0, "1"))
    assert jp_late["outcome"] == "rejected" and decisions(jp_late) == [("reject", "rejection", "confirmed")]
    reasons = {r["code"]: r["message"] for r in jp_late["lines"][0]["reasons"]}
    assert set(reasons) == {"wrong_import_country", "importer_mismatch", "quantity_exceeded"}
    assert "for import into KR, not JP" in reasons["wrong_import_country"] and "fully utilised" in reasons["quantity_exceeded"]
    rejected = registry_b.events(0, "latest", ["CertificateRejected"])
    assert [(e.subject, e.customs) for e in rejected] == [(th_kr["proof"]["leaf"], jp_key)]
    with pytest.raises(UtilisationExceededError) as refused:
        registry_b.record_utilisation(jp.key, th_kr["proof"]["issuer"], leaf_of(th_kr), 1, 12_000_000, 1, bytes(32))
    assert (refused.value.certified, refused.value.utilised) == (12_000_000, 12_000_000)
    quantities = [q for leaf, _, item, q in utilisations(registry_b) if leaf == th_kr["proof"]["leaf"] and item == 1]
    assert sum(q or 0 for q in quantities) == 12_000_000 == utilised(registry_b, th_kr)[1]

    # 4. Fraud after clearance: Thailand's chamber revokes the certificate Japan cleared. Japan's
    # watcher alerts within a few blocks; Korea, which never accepted it, reads past it silently.
    before = head(b)
    b.revoke(b.ids[1], "fraud")
    (revocation,) = registry_b.events(before + 1, "latest", ["CertificateRevoked"])
    alerts = wait_for(lambda: feed(jp)["alerts"], "Japan's alert of the revocation")
    assert head(b) - revocation.block_number <= 3
    (alert,) = alerts
    assert alert["kind"] == "revoked_fraud" and alert["detail"] == {"reason": "fraud"}
    assert alert["certificate"]["number"] == b.numbers[1] and alert["certificate"]["leaf"] == th_jp["proof"]["leaf"]
    assert (alert["certificate"]["chainId"], alert["certificate"]["registry"]) == (CHAIN_B, b.registry)
    assert alert["declarationId"] == jp_first["id"]
    assert (alert["event"]["name"], alert["event"]["block"]) == ("CertificateRevoked", revocation.block_number)
    wait_for(lambda: read_up_to(kr, b, revocation.block_number), "Korea's watcher past the revocation")
    assert feed(kr)["alerts"] == []
    for _ in range(3):
        node_rpc(b.node, "evm_mine")
    wait_for(lambda: read_up_to(jp, b, head(b)), "Japan's watcher past three more blocks")
    assert [x["id"] for x in feed(jp)["alerts"]] == [alert["id"]]  # once

    # 5. Japan's service stops; meanwhile Viet Nam's chamber suspends the other certificate Japan
    # cleared (chain A). Started again on the same PostgreSQL database: the fraud alert is still
    # there, once, and the suspension alerts now.
    jp.stop()
    suspended = a.service.client.post(f"/api/v1/certificates/{a.ids[1]}/suspend", json={}, headers=a.service.auth)
    assert suspended.status_code in (200, 202), suspended.json
    a.service.anchor()
    world.start(jp)
    later = wait_for(lambda: feed(jp, str(alert["id"]))["alerts"], "Japan's alert of the suspension after its restart")
    assert [(x["kind"], x["certificate"]["chainId"], x["certificate"]["number"]) for x in later] == [
        ("suspended", CHAIN_A, a.numbers[1])
    ]
    wait_for(lambda: read_up_to(jp, a, head(a)) and read_up_to(jp, b, head(b)), "Japan's watcher on both chains")
    assert [(x["id"], x["kind"]) for x in feed(jp)["alerts"]] == [(alert["id"], "revoked_fraud"), (later[0]["id"], "suspended")]

    # 6. A real browser: Japan's officer signs in and sees both alerts, both registries followed,
    # and the two-chain declaration.
    tab = request.getfixturevalue("page")
    with served(jp.harness) as base:
        tab.goto(f"{base}/alerts")
        assert tab.url == f"{base}/login?next=/alerts"
        sign_in(tab, OFFICER_PASSWORD)
        tab.wait_for_url(f"{base}/alerts")
        rows = tab.get_by_test_id("alerts").locator("tbody tr")
        assert rows.count() == 2
        shown = {row.get_attribute("data-kind"): row.inner_text() for row in rows.all()}
        assert b.numbers[1] in shown["revoked_fraud"] and f"chain {CHAIN_B}," in shown["revoked_fraud"]
        assert a.numbers[1] in shown["suspended"] and f"chain {CHAIN_A}," in shown["suspended"]
        watched = tab.get_by_test_id("watched").inner_text()
        assert VIET_NAM.authority in watched and THAILAND.authority in watched
        assert watched.count("following") == 2 and "unavailable" not in watched

        tab.goto(f"{base}/declarations/{jp_first['id']}")
        assert tab.get_by_test_id("outcome").inner_text() == "accepted"
        lines = tab.get_by_test_id("declaration-line")
        assert lines.count() == 2
        for i in range(2):
            assert "accept" in lines.nth(i).inner_text() and "utilisation — confirmed" in lines.nth(i).inner_text()
        certificates = tab.locator("table").nth(1).inner_text()
        assert a.numbers[1] in certificates and b.numbers[1] in certificates
        tab.screenshot(path=str(SCREENSHOT), full_page=True)
