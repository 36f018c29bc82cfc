"""The certificate commands end to end through the real console entry point, and bad input of
every kind: one-line errors, non-zero exits, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from web3 import Web3

from ecoo.anvil import ManagedAnvil
from tests.support.samples import sample

PASSWORD = "correct horse battery staple"


def ecoo(*args: str, env: dict[str, str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ecoo", *args], capture_output=True, text=True, env=env, cwd=cwd, input=stdin, timeout=120
    )


@pytest.fixture
def setup(tmp_path: Path, anvil_node: ManagedAnvil) -> tuple[dict[str, str], Path]:
    env = {
        **os.environ,
        "ECOO_RPC_URL": anvil_node.url,
        "ECOO_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
        "ECOO_DATA_DIR": str(tmp_path / "data"),
        "ECOO_KEYSTORE_PASSWORD": PASSWORD,
    }
    for key in ("ECOO_ISSUER_KEY", "ECOO_AUTHORITY_KEY", "ECOO_DEPLOYER_KEY", "ECOO_REGISTRY"):
        env.pop(key, None)
    assert ecoo("deploy", "--new", "--unlocked", env=env, cwd=tmp_path).returncode == 0
    return env, tmp_path


def funded_chamber(anvil_node: ManagedAnvil, env: dict[str, str], cwd: Path) -> dict[str, str]:
    """A fresh chamber key, funded and accredited as the RCEP sample's issuer; returns env with its key."""
    from eth_account import Account

    w3 = Web3(Web3.HTTPProvider(anvil_node.url))
    chamber = Account.create()
    tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": chamber.address, "value": 10**18})
    w3.eth.wait_for_transaction_receipt(tx)
    accredit = ("accredit", chamber.address, "--name", "C", "--country", "VN", "--code", "VCCI-HCM-07", "--unlocked")
    assert ecoo(*accredit, env=env, cwd=cwd).returncode == 0
    return {**env, "ECOO_ISSUER_KEY": chamber.key.hex()}


def test_walkthrough_issue_verify_tamper_revoke(setup: tuple[dict[str, str], Path]) -> None:
    env, cwd = setup
    keygen = ecoo("keygen", "--out", "chamber.json", "--json", env=env, cwd=cwd)
    assert keygen.returncode == 0, keygen.stderr
    address = json.loads(keygen.stdout)["address"]
    assert PASSWORD not in keygen.stdout and "privateKey" not in keygen.stdout
    assert ecoo("fund", address, env=env, cwd=cwd).returncode == 0
    accredit = ecoo(
        "accredit", address, "--name", "VCCI HCM", "--country", "VN", "--code", "VCCI-HCM-07", "--unlocked", env=env, cwd=cwd
    )
    assert accredit.returncode == 0, accredit.stderr

    (cwd / "co.json").write_text(json.dumps(sample(number="VN-CLI-1")))
    issued = ecoo("issue", "co.json", "--keystore", "chamber.json", "--out", "issued", "--json", env=env, cwd=cwd)
    assert issued.returncode == 0, issued.stderr
    out = json.loads(issued.stdout)
    assert out["count"] == 1 and out["issuer"] == address
    path = out["files"][0]

    verified = ecoo("verify", path, "--json", env=env, cwd=cwd)
    report = json.loads(verified.stdout)
    assert verified.returncode == 0 and report["verdict"] == "VALID"
    assert [c["name"] for c in report["checks"]] == [
        "format",
        "integrity",
        "signature",
        "registry",
        "anchored",
        "issuer",
        "status",
        "validity",
    ]
    assert ecoo("verify", path, env=env, cwd=cwd).stdout.startswith("VALID")

    tampered = json.loads(Path(cwd / path).read_text())
    tampered["certificate"]["items"][0]["originCountry"] = "CN"
    (cwd / "tampered.json").write_text(json.dumps(tampered))
    result = ecoo("verify", "tampered.json", "--json", env=env, cwd=cwd)
    assert result.returncode == 1
    assert (json.loads(result.stdout)["verdict"], json.loads(result.stdout)["failedCheck"]) == ("INVALID", "integrity")

    redacted = ecoo(
        "redact", path, "--hide", "consignee", "--hide", "fob-values", "--out", "for-forwarder.json", env=env, cwd=cwd
    )
    assert redacted.returncode == 0, redacted.stderr
    result = json.loads(ecoo("verify", "for-forwarder.json", "--json", env=env, cwd=cwd).stdout)
    assert result["verdict"] == "VALID" and "/consignee" in result["withheld"]

    revoked = ecoo("revoke", path, "--reason", "fraud", "--keystore", "chamber.json", env=env, cwd=cwd)
    assert revoked.returncode == 0, revoked.stderr
    result = ecoo("verify", path, "--json", env=env, cwd=cwd)
    assert result.returncode == 1 and json.loads(result.stdout)["verdict"] == "REVOKED"


def test_status_and_amendment_commands(setup: tuple[dict[str, str], Path], anvil_node: ManagedAnvil) -> None:
    env, cwd = setup
    env = funded_chamber(anvil_node, env, cwd)
    lines = "\n".join(json.dumps(sample(number=f"L-{i}")) for i in range(3))
    (cwd / "batch.jsonl").write_text(lines + "\n")
    out = json.loads(ecoo("issue", "batch.jsonl", "--json", env=env, cwd=cwd).stdout)
    assert out["count"] == 3
    first, second, third = out["files"]

    def verdict(path: str) -> str:
        return str(json.loads(ecoo("verify", path, "--json", env=env, cwd=cwd).stdout)["verdict"])

    assert ecoo("suspend", first, env=env, cwd=cwd).returncode == 0
    assert verdict(first) == "SUSPENDED"
    assert ecoo("lift", first, env=env, cwd=cwd).returncode == 0
    assert verdict(first) == "VALID"

    amended = json.loads(Path(cwd / second).read_text())["certificate"]
    amended["certificateNumber"] = "L-1-AMENDED"
    (cwd / "amended.json").write_text(json.dumps(amended))
    result = ecoo("supersede", second, "amended.json", "--reason", "quantity corrected", "--json", env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert verdict(second) == "SUPERSEDED" and verdict(json.loads(result.stdout)["file"]) == "VALID"

    result = ecoo("copy", third, "--json", env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert verdict(third) == "SUPERSEDED" and verdict(json.loads(result.stdout)["file"]) == "VALID"


@pytest.mark.slow
def test_offline_commands(tmp_path: Path) -> None:
    env = {**os.environ}
    schema = ecoo("schema", env=env, cwd=tmp_path)
    assert schema.returncode == 0 and json.loads(schema.stdout)["$schema"].startswith("https://json-schema.org/")
    for scheme in ("RCEP", "ATIGA", "NON_PREFERENTIAL"):
        example = ecoo("example", "--scheme", scheme, env=env, cwd=tmp_path)
        assert example.returncode == 0
        (tmp_path / f"{scheme}.json").write_text(example.stdout)
        assert ecoo("validate", f"{scheme}.json", env=env, cwd=tmp_path).returncode == 0
    broken = json.loads((tmp_path / "RCEP.json").read_text())
    broken["items"][0]["hsCode"] = "12"
    broken["importCountry"] = "XX"
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    result = ecoo("validate", "broken.json", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 1
    paths = {i["path"] for i in json.loads(result.stdout)["certificates"][0]["issues"]}
    assert {"/items/0/hsCode", "/importCountry"} <= paths


BAD_INPUTS = {
    "malformed.json": b'{"certificateNumber": ',
    "wrong-types.json": b'{"ecoo": 5, "certificate": [], "proof": "x"}',
    "not-a-certificate.json": b'{"hello": "world"}',
    "a-list.json": b"[1, 2, 3]",
    "duplicate-keys.json": b'{"a": 1, "a": 2}',
    "nan.json": b'{"a": NaN}',
    "binary.json": bytes(range(256)),
    "fake.pdf": b"%PDF-1.7\n...",
    "empty.json": b"",
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
@pytest.mark.parametrize("command", ["verify", "validate", "redact", "issue"])
def test_bad_input_gets_one_line_and_nonzero_exit(
    name: str, command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ecoo.cli import main

    (tmp_path / name).write_bytes(BAD_INPUTS[name])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ECOO_DATA_DIR", str(tmp_path))
    args = {
        "verify": ["verify", name, "--rpc-url", "http://127.0.0.1:9"],
        "validate": ["validate", name],
        "redact": ["redact", name, "--hide", "consignee"],
        "issue": ["issue", name, "--rpc-url", "http://127.0.0.1:9"],
    }[command]
    assert main(args) != 0  # in-process: an uncaught exception would fail the test here
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) <= 1, err


@pytest.mark.slow
def test_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.write(b'{"x": "')
        handle.seek(50 * 1024 * 1024)
        handle.write(b'"}')
    for args in (
        ["verify", "huge.json"],
        ["validate", "huge.json"],
        ["issue", "huge.json"],
        ["redact", "huge.json", "--hide", "consignee"],
    ):
        result = ecoo(*args, "--json", env={**os.environ, "ECOO_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
        assert result.returncode == 1 and "MB limit" in result.stderr and "Traceback" not in result.stderr
        assert json.loads(result.stdout)["error"] == "InputError"


def test_verify_with_no_node_says_unavailable(setup: tuple[dict[str, str], Path], anvil_node: ManagedAnvil) -> None:
    env, cwd = setup
    env = funded_chamber(anvil_node, env, cwd)
    (cwd / "co.json").write_text(json.dumps(sample(number="DOWN-1")))
    path = json.loads(ecoo("issue", "co.json", "--json", env=env, cwd=cwd).stdout)["files"][0]
    registry = json.loads(Path(cwd / path).read_text())["proof"]["registry"]

    result = ecoo("verify", path, "--json", "--rpc-url", "http://127.0.0.1:9", "--registry", registry, env=env, cwd=cwd)
    report = json.loads(result.stdout)
    assert result.returncode == 3 and report["verdict"] == "UNAVAILABLE"
    assert [c["status"] for c in report["checks"][:3]] == ["PASSED"] * 3
    assert "REVOKED" not in result.stdout and "INVALID" not in result.stdout
    # Tampered stays tampered without a chain.
    tampered = json.loads(Path(cwd / path).read_text())
    tampered["certificate"]["consignee"]["name"] = "X"
    (cwd / "t.json").write_text(json.dumps(tampered))
    result = ecoo("verify", "t.json", "--json", "--rpc-url", "http://127.0.0.1:9", "--registry", registry, env=env, cwd=cwd)
    assert result.returncode == 1 and json.loads(result.stdout)["failedCheck"] == "integrity"


WEB_STACK = ("flask", "sqlalchemy", "ecoo.service")


@pytest.mark.parametrize("args", [["validate", "co.json"], ["--help"]], ids=["validate", "help"])
def test_offline_commands_and_help_do_not_load_the_web_stack(args: list[str], tmp_path: Path) -> None:
    """The service commands are loaded lazily: a fresh interpreter running `ecoo validate` or
    `ecoo --help` imports neither Flask nor SQLAlchemy nor the service package."""
    (tmp_path / "co.json").write_text(json.dumps(sample(number="LAZY-1")))
    program = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from ecoo.cli import cli\n"
        f"result = CliRunner().invoke(cli, {args!r})\n"
        "print(json.dumps({'exit': result.exit_code, 'output': result.output,\n"
        f"                  'loaded': [m for m in {WEB_STACK!r} if m in sys.modules]}}))\n"
    )
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout)
    assert outcome["exit"] == 0, outcome["output"]
    assert outcome["loaded"] == []
    if args == ["--help"]:  # the lazy commands are listed all the same
        assert all(f"\n  {name} " in outcome["output"] for name in ("chamber", "demo", "serve", "validate", "verify"))


def test_lazy_service_commands_load_when_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    from ecoo.cli import main

    assert main(["chamber", "--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("create", "token", "revoke-token", "rotate-key"))
