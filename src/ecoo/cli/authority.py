"""Commands of the accreditation authority (accredit, suspend, reinstate and rotate issuer keys),
and ``ecoo issuer`` to read an issuer's record."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..settings import Settings
from .options import connect, key_options, open_registry, registry_and_signer, registry_option, rpc_option
from .output import Output, handle_errors, json_option

if TYPE_CHECKING:
    from ..registry import AccreditationPeriod, Issuer, Registry, TxResult
    from ..signers import Signer

#: An authority action: given the registry and the authority's signer (and the command's own
#: arguments), send the transaction and return it with the address of the issuer to show.
AuthorityAction = Callable[..., "tuple[TxResult, str]"]


def issuer_lines(issuer: Issuer, periods: list[AccreditationPeriod]) -> list[str]:
    """An issuer's record and accreditation history as readable lines."""
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


def authority_command(name: str) -> Callable[[AuthorityAction], click.Command]:
    """Make a command the authority signs from ``action``: connect, open the registry, act, then
    print the transaction and the issuer's record. The command's help is ``action``'s docstring."""

    def decorate(action: AuthorityAction) -> click.Command:
        @functools.wraps(action)  # keeps the docstring and the arguments declared on ``action``
        def command(
            settings: Settings,
            /,
            rpc_url: str | None,
            registry: str | None,
            key_env: str,
            keystore: Path | None,
            unlocked: bool,
            as_json: bool,
            **params: Any,
        ) -> None:
            reg, authority = registry_and_signer(settings, rpc_url, registry, key_env, keystore, unlocked)
            tx, shown = action(reg, authority, **params)
            issuer = reg.get_issuer(shown)
            periods = reg.get_accreditation_periods(shown)
            Output(as_json).result(
                {"tx": tx, "issuer": issuer, "periods": periods},
                [f"{name}: tx {tx.tx_hash} (block {tx.block_number})", *issuer_lines(issuer, periods)],
            )

        options = click.pass_obj(
            json_option(key_options("ECOO_AUTHORITY_KEY")(registry_option(rpc_option(handle_errors(command)))))
        )
        return click.command(name)(options)

    return decorate


@authority_command("accredit")
@click.argument("issuer")
@click.option("--name", required=True, help="Chamber name.")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 country code, e.g. DE.")
@click.option("--code", required=True, help="Accreditation code.")
@click.option("--metadata-hash", default=None, help="32-byte hash of a metadata document (hex).")
def accredit(
    registry: Registry, authority: Signer, issuer: str, name: str, country: str, code: str, metadata_hash: str | None
) -> tuple[TxResult, str]:
    """Accredit ISSUER (a chamber's key) with its metadata. Signed by the accreditation authority."""
    metadata = bytes.fromhex(metadata_hash.removeprefix("0x")) if metadata_hash else b"\0" * 32
    tx = registry.accredit_issuer(authority, issuer, name=name, country=country, accreditation_code=code, metadata_hash=metadata)
    return tx, issuer


@authority_command("suspend-issuer")
@click.argument("issuer")
def suspend_issuer(registry: Registry, authority: Signer, issuer: str) -> tuple[TxResult, str]:
    """Suspend ISSUER: nothing it anchored verifies until it is reinstated."""
    return registry.suspend_issuer(authority, issuer), issuer


@authority_command("reinstate-issuer")
@click.argument("issuer")
def reinstate_issuer(registry: Registry, authority: Signer, issuer: str) -> tuple[TxResult, str]:
    """Reinstate a suspended ISSUER."""
    return registry.reinstate_issuer(authority, issuer), issuer


@authority_command("rotate-issuer")
@click.argument("old_key")
@click.argument("new_key")
def rotate_issuer(registry: Registry, authority: Signer, old_key: str, new_key: str) -> tuple[TxResult, str]:
    """Retire OLD_KEY and accredit NEW_KEY with the same metadata (OLD_KEY's history stays valid)."""
    return registry.rotate_issuer_key(authority, old_key, new_key), new_key


@click.command("issuer")
@click.argument("address")
@rpc_option
@registry_option
@json_option
@click.pass_obj
@handle_errors
def issuer_command(settings: Settings, address: str, rpc_url: str | None, registry: str | None, as_json: bool) -> None:
    """Show the accreditation record and history of the issuer key ADDRESS."""
    reg = open_registry(settings, connect(settings, rpc_url), registry)
    issuer = reg.get_issuer(address)
    periods = reg.get_accreditation_periods(address)
    Output(as_json).result({"issuer": issuer, "periods": periods}, issuer_lines(issuer, periods))


COMMANDS = (accredit, suspend_issuer, reinstate_issuer, rotate_issuer, issuer_command)
