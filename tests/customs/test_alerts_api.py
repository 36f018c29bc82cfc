"""The alerts feed, page and webhooks API of the customs service, against a chamber on a real
Anvil: the chamber revokes for fraud after clearance, the alert arrives in the feed within a few
blocks, once, and survives a restart of the customs service (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ecoo.customs.store.schema import audit
from ecoo.customs.watch import Watcher
from tests.customs.alerts_support import make_alerts, restart_customs, watch_document
from tests.support.customs import CustomsHarness

#: Seconds the background watcher may take to turn a confirmed event into an alert.
ARRIVAL_TIMEOUT = 30.0


def feed(customs: CustomsHarness, after: str | int | None = None, **params: Any) -> dict[str, Any]:
    query = {"after": after, **params} if after is not None else params
    response = customs.client.get("/api/v1/alerts", query_string=query, headers=customs.officer)
    assert response.status_code == 200, response.json
    return dict(response.json or {})


def wait_for_alerts(customs: CustomsHarness, after: str, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while True:
        answer = feed(customs, after)
        if len(answer["alerts"]) >= count or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_a_revocation_for_fraud_after_clearance_reaches_the_feed_once_and_survives_a_restart(
    customs_db: CustomsHarness, tmp_path: Path, trust_list_file: Path, database_url: str | None
) -> None:
    customs, chamber = customs_db, customs_db.chamber
    for document in chamber.documents[:2]:
        watch_document(customs.objects.db, document)
    watcher = Watcher(customs.objects.db, customs.objects.registries, confirmations=customs.settings.confirmations)
    watcher.run_once()
    assert feed(customs) == {"alerts": [], "next": "0"}

    chamber.revoke(chamber.ids[0], "fraud")
    watcher.run_once()
    answer = feed(customs)
    [alert] = answer["alerts"]
    assert alert["kind"] == "revoked_fraud" and alert["certificate"]["number"] == chamber.numbers[0]
    assert alert["certificate"]["leaf"] == chamber.documents[0]["proof"]["leaf"]
    assert alert["certificate"]["chainId"] == chamber.chain_id and alert["certificate"]["registry"] == chamber.registry
    assert alert["event"]["name"] == "CertificateRevoked" and alert["detail"] == {"reason": "fraud"}
    assert "revoked by its issuer for fraud" in alert["message"]
    watcher.run_once()
    assert feed(customs, answer["next"]) == {"alerts": [], "next": answer["next"]}  # once

    # The customs service stops; the chamber suspends the second certificate meanwhile; a new
    # service on the same database, its background work running, catches up by itself.
    customs.close()
    suspended = chamber.service.client.post(
        f"/api/v1/certificates/{chamber.ids[1]}/suspend", json={}, headers=chamber.service.auth
    )
    assert suspended.status_code in (200, 202), suspended.json
    chamber.service.anchor()
    restarted = restart_customs(customs, tmp_path, trust_list_file, database_url, background=True, watch_interval=0.2)
    try:
        later = wait_for_alerts(restarted, answer["next"], 1)
        assert [a["kind"] for a in later["alerts"]] == ["suspended"]
        assert later["alerts"][0]["certificate"]["number"] == chamber.numbers[1]
        time.sleep(1.0)  # a few more passes
        assert [a["kind"] for a in feed(restarted)["alerts"]] == ["revoked_fraud", "suspended"]
    finally:
        restarted.close()


def test_the_feed_pages_through_every_alert_once_in_order(customs: CustomsHarness) -> None:
    ids = make_alerts(customs.objects.db, 5)
    seen: list[int] = []
    after = "0"
    for _ in range(5):
        page = feed(customs, after, limit=2)
        seen += [a["id"] for a in page["alerts"]]
        if not page["alerts"]:
            break
        after = page["next"]
    assert seen == ids
    assert feed(customs, after) == {"alerts": [], "next": after}


@pytest.mark.parametrize(
    "query", [{"after": "-1"}, {"after": "abc"}, {"after": "1.5"}, {"limit": "0"}, {"limit": "501"}, {"after": "9" * 30}]
)
def test_a_bad_cursor_or_limit_is_refused(customs: CustomsHarness, query: dict[str, str]) -> None:
    response = customs.client.get("/api/v1/alerts", query_string=query, headers=customs.officer)
    assert response.status_code == 400 and response.json["error"] == "invalid_parameter"


def test_the_feed_needs_an_officer(customs: CustomsHarness) -> None:
    assert customs.client.get("/api/v1/alerts").status_code == 401
    assert customs.client.get("/api/v1/alerts", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert customs.client.get("/api/v1/alerts", headers=customs.admin).status_code == 200  # admin includes officer


def test_webhooks_are_for_admins(customs: CustomsHarness) -> None:
    assert customs.client.get("/api/v1/webhooks", headers=customs.officer).status_code == 403
    created = customs.client.post("/api/v1/webhooks", json={"url": "https://example.org/hook"}, headers=customs.officer)
    assert created.status_code == 403
    assert customs.client.get("/api/v1/webhooks").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.org/hook"},
        {"url": "javascript:alert(1)"},
        {"url": "file:///etc/passwd"},
        {"url": "https://"},
        {"url": "https://user:secret@example.org/hook"},
        {"url": "https://example.org/a b"},
        {"url": "https://example.org:99999/hook"},
        {"url": "https://example.org/" + "a" * 2100},
        {"url": 42},
        {},
        {"url": "https://example.org/hook", "secret": "mine"},
    ],
)
def test_a_webhook_url_that_is_not_plain_http_is_refused(customs: CustomsHarness, body: dict[str, Any]) -> None:
    response = customs.client.post("/api/v1/webhooks", json=body, headers=customs.admin)
    assert response.status_code == 400, response.json
    assert customs.client.get("/api/v1/webhooks", headers=customs.admin).json == {"webhooks": []}


def test_a_webhook_is_created_with_a_secret_shown_once_listed_and_disabled(customs: CustomsHarness) -> None:
    url = "https://hooks.example.org/customs?key=do-not-log"
    created = customs.client.post("/api/v1/webhooks", json={"url": url}, headers=customs.admin)
    assert created.status_code == 201
    hook = created.json
    assert hook["url"] == url and hook["enabled"] and hook["secret"].startswith("whsec_") and len(hook["secret"]) > 40
    listed = customs.client.get("/api/v1/webhooks", headers=customs.admin).json["webhooks"]
    assert listed == [{k: v for k, v in hook.items() if k != "secret"}]  # the secret is never shown again

    disabled = customs.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=customs.admin)
    assert disabled.status_code == 200 and disabled.json["enabled"] is False and disabled.json["disabledAt"]
    assert customs.client.delete("/api/v1/webhooks/999", headers=customs.admin).status_code == 404
    assert customs.client.get("/api/v1/webhooks/999/deliveries", headers=customs.admin).status_code == 404
    log = customs.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=customs.admin)
    assert log.status_code == 200 and log.json["deliveries"] == []

    with customs.objects.db.transaction() as conn:
        rows = conn.execute(select(audit.c.action, audit.c.subject, audit.c.detail).where(audit.c.action.like("webhook_%"))).all()
    assert [(r.action, r.subject) for r in rows] == [
        ("webhook_created", f"webhook:{hook['id']}"),
        ("webhook_disabled", f"webhook:{hook['id']}"),
    ]
    assert json.loads(rows[0].detail) == {"url": "https://hooks.example.org"}  # the query (a key) is not kept


def test_a_disabled_webhook_gets_no_new_deliveries(customs: CustomsHarness) -> None:
    hook = customs.client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=customs.admin).json
    other = customs.client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/other"}, headers=customs.admin).json
    make_alerts(customs.objects.db, 1)
    customs.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=customs.admin)
    make_alerts(customs.objects.db, 1)
    first = customs.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=customs.admin).json["deliveries"]
    second = customs.client.get(f"/api/v1/webhooks/{other['id']}/deliveries", headers=customs.admin).json["deliveries"]
    assert [d["state"] for d in first] == ["failed"] and first[0]["lastError"] == "the webhook was disabled"
    assert [d["state"] for d in second] == ["pending", "pending"]


def test_the_alerts_page_lists_alerts_and_the_registries_watched(customs: CustomsHarness) -> None:
    client = customs.new_client()
    assert client.get("/alerts").status_code == 302  # to the sign-in page
    customs.sign_in(client)
    empty = client.get("/alerts").get_data(as_text=True)
    assert 'data-testid="no-alerts"' in empty

    make_alerts(customs.objects.db, 3, chamber="<script>alert(1)</script>")
    watch_document(customs.objects.db, customs.chamber.documents[0])
    Watcher(customs.objects.db, customs.objects.registries).run_once()
    page = client.get("/alerts")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count('data-kind="revoked_fraud"') == 3
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "Ministry of Commerce, Thailand" in html and "following" in html  # the chamber's registry, read
    assert "not on the trust list" in html  # the made-up registry of make_alerts


def test_the_alerts_page_pages_back(customs: CustomsHarness) -> None:
    ids = make_alerts(customs.objects.db, 55)
    client = customs.new_client()
    customs.sign_in(client)
    first = client.get("/alerts").get_data(as_text=True)
    assert first.count("data-alert-id=") == 50 and f'data-alert-id="{ids[-1]}"' in first
    assert f"/alerts?before={ids[5]}" in first
    older = client.get(f"/alerts?before={ids[5]}").get_data(as_text=True)
    assert [f'data-alert-id="{i}"' in older for i in ids[:5]] == [True] * 5 and older.count("data-alert-id=") == 5
