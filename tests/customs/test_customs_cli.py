"""``ecoo customs ...`` and ``ecoo serve --customs`` on SQLite (``ECOO_DATA_DIR``) and PostgreSQL
(``DATABASE_URL``): accounts and tokens made on the command line work in the service (the same
database), passwords and tokens are never stored in clear, and the service refuses to start, in
one line, without a usable trust list or country. No chain is needed: nothing here verifies."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account
from sqlalchemy import select

from ecoo.anvil import free_port
from ecoo.cli import main
from ecoo.customs.app import create_customs_app
from ecoo.customs.audit import audit_rows
from ecoo.customs.config import CustomsSettings
from ecoo.customs.store.schema import accounts, tokens
from ecoo.signers import LocalSigner
from ecoo.trustlist import TrustEntry
from tests.support.customs import COUNTRY, csrf_of, customs_env, write_trust_list

ENTRY = TrustEntry(
    chain_id=7001,
    registry=Account.create().address,
    rpc_urls=("http://127.0.0.1:9",),
    authority_name="Authority",
    authority_country="TH",
    valid_from="2026-01-01",
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str | None) -> dict[str, str]:
    """The environment of `ecoo serve --customs` and `ecoo customs`, set for this process."""
    values = customs_env(tmp_path, write_trust_list(tmp_path / "list.json", [ENTRY]), database_url)
    for name in ("DATABASE_URL", "ECOO_MODE", "ECOO_TRUST_LIST_PUBLISHER", "ECOO_CUSTOMS_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> tuple[int, Any, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip().startswith("{") else out, err


def test_accounts_and_tokens_made_on_the_command_line_work_in_the_service(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, admin, _ = run(
        capsys, monkeypatch, "customs", "create-admin", "alice", "--password-stdin", "--json", stdin="alice's password\n"
    )
    assert code == 0 and admin == {"id": 1, "role": "admin", "username": "alice"}
    code, officer, _ = run(
        capsys, monkeypatch, "customs", "add-officer", "bob", "--password-stdin", "--json", stdin="bob's password!"
    )
    assert code == 0 and officer["role"] == "officer"
    code, _, err = run(capsys, monkeypatch, "customs", "add-officer", "bob", "--password-stdin", stdin="another password")
    assert code == 1 and err == "ecoo: error: an account named 'bob' exists already\n"
    code, _, err = run(capsys, monkeypatch, "customs", "add-officer", "carol", "--password-stdin", stdin="short\n")
    assert code == 1 and "12 to 1024 characters" in err and "short" not in err

    code, made, _ = run(capsys, monkeypatch, "customs", "token", "gateway", "--role", "officer", "--json")
    assert code == 0 and made["role"] == "officer" and made["token"].startswith("ecoo_")
    code, text, _ = run(capsys, monkeypatch, "customs", "token", "ops", "--role", "admin")
    assert code == 0 and "token (shown once, store it now): ecoo_" in text
    code, _, err = run(capsys, monkeypatch, "customs", "token", "x", "--role", "root")
    assert code == 2 and "'root' is not one of 'officer', 'admin'" in err

    app = create_customs_app(CustomsSettings.from_env())
    db = app.extensions["ecoo_customs"].db
    try:
        client = app.test_client()
        bearer = {"Authorization": f"Bearer {made['token']}"}
        assert client.get("/api/v1/whoami", headers=bearer).json["actor"] == {
            "kind": "token",
            "id": made["id"],
            "name": "gateway",
            "role": "officer",
        }
        page = client.get("/login")
        signed_in = client.post(
            "/login",
            data={"username": "alice", "password": "alice's password", "csrf_token": csrf_of(page.get_data(as_text=True))},
        )
        assert signed_in.status_code == 303
        assert client.get("/api/v1/whoami").json["actor"]["role"] == "admin"

        code, disabled, _ = run(capsys, monkeypatch, "customs", "disable", "alice", "--json")
        assert code == 0 and disabled == {"id": 1, "username": "alice", "disabled": True}
        assert client.get("/api/v1/whoami").status_code == 401  # her session ended
        page = client.get("/login")
        again = client.post(
            "/login",
            data={"username": "alice", "password": "alice's password", "csrf_token": csrf_of(page.get_data(as_text=True))},
        )
        assert again.status_code == 403
        assert run(capsys, monkeypatch, "customs", "disable", "nobody")[2] == "ecoo: error: no account named 'nobody'\n"

        code, revoked, _ = run(capsys, monkeypatch, "customs", "revoke-token", str(made["id"]), "--json")
        assert code == 0 and revoked == {"id": made["id"], "revoked": True}
        assert client.get("/api/v1/whoami", headers=bearer).status_code == 401
        code, missing, err = run(capsys, monkeypatch, "customs", "revoke-token", "99", "--json")
        assert code == 1 and missing == {"error": "ConfigurationError", "message": "no API token 99"}

        with db.transaction() as conn:
            hashes = [row.password_hash for row in conn.execute(select(accounts)).all()]
            stored = [tuple(row) for row in conn.execute(select(tokens)).all()]
            audited = [(r.actor, r.action, r.subject) for r in audit_rows(conn) if r.actor == "cli"]
        assert all(h.startswith("$argon2id$") and "password" not in h for h in hashes)
        assert not any(made["token"] in str(value) for row in stored for value in row)
        assert audited == [
            ("cli", "account_created", "account:alice"),
            ("cli", "account_created", "account:bob"),
            ("cli", "token_created", f"token:{made['id']}"),
            ("cli", "token_created", f"token:{made['id'] + 1}"),
            ("cli", "account_disabled", "account:alice"),
            ("cli", "token_revoked", f"token:{made['id']}"),
        ]
    finally:
        db.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_serve_customs_refuses_to_start_in_one_line(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: str) -> str:
        code, _, err = run(capsys, monkeypatch, "serve", *args)
        assert code == 1 and err.count("\n") == 1 and err.startswith("ecoo: error: "), err
        return err

    monkeypatch.setenv("ECOO_TRUST_LIST", str(tmp_path / "missing.json"))
    assert "does not exist" in refused("--customs")
    (tmp_path / "bad.json").write_text('{"format": "ecoo-trust-list/1"}')
    monkeypatch.setenv("ECOO_TRUST_LIST", str(tmp_path / "bad.json"))
    assert "not a valid trust list" in refused("--customs")
    monkeypatch.setenv("ECOO_TRUST_LIST", env["ECOO_TRUST_LIST"])
    monkeypatch.setenv("ECOO_TRUST_LIST_PUBLISHER", LocalSigner(Account.create()).address)
    assert "it is unsigned, and publisher" in refused("--customs")
    monkeypatch.delenv("ECOO_TRUST_LIST_PUBLISHER")
    monkeypatch.delenv("ECOO_CUSTOMS_COUNTRY")
    monkeypatch.setenv("ECOO_MODE", "customs")  # the mode from the environment, without --customs
    assert "set ECOO_CUSTOMS_COUNTRY" in refused()
    monkeypatch.setenv("ECOO_CUSTOMS_COUNTRY", "Korea")
    assert "ISO 3166-1 alpha-2" in refused()
    monkeypatch.setenv("ECOO_CUSTOMS_COUNTRY", COUNTRY)
    assert "--rpc-url and --dev are the chamber service's" in refused("--dev")
    monkeypatch.delenv("ECOO_TRUST_LIST")
    assert "set ECOO_TRUST_LIST" in refused()
    monkeypatch.setenv("ECOO_MODE", "airport")
    assert "ECOO_MODE must be 'chamber' or 'customs'" in refused()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_customs_key_is_read_from_its_file_and_never_shown(env: dict[str, str], tmp_path: Path) -> None:
    key = "0x" + "5a" * 32
    key_file = tmp_path / "customs.key"
    key_file.write_text(key + "\n")
    key_file.chmod(0o644)
    settings = CustomsSettings.from_env(env | {"ECOO_CUSTOMS_KEY_FILE": str(key_file)})
    assert settings.customs_key == bytes.fromhex(key[2:]) and key[2:] not in repr(settings)
    assert key_file.stat().st_mode & 0o777 == 0o600  # tightened: it is a private key
    app = create_customs_app(settings)
    try:
        assert app.extensions["ecoo_customs"].signer.address == Account.from_key(key).address
        assert app.test_client().get("/api/v1/health").json["recordsSigned"] is True
    finally:
        app.extensions["ecoo_customs"].db.close()
    # With background work on (ECOO_WORKER unset), the factory starts it and keeps the function that stops it.
    app = create_customs_app(replace(settings, background=True))
    try:
        stop = app.extensions["ecoo_customs_stop"]
        assert callable(stop)
        stop()
    finally:
        app.extensions["ecoo_customs"].db.close()
    key_file.write_text("0x" + "zz" * 32)
    with pytest.raises(Exception, match="does not hold a private key") as refused:
        CustomsSettings.from_env(env | {"ECOO_CUSTOMS_KEY_FILE": str(key_file)})
    assert "zz" not in str(refused.value)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_serve_customs_serves_the_customs_service(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, made, _ = run(capsys, monkeypatch, "customs", "token", "gateway", "--role", "officer", "--json")
    assert code == 0
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ecoo", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "ECOO_MODE": "customs"},  # the fixture's variables, and the mode from the environment
        cwd=tmp_path,
    )
    assert process.stdout is not None
    try:
        banner = process.stdout.readline()
        assert banner.startswith(f"ecoo customs service ({COUNTRY}) on http://127.0.0.1:{port} (trust list "), banner
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = requests.get(f"{base}/api/v1/health", timeout=30)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the customs service did not answer within 30 s"
                time.sleep(0.2)
        # Its only entry's node (port 9) does not answer: degraded, and said so.
        assert health.json()["mode"] == "customs" and health.json()["status"] == "degraded"
        whoami = requests.get(f"{base}/api/v1/whoami", headers={"Authorization": f"Bearer {made['token']}"}, timeout=30)
        assert whoami.json()["actor"]["name"] == "gateway"
    finally:
        process.terminate()
        process.wait(30)
        output = process.stdout.read()
        process.stdout.close()
    assert made["token"] not in output and made["token"] not in banner  # never in the service's log
