"""The service's one typed settings object, built from the environment (or a mapping in tests).

It extends the library's :class:`ecoo.settings.Settings`: the shared ``ECOO_*`` variables
(chain, registry, deployments, data directory, confirmations, receipt timeout) are read there,
once, with the same defaults for ``ecoo`` commands and the service.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from ..errors import ConfigurationError
from ..settings import DEFAULT_RPC_URL, Settings, env_value
from .permissions import PRIVATE_FILE, private_directory, tighten

MASTER_KEY_BYTES = 32


@dataclass(frozen=True, kw_only=True)
class ServiceSettings(Settings):
    rpc_url: str = DEFAULT_RPC_URL  # never None, unlike the library's: see values_from_env
    database_url: str  # default: the SQLite file ecoo.db in the data directory
    master_key: bytes = field(default=b"", repr=False)  # AES-256 key for chamber keys at rest
    public_url: str = "http://127.0.0.1:5000"  # base of the QR / verification links
    batch_size: int = 100  # most certificates per anchored root
    batch_window: float = 2.0  # seconds a pending certificate may wait for others to join its batch
    worker: bool = True  # run the anchoring worker in this process
    worker_interval: float = 0.25  # seconds between worker passes when idle
    max_backoff: float = 30.0  # longest wait between retries while the chain is down
    reconcile_interval: float = 300.0  # seconds between the worker's checks of the database against the chain
    lease_seconds: float = 60.0  # a claim on a chamber's sending, or on following the chain, expires after this
    max_body_bytes: int = 10 * 1024 * 1024
    secret_key: str = field(default="", repr=False)  # Flask session signing (dashboard login)
    rpc_timeout: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Settings from ``environ`` (default: the process environment), ``overrides`` winning,
        checked (ConfigurationError)."""
        settings = super().from_env(environ, **overrides)
        settings.check()
        return settings

    @classmethod
    def values_from_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        shared = super().values_from_env(env)
        data_dir: Path = shared["data_dir"]
        return shared | {
            # Unset means the default port, never the URL that `ecoo node` recorded in the data
            # directory (Settings.resolve_rpc_url): that record is a convenience for interactive
            # commands, and a stale one must not redirect a long-running service.
            "rpc_url": shared["rpc_url"] or ServiceSettings.rpc_url,
            "database_url": env.get("DATABASE_URL") or f"sqlite:///{(data_dir / 'ecoo.db').as_posix()}",
            "master_key": load_master_key(env, data_dir),
            "public_url": env_value(env, "ECOO_PUBLIC_URL", lambda url: url.rstrip("/"), ServiceSettings.public_url),
            "batch_size": env_value(env, "ECOO_BATCH_SIZE", int, ServiceSettings.batch_size),
            "batch_window": env_value(env, "ECOO_BATCH_WINDOW", float, ServiceSettings.batch_window),
            "worker": env_value(env, "ECOO_WORKER", lambda flag: flag not in ("0", "false", "no"), ServiceSettings.worker),
            "reconcile_interval": env_value(env, "ECOO_RECONCILE_INTERVAL", float, ServiceSettings.reconcile_interval),
            "max_backoff": env_value(env, "ECOO_MAX_BACKOFF", float, ServiceSettings.max_backoff),
            "lease_seconds": env_value(env, "ECOO_LEASE_SECONDS", float, ServiceSettings.lease_seconds),
            "secret_key": env.get("ECOO_SECRET_KEY") or secrets.token_urlsafe(32),
        }

    def check(self) -> None:
        if len(self.master_key) != MASTER_KEY_BYTES:
            raise ConfigurationError("the master key must be 32 bytes (ECOO_MASTER_KEY, base64, or ECOO_MASTER_KEY_FILE)")
        if not 1 <= self.batch_size <= 10_000:
            raise ConfigurationError("ECOO_BATCH_SIZE must be 1..10000")
        if self.batch_window < 0 or self.confirmations < 1:
            raise ConfigurationError("ECOO_BATCH_WINDOW must be >= 0 and ECOO_CONFIRMATIONS >= 1")


def load_master_key(env: Mapping[str, str], data_dir: Path) -> bytes:
    """``ECOO_MASTER_KEY`` (base64), else the file ``ECOO_MASTER_KEY_FILE``. Never the database:
    a stolen database alone must not reveal any chamber key."""
    if env.get("ECOO_MASTER_KEY"):
        try:
            return base64.b64decode(env["ECOO_MASTER_KEY"], validate=True)
        except ValueError:
            raise ConfigurationError("ECOO_MASTER_KEY is not valid base64") from None
    path = env.get("ECOO_MASTER_KEY_FILE")
    if path:
        tighten(Path(path), PRIVATE_FILE)
        try:
            return base64.b64decode(Path(path).read_text(encoding="ascii").strip(), validate=True)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the master key file {path}: {exc}") from None
    return b""


def create_master_key_file(path: Path) -> Path:
    """Write a new random master key (base64) readable by its owner only; refuses to overwrite.
    A directory made for it is owner-only too."""
    if not path.parent.exists():
        private_directory(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode() + "\n")
    return path
