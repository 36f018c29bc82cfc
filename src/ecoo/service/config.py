"""The service's one typed settings object, built from the environment (or a mapping in tests)."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

MASTER_KEY_BYTES = 32


@dataclass(frozen=True)
class ServiceSettings:
    database_url: str
    rpc_url: str
    deployments_dir: Path
    data_dir: Path
    registry: str | None = None  # registry address; default: the deployment record of the chain
    master_key: bytes = field(default=b"", repr=False)  # AES-256 key for chamber keys at rest
    public_url: str = "http://127.0.0.1:5000"  # base of the QR / verification links
    batch_size: int = 100  # most certificates per anchored root
    batch_window: float = 2.0  # seconds a pending certificate may wait for others to join its batch
    confirmations: int = 1
    worker: bool = True  # run the anchoring worker in this process
    worker_interval: float = 0.25  # seconds between worker passes when idle
    max_backoff: float = 30.0  # longest wait between retries while the chain is down
    lease_seconds: float = 60.0  # a worker's claim on a chamber's anchoring expires after this
    max_body_bytes: int = 10 * 1024 * 1024
    secret_key: str = field(default="", repr=False)  # Flask session signing (dashboard login)
    rpc_timeout: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ServiceSettings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("ECOO_DATA_DIR", ".ecoo"))
        settings = cls(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{(data_dir / 'ecoo.db').as_posix()}",
            rpc_url=env.get("ECOO_RPC_URL", "http://127.0.0.1:8545"),
            deployments_dir=Path(env.get("ECOO_DEPLOYMENTS_DIR", "deployments")),
            data_dir=data_dir,
            registry=env.get("ECOO_REGISTRY") or None,
            master_key=load_master_key(env, data_dir),
            public_url=env.get("ECOO_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
            batch_size=int(env.get("ECOO_BATCH_SIZE", "100")),
            batch_window=float(env.get("ECOO_BATCH_WINDOW", "2.0")),
            confirmations=int(env.get("ECOO_CONFIRMATIONS", "1")),
            worker=env.get("ECOO_WORKER", "1") not in ("0", "false", "no"),
            secret_key=env.get("ECOO_SECRET_KEY") or secrets.token_urlsafe(32),
        )
        settings = replace(settings, **overrides)
        settings.check()
        return settings

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
        try:
            return base64.b64decode(Path(path).read_text(encoding="ascii").strip(), validate=True)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the master key file {path}: {exc}") from None
    return b""


def create_master_key_file(path: Path) -> Path:
    """Write a new random master key (base64) readable by its owner only; refuses to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode() + "\n")
    return path
