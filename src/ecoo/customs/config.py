"""The customs service's one typed settings object, built from the environment (or a mapping in tests).

It extends the library's :class:`ecoo.settings.Settings` (chain defaults, data directory,
confirmations, receipt timeout) with what an importing administration configures: its trust list
(and the list's publisher), its country, its database, the key that signs its on-chain records,
and the web service's own settings. No chamber key and no master key: this service issues nothing.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from ..errors import ConfigurationError
from ..service.permissions import PRIVATE_FILE, tighten
from ..settings import Settings, env_value

__all__ = ["ALLOW_PRIVATE_ENV", "CustomsSettings", "customs_database_url", "load_customs_key", "private_webhooks_allowed"]

#: The mode that says a service runs as customs (``ECOO_MODE=customs``, or ``ecoo serve --customs``).
CUSTOMS_MODE = "customs"


def customs_database_url(env: Mapping[str, str]) -> str:
    """``DATABASE_URL``, else the SQLite file ``customs.db`` in the data directory: the database the
    customs service and the ``ecoo customs`` commands share (neither needs the trust list for it)."""
    data_dir = env_value(env, "ECOO_DATA_DIR", Path, Settings.data_dir)
    return env.get("DATABASE_URL") or f"sqlite:///{(data_dir / 'customs.db').as_posix()}"


#: The variable that lets webhooks reach loopback, private and link-local hosts (tests, on-premise receivers).
ALLOW_PRIVATE_ENV = "ECOO_WEBHOOK_ALLOW_PRIVATE"


def private_webhooks_allowed(env: Mapping[str, str]) -> bool:
    """Whether ``ECOO_WEBHOOK_ALLOW_PRIVATE`` says yes (1, true, yes, on); unset or anything else: no."""
    return env.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _flag(text: str) -> bool:
    return text.strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True, kw_only=True)
class CustomsSettings(Settings):
    trust_list: Path  # ECOO_TRUST_LIST: the registries this administration trusts
    trust_list_publisher: str | None = None  # ECOO_TRUST_LIST_PUBLISHER: then the list must be signed by it
    country: str  # ECOO_CUSTOMS_COUNTRY: the administration's country (ISO 3166-1 alpha-2)
    database_url: str  # DATABASE_URL; default: the SQLite file customs.db in the data directory
    customs_key: bytes | None = field(default=None, repr=False)  # signs on-chain records; None: none are sent
    secret_key: str = field(default="", repr=False)  # signs the session cookie
    public_url: str = "http://127.0.0.1:5000"
    max_body_bytes: int = 10 * 1024 * 1024
    watch_interval: float = 2.0  # seconds between the watcher's passes over the trust list's registries
    background: bool = True  # run the watcher and the webhook deliveries in this process (tests drive them)
    webhook_max_attempts: int = 8
    webhook_allow_private: bool = False  # ECOO_WEBHOOK_ALLOW_PRIVATE=1: webhooks may reach loopback/private hosts
    lease_seconds: float = 120.0  # ECOO_LEASE_SECONDS: a sender's claim on a record expires after this (it died)
    max_backoff: float = 900.0  # ECOO_MAX_BACKOFF: the longest wait before a record is looked at again
    rpc_timeout: float = 10.0  # seconds a trust-list node has to answer before the next URL is tried
    max_block_age: float | None = None  # ECOO_MAX_BLOCK_AGE: a node whose newest block is older (s) is behind: skipped
    login_limit: str = "10 per minute"  # sign-in attempts and refused API tokens, per client address
    session_hours: float = 12.0  # a signed-in session ends this long after sign-in (a shift), whatever happens

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Settings from ``environ`` (default: the process environment), ``overrides`` winning,
        checked (ConfigurationError, one line)."""
        env = os.environ if environ is None else environ
        values = cls.values_from_env(env) | overrides
        if values.get("trust_list") is None:
            raise ConfigurationError("the customs service needs its trust list: set ECOO_TRUST_LIST to the list's file")
        if not values.get("country"):
            raise ConfigurationError(
                "the customs service needs its administration's country: set ECOO_CUSTOMS_COUNTRY (ISO 3166-1 alpha-2, e.g. DE)"
            )
        settings = cls(**values)
        settings.check()
        return settings

    @classmethod
    def values_from_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        shared = super().values_from_env(env)
        return shared | {
            "trust_list": Path(env["ECOO_TRUST_LIST"]) if env.get("ECOO_TRUST_LIST") else None,
            "trust_list_publisher": env.get("ECOO_TRUST_LIST_PUBLISHER") or None,
            "country": env.get("ECOO_CUSTOMS_COUNTRY", "").strip(),
            "database_url": customs_database_url(env),
            "customs_key": load_customs_key(env),
            "secret_key": env.get("ECOO_SECRET_KEY") or secrets.token_urlsafe(32),
            "public_url": env_value(env, "ECOO_PUBLIC_URL", lambda url: url.rstrip("/"), CustomsSettings.public_url),
            "watch_interval": env_value(env, "ECOO_WATCH_INTERVAL", float, CustomsSettings.watch_interval),
            "background": env_value(env, "ECOO_WORKER", _flag, CustomsSettings.background),
            "webhook_max_attempts": env_value(env, "ECOO_WEBHOOK_MAX_ATTEMPTS", int, CustomsSettings.webhook_max_attempts),
            "webhook_allow_private": private_webhooks_allowed(env),
            "lease_seconds": env_value(env, "ECOO_LEASE_SECONDS", float, CustomsSettings.lease_seconds),
            "max_backoff": env_value(env, "ECOO_MAX_BACKOFF", float, CustomsSettings.max_backoff),
            "max_block_age": env_value(env, "ECOO_MAX_BLOCK_AGE", float, None),
            "login_limit": env.get("ECOO_LOGIN_LIMIT") or CustomsSettings.login_limit,
            "session_hours": env_value(env, "ECOO_SESSION_HOURS", float, CustomsSettings.session_hours),
        }

    def check(self) -> None:
        from ..registry import require_country_code

        try:
            require_country_code(self.country)
        except ConfigurationError:
            raise ConfigurationError(
                f"ECOO_CUSTOMS_COUNTRY must be an ISO 3166-1 alpha-2 code like 'DE', got {self.country!r}"
            ) from None
        if self.confirmations < 1:
            raise ConfigurationError("ECOO_CONFIRMATIONS must be >= 1")
        try:
            from limits import parse

            parse(self.login_limit)
        except ValueError:
            raise ConfigurationError(f"ECOO_LOGIN_LIMIT {self.login_limit!r} is not a rate like '10 per minute'") from None
        if self.session_hours <= 0:
            raise ConfigurationError("ECOO_SESSION_HOURS must be > 0")
        if self.watch_interval <= 0 or self.webhook_max_attempts < 1:
            raise ConfigurationError("ECOO_WATCH_INTERVAL must be > 0 and ECOO_WEBHOOK_MAX_ATTEMPTS >= 1")
        if self.lease_seconds <= 0 or self.max_backoff <= 0:
            raise ConfigurationError("ECOO_LEASE_SECONDS and ECOO_MAX_BACKOFF must be > 0")
        if self.max_block_age is not None and not self.max_block_age > 0:
            raise ConfigurationError("ECOO_MAX_BLOCK_AGE must be a number of seconds > 0 (unset: no limit)")


def load_customs_key(env: Mapping[str, str]) -> bytes | None:
    """The administration's signing key from the file ``ECOO_CUSTOMS_KEY_FILE`` (0x-hex, tightened
    to owner-only), or None when none is configured. The key is never part of a message."""
    path = env.get("ECOO_CUSTOMS_KEY_FILE")
    if not path:
        return None
    tighten(Path(path), PRIVATE_FILE)
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot read the customs key file {path}: {getattr(exc, 'strerror', None) or 'not text'}"
        ) from None
    digits = text.removeprefix("0x")
    if len(digits) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ConfigurationError(f"the customs key file {path} does not hold a private key (0x and 64 hex digits)")
    return bytes.fromhex(digits)
