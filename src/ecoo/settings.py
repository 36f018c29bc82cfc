"""One typed settings object, built from the environment and passed in (no module-global config).

:class:`Settings` reads the ``ECOO_*`` variables that the library, the CLI and the service share,
with one set of defaults; :class:`ecoo.service.config.ServiceSettings` extends it with the
service's own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

from .errors import ConfigurationError
from .files import read_json

DEFAULT_RPC_URL = "http://127.0.0.1:8545"

T = TypeVar("T")

#: The RPC "URL" that stands for the in-process chain (``ecoo.chain.EMBEDDED``).
EMBEDDED_RPC = "embedded"


def require_rpc_url(url: str) -> str:
    """``url`` if it is ``embedded`` or an http(s) URL with a host (and a valid port, if any);
    else ConfigurationError, one line. Checked before anything connects: a malformed URL from
    ``--rpc-url`` or ``ECOO_RPC_URL`` is a configuration error, not a traceback nor "unavailable"."""
    if url == EMBEDDED_RPC:
        return url
    problem = None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        problem = str(exc)
    else:
        if parts.scheme not in ("http", "https"):
            problem = "only http(s) JSON-RPC URLs or 'embedded' are supported"
        elif not parts.hostname or any(c.isspace() for c in url):
            problem = "no host, or a space in it"
    if problem:
        raise ConfigurationError(f"RPC URL {url!r} is not usable: {problem}")
    return url


def env_value(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T) -> T:
    """``parse`` of the variable ``name`` if it is set (even empty), else ``default`` (a field's)."""
    return parse(env[name]) if name in env else default


@dataclass(frozen=True, kw_only=True)
class Settings:
    rpc_url: str | None = None  # None: not configured, see resolve_rpc_url
    registry: str | None = None  # registry address override; else the deployment record
    deployments_dir: Path = Path("deployments")
    data_dir: Path = Path(".ecoo")
    receipt_timeout: float = 120.0  # seconds to wait for a transaction's receipt
    confirmations: int = 1  # blocks on top of a transaction's before it counts

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Settings from ``environ`` (default: the process environment); ``overrides`` win."""
        env = os.environ if environ is None else environ
        return cls(**(cls.values_from_env(env) | overrides))

    @classmethod
    def values_from_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        """The field values ``env`` gives (the fields' defaults where it gives none); subclasses
        add their own fields."""
        return {
            "rpc_url": env.get("ECOO_RPC_URL") or None,
            "registry": env.get("ECOO_REGISTRY") or None,
            "deployments_dir": env_value(env, "ECOO_DEPLOYMENTS_DIR", Path, Settings.deployments_dir),
            "data_dir": env_value(env, "ECOO_DATA_DIR", Path, Settings.data_dir),
            "receipt_timeout": env_value(env, "ECOO_RECEIPT_TIMEOUT", float, Settings.receipt_timeout),
            "confirmations": env_value(env, "ECOO_CONFIRMATIONS", int, Settings.confirmations),
        }

    @property
    def node_file(self) -> Path:
        """Where ``ecoo node`` records the URL of the managed node it runs."""
        return self.data_dir / "node.json"

    def resolve_rpc_url(self, explicit: str | None = None) -> str:
        """``--rpc-url``, else ``ECOO_RPC_URL``, else the running ``ecoo node``, else the default port.
        ConfigurationError if the URL given is malformed (see :func:`require_rpc_url`)."""
        if explicit:
            return require_rpc_url(explicit)
        if self.rpc_url:
            return require_rpc_url(self.rpc_url)
        try:
            recorded = read_json(self.node_file)["url"]  # InputError is a ValueError
            if isinstance(recorded, str):
                return recorded
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return DEFAULT_RPC_URL
