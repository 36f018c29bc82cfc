"""`ecoo demo` (what `make run` starts) and the chamber commands, through real processes and HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ecoo.anvil import free_port
from ecoo.examples import example_certificate

pytestmark = pytest.mark.anvil  # starts its own node or build: left out of `make test-fast`


def _http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_demo_serves_issues_anchors_and_survives_a_restart(tmp_path: Path) -> None:
    env = {**os.environ, "ECOO_DATA_DIR": str(tmp_path / "data"), "ECOO_DEPLOYMENTS_DIR": str(tmp_path / "deployments")}
    env.pop("ECOO_RPC_URL", None)
    port = free_port()

    def run_demo() -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "ecoo", "demo", "--port", str(port), "--node-port", str(free_port())],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        token = ""
        for line in process.stdout:
            if "API token" in line:
                token = line.strip().split()[-1]
            if "Running on" in line or (token and time.monotonic() > deadline):
                break
        assert token.startswith("ecoo_"), "demo printed no token"
        return process, token

    process, token = run_demo()
    base = f"http://127.0.0.1:{port}"
    try:
        co = example_certificate("RCEP", issued_on=__import__("datetime").date.today())
        status, created = _http("POST", f"{base}/api/v1/certificates", co, token)
        assert status == 202, created
        deadline = time.monotonic() + 60
        while _http("GET", f"{base}/api/v1/certificates/{created['id']}", token=token)[1]["status"] != "ISSUED":
            assert time.monotonic() < deadline, "the worker did not anchor within 60 s"
            time.sleep(0.3)
        document = _http("GET", f"{base}/api/v1/certificates/{created['id']}/document", token=token)[1]
        assert _http("POST", f"{base}/api/v1/verify", document)[1]["verdict"] == "VALID"
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()  # type: ignore[union-attr]

    process, new_token = run_demo()  # restart: same chain, same database, a new token for this run
    try:
        assert new_token != token
        status, reports = _http("GET", f"{base}/api/v1/lookup?leaf={created['leaf']}")
        assert status == 200 and reports["reports"][0]["verdict"] == "VALID"
        assert _http("POST", f"{base}/api/v1/certificates", co, new_token)[0] == 409  # never twice
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()  # type: ignore[union-attr]


def test_chamber_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anvil_node: Any, capsys: Any) -> None:
    """`ecoo chamber create --dev`, `token`, `revoke-token` and `rotate-key --dev` on a fresh registry."""
    from ecoo.cli import main

    for key, value in {
        "ECOO_RPC_URL": anvil_node.url,
        "ECOO_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
        "ECOO_DATA_DIR": str(tmp_path / "data"),
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("DATABASE_URL", "ECOO_MASTER_KEY", "ECOO_MASTER_KEY_FILE", "ECOO_REGISTRY", "ECOO_DEPLOYER_KEY"):
        monkeypatch.delenv(key, raising=False)

    def run(*args: str) -> tuple[int, Any]:
        code = main([*args, "--json"])
        out = capsys.readouterr().out.strip().splitlines()
        return code, json.loads(out[-1]) if out else None

    assert run("deploy", "--new", "--unlocked")[0] == 0
    code, created = run("chamber", "create", "--name", "Hamburg", "--country", "DE", "--code", "IHK-HH", "--dev")
    assert code == 0 and created["accredited"] and created["token"].startswith("ecoo_")
    assert run("issuer", created["address"])[1]["issuer"]["status"] == "ACCREDITED"
    # --dev created the master key file; the other commands are told where it is.
    monkeypatch.setenv("ECOO_MASTER_KEY_FILE", str(tmp_path / "data" / "master.key"))

    code, token = run("chamber", "token", str(created["chamber"]), "--label", "second")
    assert code == 0 and token["token"] != created["token"]
    assert run("chamber", "revoke-token", str(token["tokenId"])) == (0, {"tokenId": token["tokenId"], "revoked": True})
    code, refused = run("chamber", "revoke-token", str(token["tokenId"]))
    assert code == 1 and refused["error"] == "ConfigurationError"
    assert run("chamber", "token", "999")[1]["message"] == "no chamber 999"

    code, rotated = run("chamber", "rotate-key", str(created["chamber"]), "--dev")
    assert code == 0 and rotated["address"] != created["address"]
    assert run("issuer", created["address"])[1]["issuer"]["successor"] == rotated["address"]
