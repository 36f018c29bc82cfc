"""``ecoo trust-list``: make, change, sign, check and show the list of registries a verifier trusts.

Every change (``add``, ``remove``) writes the next sequence of the list, issued now and unsigned:
a signature covers one sequence only, so the publisher signs again (``sign``). ``verify`` and
``show`` check the signature, and with ``--publisher`` (or ``ECOO_TRUST_LIST_PUBLISHER``) refuse a
list that its publisher did not sign. See docs/trust-lists.md."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfigurationError, InputError
from .output import Output, handle_errors, json_option

if TYPE_CHECKING:
    from ..trustlist import SignatureCheck, TrustList
    from ..trustlist.pins import SequencePins
    from ..verify import Verifier

#: Environment variable of the publisher's address (configured out of band).
PUBLISHER_ENV = "ECOO_TRUST_LIST_PUBLISHER"
#: Environment variable holding the publisher's private key for ``sign`` (default of --key-env).
KEY_ENV = "ECOO_TRUST_LIST_KEY"

file_argument = click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
publisher_option = click.option(
    "--publisher",
    envvar=PUBLISHER_ENV,
    default=None,
    help=f"Address the list must be signed by (env {PUBLISHER_ENV}); without it an unsigned list is accepted.",
)


def command(name: str) -> Callable[[Callable[..., None]], click.Command]:
    """A trust-list subcommand with ``--json`` and the one-line error convention."""

    def decorate(fn: Callable[..., None]) -> click.Command:
        return trust_list_group.command(name)(json_option(handle_errors(fn)))

    return decorate


@click.group("trust-list")
def trust_list_group() -> None:
    """Make, sign, check and show a trust list: the registries `ecoo verify --trust-list` trusts."""


def _load(file: Path) -> TrustList:
    from ..trustlist import read_trust_list

    return read_trust_list(file)


def _save(trust_list: TrustList, file: Path) -> None:
    from ..trustlist import write_trust_list

    write_trust_list(trust_list, file)


def _entry_lines(trust_list: TrustList, now: datetime) -> list[str]:
    from ..trustlist.document import entry_period_problem
    from ..urls import redact_url

    lines = []
    for entry in trust_list.entries:
        state = entry_period_problem(entry, now) or "in force"
        lines.append(
            f"  chain {entry.chain_id} registry {entry.address}: {entry.authority_name} ({entry.authority_country}), "
            f"{entry.period()} [{state.split(':', 1)[0]}]"
        )
        lines.append(f"    nodes: {', '.join(redact_url(u) for u in entry.rpc_urls)}")
        if entry.notes:
            lines.append(f"    notes: {entry.notes}")
    return lines


def _signature_line(check: SignatureCheck, publisher: str | None) -> str:
    if not check.signed:
        return "signature: none (unsigned; no publisher configured)"
    pinned = "" if publisher else " — not pinned: pass --publisher to require this signer"
    return f"signature: {check.message}{pinned}"


@command("init")
@file_argument
@click.option("--name", required=True, help="Who publishes the list and for what.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
def init_command(file: Path, name: str, force: bool, as_json: bool) -> None:
    """Create an empty trust list (sequence 1) in FILE."""
    from ..trustlist import TrustList

    if file.exists() and not force:
        raise ConfigurationError(f"{file} exists; refusing to overwrite a trust list (use --force)")
    trust_list = TrustList.new(name)
    _save(trust_list, file)
    Output(as_json).result(
        {"file": str(file), "sequence": trust_list.sequence, "issued": trust_list.issued, "entries": 0},
        [f"created {file}: {name!r}, sequence 1, no entries"],
    )


@command("add")
@file_argument
@click.option("--chain-id", type=click.IntRange(min=1), required=True, help="Chain id of the registry's chain.")
@click.option("--registry", required=True, help="Registry contract address.")
@click.option(
    "--rpc-url", "rpc_urls", multiple=True, required=True, help="JSON-RPC URL of the chain; repeat for failover (in order)."
)
@click.option("--authority-name", required=True, help="The authority that runs the registry.")
@click.option("--country", required=True, help="The authority's country (ISO 3166-1 alpha-2).")
@click.option("--valid-from", default=None, help="Date or date-time the entry is in force from (default: now).")
@click.option("--valid-until", default=None, help="Last date (inclusive) or date-time the entry is in force (default: no end).")
@click.option("--notes", default=None, help="Free text kept with the entry.")
def add_command(
    file: Path,
    chain_id: int,
    registry: str,
    rpc_urls: tuple[str, ...],
    authority_name: str,
    country: str,
    valid_from: str | None,
    valid_until: str | None,
    notes: str | None,
    as_json: bool,
) -> None:
    """Add a registry to the trust list in FILE (the next sequence, unsigned)."""
    from ..registry import require_address
    from ..trustlist import TrustEntry, parse_trust_list
    from ..trustlist.document import format_moment

    trust_list = _load(file)
    now = datetime.now(UTC)
    entry_json: dict[str, Any] = {
        "chainId": chain_id,
        "registry": require_address(registry, "--registry"),  # written in EIP-55 form
        "rpcUrls": list(rpc_urls),
        "authority": {"name": authority_name, "country": country.upper()},
        "validFrom": valid_from or format_moment(now),
    }
    if valid_until is not None:
        entry_json["validUntil"] = valid_until
    if notes is not None:
        entry_json["notes"] = notes
    candidate = trust_list.to_json()
    candidate["entries"].append(entry_json)
    # The new entry is checked exactly as a reader will check the file (schema, dates, duplicates).
    changed = parse_trust_list(candidate, f"{file} with the new entry")
    entry = TrustEntry.from_json(entry_json)
    updated = trust_list.changed(changed.entries, now)
    _save(updated, file)
    dropped = " (the old signature is removed: sign the new sequence)" if trust_list.signature else ""
    Output(as_json).result(
        {
            "file": str(file),
            "sequence": updated.sequence,
            "entry": entry.to_json(),
            "signatureRemoved": bool(trust_list.signature),
        },
        [f"added registry {entry.address} on chain {chain_id} to {file}: sequence {updated.sequence}{dropped}"],
    )


@command("remove")
@file_argument
@click.option("--chain-id", type=click.IntRange(min=1), required=True)
@click.option("--registry", required=True, help="Registry contract address.")
def remove_command(file: Path, chain_id: int, registry: str, as_json: bool) -> None:
    """Remove a registry from the trust list in FILE (the next sequence, unsigned)."""
    from ..registry import require_address

    trust_list = _load(file)
    address = require_address(registry, "--registry")
    entry = trust_list.entry(chain_id, address)
    if entry is None:
        raise InputError(f"{file}: no entry for registry {address} on chain {chain_id}")
    updated = trust_list.changed(e for e in trust_list.entries if e is not entry)
    _save(updated, file)
    dropped = " (the old signature is removed: sign the new sequence)" if trust_list.signature else ""
    Output(as_json).result(
        {
            "file": str(file),
            "sequence": updated.sequence,
            "removed": entry.to_json(),
            "signatureRemoved": bool(trust_list.signature),
        },
        [f"removed registry {entry.address} on chain {chain_id} from {file}: sequence {updated.sequence}{dropped}"],
    )


@command("sign")
@file_argument
@click.option("--key-env", default=KEY_ENV, show_default=True, help="Environment variable holding the publisher's private key.")
@click.option(
    "--keystore",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Encrypted keystore file; password from ECOO_KEYSTORE_PASSWORD or a prompt.",
)
def sign_command(file: Path, key_env: str, keystore: Path | None, as_json: bool) -> None:
    """Sign the trust list in FILE as its publisher (EIP-712 over the canonical list)."""
    from ..signers import signer_from_env, signer_from_keystore
    from ..trustlist import list_digest, sign_trust_list

    trust_list = _load(file)
    signer = signer_from_keystore(keystore) if keystore is not None else signer_from_env(key_env)
    if signer is None:
        raise ConfigurationError(f"no key: set ${key_env} or pass --keystore FILE")
    signed = sign_trust_list(trust_list, signer)
    _save(signed, file)
    digest = "0x" + list_digest(signed).hex()
    Output(as_json).result(
        {"file": str(file), "sequence": signed.sequence, "publisher": signer.address, "digest": digest},
        [f"signed {file} (sequence {signed.sequence}) as publisher {signer.address}", f"EIP-712 digest {digest}"],
    )


def _pins() -> SequencePins:
    """The rollback pins of this machine's data directory (ECOO_DATA_DIR)."""
    from ..settings import Settings
    from ..trustlist.pins import PINS_FILE, SequencePins

    return SequencePins(Settings.from_env().data_dir / PINS_FILE)


def _checked(file: Path, publisher: str | None, *, pin: bool = False) -> tuple[TrustList, SignatureCheck]:
    """FILE read and its signature checked (required with ``publisher``); a list of the configured
    publisher older than one already accepted here is refused, and with ``pin`` this one is
    remembered as accepted."""
    from ..trustlist import require_publisher

    trust_list = _load(file)
    check = require_publisher(trust_list, str(file), publisher)
    pins = _pins()
    pins.check(trust_list, check, str(file))
    if pin:
        pins.record(trust_list, check)
    return trust_list, check


@command("verify")
@file_argument
@publisher_option
def verify_command(file: Path, publisher: str | None, as_json: bool) -> None:
    """Check FILE: schema, dates, and its signature (required with --publisher). Exit 0 if accepted."""
    trust_list, check = _checked(file, publisher)
    Output(as_json).result(
        {
            "file": str(file),
            "accepted": True,
            "sequence": trust_list.sequence,
            "issued": trust_list.issued,
            "entries": len(trust_list.entries),
            "signature": check.to_json(),
            "publisherConfigured": publisher is not None,
        },
        [
            f"{file}: accepted, sequence {trust_list.sequence} issued {trust_list.issued}, {len(trust_list.entries)} entries",
            _signature_line(check, publisher),
        ],
    )


@command("show")
@file_argument
@publisher_option
def show_command(file: Path, publisher: str | None, as_json: bool) -> None:
    """Show the entries of FILE, which are in force now, and its signature."""
    from ..trustlist.document import entry_period_problem

    trust_list, check = _checked(file, publisher)
    now = datetime.now(UTC)
    from ..urls import redact_url

    entries = [
        {
            **e.to_json(),
            "rpcUrls": [redact_url(u) for u in e.rpc_urls],  # shown, so without credentials, paths or queries
            "inForce": entry_period_problem(e, now) is None,
            "problem": entry_period_problem(e, now),
        }
        for e in trust_list.entries
    ]
    Output(as_json).result(
        {
            "file": str(file),
            "name": trust_list.name,
            "sequence": trust_list.sequence,
            "issued": trust_list.issued,
            "entries": entries,
            "signature": check.to_json(),
        },
        [
            f"{trust_list.name} — {file}, sequence {trust_list.sequence}, issued {trust_list.issued}",
            _signature_line(check, publisher),
            *_entry_lines(trust_list, now),
        ],
    )


# -- used by `ecoo verify --trust-list` -----------------------------------------------------------


def open_trust_list_verifier(
    file: Path, publisher: str | None, max_block_age: float | None = None
) -> tuple[Verifier, dict[str, Any], str]:
    """The verifier of ``ecoo verify --trust-list FILE``: the list read, checked (signature required
    with ``publisher``) and turned into a routing verifier (nodes behind by more than
    ``max_block_age`` seconds skipped); with what to report about the list, as JSON and as one line."""
    from ..trustlist import trust_list_verifier

    trust_list, check = _checked(file, publisher, pin=True)
    info = {
        "file": str(file),
        "name": trust_list.name,
        "sequence": trust_list.sequence,
        "issued": trust_list.issued,
        "entries": len(trust_list.entries),
        "signature": check.to_json(),
        "publisherConfigured": publisher is not None,
    }
    line = f"trust list {file} (sequence {trust_list.sequence}, {len(trust_list.entries)} entries); {_signature_line(check, publisher)}"
    return trust_list_verifier(trust_list, str(file), max_block_age=max_block_age), info, line
