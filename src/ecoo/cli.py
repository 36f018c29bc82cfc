"""The ``ecoo`` command line. Every command takes ``--json`` and then prints exactly one JSON
object on stdout; errors are one line on stderr (and an ``{"error", "message"}`` object with
``--json``) and a non-zero exit code, never a traceback."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import click

from .errors import ConfigurationError, EcooError

EXIT_ERROR = 1


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


class Output:
    """Prints a result as one JSON object (``--json``) or as readable lines."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def result(self, data: dict[str, Any], lines: list[str]) -> None:
        if self.as_json:
            click.echo(json.dumps(_jsonable(data), sort_keys=True))
        else:
            for line in lines:
                click.echo(line)


def _fail(as_json: bool, error: str, message: str) -> None:
    if as_json:
        click.echo(json.dumps({"error": error, "message": message}))
    click.echo(f"ecoo: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _guarded(as_json: bool, action: Callable[[], None]) -> None:
    try:
        action()
    except EcooError as exc:
        _fail(as_json, type(exc).__name__, str(exc))
    except OSError as exc:
        _fail(as_json, type(exc).__name__, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))


json_option = click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
rpc_option = click.option(
    "--rpc-url",
    envvar="ECOO_RPC_URL",
    default=None,
    help="JSON-RPC URL of the chain (env ECOO_RPC_URL; 'embedded' for in-process).",
)
registry_option = click.option(
    "--registry", envvar="ECOO_REGISTRY", default=None, help="Registry address (default: deployments/<chainId>.json)."
)


def key_options(default_env: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--key-env / --keystore / --unlocked: where the sending key comes from (never the command line)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
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


def _signer(w3: Any, key_env: str, keystore: Path | None, unlocked: bool) -> Any:
    from .chain import chain_info
    from .signers import signer_from_env, signer_from_keystore, unlocked_signer

    if keystore is not None:
        return signer_from_keystore(keystore)
    from_env = signer_from_env(key_env)
    if from_env is not None:
        return from_env
    if unlocked:
        info = chain_info(w3)
        if not info.is_dev:
            raise ConfigurationError(f"--unlocked is for local dev chains only; chain {info.chain_id} is not one")
        return unlocked_signer(w3)
    raise ConfigurationError(f"no key: set ${key_env}, pass --keystore FILE, or --unlocked on a local dev chain")


def _connect(settings: Any, rpc_url: str | None) -> Any:
    from .chain import connect

    return connect(settings.resolve_rpc_url(rpc_url))


def _open_registry(settings: Any, w3: Any, registry: str | None) -> Any:
    from .deploy import open_registry

    return open_registry(
        w3, settings.deployments_dir, registry, receipt_timeout=settings.receipt_timeout, confirmations=settings.confirmations
    )


def registry_and_signer(
    settings: Any, rpc_url: str | None, registry: str | None, key_env: str, keystore: Path | None, unlocked: bool
) -> tuple[Any, Any]:
    """The registry of the chain a command talks to, and the signer its key options name."""
    w3 = _connect(settings, rpc_url)
    return _open_registry(settings, w3, registry), _signer(w3, key_env, keystore, unlocked)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="ecoo")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """ecoo: electronic certificates of origin, anchored in an on-chain registry."""
    from .settings import Settings

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = Settings.from_env()


# -- compile ------------------------------------------------------------------------------------


@cli.command("compile")
@click.option("--check", is_flag=True, help="Only compare a fresh build with the shipped artifacts; exit 1 if they differ.")
@json_option
def compile_command(check: bool, as_json: bool) -> None:
    """Compile contracts/ with the pinned solc (through py-solc-x) into src/ecoo/artifacts/."""
    out = Output(as_json)

    def run() -> None:
        from .compiler import (
            ARTIFACT_DIR,
            CompilerConfig,
            compile_contracts,
            find_solc,
            project_root,
            render_artifact,
            write_artifacts,
        )

        config = CompilerConfig.load(project_root())
        solc = find_solc(config)
        artifacts = compile_contracts(config, solc)
        if check:
            stale = [
                name
                for name, artifact in artifacts.items()
                if not (ARTIFACT_DIR / f"{name}.json").is_file()
                or (ARTIFACT_DIR / f"{name}.json").read_text(encoding="utf-8") != render_artifact(artifact)
            ]
            out.result(
                {"solc": solc, "stale": stale, "upToDate": not stale},
                [f"{name}: shipped artifact differs from a fresh build" for name in stale] or ["artifacts up to date"],
            )
            if stale:
                sys.exit(EXIT_ERROR)
            return
        written = write_artifacts(artifacts)
        out.result(
            {"solc": solc, "artifacts": [str(p) for p in written]}, [f"compiled with {solc}", *(f"wrote {p}" for p in written)]
        )

    _guarded(as_json, run)


# -- node ---------------------------------------------------------------------------------------


@cli.command("node")
@click.option("--port", type=int, default=None, help="Port (default: 8545 if free, else any free port).")
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Chain state file (default: <data dir>/anvil-state.json).",
)
@click.option("--fresh", is_flag=True, help="Delete the state file first: start a new, empty chain.")
@json_option
@click.pass_obj
def node_command(settings: Any, port: int | None, state_file: Path | None, fresh: bool, as_json: bool) -> None:
    """Run a managed Anvil in the foreground until Ctrl-C; its chain state persists across restarts."""

    def run() -> None:
        sigterm_as_interrupt()
        state = state_file or settings.data_dir / "anvil-state.json"
        node = _start_node(settings, state, port, fresh)
        try:
            Output(as_json).result(
                {"url": node.url, "chainId": node.chain_id, "stateFile": str(state), "pid": node.pid},
                [f"anvil serving {node.url} (chain {node.chain_id})", f"state file: {state}", "Ctrl-C to stop (state is saved)"],
            )
            _serve_until_stopped(node)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM before the wait began
            pass
        finally:
            _stop_node(settings, node)

    _guarded(as_json, run)


def _start_node(settings: Any, state: Path, port: int | None, fresh: bool) -> Any:
    """Start a managed Anvil on ``port`` (default 8545 if free) and record its URL for other commands."""
    from .anvil import ManagedAnvil, free_port, rpc_answers

    if fresh and state.exists():
        state.unlink()
    if port is None:
        port = 8545 if rpc_answers("http://127.0.0.1:8545", 0.3) is None and _port_free(8545) else free_port()
    node = ManagedAnvil(state, port=port, log_file=settings.data_dir / "anvil.log").start()
    settings.node_file.parent.mkdir(parents=True, exist_ok=True)
    settings.node_file.write_text(json.dumps({"url": node.url, "pid": os.getpid()}), encoding="utf-8")
    return node


def sigterm_as_interrupt() -> None:
    """Treat SIGTERM like Ctrl-C, so that ``finally`` blocks stop the node cleanly (it saves its state)."""

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _serve_until_stopped(node: Any) -> None:
    """Block until Ctrl-C or SIGTERM (or the node dies)."""
    sys.stdout.flush()
    try:
        while node.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def _stop_node(settings: Any, node: Any) -> None:
    node.stop()
    settings.node_file.unlink(missing_ok=True)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# -- up ---------------------------------------------------------------------------------------


@cli.command("up")
@click.option("--port", type=int, default=None, help="Anvil port (default: 8545 if free, else any free port).")
@click.option("--fresh", is_flag=True, help="Start a new, empty chain (deletes the saved chain state).")
@json_option
@click.pass_obj
def up_command(settings: Any, port: int | None, fresh: bool, as_json: bool) -> None:
    """Local development chain in one step: a managed Anvil with saved state, and the registry deployed
    on it (or reused). Runs until Ctrl-C. Uses Anvil's unlocked dev account as admin and authority."""
    from .chain import connect
    from .deploy import deploy_registry, deployment_path
    from .signers import unlocked_signer

    def run() -> None:
        sigterm_as_interrupt()
        state = settings.data_dir / "anvil-state.json"
        node = _start_node(settings, state, port, fresh)
        try:
            w3 = connect(node.url)
            deployment, reused = deploy_registry(w3, unlocked_signer(w3), deployments_dir=settings.deployments_dir)
            Output(as_json).result(
                {
                    "url": node.url,
                    "chainId": deployment.chain_id,
                    "registry": deployment.address,
                    "reused": reused,
                    "authority": deployment.authority,
                    "stateFile": str(state),
                    "record": str(deployment_path(settings.deployments_dir, deployment.chain_id)),
                },
                [
                    f"anvil serving {node.url} (chain {deployment.chain_id}), state saved in {state}",
                    f"registry {deployment.address} ({'reused' if reused else 'deployed'}), authority {deployment.authority}",
                    "in another shell:  ecoo accredit <chamber address> --name ... --country DE --code ... --unlocked",
                    "Ctrl-C to stop (the chain state is saved)",
                ],
            )
            _serve_until_stopped(node)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM before the wait began
            pass
        finally:
            _stop_node(settings, node)

    _guarded(as_json, run)


# -- deploy -------------------------------------------------------------------------------------


@cli.command("deploy")
@rpc_option
@key_options("ECOO_DEPLOYER_KEY")
@click.option("--admin", default=None, help="Address given DEFAULT_ADMIN_ROLE (default: the deployer).")
@click.option("--authority", default=None, help="Address given AUTHORITY_ROLE (default: the deployer).")
@click.option("--new", "force_new", is_flag=True, help="Deploy even if a live deployment is recorded.")
@json_option
@click.pass_obj
def deploy_command(
    settings: Any,
    rpc_url: str | None,
    key_env: str,
    keystore: Path | None,
    unlocked: bool,
    admin: str | None,
    authority: str | None,
    force_new: bool,
    as_json: bool,
) -> None:
    """Deploy the registry (or reuse the live one recorded in deployments/<chainId>.json)."""

    def run() -> None:
        from .deploy import deploy_registry, deployment_path

        w3 = _connect(settings, rpc_url)
        deployer = _signer(w3, key_env, keystore, unlocked)
        deployment, reused = deploy_registry(
            w3, deployer, admin=admin, authority=authority, deployments_dir=settings.deployments_dir, reuse=not force_new
        )
        record = deployment_path(settings.deployments_dir, deployment.chain_id)
        verb = "reusing" if reused else "deployed"
        Output(as_json).result(
            {"reused": reused, "record": str(record), "deployment": deployment.to_json()},
            [
                f"{verb} EcooRegistry at {deployment.address} on chain {deployment.chain_id} (block {deployment.block})",
                f"record: {record}",
            ],
        )

    _guarded(as_json, run)


# -- issuers ------------------------------------------------------------------------------------


def _issuer_lines(issuer: Any, periods: list[Any]) -> list[str]:
    lines = [
        f"issuer {issuer.address}: {issuer.status.name}",
        f"  name: {issuer.name}  country: {issuer.country}  code: {issuer.accreditation_code}",
    ]
    if issuer.successor:
        lines.append(f"  rotated to: {issuer.successor}")
    if issuer.predecessor:
        lines.append(f"  rotated from: {issuer.predecessor}")
    for period in periods:
        until = f"block {period.until_block}" if period.until_block else "now"
        lines.append(f"  accredited from block {period.from_block} until {until}")
    return lines


def _authority_command(
    name: str,
    help_text: str,
    action: Callable[..., Any],
    extra: list[Callable[[Callable[..., Any]], Callable[..., Any]]] | None = None,
) -> None:
    """Register a command the authority signs: connect, open the registry, act, show the issuer."""

    def command(
        settings: Any,
        rpc_url: str | None,
        registry: str | None,
        key_env: str,
        keystore: Path | None,
        unlocked: bool,
        as_json: bool,
        **params: Any,
    ) -> None:
        def run() -> None:
            reg, signer = registry_and_signer(settings, rpc_url, registry, key_env, keystore, unlocked)
            result, shown = action(reg, signer, **params)
            issuer = reg.get_issuer(shown)
            periods = reg.get_accreditation_periods(shown)
            Output(as_json).result(
                {"tx": result, "issuer": issuer, "periods": periods},
                [f"{name}: tx {result.tx_hash} (block {result.block_number})", *_issuer_lines(issuer, periods)],
            )

        _guarded(as_json, run)

    command.__doc__ = help_text
    decorated: Callable[..., Any] = command
    for option in reversed(extra or []):
        decorated = option(decorated)
    decorated = click.pass_obj(json_option(key_options("ECOO_AUTHORITY_KEY")(registry_option(rpc_option(decorated)))))
    cli.command(name)(decorated)


_authority_command(
    "accredit",
    "Accredit ISSUER (a chamber's key) with its metadata. Signed by the accreditation authority.",
    lambda reg, signer, issuer, name, country, code, metadata_hash: (
        reg.accredit_issuer(
            signer,
            issuer,
            name=name,
            country=country,
            accreditation_code=code,
            metadata_hash=bytes.fromhex(metadata_hash.removeprefix("0x")) if metadata_hash else b"\0" * 32,
        ),
        issuer,
    ),
    [
        click.argument("issuer"),
        click.option("--name", required=True, help="Chamber name."),
        click.option("--country", required=True, help="ISO 3166-1 alpha-2 country code, e.g. DE."),
        click.option("--code", required=True, help="Accreditation code."),
        click.option("--metadata-hash", default=None, help="32-byte hash of a metadata document (hex)."),
    ],
)
_authority_command(
    "suspend-issuer",
    "Suspend ISSUER: nothing it anchored verifies until it is reinstated.",
    lambda reg, signer, issuer: (reg.suspend_issuer(signer, issuer), issuer),
    [click.argument("issuer")],
)
_authority_command(
    "reinstate-issuer",
    "Reinstate a suspended ISSUER.",
    lambda reg, signer, issuer: (reg.reinstate_issuer(signer, issuer), issuer),
    [click.argument("issuer")],
)
_authority_command(
    "rotate-issuer",
    "Retire OLD_KEY and accredit NEW_KEY with the same metadata (OLD_KEY's history stays valid).",
    lambda reg, signer, old_key, new_key: (reg.rotate_issuer_key(signer, old_key, new_key), new_key),
    [click.argument("old_key"), click.argument("new_key")],
)


@cli.command("issuer")
@click.argument("address")
@rpc_option
@registry_option
@json_option
@click.pass_obj
def issuer_command(settings: Any, address: str, rpc_url: str | None, registry: str | None, as_json: bool) -> None:
    """Show the accreditation record and history of the issuer key ADDRESS."""

    def run() -> None:
        w3 = _connect(settings, rpc_url)
        reg = _open_registry(settings, w3, registry)
        issuer = reg.get_issuer(address)
        periods = reg.get_accreditation_periods(address)
        Output(as_json).result({"issuer": issuer, "periods": periods}, _issuer_lines(issuer, periods))

    _guarded(as_json, run)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ecoo`` console script."""
    try:
        cli.main(args=argv, prog_name="ecoo", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("ecoo: aborted", err=True)
        return EXIT_ERROR
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_ERROR
    return 0


# Certificate commands register themselves on `cli` (kept in their own module for size).
from . import _cli_certificates  # noqa: E402,F401
from .service import cli as _service_cli  # noqa: E402,F401
