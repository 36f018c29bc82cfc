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

Nor may a webhook reach into the service's own network (SSRF): a URL whose host is, or resolves to,
a loopback, private, link-local (cloud metadata at 169.254.169.254), shared, multicast or otherwise
not globally routable address, or a known cloud metadata address, is refused when the webhook is
made, and again at every delivery (the DNS may answer differently by then): the delivery resolves
the host, checks every address and connects to the checked addresses only (no second lookup).
An operator whose receiver is inside the network sets ``ECOO_WEBHOOK_ALLOW_PRIVATE=1``.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import os
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
from .config import ALLOW_PRIVATE_ENV, private_webhooks_allowed
from .webhook_repository import DueDelivery, WebhookRepository

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
#: Deliveries attempted per pass (each claimed right before its attempt).
BATCH = 20


def new_secret() -> str:
    """A webhook's signing secret (shown once, when the webhook is made)."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    """The ``X-Ecoo-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


#: Addresses of cloud metadata services that are not caught as private or link-local (Azure's
#: wire server is a public address; AWS's IPv6 one is unique-local, Alibaba's shared, caught anyway).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

#: Turns a host and port into the addresses to connect to (``socket.getaddrinfo``; tests inject one).
Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (an IP literal: itself), each once, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_refusal(address: str) -> str | None:
    """Why a webhook may not be sent to ``address`` ("loopback", "private" ...), None when it may."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):  # an IPv4 address inside an IPv6 one is that IPv4 address
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    checks = (
        (ip in METADATA_ADDRESSES, "cloud metadata"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (not ip.is_global, "not globally routable"),
    )
    return next((label for refused, label in checks if refused), None)


def refused_addresses(host: str, port: int, resolver: Resolver = resolve) -> tuple[list[str], str | None]:
    """The addresses of ``host`` and, if one of them may not receive webhooks, why (a sentence);
    OSError when the host does not resolve."""
    addresses = resolver(host, port)
    for address in addresses:
        label = address_refusal(address)
        if label is not None:
            shown = host if host == address else f"{host} ({address})"
            return addresses, (
                f"the webhook host {shown} is a {label} address: webhooks go to public receivers only "
                f"(an operator may set {ALLOW_PRIVATE_ENV}=1 for a receiver inside the network)"
            )
    return addresses, None


def _default_port(scheme: str, port: int | None) -> int:
    return port if port is not None else 443 if scheme == "https" else 80


def check_webhook_url(url: object, *, allow_private: bool | None = None, resolver: Resolver = resolve) -> str:
    """``url`` if it may be a webhook's: an absolute http(s) URL with a host and no credentials,
    whose host is not (and does not resolve to) an address inside the network, unless
    ``allow_private`` (default: ``ECOO_WEBHOOK_ALLOW_PRIVATE`` of the environment). A host that does
    not resolve now is accepted: every delivery checks it again."""
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
    if allow_private is None:
        allow_private = private_webhooks_allowed(os.environ)
    if not allow_private:
        try:
            _, refusal = refused_addresses(parts.hostname, _default_port(parts.scheme, parts.port), resolver)
        except (OSError, UnicodeError):
            refusal = None  # not resolvable now: each delivery resolves and checks it
        if refusal is not None:
            raise InputError(refusal)
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


class _PinnedConnection(http.client.HTTPConnection):
    """Connects to the addresses that were checked, in order, instead of looking the host up again
    (the Host header, and for HTTPS the server name and certificate check, still use the host)."""

    pinned: tuple[str, ...] = ()

    def connect(self) -> None:
        failure: OSError = OSError(f"{self.host} has no address")
        for address in self.pinned:
            try:
                self.sock = socket.create_connection((address, self.port), self.timeout)
            except OSError as exc:
                failure = exc
                continue
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return
        raise failure


class _PinnedHTTPSConnection(http.client.HTTPSConnection, _PinnedConnection):
    """HTTPS over :class:`_PinnedConnection` (``HTTPSConnection.connect`` wraps what it connects)."""


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    connect_timeout: float,
    total_timeout: float,
    *,
    allow_private: bool = False,
    resolver: Resolver = resolve,
) -> Answer:
    """POST ``body`` to ``url`` once: no redirect followed, no proxy, a deadline for the whole
    exchange, at most :data:`RESPONSE_BYTES` of the answer read; to the host's addresses looked up
    once, just now, and (unless ``allow_private``) only if none is inside the network
    (:func:`address_refusal`)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        pinned, refusal = refused_addresses(host, _default_port(parts.scheme, port), resolver)
    except (OSError, UnicodeError) as exc:
        return Answer(None, f"no answer (the host does not resolve: {type(exc).__name__})")
    if refusal is not None and not allow_private:
        return Answer(None, f"not sent: {refusal}")
    connection: _PinnedConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPSConnection(host, port, timeout=connect_timeout, context=ssl.create_default_context())
    else:
        connection = _PinnedConnection(host, port, timeout=connect_timeout)
    connection.pinned = tuple(pinned)
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
        allow_private: bool | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        self.repository = repository
        # None: ECOO_WEBHOOK_ALLOW_PRIVATE of the environment (the service passes its settings').
        self.allow_private = private_webhooks_allowed(os.environ) if allow_private is None else allow_private
        self.resolver = resolver
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.jitter = jitter
        self.clock = clock

    def run_once(self) -> int:
        """Make one attempt at each due delivery (up to :data:`BATCH`); returns how many.

        Claimed one at a time, right before its attempt: a claim taken for the whole batch would
        lapse while the earlier ones hang on a slow receiver (up to the connect and total timeouts
        each), and another process would then send the later ones too."""
        # Claimed for longer than one attempt can take: another process leaves it alone meanwhile.
        hold = self.connect_timeout + self.total_timeout + 30.0
        attempted = 0
        while attempted < BATCH:
            claimed = self.repository.claim_due(self.clock(), hold, 1)
            if not claimed:
                break
            self._attempt(claimed[0])
            attempted += 1
        return attempted

    def _attempt(self, delivery: DueDelivery) -> None:
        body = body_of(delivery.id, delivery.alert)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "ecoo-customs-webhooks/1",
            SIGNATURE_HEADER: sign(delivery.secret, body),
            DELIVERY_HEADER: str(delivery.id),
            EVENT_HEADER: delivery.alert.kind,
        }
        started = time.monotonic()
        answer = post(
            delivery.url,
            body,
            headers,
            self.connect_timeout,
            self.total_timeout,
            allow_private=self.allow_private,
            resolver=self.resolver,
        )
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
