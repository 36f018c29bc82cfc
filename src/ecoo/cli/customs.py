"""``ecoo customs ...``: the accounts and API tokens of a customs service, on the database its
``ecoo serve --customs`` uses (``DATABASE_URL``, else ``customs.db`` in ``ECOO_DATA_DIR``).

Passwords come from a hidden prompt (asked twice) or, for scripts, one line on stdin
(``--password-stdin``); they are never echoed or logged. ``ecoo customs token`` prints the new token
once: only its SHA-256 is stored. Each command is audited (actor ``cli``). Loaded only when one of
these commands runs (see ``ecoo.cli``); the web stack is never loaded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from ..errors import ConfigurationError
from .output import Output, handle_errors, json_option

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

#: The audit trail's name for whoever runs these commands on the service's machine.
CLI_ACTOR = "cli"


@contextmanager
def _transaction() -> Iterator[Connection]:
    """One transaction on the customs database (migrated first), closed afterwards."""
    from ..customs.config import customs_database_url
    from ..customs.wiring import open_database

    db = open_database(customs_database_url(os.environ))
    try:
        with db.transaction() as conn:
            yield conn
    finally:
        db.close()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            raise ConfigurationError("--password-stdin: no password on stdin (one line)")
        return password
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


@click.group("customs")
def customs_group() -> None:
    """Accounts and API tokens of the customs service (ecoo serve --customs)."""


def _add_account(username: str, role: str, password_stdin: bool, as_json: bool) -> None:
    from ..customs.accounts import create_account
    from ..customs.audit import record

    password = _password(password_stdin)
    with _transaction() as conn:
        account = create_account(conn, username, password, role)
        record(conn, CLI_ACTOR, "account_created", f"account:{account.username}", {"role": role})
    Output(as_json).result(
        {"id": account.id, "username": account.username, "role": account.role},
        [f"{role} account {account.id} ({account.username}) created; sign in at /login"],
    )


password_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin (else a hidden prompt)."
)


@customs_group.command("create-admin")
@click.argument("username")
@password_option
@json_option
@handle_errors
def create_admin(username: str, password_stdin: bool, as_json: bool) -> None:
    """Create an administrator account USERNAME (manages API tokens; can do what officers do)."""
    from ..customs.accounts import ADMIN

    _add_account(username, ADMIN, password_stdin, as_json)


@customs_group.command("add-officer")
@click.argument("username")
@password_option
@json_option
@handle_errors
def add_officer(username: str, password_stdin: bool, as_json: bool) -> None:
    """Create an officer account USERNAME (verifies, checks declarations, sees alerts and statistics)."""
    from ..customs.accounts import OFFICER

    _add_account(username, OFFICER, password_stdin, as_json)


@customs_group.command("disable")
@click.argument("username")
@json_option
@handle_errors
def disable(username: str, as_json: bool) -> None:
    """Disable account USERNAME: it cannot sign in, and its sessions end now."""
    from ..customs.accounts import disable_account, find_username
    from ..customs.audit import record

    with _transaction() as conn:
        account = find_username(conn, username)
        if account is None:
            raise ConfigurationError(f"no account named {username!r}")
        disable_account(conn, account.id)
        record(conn, CLI_ACTOR, "account_disabled", f"account:{username}")
    Output(as_json).result({"id": account.id, "username": username, "disabled": True}, [f"account {username} disabled"])


@customs_group.command("token")
@click.argument("name")
@click.option("--role", type=click.Choice(["officer", "admin"]), required=True, help="What the token may do.")
@json_option
@handle_errors
def token(name: str, role: str, as_json: bool) -> None:
    """Create an API token NAME for a system; prints the token once (only its hash is stored)."""
    from ..customs.accounts import create_token
    from ..customs.audit import record

    with _transaction() as conn:
        created, secret = create_token(conn, name, role)
        record(conn, CLI_ACTOR, "token_created", f"token:{created.id}", {"name": name, "role": role})
    Output(as_json).result(
        {"id": created.id, "name": created.name, "role": created.role, "token": secret},
        [
            f"{role} token {created.id} ({name}); send it as 'Authorization: Bearer <token>'",
            f"token (shown once, store it now): {secret}",
        ],
    )


@customs_group.command("revoke-token")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
@json_option
@handle_errors
def revoke_token_command(token_id: int, as_json: bool) -> None:
    """Revoke API token TOKEN_ID: requests with it are refused from now on."""
    from ..customs.accounts import find_token, revoke_token
    from ..customs.audit import record

    with _transaction() as conn:
        if find_token(conn, token_id) is None:
            raise ConfigurationError(f"no API token {token_id}")
        revoke_token(conn, token_id)
        record(conn, CLI_ACTOR, "token_revoked", f"token:{token_id}")
    Output(as_json).result({"id": token_id, "revoked": True}, [f"token {token_id} revoked"])
