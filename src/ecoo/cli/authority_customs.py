"""``ecoo authority grant-customs / revoke-customs / customs``: the authority's customs role.

The authority grants a customs administration's key the role, with the administration's country;
that key may then record receipts, utilisations and rejections against certificates (see
docs/customs-contract.md). A revoked key keeps its country and its records; granting it again
(perhaps with another country) is a new grant. What ``customs`` shows comes from the registry's
``getCustoms`` view, and when the key was granted (or revoked) from the ``CustomsGranted`` and
``CustomsRevoked`` events: one ``eth_getLogs`` filtered by the key's topic. A node that refuses
that query (some cap the block range) leaves the history out, never the record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from ..settings import Settings
from .authority import Shown, authority_command
from .options import connect, open_registry, registry_option, rpc_option
from .output import Output, handle_errors, json_option

if TYPE_CHECKING:
    from ..registry import Registry, TxResult
    from ..signers import Signer

#: The two role events, as IEcooRegistry declares them (their topic 0 is the keccak of these).
GRANTED_EVENT = "CustomsGranted(address,bytes2)"
REVOKED_EVENT = "CustomsRevoked(address)"


def _topic(signature: str) -> str:
    from eth_utils.crypto import keccak  # here, not at the top: `ecoo --help` loads this module

    return "0x" + keccak(text=signature).hex()


def _hex(value: Any) -> str:
    """A log's bytes field (HexBytes from web3) as 0x hex."""
    return "0x" + bytes(value).hex()


def _role_event(registry: Registry, log: Any) -> dict[str, Any]:
    """Block, time, transaction (and, for a grant, the country) of one role event."""
    block = int(log["blockNumber"])
    timestamp = int(registry.w3.eth.get_block(block)["timestamp"])
    event: dict[str, Any] = {
        "block": block,
        "time": datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z"),
        "tx": _hex(log["transactionHash"]),
    }
    if _hex(log["topics"][0]) == _topic(GRANTED_EVENT):
        event["country"] = bytes(log["data"])[:2].rstrip(b"\0").decode("ascii", errors="replace")
    return event


def role_history(registry: Registry, address: str) -> dict[str, Any]:
    """The key's last grant and, if it came after that grant, its revocation (None for either
    that did not happen), or ``history_error`` when the node would not answer the log query."""
    from web3.exceptions import Web3Exception

    granted_topic = _topic(GRANTED_EVENT)

    try:
        logs = registry.w3.eth.get_logs(
            {
                "address": registry.address,
                "fromBlock": 0,
                "toBlock": "latest",
                "topics": [[granted_topic, _topic(REVOKED_EVENT)], "0x" + address.lower().removeprefix("0x").rjust(64, "0")],
            }
        )
        grants = [log for log in logs if _hex(log["topics"][0]) == granted_topic]
        last_grant = grants[-1] if grants else None
        last = logs[-1] if logs else None
        revoked = last if last is not None and last is not last_grant else None
        return {
            "granted": _role_event(registry, last_grant) if last_grant is not None else None,
            "revoked": _role_event(registry, revoked) if revoked is not None else None,
            "history_error": None,
        }
    except (Web3Exception, OSError, ValueError) as exc:  # a refused log query costs the history, not the record
        refused = f"the node did not answer the log query ({type(exc).__name__})"
        return {"granted": None, "revoked": None, "history_error": refused}


def show_customs(registry: Registry, address: str) -> Shown:
    """A customs key's record (country, whether it holds the role) and when it was granted."""
    from ..registry.client import require_address

    address = require_address(address, "customs key")
    record = registry.get_customs(address)
    history = role_history(registry, address)
    if record.active:
        lines = [f"customs key {address}: ACTIVE, country {record.country}"]
    elif record.country:
        lines = [f"customs key {address}: REVOKED (was country {record.country}); it can no longer record"]
    else:
        lines = [f"customs key {address}: never granted the customs role"]
    for what in ("granted", "revoked"):
        event = history[what]
        if event is not None:
            lines.append(f"  {what} in block {event['block']} at {event['time']}, tx {event['tx']}")
    if history["history_error"]:
        lines.append(f"  when granted: unknown, {history['history_error']}")
    data = {
        "customs": {"address": address, "country": record.country, "active": record.active},
        **history,
    }
    return data, lines


@authority_command("grant-customs", show=show_customs)
@click.argument("customs")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 country of the customs administration, e.g. KR.")
def grant_customs(registry: Registry, authority: Signer, customs: str, country: str) -> tuple[TxResult, str]:
    """Grant CUSTOMS the customs role for its --country. CUSTOMS is a customs administration's key;
    it may then record receipts, utilisations and rejections. Signed by the accreditation authority."""
    return registry.grant_customs(authority, customs, country), customs


@authority_command("revoke-customs", show=show_customs)
@click.argument("customs")
def revoke_customs(registry: Registry, authority: Signer, customs: str) -> tuple[TxResult, str]:
    """Revoke the customs role of CUSTOMS. It can no longer record; what it recorded stays."""
    return registry.revoke_customs(authority, customs), customs


@click.command("customs")
@click.argument("address")
@rpc_option
@registry_option
@json_option
@click.pass_obj
@handle_errors
def customs_command(settings: Settings, address: str, rpc_url: str | None, registry: str | None, as_json: bool) -> None:
    """Show a customs key. ADDRESS's country, whether it holds the customs role now, and when it
    was granted (and revoked)."""
    reg = open_registry(settings, connect(settings, rpc_url), registry)
    Output(as_json).result(*show_customs(reg, address))


COMMANDS = (grant_customs, revoke_customs, customs_command)
