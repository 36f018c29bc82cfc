"""Webhook deliveries: each alert POSTed as JSON to every enabled webhook, signed, retried.

The body is the same bytes on every attempt: ``{"delivery": ID, "alert": {...}}`` (the feed's alert
JSON), compact, keys sorted. Headers: ``X-Ecoo-Signature: sha256=<hex HMAC-SHA256 of the body keyed
with the webhook's secret>``, ``X-Ecoo-Delivery: <ID>`` (the receiver's key for ignoring a repeat:
a delivery is at least once) and ``X-Ecoo-Event: <kind>``. A 2xx answer delivers it; anything else
(no answer, a timeout, a redirect, an error status) is tried again after an exponential backoff
with jitter, until ``webhook_max_attempts`` attempts have failed.

A webhook's URL is hostile input like any other: only ``http``/``https`` without credentials; the
request goes straight to the host (no redirect is followed, no proxy from the environment), every
attempt has a deadline for the whole exchange (a receiver that answers one byte at a time is cut
off), and at most :data:`RESPONSE_BYTES` of the answer are read.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import random
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import InputError
from ..urls import redact_url
from .alert_repository import Alert
from .webhook_repository import WebhookRepository

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Ecoo-Signature"
DELIVERY_HEADER = "X-Ecoo-Delivery"
EVENT_HEADER = "X-Ecoo-Event"
#: Longest webhook URL accepted (the column's size).
MAX_URL_LENGTH = 2048
#: Seconds to connect, and for the whole exchange (send, status line, headers, the read below).
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
#: Bytes of a receiver's answer read (to show the start of an error in the log); the rest is dropped.
RESPONSE_BYTES = 1024
#: Characters of that answer kept in the delivery log.
EXCERPT_CHARS = 200
#: The first retry's delay, and the longest, in seconds (doubling in between, with jitter).
BACKOFF_BASE = 10.0
BACKOFF_CAP = 3600.0
#: Deliveries claimed per pass.
BATCH = 20


def new_secret() -> str:
    """A webhook's signing secret (shown once, when the webhook is made)."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    """The ``X-Ecoo-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def check_webhook_url(url: object) -> str:
    """``url`` if it may be a webhook's: an absolute http(s) URL with a host and no credentials."""
    if not isinstance(url, str) or not url:
        raise InputError("a webhook needs a url (a string)")
    if len(url) > MAX_URL_LENGTH:
        raise InputError(f"the webhook url is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise InputError("the webhook url contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise InputError(f"the webhook url does not parse: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise InputError("a webhook url must start with http:// or https://")
    if not parts.hostname:
        raise InputError("the webhook url has no host")
    if parts.username is not None or parts.password is not None:
        raise InputError("a webhook url must not carry credentials (user:password@); the signature authenticates")
    return url


def backoff(
    failed: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP, jitter: Callable[[], float] = random.random
) -> float:
    """Seconds before the next attempt after ``failed`` failed ones: ``base`` doubled each time up to
    ``cap``, then a random point in its upper half (receivers that failed together do not all come
    back at once)."""
    delay = min(cap, base * 2.0 ** max(failed - 1, 0))
    return delay / 2 + jitter() * delay / 2


def body_of(delivery_id: int, alert: Alert) -> bytes:
    """The exact bytes POSTed (and signed) for a delivery."""
    payload = {"delivery": delivery_id, "alert": alert.to_json()}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Answer:
    """What one POST got: the status (None: no answer) and, unless it was a 2xx, why it failed."""

    status: int | None
    error: str | None


def post(url: str, body: bytes, headers: dict[str, str], connect_timeout: float, total_timeout: float) -> Answer:
    """POST ``body`` to ``url`` once: no redirect followed, no proxy, a deadline for the whole
    exchange, at most :data:`RESPONSE_BYTES` of the answer read."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(host, port, timeout=connect_timeout)
    cut_off = threading.Event()

    def stop() -> None:  # the deadline: unblocks whatever read or write waits on the socket
        cut_off.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(total_timeout, stop)
    timer.daemon = True
    timer.start()
    connected = False
    try:
        connection.connect()
        connected = True
        assert connection.sock is not None
        # Each read may wait until the deadline; the timer ends them all together at the deadline.
        connection.sock.settimeout(total_timeout)
        connection.request("POST", target, body=body, headers={**headers, "Content-Length": str(len(body))})
        response = connection.getresponse()
        excerpt = response.read(RESPONSE_BYTES)
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        if cut_off.is_set() or (connected and isinstance(exc, TimeoutError)):
            return Answer(None, f"no complete answer within {total_timeout:g} s")
        return Answer(None, f"no answer ({type(exc).__name__})")
    finally:
        timer.cancel()
        connection.close()
    if 200 <= response.status < 300:
        return Answer(response.status, None)
    error = f"HTTP {response.status}"
    if 300 <= response.status < 400:
        error += " (redirects are not followed)"
    text = excerpt.decode("utf-8", "replace")[:EXCERPT_CHARS].strip() if not response.getheader("Content-Encoding") else ""
    return Answer(response.status, f"{error}: {text}" if text else error)


class Deliverer:
    """Sends the due deliveries; :meth:`run_once` is one pass. Collaborators are injected so tests
    can make retries fast (``backoff_base``) without patching."""

    def __init__(
        self,
        repository: WebhookRepository,
        *,
        max_attempts: int,
        backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
        connect_timeout: float = CONNECT_TIMEOUT,
        total_timeout: float = TOTAL_TIMEOUT,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.repository = repository
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.jitter = jitter
        self.clock = clock

    def run_once(self) -> int:
        """Make one attempt at every due delivery (up to :data:`BATCH`); returns how many."""
        # Claimed for longer than an attempt can take: another process leaves them alone meanwhile.
        hold = self.connect_timeout + self.total_timeout + 30.0
        due = self.repository.claim_due(self.clock(), hold, BATCH)
        for delivery in due:
            body = body_of(delivery.id, delivery.alert)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "ecoo-customs-webhooks/1",
                SIGNATURE_HEADER: sign(delivery.secret, body),
                DELIVERY_HEADER: str(delivery.id),
                EVENT_HEADER: delivery.alert.kind,
            }
            started = time.monotonic()
            answer = post(delivery.url, body, headers, self.connect_timeout, self.total_timeout)
            ms = int((time.monotonic() - started) * 1000)
            failed = delivery.attempts + 1
            retry = answer.error is not None and failed < self.max_attempts
            next_at = self.clock() + backoff(failed, self.backoff_base, self.backoff_cap, self.jitter) if retry else None
            state = self.repository.finish_attempt(
                delivery.id, at=self.clock(), status=answer.status, error=answer.error, ms=ms, next_at=next_at
            )
            if answer.error is not None:
                log.info(
                    "webhook delivery %s to %s, attempt %s: %s (%s)",
                    delivery.id,
                    redact_url(delivery.url),
                    failed,
                    answer.error,
                    state,
                )
        return len(due)
