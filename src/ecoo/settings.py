"""One typed settings object, built from the environment and passed in (no module-global config)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_RPC_URL = "http://127.0.0.1:8545"


@dataclass(frozen=True)
class Settings:
    rpc_url: str | None  # None: not configured, see resolve_rpc_url
    registry: str | None  # registry address override; else the deployment record
    deployments_dir: Path
    data_dir: Path
    receipt_timeout: float
    confirmations: int

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            rpc_url=env.get("ECOO_RPC_URL") or None,
            registry=env.get("ECOO_REGISTRY") or None,
            deployments_dir=Path(env.get("ECOO_DEPLOYMENTS_DIR", "deployments")),
            data_dir=Path(env.get("ECOO_DATA_DIR", ".ecoo")),
            receipt_timeout=float(env.get("ECOO_RECEIPT_TIMEOUT", "120")),
            confirmations=int(env.get("ECOO_CONFIRMATIONS", "1")),
        )

    @property
    def node_file(self) -> Path:
        """Where ``ecoo node`` records the URL of the managed node it runs."""
        return self.data_dir / "node.json"

    def resolve_rpc_url(self, explicit: str | None = None) -> str:
        """``--rpc-url``, else ``ECOO_RPC_URL``, else the running ``ecoo node``, else the default port."""
        if explicit:
            return explicit
        if self.rpc_url:
            return self.rpc_url
        try:
            recorded = json.loads(self.node_file.read_text(encoding="utf-8"))["url"]
            if isinstance(recorded, str):
                return recorded
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return DEFAULT_RPC_URL
