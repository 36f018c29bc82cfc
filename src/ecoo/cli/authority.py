"""Commands of the accreditation authority (accredit, suspend, reinstate and rotate issuer keys),
and ``ecoo issuer`` to read an issuer's record. They are top-level commands (``ecoo accredit``) and
also make up the ``ecoo authority`` group, with the customs role of :mod:`.authority_customs`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import MissingRoleError
from ..settings import Settings
from .options import connect, key_options, open_registry, registry_and_signer, registry_option, rpc_option
from .output import Output, handle_errors, json_option

if TYPE_CHECKING:
    from ..registry import AccreditationPeriod, Issuer, Registry, TxResult
    from ..signers import Signer

#: An authority action: given the registry and the authority's signer (and the command's own
#: arguments), send the transaction and return it with the address of the key to show.
AuthorityAction = Callable[..., "tuple[TxResult, str]"]
#: What a command shows of a key: the data for ``--json`` and the readable lines.
Shown = tuple[dict[str, Any], list[str]]
#: Reads what to show of the key at an address, after the transaction.
Show = Callable[["Registry", str], Shown]

#: The registry's AUTHORITY_ROLE is keccak256 of this, as the contract declares it.
AUTHORITY_ROLE_NAME = "ECOO_AUTHORITY_ROLE"


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


def show_issuer(registry: Registry, address: str) -> Shown:
    """An issuer's record and accreditation periods."""
    issuer = registry.get_issuer(address)
    periods = registry.get_accreditation_periods(address)
    return {"issuer": issuer, "periods": periods}, issuer_lines(issuer, periods)


def not_the_authority(exc: MissingRoleError, command: str, key_env: str) -> MissingRoleError:
    """``exc`` with a message that says what the caller lacks, when the role is AUTHORITY_ROLE
    (OpenZeppelin's error names the role by its hash alone)."""
    from eth_utils.crypto import keccak  # here: `ecoo --help` loads this module

    if exc.args_by_name.get("neededRole") != keccak(text=AUTHORITY_ROLE_NAME):
        return exc
    account = exc.args_by_name.get("account")
    clear = MissingRoleError(**exc.args_by_name)
    clear.args = (
        f"{account} is not the registry's accreditation authority (it lacks AUTHORITY_ROLE), so it cannot"
        f" {command}: sign with the authority's key (${key_env}, --keystore or --key-env)",
    )
    return clear


def authority_command(name: str, show: Show = show_issuer) -> Callable[[AuthorityAction], click.Command]:
    """Make a command the authority signs from ``action``: connect, open the registry, act, then
    print the transaction and what ``show`` reads of the key ``action`` returns (the issuer's
    record by default). The command's help is ``action``'s docstring. A caller without the
    authority role gets a :class:`MissingRoleError` that says so."""

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
            try:
                tx, address = action(reg, authority, **params)
            except MissingRoleError as exc:
                raise not_the_authority(exc, name, key_env) from None
            data, lines = show(reg, address)
            Output(as_json).result({"tx": tx, **data}, [f"{name}: tx {tx.tx_hash} (block {tx.block_number})", *lines])

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
    Output(as_json).result(*show_issuer(reg, address))


COMMANDS = (accredit, suspend_issuer, reinstate_issuer, rotate_issuer, issuer_command)


@click.group("authority")
def authority_group() -> None:
    """The accreditation authority: issuer keys (also top-level: ecoo accredit ...) and customs keys."""


for _command in COMMANDS:
    authority_group.add_command(_command)
