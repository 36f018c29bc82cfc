"""``ecoo serve``, ``ecoo demo`` and ``ecoo chamber ...``: running the service and managing its
chambers. Loaded only when one of these commands runs (see ``ecoo.cli``), and the web stack
(Flask, SQLAlchemy) only inside the command that needs it."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..datadir_lock import DataDirLock
from ..errors import ConfigurationError, redact_url
from ..settings import Settings, require_rpc_url
from .output import Output, handle_errors, json_option

if TYPE_CHECKING:
    from ..service.config import ServiceSettings


def service_settings(rpc_url: str | None, dev: bool, **overrides: Any) -> ServiceSettings:
    """The service's settings from the environment; ``--rpc-url`` wins over ``ECOO_RPC_URL``. With
    ``dev`` and no master key configured, a key file is created in the data dir (once) and used."""
    from ..service.config import ServiceSettings, create_master_key_file

    env = dict(os.environ)
    if rpc_url:
        env["ECOO_RPC_URL"] = rpc_url
    data_dir = Path(env.get("ECOO_DATA_DIR", ".ecoo"))
    if dev and not env.get("ECOO_MASTER_KEY") and not env.get("ECOO_MASTER_KEY_FILE"):
        key_file = data_dir / "master.key"
        if not key_file.exists():
            create_master_key_file(key_file)
        env["ECOO_MASTER_KEY_FILE"] = str(key_file)
    settings = ServiceSettings.from_env(env, **overrides)
    # Malformed addresses and URLs are one-line configuration errors before anything starts.
    if settings.rpc_url:
        require_rpc_url(settings.rpc_url)
    if settings.registry:
        from ..registry import require_address

        require_address(settings.registry, "ECOO_REGISTRY")
    return settings


@click.group("chamber")
def chamber_group() -> None:
    """Chambers of the service: create them, issue and revoke their API tokens."""


@chamber_group.command("create")
@click.option("--name", required=True)
@click.option("--country", required=True, help="ISO 3166-1 alpha-2.")
@click.option("--code", required=True, help="Accreditation code.")
@click.option("--dev", is_flag=True, help="Also fund and accredit the key with the dev node's unlocked account.")
@click.option("--rpc-url", envvar="ECOO_RPC_URL", default=None)
@json_option
@handle_errors
def chamber_create(name: str, country: str, code: str, dev: bool, rpc_url: str | None, as_json: bool) -> None:
    """Create a chamber with a new signing key; prints its API token once (only its hash is stored)."""
    from ..service.chambers import create_chamber

    result = create_chamber(service_settings(rpc_url, dev, worker=False), name, country, code, dev=dev)
    lines = [
        f"chamber {result['chamber']} ({name}), signing key {result['address']}",
        f"API token (shown once, store it now): {result['token']}",
    ]
    if not result["accredited"]:
        lines.append(
            f"next: fund {result['address']} and have the authority run "
            f"`ecoo accredit {result['address']} --name ... --country {country} --code {code}`"
        )
    Output(as_json).result(result, lines)


@chamber_group.command("token")
@click.argument("chamber_id", type=int)
@click.option("--label", default="")
@json_option
@handle_errors
def chamber_token(chamber_id: int, label: str, as_json: bool) -> None:
    """Issue another API token for CHAMBER_ID (printed once)."""
    from ..service.chambers import issue_token
    from ..service.store import Store

    token_id, token = issue_token(Store(service_settings(None, False, worker=False).database_url), chamber_id, label)
    Output(as_json).result(
        {"chamber": chamber_id, "tokenId": token_id, "token": token},
        [f"token {token_id} for chamber {chamber_id} (shown once): {token}"],
    )


@chamber_group.command("revoke-token")
@click.argument("token_id", type=int)
@json_option
@handle_errors
def chamber_revoke_token(token_id: int, as_json: bool) -> None:
    """Revoke API token TOKEN_ID: requests with it are refused from now on."""
    from ..service.chambers import revoke_token
    from ..service.store import Store

    store = Store(service_settings(None, False, worker=False).database_url)
    try:
        revoke_token(store, token_id)
    finally:
        store.close()
    Output(as_json).result({"tokenId": token_id, "revoked": True}, [f"token {token_id} revoked"])


@chamber_group.command("stats")
@click.option("--from", "first", default=None, help="first UTC day, YYYY-MM-DD (default: 365 days before --to)")
@click.option("--to", "last", default=None, help="last UTC day, YYYY-MM-DD (default: today)")
@json_option
@handle_errors
def chamber_stats(first: str | None, last: str | None, as_json: bool) -> None:
    """The authority's figures per chamber: certificates issued, revocation and suspension rates,
    and unusual jumps (a month over 3x the median of the 6 before). Read from the service's
    database, for its operator: the service has no authority accounts (docs/statistics.md)."""
    from ..errors import InputError
    from ..service.statistics import authority_statistics, parse_period
    from ..service.store import Store

    try:
        period = parse_period(first, last)
    except InputError as exc:
        raise ConfigurationError(str(exc)) from None
    store = Store(service_settings(None, False, worker=False).database_url)
    try:
        store.migrate()
        result = authority_statistics(store, period)
    finally:
        store.close()
    lines = [f"{result['from']} to {result['to']}"]
    for row in result["chambers"]:
        jumps = ", ".join(f"{jump['month']} ({jump['issued']})" for jump in row["unusualJumps"]) or "none"
        lines.append(
            f"chamber {row['chamber']} ({row['name']}, {row['country']}): {row['issued']} issued, "
            f"revocation rate {row['revocationRate']:.2%}, suspension rate {row['suspensionRate']:.2%}, unusual jumps: {jumps}"
        )
    Output(as_json).result(result, lines)


@chamber_group.command("rotate-key")
@click.argument("chamber_id", type=int)
@click.option("--dev", is_flag=True, help="Sign as the dev node's unlocked authority and fund the new key from it.")
@click.option("--key-env", default="ECOO_AUTHORITY_KEY", show_default=True, help="Environment variable with the authority key.")
@click.option("--rpc-url", envvar="ECOO_RPC_URL", default=None)
@json_option
@handle_errors
def chamber_rotate_key(chamber_id: int, dev: bool, key_env: str, rpc_url: str | None, as_json: bool) -> None:
    """Rotate CHAMBER_ID's signing key on the registry (the authority signs); old certificates stay valid."""
    from ..service.wiring import build_services
    from ..signers import signer_from_env, unlocked_signer

    services = build_services(service_settings(rpc_url, dev, worker=False))
    chamber = services.store.chamber(chamber_id)
    if chamber is None:
        raise ConfigurationError(f"no chamber {chamber_id}")
    authority = unlocked_signer(services.chain.registry().w3) if dev else signer_from_env(key_env)
    if authority is None:
        raise ConfigurationError(f"no authority key: set ${key_env}, or --dev on a local dev chain")
    address = services.issuance.rotate_key(chamber, authority, fund_from=authority if dev else None)
    lines = [f"chamber {chamber_id} now signs with {address}"]
    if not dev:
        lines.append(f"fund {address} so that it can pay for anchoring")
    Output(as_json).result({"chamber": chamber_id, "address": address}, lines)


def customs_mode(flag: bool) -> bool:
    """``--customs``, else ``ECOO_MODE`` (``customs`` or ``chamber``; unset: chamber)."""
    mode = os.environ.get("ECOO_MODE", "").strip().lower()
    if mode not in ("", "chamber", "customs"):
        raise ConfigurationError(f"ECOO_MODE must be 'chamber' or 'customs', got {mode!r}")
    return flag or mode == "customs"


def serve_customs(host: str, port: int) -> None:
    """``ecoo serve --customs``: the customs service (its trust list checked before it starts)."""
    from ..customs.app import create_customs_app
    from ..customs.config import CustomsSettings

    settings = CustomsSettings.from_env()
    app = create_customs_app(settings)
    built = app.extensions["ecoo_customs"]
    click.echo(
        f"ecoo customs service ({settings.country}) on http://{host}:{port} (trust list {settings.trust_list}, "
        f"sequence {built.trust_list.sequence}, {len(built.trust_list.entries)} entries; "
        f"database {settings.database_url.split('://')[0]})"
    )
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--rpc-url", envvar="ECOO_RPC_URL", default=None)
@click.option("--dev", is_flag=True, help="Create a local master key file in the data dir if none is configured.")
@click.option(
    "--customs",
    is_flag=True,
    help="Run the customs service (also ECOO_MODE=customs): verifier only, configured by ECOO_TRUST_LIST "
    "and ECOO_CUSTOMS_COUNTRY; see docs/customs.md.",
)
@handle_errors
def serve_command(host: str, port: int, rpc_url: str | None, dev: bool, customs: bool) -> None:
    """Run the service (development server; use gunicorn in production, see README)."""
    if customs_mode(customs):
        given = click.get_current_context().get_parameter_source
        if dev or given("rpc_url") is click.core.ParameterSource.COMMANDLINE:
            raise ConfigurationError("--rpc-url and --dev are the chamber service's: the customs trust list names its nodes")
        serve_customs(host, port)
        return
    from ..service.app import create_app

    settings = service_settings(rpc_url, dev)
    app = create_app(settings)
    click.echo(
        f"ecoo service on http://{host}:{port} (chain {redact_url(settings.rpc_url)}, database {settings.database_url.split('://')[0]})"
    )
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@click.command("demo")
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--node-port", type=int, default=None, help="Anvil port (default: 8545; waits up to 15 s for a stopping node).")
@click.option("--fresh", is_flag=True, help="Start from an empty chain and database.")
@handle_errors
def demo_command(port: int, node_port: int | None, fresh: bool) -> None:
    """Everything on one machine: managed Anvil (saved state), registry, a demo chamber, the service.
    One per data directory: while one runs, a second one exits at once, naming it."""
    from ..anvil import running_node, sigterm_as_interrupt
    from ..chain import connect
    from ..deploy import deploy_registry
    from ..service.app import create_app
    from ..service.chambers import create_chamber, issue_token
    from ..service.store import Store
    from ..signers import unlocked_signer

    sigterm_as_interrupt()
    cli_settings = Settings.from_env()
    # The lock first: a second demo on this data directory must change nothing, --fresh included.
    with (
        DataDirLock(cli_settings.data_dir, "ecoo demo") as lock,
        running_node(cli_settings, port=node_port, fresh=fresh, lock=lock) as node,
        contextlib.suppress(KeyboardInterrupt),
    ):
        if fresh:
            for name in ("ecoo.db", "ecoo.db-wal", "ecoo.db-shm"):
                (cli_settings.data_dir / name).unlink(missing_ok=True)
        w3 = connect(node.url)
        deployment, _ = deploy_registry(w3, unlocked_signer(w3), deployments_dir=cli_settings.deployments_dir)
        settings = service_settings(node.url, True, public_url=f"http://127.0.0.1:{port}")
        store = Store(settings.database_url)
        store.migrate()
        chambers = store.chambers()
        if chambers:
            chamber_id = chambers[0].id
            _, token = issue_token(store, chamber_id, "demo run")
        else:
            created = create_chamber(settings, "Department of Foreign Trade, Ministry of Commerce", "TH", "DFT-BKK", dev=True)
            chamber_id, token = created["chamber"], created["token"]
        store.close()
        app = create_app(settings)
        click.echo(f"registry {deployment.address} on {node.url} (chain state saved in {cli_settings.data_dir})")
        click.echo(f"verification page:  http://127.0.0.1:{port}/verify")
        click.echo(f"chamber dashboard:  http://127.0.0.1:{port}/dashboard   (chamber {chamber_id})")
        click.echo(f"demo chamber API token (new for this run): {token}")
        click.echo(
            "issue one:  curl -H 'Authorization: Bearer <token>' -H 'Content-Type: application/json' "
            f"--data @co.json http://127.0.0.1:{port}/api/v1/certificates   (co.json: `ecoo example --scheme RCEP`)"
        )
        sys.stdout.flush()
        app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)
