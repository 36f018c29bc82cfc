"""Commands for the chain itself: compile the contracts, run a local node, deploy the registry,
fund a dev account."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from ..settings import Settings
from .options import connect, key_options, rpc_option, signer
from .output import EXIT_ERROR, Output, handle_errors, json_option


@click.command("compile")
@click.option("--check", is_flag=True, help="Only compare a fresh build with the shipped artifacts; exit 1 if they differ.")
@json_option
@handle_errors
def compile_command(check: bool, as_json: bool) -> None:
    """Compile contracts/ with the pinned solc (through py-solc-x) into src/ecoo/artifacts/."""
    from ..compiler import (
        ARTIFACT_DIR,
        CompilerConfig,
        compile_contracts,
        find_solc,
        project_root,
        render_artifact,
        write_artifacts,
    )

    out = Output(as_json)
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


@click.command("node")
@click.option("--port", type=int, default=None, help="Port (default: 8545; waits up to 15 s for a stopping node to free it).")
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Chain state file (default: <data dir>/anvil-state.json).",
)
@click.option("--fresh", is_flag=True, help="Delete the state file first: start a new, empty chain.")
@json_option
@click.pass_obj
@handle_errors
def node_command(settings: Settings, port: int | None, state_file: Path | None, fresh: bool, as_json: bool) -> None:
    """Run a managed Anvil in the foreground until Ctrl-C; its chain state persists across restarts.
    One per data directory: while one runs, a second one exits at once, naming it."""
    from ..anvil import running_node, sigterm_as_interrupt, wait_until_stopped

    sigterm_as_interrupt()
    # Ctrl-C or SIGTERM before the wait began also ends the command cleanly: the node is stopped.
    with (
        running_node(settings, state_file, port=port, fresh=fresh, command="ecoo node") as node,
        contextlib.suppress(KeyboardInterrupt),
    ):
        Output(as_json).result(
            {"url": node.url, "chainId": node.chain_id, "stateFile": str(node.state_file), "pid": node.pid},
            [
                f"anvil serving {node.url} (chain {node.chain_id})",
                f"state file: {node.state_file}",
                "Ctrl-C to stop (state is saved)",
            ],
        )
        wait_until_stopped(node)


@click.command("up")
@click.option("--port", type=int, default=None, help="Anvil port (default: 8545; waits up to 15 s for a stopping node).")
@click.option("--fresh", is_flag=True, help="Start a new, empty chain (deletes the saved chain state).")
@json_option
@click.pass_obj
@handle_errors
def up_command(settings: Settings, port: int | None, fresh: bool, as_json: bool) -> None:
    """Local development chain in one step: a managed Anvil with saved state, and the registry deployed
    on it (or reused). Runs until Ctrl-C. Uses Anvil's unlocked dev account as admin and authority.
    One per data directory: while one runs, a second one exits at once, naming it."""
    from ..anvil import running_node, sigterm_as_interrupt, wait_until_stopped
    from ..chain import connect as connect_url
    from ..deploy import deploy_registry, deployment_path
    from ..signers import unlocked_signer

    sigterm_as_interrupt()
    with running_node(settings, port=port, fresh=fresh, command="ecoo up") as node, contextlib.suppress(KeyboardInterrupt):
        w3 = connect_url(node.url)
        deployment, reused = deploy_registry(w3, unlocked_signer(w3), deployments_dir=settings.deployments_dir)
        Output(as_json).result(
            {
                "url": node.url,
                "chainId": deployment.chain_id,
                "registry": deployment.address,
                "reused": reused,
                "authority": deployment.authority,
                "stateFile": str(node.state_file),
                "record": str(deployment_path(settings.deployments_dir, deployment.chain_id)),
            },
            [
                f"anvil serving {node.url} (chain {deployment.chain_id}), state saved in {node.state_file}",
                f"registry {deployment.address} ({'reused' if reused else 'deployed'}), authority {deployment.authority}",
                "in another shell:  ecoo accredit <chamber address> --name ... --country DE --code ... --unlocked",
                "Ctrl-C to stop (the chain state is saved)",
            ],
        )
        wait_until_stopped(node)


@click.command("deploy")
@rpc_option
@key_options("ECOO_DEPLOYER_KEY")
@click.option("--admin", default=None, help="Address given DEFAULT_ADMIN_ROLE (default: the deployer).")
@click.option("--authority", default=None, help="Address given AUTHORITY_ROLE (default: the deployer).")
@click.option("--new", "force_new", is_flag=True, help="Deploy even if a live deployment is recorded.")
@json_option
@click.pass_obj
@handle_errors
def deploy_command(
    settings: Settings,
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
    from ..deploy import deploy_registry, deployment_path
    from ..registry import require_address

    admin = require_address(admin, "--admin") if admin is not None else None
    authority = require_address(authority, "--authority") if authority is not None else None
    w3 = connect(settings, rpc_url)
    deployer = signer(w3, key_env, keystore, unlocked)
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


@click.command("fund")
@click.argument("address")
@click.option("--eth", "amount", type=float, default=1.0, show_default=True)
@rpc_option
@json_option
@click.pass_obj
@handle_errors
def fund_command(settings: Settings, address: str, amount: float, rpc_url: str | None, as_json: bool) -> None:
    """Send test ether from the dev node's unlocked account to ADDRESS (local dev chains only)."""
    from ..devchain import fund, require_dev_chain
    from ..registry import require_address
    from ..signers import unlocked_signer

    address = require_address(address, "address")
    w3 = connect(settings, rpc_url)
    require_dev_chain(w3, "fund is for local dev chains only")
    tx = fund(w3, unlocked_signer(w3).address, address, int(amount * 10**18))
    Output(as_json).result({"address": address, "eth": amount, "tx": tx.to_0x_hex()}, [f"sent {amount} ETH to {address}"])


COMMANDS = (compile_command, node_command, up_command, deploy_command, fund_command)
