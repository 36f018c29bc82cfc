"""Webhook deliveries to a real HTTP receiver on this machine (a thread): the signature checks out
with the secret shown once, a receiver that fails twice then answers gets three attempts in the
log, a receiver that always fails stops at the maximum, and hostile receivers (redirects, huge or
endless answers) cost a bounded time and nothing else. The address guard: loopback, private,
link-local and metadata addresses (IPv4, IPv6, mapped, behind a host name) are refused when a
webhook is made and again at each delivery, unless ECOO_WEBHOOK_ALLOW_PRIVATE=1 (which the
receivers on 127.0.0.1 of the other tests need: tests/customs/conftest.py sets it)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ecoo.customs.config import ALLOW_PRIVATE_ENV, CustomsSettings, private_webhooks_allowed
from ecoo.customs.store import CustomsDatabase
from ecoo.customs.webhook_repository import WebhookRepository
from ecoo.customs.webhooks import (
    Deliverer,
    address_refusal,
    backoff,
    body_of,
    check_webhook_url,
    new_secret,
    resolve,
    sign,
)
from ecoo.errors import InputError
from tests.customs.alerts_support import customs_database, make_alerts, restart_customs, watch_document
from tests.support.customs import CustomsHarness


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local HTTP server answering each POST with the next of ``answers``; the last one repeats.
    An answer is a status, ``("redirect", url)``, ``("big", status, bytes)``, ``("sleep", seconds)``
    or ``("drip", seconds per byte)``."""

    answers: list[Any]
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}/hooks/customs?tenant=kr"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                index = min(len(receiver.received), len(receiver.answers)) - 1
                self.answer(receiver.answers[index])

            def answer(self, answer: Any) -> None:
                if isinstance(answer, int):
                    self.send_response(answer)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                elif answer[0] == "redirect":
                    self.send_response(307)
                    self.send_header("Location", answer[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif answer[0] == "big":
                    self.send_response(answer[1])
                    self.send_header("Content-Length", str(answer[2]))
                    self.end_headers()
                    chunk = b"x" * 65536
                    try:
                        for _ in range(answer[2] // len(chunk)):
                            self.wfile.write(chunk)
                    except OSError:
                        pass  # the sender stopped reading, as it should
                elif answer[0] == "sleep":
                    time.sleep(answer[1])
                    self.send_response(200)
                    self.end_headers()
                elif answer[0] == "drip":
                    try:
                        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(answer[1])
                    except OSError:
                        pass
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.stop()


def receiver(receivers: list[Receiver], *answers: Any) -> Receiver:
    made = Receiver(list(answers)).start()
    receivers.append(made)
    return made


@pytest.fixture
def db(tmp_path: Path, database_url: str | None) -> Iterator[CustomsDatabase]:
    """A customs database without a service: SQLite, and a fresh one on a real PostgreSQL."""
    database = customs_database(tmp_path, database_url)
    yield database
    database.close()


def deliver_until_done(deliverer: Deliverer, repository: WebhookRepository, webhook_id: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while any(d.state == "pending" for d in repository.deliveries(webhook_id)):
        assert time.monotonic() < deadline, repository.deliveries(webhook_id)
        deliverer.run_once()
        time.sleep(0.02)


def test_a_receiver_that_fails_twice_gets_three_signed_attempts_in_the_log(
    customs: CustomsHarness, receivers: list[Receiver]
) -> None:
    hook = receiver(receivers, 500, 503, 200)
    created = customs.client.post("/api/v1/webhooks", json={"url": hook.url}, headers=customs.admin).json
    [alert_id] = make_alerts(customs.objects.db, 1)
    repository = WebhookRepository(customs.objects.db)
    deliverer = Deliverer(repository, max_attempts=customs.settings.webhook_max_attempts, backoff_base=0.05)
    deliver_until_done(deliverer, repository, created["id"])

    assert len(hook.received) == 3
    first = hook.received[0]
    assert all(r.body == first.body for r in hook.received)  # the same bytes every time
    assert first.path == "/hooks/customs?tenant=kr" and first.headers["Content-Type"] == "application/json"
    expected = "sha256=" + hmac.new(created["secret"].encode(), first.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(first.headers["X-Ecoo-Signature"], expected)
    payload = json.loads(first.body)
    assert str(payload["delivery"]) == first.headers["X-Ecoo-Delivery"]
    assert payload["alert"]["id"] == alert_id and payload["alert"]["kind"] == "revoked_fraud" == first.headers["X-Ecoo-Event"]
    feed = customs.client.get("/api/v1/alerts", headers=customs.officer).json
    assert payload["alert"] == feed["alerts"][0]  # what the feed gives

    log = customs.client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=customs.admin)
    [delivery] = log.json["deliveries"]
    assert delivery["state"] == "delivered" and delivery["attempts"] == 3 and delivery["alert"] == alert_id
    assert [entry["status"] for entry in delivery["log"]] == [500, 503, 200]
    assert [entry["error"] for entry in delivery["log"]] == ["HTTP 500: ok", "HTTP 503: ok", None]
    assert delivery["deliveredAt"] and delivery["nextAttemptAt"] is None


def test_a_receiver_that_always_fails_stops_at_the_maximum(db: CustomsDatabase, receivers: list[Receiver]) -> None:
    hook = receiver(receivers, 500)
    repository = WebhookRepository(db)
    webhook_id = repository.create_webhook(hook.url, new_secret())
    make_alerts(db, 1)
    deliverer = Deliverer(repository, max_attempts=4, backoff_base=0.02)
    deliver_until_done(deliverer, repository, webhook_id)
    [delivery] = repository.deliveries(webhook_id)
    assert delivery.state == "failed" and delivery.attempts == 4 and len(hook.received) == 4
    time.sleep(0.1)
    assert deliverer.run_once() == 0 and len(hook.received) == 4  # nothing more


def test_every_enabled_webhook_gets_each_new_alert_and_a_later_one_only_later_alerts(
    db: CustomsDatabase, receivers: list[Receiver]
) -> None:
    one, two = receiver(receivers, 200), receiver(receivers, 204)
    repository = WebhookRepository(db)
    first = repository.create_webhook(one.url, new_secret())
    make_alerts(db, 2)
    second = repository.create_webhook(two.url, new_secret())
    make_alerts(db, 1)
    deliverer = Deliverer(repository, max_attempts=3)
    deliver_until_done(deliverer, repository, first)
    deliver_until_done(deliverer, repository, second)
    assert len(one.received) == 3 and len(two.received) == 1


def test_a_redirect_is_not_followed(db: CustomsDatabase, receivers: list[Receiver]) -> None:
    elsewhere = receiver(receivers, 200)
    hook = receiver(receivers, ("redirect", elsewhere.url))
    repository = WebhookRepository(db)
    webhook_id = repository.create_webhook(hook.url, new_secret())
    make_alerts(db, 1)
    Deliverer(repository, max_attempts=1).run_once()
    [delivery] = repository.deliveries(webhook_id)
    assert delivery.state == "failed" and delivery.last_status == 307
    assert delivery.last_error == "HTTP 307 (redirects are not followed)"
    assert elsewhere.received == []


def test_a_huge_answer_is_not_read(db: CustomsDatabase, receivers: list[Receiver]) -> None:
    hook = receiver(receivers, ("big", 500, 200 * 1024 * 1024), ("big", 200, 200 * 1024 * 1024))
    repository = WebhookRepository(db)
    webhook_id = repository.create_webhook(hook.url, new_secret())
    make_alerts(db, 1)
    deliverer = Deliverer(repository, max_attempts=3, backoff_base=0.01)
    started = time.monotonic()
    deliver_until_done(deliverer, repository, webhook_id)
    assert time.monotonic() - started < 5  # 400 MB were offered
    [delivery] = repository.deliveries(webhook_id)
    assert delivery.state == "delivered" and delivery.attempts == 2
    assert delivery.attempt_log[0]["error"] == "HTTP 500: " + "x" * 200  # an excerpt of the start, no more


@pytest.mark.parametrize("answer", [("sleep", 5.0), ("drip", 0.2)])
def test_a_receiver_that_does_not_finish_answering_is_cut_off(
    db: CustomsDatabase, receivers: list[Receiver], answer: tuple[str, float]
) -> None:
    hook = receiver(receivers, answer)
    repository = WebhookRepository(db)
    webhook_id = repository.create_webhook(hook.url, new_secret())
    make_alerts(db, 1)
    started = time.monotonic()
    Deliverer(repository, max_attempts=1, total_timeout=1.0).run_once()
    assert time.monotonic() - started < 3
    [delivery] = repository.deliveries(webhook_id)
    assert delivery.state == "failed" and delivery.last_error == "no complete answer within 1 s"


def test_a_receiver_that_is_not_there_is_retried(db: CustomsDatabase) -> None:
    repository = WebhookRepository(db)
    webhook_id = repository.create_webhook("http://127.0.0.1:9/hook", new_secret())
    make_alerts(db, 1)
    Deliverer(repository, max_attempts=3, backoff_base=60).run_once()
    [delivery] = repository.deliveries(webhook_id)
    assert delivery.state == "pending" and delivery.attempts == 1 and delivery.last_error == "no answer (ConnectionRefusedError)"
    assert 30 <= delivery.next_at - time.time() <= 61  # the first backoff, jittered in its upper half


def test_a_claimed_delivery_is_not_sent_by_another_process_meanwhile(db: CustomsDatabase, receivers: list[Receiver]) -> None:
    hook = receiver(receivers, 200)
    repository = WebhookRepository(db)
    repository.create_webhook(hook.url, new_secret())
    make_alerts(db, 1)
    assert len(repository.claim_due(time.time(), hold=60)) == 1  # a process that died mid-attempt
    assert Deliverer(WebhookRepository(db), max_attempts=3).run_once() == 0
    assert len(repository.claim_due(time.time() + 61, hold=60)) == 1  # its claim lapsed: tried again


@pytest.mark.parametrize(
    ("failed", "low", "high"), [(1, 5.0, 10.0), (2, 10.0, 20.0), (3, 20.0, 40.0), (10, 1800.0, 3600.0), (40, 1800.0, 3600.0)]
)
def test_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half(failed: int, low: float, high: float) -> None:
    assert backoff(failed, 10.0, 3600.0, jitter=lambda: 0.0) == low
    assert backoff(failed, 10.0, 3600.0, jitter=lambda: 1.0) == high


def test_the_signature_is_the_hmac_of_the_exact_body() -> None:
    body = b'{"alert":{},"delivery":1}'
    assert sign("whsec_test", body) == "sha256=" + hmac.new(b"whsec_test", body, hashlib.sha256).hexdigest()
    assert sign("whsec_test", body + b" ") != sign("whsec_test", body)


def test_a_body_is_compact_sorted_json(db: CustomsDatabase) -> None:
    from ecoo.customs.alert_repository import AlertRepository

    [alert_id] = make_alerts(db, 1)
    alert = AlertRepository(db).alert(alert_id)
    assert alert is not None
    body = body_of(7, alert)
    assert body == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("url", ["gopher://example.org/", "http:///path", "https://u@example.org/", "//example.org/x", "\x00"])
def test_only_plain_http_urls_are_webhooks(url: str) -> None:
    with pytest.raises(InputError):
        check_webhook_url(url)


def test_the_receivers_snippet_in_the_docs_verifies_a_real_delivery(db: CustomsDatabase, receivers: list[Receiver]) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "customs-alerts.md").read_text(encoding="utf-8")
    snippet = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(snippet, "docs/customs-alerts.md", "exec"), namespace)  # noqa: S102 - our own documentation
    hook = receiver(receivers, 200)
    secret = new_secret()
    WebhookRepository(db).create_webhook(hook.url, secret)
    make_alerts(db, 1)
    Deliverer(WebhookRepository(db), max_attempts=1).run_once()
    [received] = hook.received
    assert namespace["verified"](secret, received.body, received.headers["X-Ecoo-Signature"])
    assert not namespace["verified"](secret, received.body + b" ", received.headers["X-Ecoo-Signature"])
    assert not namespace["verified"](new_secret(), received.body, received.headers["X-Ecoo-Signature"])


def test_the_background_work_posts_a_revocation_after_clearance_to_the_webhook(
    customs: CustomsHarness, receivers: list[Receiver], tmp_path: Path, trust_list_file: Path
) -> None:
    customs.close()
    running = restart_customs(
        customs, tmp_path, trust_list_file, None, background=True, watch_interval=0.2, webhook_allow_private=True
    )
    try:
        hook = receiver(receivers, 200)
        created = running.client.post("/api/v1/webhooks", json={"url": hook.url}, headers=running.admin).json
        chamber = running.chamber
        watch_document(running.objects.db, chamber.documents[2])
        time.sleep(0.5)  # the watcher has begun following the registry
        chamber.revoke(chamber.ids[2], "error")
        deadline = time.monotonic() + 30
        while not hook.received and time.monotonic() < deadline:
            time.sleep(0.1)
        [received] = hook.received
        payload = json.loads(received.body)
        assert payload["alert"]["kind"] == "revoked_error" and payload["alert"]["certificate"]["number"] == chamber.numbers[2]
        assert received.headers["X-Ecoo-Signature"] == sign(created["secret"], received.body)
        time.sleep(1.5)  # more passes of both threads: nothing twice
        assert len(hook.received) == 1
    finally:
        running.close()


# -- the address guard (SSRF) ----------------------------------------------------------------------

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.5.4", "private"),
    ("192.168.0.1", "private"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.1.1", "link-local"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.251", "multicast"),
    ("100.64.0.1", "not globally routable"),  # carrier-grade NAT (shared)
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fd12:3456::1", "private"),
    ("fd00:ec2::254", "cloud metadata"),
    ("::ffff:127.0.0.1", "loopback"),  # an IPv4-mapped IPv6 address is its IPv4 address
    ("::ffff:10.0.0.1", "private"),
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("::", "unspecified"),
]


@pytest.mark.parametrize(("address", "label"), REFUSED)
def test_addresses_inside_the_network_are_refused(address: str, label: str) -> None:
    assert address_refusal(address) == label


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(address) is None


def _resolver(answers: dict[str, list[str]]) -> Any:
    def lookup(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError(f"{host} does not resolve")
        return answers[host]

    return lookup


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "https://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]:9000/",
        "http://[::ffff:192.168.1.1]/",
        "http://localhost:9/hook",  # a name that resolves (here, really) to loopback
    ],
)
def test_a_webhook_inside_the_network_is_refused_when_it_is_made(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV)
    with pytest.raises(InputError, match=ALLOW_PRIVATE_ENV) as refused:
        check_webhook_url(url)
    assert "public receivers only" in str(refused.value)


def test_every_address_of_a_host_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV)
    mixed = _resolver({"hooks.example.org": ["93.184.216.34", "10.0.0.7"], "public.example.org": ["93.184.216.34"]})
    with pytest.raises(InputError, match=r"hooks\.example\.org \(10\.0\.0\.7\) is a private address"):
        check_webhook_url("https://hooks.example.org/x", resolver=mixed)
    assert check_webhook_url("https://public.example.org/x", resolver=mixed) == "https://public.example.org/x"
    # A host that does not resolve yet is accepted: each delivery resolves and checks it again.
    assert check_webhook_url("https://later.example.org/x", resolver=mixed) == "https://later.example.org/x"


def test_the_environment_lets_an_operator_allow_receivers_inside_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://127.0.0.1:8080/hook"
    assert check_webhook_url(url) == url  # ECOO_WEBHOOK_ALLOW_PRIVATE=1 (this directory's conftest)
    assert check_webhook_url(url, allow_private=True) == url
    with pytest.raises(InputError):
        check_webhook_url(url, allow_private=False)  # an explicit answer wins over the environment
    for value, allowed in [("1", True), ("true", True), (" Yes ", True), ("on", True), ("0", False), ("", False), ("no", False)]:
        monkeypatch.setenv(ALLOW_PRIVATE_ENV, value)
        assert private_webhooks_allowed({ALLOW_PRIVATE_ENV: value}) is allowed
        if allowed:
            assert check_webhook_url(url) == url
        else:
            with pytest.raises(InputError):
                check_webhook_url(url)
    monkeypatch.delenv(ALLOW_PRIVATE_ENV)
    with pytest.raises(InputError):
        check_webhook_url(url)
    assert private_webhooks_allowed({}) is False
    env = {"ECOO_TRUST_LIST": "trust-list.json", "ECOO_CUSTOMS_COUNTRY": "KR"}
    assert CustomsSettings.from_env(env).webhook_allow_private is False
    assert CustomsSettings.from_env(env | {ALLOW_PRIVATE_ENV: "1"}).webhook_allow_private is True


def test_the_api_refuses_a_webhook_inside_the_network(customs: CustomsHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV)
    refused = customs.client.post("/api/v1/webhooks", json={"url": "http://localhost:8080/hook"}, headers=customs.admin)
    assert refused.status_code == 400 and refused.json["error"] == "invalid_url"
    assert "loopback" in refused.json["message"] and ALLOW_PRIVATE_ENV in refused.json["message"]
    assert customs.client.get("/api/v1/webhooks", headers=customs.admin).json["webhooks"] == []


def test_a_delivery_to_an_address_inside_the_network_is_not_sent(db: CustomsDatabase, receivers: list[Receiver]) -> None:
    hook = receiver(receivers, 200)
    repository = WebhookRepository(db)
    webhook_id = repository.create_webhook(hook.url, new_secret())  # made while it was allowed
    make_alerts(db, 1)
    Deliverer(repository, max_attempts=1, allow_private=False).run_once()
    [delivery] = repository.deliveries(webhook_id)
    assert hook.received == [] and delivery.state == "failed" and delivery.last_status is None
    assert delivery.last_error is not None and delivery.last_error.startswith("not sent: the webhook host 127.0.0.1")
    assert "loopback" in delivery.last_error


def test_a_host_that_resolves_inside_the_network_at_delivery_gets_nothing(db: CustomsDatabase, receivers: list[Receiver]) -> None:
    """The DNS answered with a public address when the webhook was made, and with this machine's
    address at delivery (DNS rebinding): the delivery checks again and sends nothing."""
    hook = receiver(receivers, 200)
    port = hook.url.split(":")[2].split("/")[0]
    url = f"http://rebind.example.org:{port}/hooks/customs"
    assert check_webhook_url(url, allow_private=False, resolver=_resolver({"rebind.example.org": ["93.184.216.34"]})) == url
    repository = WebhookRepository(db)
    webhook_id = repository.create_webhook(url, new_secret())
    make_alerts(db, 1)
    rebound = _resolver({"rebind.example.org": ["127.0.0.1"]})
    Deliverer(repository, max_attempts=1, allow_private=False, resolver=rebound).run_once()
    [delivery] = repository.deliveries(webhook_id)
    assert hook.received == [] and delivery.state == "failed"
    assert delivery.last_error is not None and "rebind.example.org (127.0.0.1) is a loopback address" in delivery.last_error


def test_a_delivery_connects_to_the_addresses_it_checked(db: CustomsDatabase, receivers: list[Receiver]) -> None:
    """The host is looked up once per delivery and the connection goes to that address: a name the
    real DNS does not know reaches the receiver it was resolved to, with its own Host header."""
    hook = receiver(receivers, 200)
    port = hook.url.split(":")[2].split("/")[0]
    repository = WebhookRepository(db)
    webhook_id = repository.create_webhook(f"http://receiver.invalid:{port}/hooks/customs", new_secret())
    make_alerts(db, 1)
    with pytest.raises(OSError):
        resolve("receiver.invalid", int(port))  # the real resolver does not know it
    looked_up: list[str] = []

    def once(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    Deliverer(repository, max_attempts=1, allow_private=True, resolver=once).run_once()
    [delivery] = repository.deliveries(webhook_id)
    assert delivery.state == "delivered" and looked_up == ["receiver.invalid"]
    [received] = hook.received
    assert received.headers["Host"] == f"receiver.invalid:{port}"


def test_two_deliverers_and_a_hanging_receiver_attempt_each_delivery_once(db: CustomsDatabase, receivers: list[Receiver]) -> None:
    """Two processes' deliverers, a receiver that never answers in time: every delivery is attempted
    once (its next attempt is far off), never by both. The deliverers' clock runs 20 times faster
    than the wall's, so that a claim's hold (30 s and the timeouts) lapses within the test while the
    attempts' timeouts (the wall's) stay the same: the batch of the first deliverer then outlives
    the claims it would have taken all at once."""
    hook = receiver(receivers, ("sleep", 30))
    repository = WebhookRepository(db)
    webhook_id = repository.create_webhook(hook.url, new_secret())
    make_alerts(db, 5)
    base, start = time.time(), time.monotonic()

    def fast_clock() -> float:
        return base + (time.monotonic() - start) * 20

    def deliver() -> None:
        deliverer = Deliverer(
            WebhookRepository(db), max_attempts=3, connect_timeout=0.4, total_timeout=0.6, backoff_base=1e6, clock=fast_clock
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            deliverer.run_once()
            time.sleep(0.02)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    sent = [int(r.headers["X-Ecoo-Delivery"]) for r in hook.received]
    assert sorted(sent) == sorted(set(sent)) and len(sent) == 5  # each delivery once, none twice
    found = repository.deliveries(webhook_id)
    assert [(d.state, d.attempts) for d in found] == [("pending", 1)] * 5
