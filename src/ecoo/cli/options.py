"""Options several commands share, and what they resolve to: the chain, the registry on it and the
key that signs. Heavy libraries (web3, eth-account) are imported when a command runs, not when
the command line starts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import ConfigurationError
from ..settings import Settings

if TYPE_CHECKING:
    from web3 import Web3

    from ..registry import Registry
    from ..signers import Signer

F = TypeVar("F", bound=Callable[..., Any])

rpc_option = click.option(
    "--rpc-url",
    envvar="ECOO_RPC_URL",
    default=None,
    help="JSON-RPC URL of the chain (env ECOO_RPC_URL; 'embedded' for in-process).",
)
registry_option = click.option(
    "--registry", envvar="ECOO_REGISTRY", default=None, help="Registry address (default: deployments/<chainId>.json)."
)


def key_options(default_env: str) -> Callable[[F], F]:
    """--key-env / --keystore / --unlocked: where the sending key comes from (never the command line)."""

    def decorate(fn: F) -> F:
        fn = click.option("--unlocked", is_flag=True, help="Use the node's first unlocked account (local dev chains only).")(fn)
        fn = click.option(
            "--keystore",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Encrypted keystore file; password from ECOO_KEYSTORE_PASSWORD or a prompt.",
        )(fn)
        fn = click.option(
            "--key-env", default=default_env, show_default=True, help="Environment variable holding the private key."
        )(fn)
        return fn

    return decorate


def connect(settings: Settings, rpc_url: str | None) -> Web3:
    """The chain ``--rpc-url`` names, else the configured or running one (see ``resolve_rpc_url``)."""
    from ..chain import connect as connect_url

    return connect_url(settings.resolve_rpc_url(rpc_url))


def rpc_url_origin(settings: Settings, rpc_url: str | None) -> str:
    """Where the node URL a command tried came from, for an error a newcomer can act on."""
    from ..settings import DEFAULT_RPC_URL

    source = click.get_current_context().get_parameter_source("rpc_url")
    if source is click.core.ParameterSource.COMMANDLINE:
        return "given by --rpc-url"
    if rpc_url or settings.rpc_url:
        return "from ECOO_RPC_URL"
    if settings.resolve_rpc_url() != DEFAULT_RPC_URL:
        return f"recorded by a running `ecoo up` or `ecoo node` in {settings.node_file}"
    return "the default: no --rpc-url, no ECOO_RPC_URL, no running `ecoo up`"


def open_registry(settings: Settings, w3: Web3, registry: str | None) -> Registry:
    """The registry at ``--registry``, else the one recorded for the chain in the deployments dir."""
    from ..deploy import open_registry as open_deployed

    return open_deployed(
        w3, settings.deployments_dir, registry, receipt_timeout=settings.receipt_timeout, confirmations=settings.confirmations
    )


def signer(w3: Web3, key_env: str, keystore: Path | None, unlocked: bool) -> Signer:
    """The key the key options name: a keystore, else the environment variable, else (``--unlocked``,
    dev chains only) the node's first account."""
    from ..devchain import require_dev_chain
    from ..signers import signer_from_env, signer_from_keystore, unlocked_signer

    if keystore is not None:
        return signer_from_keystore(keystore)
    from_env = signer_from_env(key_env)
    if from_env is not None:
        return from_env
    if unlocked:
        require_dev_chain(w3, "--unlocked is for local dev chains only; chain {chain_id} is not one")
        return unlocked_signer(w3)
    raise ConfigurationError(f"no key: set ${key_env}, pass --keystore FILE, or --unlocked on a local dev chain")


def registry_and_signer(
    settings: Settings, rpc_url: str | None, registry: str | None, key_env: str, keystore: Path | None, unlocked: bool
) -> tuple[Registry, Signer]:
    """The registry of the chain a command talks to, and the signer its key options name."""
    w3 = connect(settings, rpc_url)
    return open_registry(settings, w3, registry), signer(w3, key_env, keystore, unlocked)
