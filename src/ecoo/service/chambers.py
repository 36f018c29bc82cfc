"""Chambers of the service and their API tokens: what ``ecoo chamber ...`` and ``ecoo demo`` do,
kept out of the command line so that scripts and tests call it directly."""

from __future__ import annotations

from typing import Any

from eth_account import Account

from ..devchain import DEV_FUNDING_WEI, fund, require_dev_chain
from ..errors import ConfigurationError
from ..registry import require_country_code
from ..signers import unlocked_signer
from .chain import ServiceChain
from .config import ServiceSettings
from .store import Store
from .vault import KeyVault, hash_token, new_token


def issue_token(store: Store, chamber_id: int, label: str) -> tuple[int, str]:
    """A new API token for ``chamber_id``: ``(token id, token)``. Only the token's hash is stored,
    so the caller shows the token once."""
    if store.chamber(chamber_id) is None:
        raise ConfigurationError(f"no chamber {chamber_id}")
    token = new_token()
    return store.add_token(chamber_id, hash_token(token), label), token


def revoke_token(store: Store, token_id: int) -> None:
    """Refuse API token ``token_id`` from now on."""
    if not store.revoke_token(token_id):
        raise ConfigurationError(f"no live token {token_id}")


def create_chamber(settings: ServiceSettings, name: str, country: str, code: str, *, dev: bool) -> dict[str, Any]:
    """A chamber with a new signing key (encrypted at rest) and a first API token (returned once).
    With ``dev`` the key is also funded and accredited by the dev node's unlocked account."""
    require_country_code(country)
    store = Store(settings.database_url)
    store.migrate()
    vault = KeyVault(settings.master_key)
    account = Account.create()
    chamber = store.create_chamber(name, country, code, lambda cid: (account.address, vault.encrypt(bytes(account.key), cid)))
    _, token = issue_token(store, chamber.id, "created with the chamber")
    result: dict[str, Any] = {
        "chamber": chamber.id,
        "name": name,
        "address": account.address,
        "token": token,
        "accredited": False,
    }
    if dev:
        registry = ServiceChain(settings).registry()
        require_dev_chain(registry.w3, "--dev funds and accredits with the node's unlocked account: local dev chains only")
        authority = unlocked_signer(registry.w3)
        fund(registry.w3, authority.address, account.address, DEV_FUNDING_WEI)
        registry.accredit_issuer(authority, account.address, name=name, country=country, accreditation_code=code)
        result["accredited"] = True
    store.close()
    return result
