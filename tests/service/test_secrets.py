"""Secrets and sessions at the service's edge (issue 9, finding 5): the node URL's credentials,
path and key never reach a client or a log line; signing out or revoking a token ends every
dashboard session opened with it; the data directory, the database and key files are private to
their owner; every response carries the security headers."""

from __future__ import annotations

import base64
import gc
import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ecoo.anvil import ManagedAnvil
from ecoo.errors import ChainUnavailableError
from ecoo.service.app import create_app
from ecoo.service.chain import ServiceChain
from tests.support.service import ServiceHarness, make_service

# A node URL with every kind of secret a hosted node's URL carries; nothing listens on port 9.
SECRET_URL = "http://user:secret@127.0.0.1:9/path/KEY123?apikey=KEY456"
SECRETS = ("user", "secret", "KEY123", "KEY456")


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@pytest.fixture
def sqlite_service(tmp_path: Path, anvil_node: ManagedAnvil) -> Iterator[ServiceHarness]:
    """The service on SQLite only, for what the database engine does not change."""
    harness = make_service(tmp_path, anvil_node)
    yield harness
    harness.app.extensions["ecoo"].store.close()


@pytest.fixture
def offline(sqlite_service: ServiceHarness) -> Iterator[Flask]:
    """The same service and database, configured with ``SECRET_URL`` (a node that does not answer)."""
    app = create_app(replace(sqlite_service.settings, rpc_url=SECRET_URL, rpc_timeout=2.0))
    app.config["TESTING"] = True
    yield app
    app.extensions["ecoo"].store.close()


# -- the node URL --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (SECRET_URL, "http://127.0.0.1:9"),
        ("https://mainnet.example.org/v3/0123456789abcdef", "https://mainnet.example.org"),
        ("http://[::1]:8545/rpc?key=x", "http://[::1]:8545"),
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("embedded", "embedded"),
        ("user:secret@host/KEY123", "<the configured node URL>"),  # no scheme: hidden whole
        ("http://[broken/KEY123", "<the configured node URL>"),
    ],
)
def test_redact_url_keeps_scheme_and_host_only(url: str, shown: str) -> None:
    from ecoo.errors import redact_url

    assert redact_url(url) == shown
    assert not _leaks(str(ChainUnavailableError(url, "ConnectionError")))


def test_public_text_hides_every_part_of_the_node_url(sqlite_service: ServiceHarness) -> None:
    chain = ServiceChain(replace(sqlite_service.settings, rpc_url=SECRET_URL))
    # What requests says when the node is down: the path and query, without the host.
    said = (
        f"HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /path/KEY123?apikey=KEY456; "
        f"at {SECRET_URL}; auth user:secret; /path/KEY%31%323"
    )
    public = chain.public_text(said) or ""
    assert not _leaks(public) and "http://127.0.0.1:9" in public and "port=9" in public
    assert chain.public_text(None) is None


def test_health_and_errors_never_show_the_node_urls_secrets(
    sqlite_service: ServiceHarness, offline: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    document = sqlite_service.issue("TH-SECRET-1")
    sqlite_service.create(sqlite_service.certificate("TH-SECRET-2"))  # pending: the worker will try the node
    client = offline.test_client()
    auth = sqlite_service.auth

    with caplog.at_level(logging.DEBUG):
        assert offline.extensions["ecoo"].worker.run_once(force=True) == 0
        health = client.get("/api/v1/health")
        responses = {
            "health": health,
            "verify": client.post("/api/v1/verify", json=document),
            "verify batch": client.post("/api/v1/verify/batch", json={"documents": [document]}),
            "lookup": client.get(f"/api/v1/lookup?issuer={sqlite_service.address}&number=TH-SECRET-1"),
            "issue": client.post("/api/v1/certificates", json=sqlite_service.certificate("TH-SECRET-3"), headers=auth),
            "revoke": client.post("/api/v1/certificates/1/revoke", json={"reason": "error"}, headers=auth),
            "suspend": client.post("/api/v1/certificates/1/suspend", json={"reason": "enquiry"}, headers=auth),
            "verify page": client.post("/verify", data={"json": json.dumps(document)}),
            "QR page": client.get(f"/v/{document['proof']['leaf']}"),
        }

    body = health.json or {}
    assert body["status"] == "degraded" and body["chain"] == {
        "reachable": False,
        "error": "no Ethereum node answers at http://127.0.0.1:9",
    }
    assert body["worker"]["failures"] >= 1 and "http://127.0.0.1:9" in body["worker"]["lastError"]
    assert responses["issue"].status_code == 503 and responses["verify"].json["verdict"] == "UNAVAILABLE"
    for name, response in responses.items():
        assert not _leaks(response.get_data(as_text=True)), f"{name} ({response.status_code}) shows a secret"
    logged = "\n".join(f"{record.getMessage()}\n{record.exc_text or ''}" for record in caplog.records)
    assert "worker pass" in logged and "Making request HTTP" in logged
    # (Tracebacks name source files, whose path may hold any word: look for the URL's own pieces.)
    assert not [secret for secret in ("user:secret", "KEY123", "KEY456") if secret in logged]


# -- dashboard sessions ------------------------------------------------------------------------------


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries no CSRF token"
    return match[1]


def _login(service: ServiceHarness, token: str | None = None) -> FlaskClient:
    client = service.app.test_client()
    page = client.get("/dashboard").get_data(as_text=True)
    response = client.post("/dashboard/login", data={"token": token or service.token, "csrf_token": _csrf(page)})
    assert response.status_code == 302
    return client


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(service: ServiceHarness, cookie: str) -> FlaskClient:
    """A new browser that presents a saved session cookie."""
    client = service.app.test_client()
    client.set_cookie("session", cookie)
    return client


def _signed_in(client: FlaskClient) -> bool:
    page = client.get("/dashboard").get_data(as_text=True)
    return 'action="/dashboard/logout"' in page and 'name="token"' not in page


def _token_id(client: FlaskClient) -> int:
    with client.session_transaction() as session:
        return int(session["token_id"])


def test_a_cookie_saved_before_logout_is_signed_out_after_it(service: ServiceHarness) -> None:
    client = _login(service)
    saved = _cookie(client)
    other_browser = _login(service)  # the same token, signed in elsewhere
    assert _signed_in(_replay(service, saved))

    page = client.get("/dashboard").get_data(as_text=True)
    assert client.post("/dashboard/logout", data={"csrf_token": _csrf(page)}).status_code == 302

    assert not _signed_in(_replay(service, saved))
    assert not _signed_in(other_browser)  # logout ends every session of the token
    assert _signed_in(_login(service))  # and signing in again works


@pytest.mark.parametrize("how", ["store", "command"])
def test_revoking_the_token_signs_out_its_sessions_only(
    service: ServiceHarness, how: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ecoo.cli import main
    from ecoo.service.chambers import issue_token

    store = service.app.extensions["ecoo"].store
    _, second_token = issue_token(store, service.chamber_id, "second")
    first, second = _login(service), _login(service, second_token)
    saved = _cookie(first)

    if how == "store":
        assert store.revoke_token(_token_id(first))
    else:  # `ecoo chamber revoke-token`, on the service's database
        monkeypatch.setenv("DATABASE_URL", service.settings.database_url)
        monkeypatch.setenv("ECOO_MASTER_KEY", base64.b64encode(service.settings.master_key).decode())
        monkeypatch.setenv("ECOO_DATA_DIR", str(service.settings.data_dir))
        assert main(["chamber", "revoke-token", str(_token_id(first)), "--json"]) == 0
        gc.collect()  # an unclosed connection of the command would warn here (warnings are errors)
        assert json.loads(capsys.readouterr().out)["revoked"] is True

    assert not _signed_in(_replay(service, saved))
    assert not _signed_in(first)
    assert _signed_in(second)  # another token's session is unaffected


def test_another_tokens_logout_leaves_this_session_alone(service: ServiceHarness) -> None:
    from ecoo.service.chambers import issue_token

    _, second_token = issue_token(service.app.extensions["ecoo"].store, service.chamber_id, "second")
    first, second = _login(service), _login(service, second_token)
    page = second.get("/dashboard").get_data(as_text=True)
    assert second.post("/dashboard/logout", data={"csrf_token": _csrf(page)}).status_code == 302
    assert _signed_in(first) and not _signed_in(second)


def test_a_stale_cookie_cannot_sign_out_the_current_session(service: ServiceHarness) -> None:
    old = _login(service)
    stale_cookie, stale_page = _cookie(old), old.get("/dashboard").get_data(as_text=True)
    old.post("/dashboard/logout", data={"csrf_token": _csrf(stale_page)})
    current = _login(service)
    stale = _replay(service, stale_cookie)
    stale.post("/dashboard/logout", data={"csrf_token": _csrf(stale_page)})
    assert _signed_in(current)


# -- file modes ----------------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Modes must not depend on the umask: create everything under the most permissive one."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def _settings(tmp_path: Path, **env: str) -> Any:
    from ecoo.service.config import ServiceSettings

    base = {
        "ECOO_DATA_DIR": str(tmp_path / "data"),
        "ECOO_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
        "ECOO_RPC_URL": "http://127.0.0.1:9",
        "ECOO_WORKER": "0",
    }
    return ServiceSettings.from_env(base | env)


def test_data_directory_database_and_key_files_are_private(tmp_path: Path, open_umask: None) -> None:
    from ecoo.service.config import create_master_key_file
    from ecoo.service.wiring import build_services

    key_file = create_master_key_file(tmp_path / "data" / "master.key")
    settings = _settings(tmp_path, ECOO_MASTER_KEY_FILE=str(key_file))
    services = build_services(settings)
    services.store.add_token(services.store.create_chamber("C", "TH", "X", lambda _: ("0x" + "11" * 20, b"k")).id, "h" * 64)
    data = tmp_path / "data"
    assert _mode(data) == 0o700
    files = {path.name: _mode(path) for path in data.iterdir()}
    assert {"ecoo.db", "ecoo.db-wal", "ecoo.db-shm", "master.key"} <= set(files)
    assert files == dict.fromkeys(files, 0o600)
    services.store.close()


def test_existing_loose_modes_are_tightened_on_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from ecoo.service.config import create_master_key_file
    from ecoo.service.wiring import build_services

    data = tmp_path / "data"
    key_file = create_master_key_file(data / "master.key")
    build_services(_settings(tmp_path, ECOO_MASTER_KEY_FILE=str(key_file))).store.close()
    loose = [data / name for name in ("ecoo.db", "ecoo.db-wal", "ecoo.db-shm", "master.key")]
    for path in loose:
        path.touch()  # closing the store removed the -wal and -shm files: make loose ones
        path.chmod(0o644)
    data.chmod(0o755)

    with caplog.at_level(logging.WARNING):
        services = build_services(_settings(tmp_path, ECOO_MASTER_KEY_FILE=str(key_file)))
    assert _mode(data) == 0o700 and all(_mode(path) == 0o600 for path in loose)
    services.store.close()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert all(str(path) in logged for path in [data, *loose]), logged


@pytest.mark.slow  # a subprocess that loads web3
def test_keystores_are_written_owner_only(tmp_path: Path, open_umask: None) -> None:
    from eth_account import Account

    from ecoo.signers import signer_from_keystore, write_keystore

    fresh = write_keystore(Account.create(), tmp_path / "keys" / "new.json", "pw")
    assert _mode(fresh) == 0o600 and _mode(fresh.parent) == 0o700
    existing = tmp_path / "keys" / "old.json"
    existing.write_text("{}")
    existing.chmod(0o644)
    account = Account.create()
    write_keystore(account, existing, "pw")
    assert _mode(existing) == 0o600 and signer_from_keystore(existing, "pw").address == account.address


def test_the_dev_node_creates_the_data_directory_private(tmp_path: Path, open_umask: None) -> None:
    node = ManagedAnvil(tmp_path / "data" / "anvil-state.json", port=8545, binary="anvil")
    node.command()  # creates the state file's directory
    assert _mode(tmp_path / "data") == 0o700


# -- security headers ----------------------------------------------------------------------------------

PAGE_CSP = re.compile(r"default-src 'self'; script-src 'nonce-[\w-]+'; .*frame-ancestors 'none'")
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"


def _assert_headers(response: TestResponse, *, page: bool) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert PAGE_CSP.fullmatch(csp) if page else csp == STRICT_CSP, (response.status, csp)
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "no-referrer"
    assert headers.get("X-Frame-Options") == "DENY"


def test_every_response_carries_the_security_headers(sqlite_service: ServiceHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    client, auth = sqlite_service.client, sqlite_service.auth
    pages = {
        "landing": client.get("/"),
        "verify page": client.get("/verify"),
        "dashboard": client.get("/dashboard"),
        "page 404": client.get("/no/such/page", headers={"Accept": "text/html"}),
        "page 405": client.delete("/verify", headers={"Accept": "text/html"}),
    }
    others = {
        "public API": client.get("/api/v1/health"),
        "issuer API": client.get("/api/v1/certificates", headers=auth),
        "issuer API 401": client.get("/api/v1/certificates"),
        "API docs": client.get("/api/v1/openapi.json"),
        "static": client.get("/static/ecoo.css"),
        "API 404": client.get("/api/v1/nope"),
        "API 405": client.delete("/api/v1/health"),
    }
    store = sqlite_service.app.extensions["ecoo"].store
    monkeypatch.setattr(store, "version", lambda: 1 / 0)  # the health handler fails unexpectedly
    others["API 500"] = client.get("/api/v1/health")

    for name, response in pages.items():
        assert response.mimetype == "text/html", name
        _assert_headers(response, page=True)
    for name, response in others.items():
        assert response.mimetype != "text/html", name
        _assert_headers(response, page=False)
    assert [pages["page 404"].status_code, pages["page 405"].status_code] == [404, 405]
    assert [others["API 404"].status_code, others["API 405"].status_code, others["API 500"].status_code] == [404, 405, 500]
    static = others["static"]
    static.close()


# -- the migration -------------------------------------------------------------------------------------


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_tokens_from_before_the_migration_get_a_session_generation(
    tmp_path: Path, request: pytest.FixtureRequest, database: str
) -> None:
    import time

    from ecoo.service.store import MIGRATIONS, Store, api_tokens, chambers, schema_version

    url = request.getfixturevalue("postgres_url") if database == "postgres" else f"sqlite:///{tmp_path / 'old.db'}"
    store = Store(url)
    with store.transaction() as conn:  # a database at schema 2, with a token
        schema_version.create(conn)
        for number, migration in enumerate(MIGRATIONS[:2], 1):
            migration(conn)
            conn.execute(schema_version.insert().values(version=number, applied_at=time.time()))
        conn.execute(chambers.insert().values(id=1, name="C", country="TH", accreditation_code="X", created_at=0.0))
        conn.execute(api_tokens.insert().values(id=7, chamber_id=1, token_hash="h" * 64, label="", created_at=0.0))
    assert store.migrate() == len(MIGRATIONS) >= 3
    assert store.session_generation(7) == 0 and store.session_live(7, 1, 0)
    store.end_sessions(7)
    assert store.session_generation(7) == 1 and not store.session_live(7, 1, 0) and store.session_live(7, 1, 1)
    assert not store.session_live(7, 2, 1)  # another chamber's id
    assert store.revoke_token(7) and not store.session_live(7, 1, 1) and not store.session_live(7, 1, 2)
    store.close()
