"""The ecoo command line against a real Anvil: --json prints one object, errors are one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from ecoo.anvil import ManagedAnvil, free_port
from ecoo.cli import main

pytestmark = pytest.mark.anvil  # starts its own node or build: left out of `make test-fast`


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anvil_node: ManagedAnvil) -> dict[str, str]:
    values = {
        "ECOO_RPC_URL": anvil_node.url,
        "ECOO_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
        "ECOO_DATA_DIR": str(tmp_path / "data"),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    for key in ("ECOO_DEPLOYER_KEY", "ECOO_AUTHORITY_KEY", "ECOO_REGISTRY"):
        monkeypatch.delenv(key, raising=False)
    return values


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main([*args, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out  # exactly one JSON object
    return code, json.loads(out[0])


def test_deploy_accredit_suspend_reinstate_rotate(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, anvil_node: ManagedAnvil
) -> None:
    w3 = Web3(Web3.HTTPProvider(anvil_node.url))
    authority = Account.create()
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": authority.address, "value": 10**18})
    )
    code, deployed = run_json(capsys, "deploy", "--new", "--unlocked", "--authority", authority.address)
    assert code == 0 and not deployed["reused"]
    record = json.loads(Path(deployed["record"]).read_text())
    assert record["address"] == deployed["deployment"]["address"] and record["authority"] == authority.address
    assert {"address", "deployTx", "block", "abiHash", "solcVersion"} <= record.keys()
    code, again = run_json(capsys, "deploy", "--unlocked")
    assert code == 0 and again["reused"] and again["deployment"]["address"] == record["address"]

    chamber = Account.create().address
    code, refused = run_json(capsys, "accredit", chamber, "--name", "Hamburg", "--country", "DE", "--code", "X", "--unlocked")
    assert code == 1 and refused["error"] == "MissingRoleError"  # the deployer is not the authority

    monkeypatch.setenv("ECOO_AUTHORITY_KEY", authority.key.hex())
    code, out = run_json(capsys, "accredit", chamber, "--name", "Handelskammer Hamburg", "--country", "DE", "--code", "WCF-DE-1")
    assert code == 0 and out["issuer"]["status"] == "ACCREDITED" and out["issuer"]["name"] == "Handelskammer Hamburg"
    assert authority.key.hex() not in json.dumps(out)
    code, out = run_json(capsys, "suspend-issuer", chamber)
    assert code == 0 and out["issuer"]["status"] == "SUSPENDED" and out["periods"][0]["until_block"]
    code, out = run_json(capsys, "suspend-issuer", chamber)
    assert code == 1 and out["error"] == "IssuerNotAccreditedError"
    code, out = run_json(capsys, "reinstate-issuer", chamber)
    assert code == 0 and out["issuer"]["status"] == "ACCREDITED" and len(out["periods"]) == 2
    new_key = Account.create().address
    code, out = run_json(capsys, "rotate-issuer", chamber, new_key)
    assert code == 0 and out["issuer"]["predecessor"] == chamber
    code, out = run_json(capsys, "issuer", chamber)
    assert code == 0 and out["issuer"]["status"] == "RETIRED" and out["issuer"]["successor"] == new_key

    # Readable output, too.
    assert main(["issuer", new_key]) == 0
    assert "ACCREDITED" in capsys.readouterr().out


def test_errors_are_one_line_and_never_a_traceback(env: dict[str, str], tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    cases = [
        (["deploy", "--unlocked", "--rpc-url", dead], "ecoo up"),
        (["deploy", "--rpc-url", env["ECOO_RPC_URL"]], "no key"),
        (["issuer", "0x" + "11" * 20], "ecoo deploy"),  # nothing deployed in this deployments dir
        (
            [
                "accredit",
                "0x" + "11" * 20,
                "--name",
                "n",
                "--country",
                "DE",
                "--code",
                "c",
                "--registry",
                "0x" + "22" * 20,
                "--keystore",
                str(tmp_path / "missing.json"),
            ],
            "cannot read keystore",
        ),
        (["deploy", "--rpc-url", "ftp://example"], "http"),
    ]
    for args, expected in cases:
        result = subprocess.run([sys.executable, "-m", "ecoo", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode != 0, args
        assert "Traceback" not in result.stderr, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (args, result.stderr)


SOME_ADDRESS = "0x" + "22" * 20
BAD_ADDRESSES = ("0x1234", "null", "garbage", "0x" + "zz" * 20)


def _address_cases(bad: str) -> list[tuple[list[str], dict[str, str]]]:
    """Every command line that takes an address (argument, option or ECOO_REGISTRY), given ``bad``."""
    authority = ["--unlocked", "--registry", SOME_ADDRESS]
    return [
        (["verify", "{document}", "--registry", bad], {}),
        (["verify", "{document}"], {"ECOO_REGISTRY": bad}),
        (["issuer", SOME_ADDRESS, "--registry", bad], {}),
        (["issuer", SOME_ADDRESS], {"ECOO_REGISTRY": bad}),
        (["issuer", bad, "--registry", SOME_ADDRESS], {}),
        (["accredit", bad, "--name", "n", "--country", "DE", "--code", "c", *authority], {}),
        (["accredit", SOME_ADDRESS, "--name", "n", "--country", "DE", "--code", "c", "--unlocked", "--registry", bad], {}),
        (["suspend-issuer", bad, *authority], {}),
        (["reinstate-issuer", bad, *authority], {}),
        (["rotate-issuer", bad, SOME_ADDRESS, *authority], {}),
        (["rotate-issuer", SOME_ADDRESS, bad, *authority], {}),
        (["revoke", "{document}", "--reason", "fraud", "--unlocked", "--registry", bad], {}),
        (["issue", "{certificate}", "--unlocked", "--out", "{out}", "--registry", bad], {}),
        (["deploy", "--unlocked", "--admin", bad], {}),
        (["deploy", "--unlocked", "--authority", bad], {}),
        (["fund", bad], {}),
    ]


@pytest.mark.parametrize("bad", BAD_ADDRESSES)
def test_a_malformed_address_anywhere_is_a_one_line_error(
    bad: str, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 9, finding 7c: `ecoo verify FILE --registry 0x1234` printed a traceback."""
    from tests.support.samples import sample

    document = tmp_path / "document.json"
    document.write_text(json.dumps({"certificate": {}, "proof": {}}))
    certificate = tmp_path / "certificate.json"
    certificate.write_text(json.dumps(sample(number="ADDR-1")))
    paths = {"document": str(document), "certificate": str(certificate), "out": str(tmp_path / "out")}
    for args, variables in _address_cases(bad):
        with monkeypatch.context() as patch:
            for name, value in variables.items():
                patch.setenv(name, value)
            code = main([arg.format(**paths) for arg in args])
        err = capsys.readouterr().err
        assert code == 1, (args, variables, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ecoo: error: ") and repr(bad) in lines[0], (args, variables, err)
        assert "not an Ethereum address" in lines[0], (args, variables, err)


@pytest.mark.parametrize("url", ["garbage", "http://", "http://[::1", "http://exa mple:8545", "http://127.0.0.1:99999"])
def test_a_malformed_rpc_url_is_a_one_line_error(
    url: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for args, variables in ((["issuer", SOME_ADDRESS, "--rpc-url", url], {}), (["issuer", SOME_ADDRESS], {"ECOO_RPC_URL": url})):
        with monkeypatch.context() as patch:
            for name, value in variables.items():
                patch.setenv(name, value)
            code = main(args)
        err = capsys.readouterr().err
        assert code == 1, (args, variables, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ecoo: error: "), (args, variables, err)


def test_bad_key_in_environment_is_refused_without_echoing_it(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ECOO_DEPLOYER_KEY", "0xnot-a-key-SECRET")
    code = main(["deploy"])
    err = capsys.readouterr().err
    assert code == 1 and "ECOO_DEPLOYER_KEY" in err and "SECRET" not in err


def test_unlocked_refused_off_dev_chains(env: dict[str, str], tmp_path: Path) -> None:
    with ManagedAnvil(tmp_path / "s.json", chain_id=424242) as node:
        result = subprocess.run(
            [sys.executable, "-m", "ecoo", "deploy", "--unlocked", "--rpc-url", node.url],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1 and "dev chains only" in result.stderr


def test_node_command_serves_and_saves_state(tmp_path: Path) -> None:
    port = free_port()
    env = {"ECOO_DATA_DIR": str(tmp_path), "PATH": __import__("os").environ["PATH"]}
    with subprocess.Popen(
        [sys.executable, "-m", "ecoo", "node", "--port", str(port), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    ) as process:
        try:
            assert process.stdout is not None
            info = json.loads(process.stdout.readline())
            assert info["url"] == f"http://127.0.0.1:{port}" and info["chainId"] == 31337
            assert json.loads((tmp_path / "node.json").read_text())["url"] == info["url"]
            w3 = Web3(Web3.HTTPProvider(info["url"]))
            tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": w3.eth.accounts[1], "value": 1})
            w3.eth.wait_for_transaction_receipt(tx)
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert process.returncode == 0
    assert not (tmp_path / "node.json").exists()
    assert (tmp_path / "anvil-state.json").stat().st_size > 0


def _run_up(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    """Start `ecoo up --json`, read its one JSON line, stop it with SIGTERM; return the line."""
    env = {
        **__import__("os").environ,
        "ECOO_DATA_DIR": str(tmp_path / "data"),
        "ECOO_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
    }
    port = str(free_port())
    with subprocess.Popen(
        [sys.executable, "-m", "ecoo", "up", "--port", port, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            info: dict = json.loads(line)  # type: ignore[type-arg]
            assert Web3(Web3.HTTPProvider(info["url"])).eth.get_code(info["registry"])
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert process.returncode == 0
    return info


def test_up_deploys_once_and_keeps_state_across_restarts(tmp_path: Path) -> None:
    first = _run_up(tmp_path)
    assert not first["reused"] and (tmp_path / "deployments" / "31337.json").is_file()
    second = _run_up(tmp_path)
    assert second["reused"] and second["registry"] == first["registry"]
