"""``ecoo authority grant-customs / revoke-customs / customs`` on a real Anvil: the role as the
contract keeps it, a customs key recording while it holds the role and refused after, and every
error a one-line message (one JSON object with ``--json``), never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from ecoo.anvil import ManagedAnvil, free_port
from ecoo.cli import main
from ecoo.cli.authority_customs import role_history
from ecoo.errors import NotCustomsError
from ecoo.registry import CustomsRecord, Registry
from ecoo.signers import LocalSigner, NodeSigner
from tests.support.chain import new_signer, random_hash

#: The registry and its authority on the session's real Anvil (the embedded chain has no CLI URL).
pytestmark = pytest.mark.parametrize("w3", ["anvil"], indirect=True)


@pytest.fixture
def authority(registry: Registry) -> LocalSigner:
    signer: LocalSigner = registry.test_authority  # type: ignore[attr-defined]
    return signer


@pytest.fixture
def env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anvil_node: ManagedAnvil, registry: Registry, authority: LocalSigner
) -> None:
    """The CLI pointed at the test's registry, signing as its authority (a random key of this
    throwaway chain, never printed)."""
    monkeypatch.setenv("ECOO_RPC_URL", anvil_node.url)
    monkeypatch.setenv("ECOO_REGISTRY", registry.address)
    monkeypatch.setenv("ECOO_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))
    monkeypatch.setenv("ECOO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ECOO_AUTHORITY_KEY", authority.account.key.hex())


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """Run ``ecoo ARGS --json``: its exit code and the one JSON object it printed."""
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    out = captured.out.strip().splitlines()
    assert len(out) == 1, out
    if code:  # an error is also one line on stderr
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ecoo: error: "), captured.err
        assert "Traceback" not in captured.err
    return code, json.loads(out[0])


def test_grant_show_record_revoke(
    env: None, capsys: pytest.CaptureFixture[str], w3: Web3, funder: NodeSigner, registry: Registry, authority: LocalSigner
) -> None:
    customs = new_signer(w3, funder)
    issuer, leaf, declaration = new_signer(w3, funder).address, random_hash(), random_hash()

    code, granted = run_json(capsys, "authority", "grant-customs", customs.address, "--country", "KR")
    assert code == 0, granted
    assert granted["customs"] == {"address": customs.address, "country": "KR", "active": True}
    assert granted["granted"]["block"] == granted["tx"]["block_number"]
    assert granted["granted"]["tx"] == granted["tx"]["tx_hash"] and granted["granted"]["country"] == "KR"
    assert granted["granted"]["time"].endswith("Z") and granted["revoked"] is None and granted["history_error"] is None
    assert authority.account.key.hex().removeprefix("0x") not in json.dumps(granted)
    assert registry.get_customs(customs.address) == CustomsRecord(country="KR", active=True)

    code, shown = run_json(capsys, "authority", "customs", customs.address.lower())
    assert code == 0 and shown["customs"] == granted["customs"] and shown["granted"] == granted["granted"]
    assert main(["authority", "customs", customs.address]) == 0
    readable = capsys.readouterr().out
    assert f"customs key {customs.address}: ACTIVE, country KR" in readable
    assert f"granted in block {granted['tx']['block_number']}" in readable

    # The key records while it holds the role.
    assert registry.record_receipt(customs, issuer, leaf, declaration).block_number > granted["tx"]["block_number"]

    code, revoked = run_json(capsys, "authority", "revoke-customs", customs.address)
    assert code == 0, revoked
    assert revoked["customs"] == {"address": customs.address, "country": "KR", "active": False}  # keeps its country
    assert revoked["revoked"]["block"] == revoked["tx"]["block_number"] and "country" not in revoked["revoked"]
    assert revoked["granted"] == granted["granted"]
    code, shown = run_json(capsys, "authority", "customs", customs.address)
    assert code == 0 and shown["customs"]["active"] is False and shown["revoked"] == revoked["revoked"]
    assert main(["authority", "customs", customs.address]) == 0
    assert "REVOKED (was country KR)" in capsys.readouterr().out

    # ... and not after.
    with pytest.raises(NotCustomsError) as raised:
        registry.record_receipt(customs, issuer, leaf, declaration)
    assert raised.value.solidity_name == "EcooRegistryNotCustoms"
    assert raised.value.args_by_name == {"account": customs.address}

    # Granted again (another country): the last grant is the one shown, and no revocation after it.
    code, again = run_json(capsys, "authority", "grant-customs", customs.address, "--country", "JP")
    assert code == 0 and again["customs"]["country"] == "JP" and again["revoked"] is None
    assert again["granted"]["block"] > revoked["revoked"]["block"] and again["granted"]["country"] == "JP"


def test_a_key_never_granted(env: None, capsys: pytest.CaptureFixture[str], w3: Web3, funder: NodeSigner) -> None:
    stranger = new_signer(w3, funder).address
    code, shown = run_json(capsys, "authority", "customs", stranger)
    assert code == 0
    assert shown == {
        "customs": {"address": stranger, "country": "", "active": False},
        "granted": None,
        "revoked": None,
        "history_error": None,
    }
    assert main(["authority", "customs", stranger]) == 0
    assert "never granted the customs role" in capsys.readouterr().out


def test_only_the_authority_grants_and_revokes(
    env: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    w3: Web3,
    funder: NodeSigner,
    registry: Registry,
    authority: LocalSigner,
) -> None:
    customs = new_signer(w3, funder).address
    stranger = new_signer(w3, funder)
    monkeypatch.setenv("ECOO_STRANGER_KEY", stranger.account.key.hex())
    callers = {
        funder.address: ["--unlocked", "--key-env", "ECOO_NO_SUCH_KEY"],  # the registry's admin, not its authority
        stranger.address: ["--key-env", "ECOO_STRANGER_KEY"],
    }
    for caller, key_args in callers.items():
        code, refused = run_json(capsys, "authority", "grant-customs", customs, "--country", "KR", *key_args)
        assert code == 1 and refused["error"] == "MissingRoleError"
        assert refused["message"].startswith(f"{caller} is not the registry's accreditation authority")
        assert "AUTHORITY_ROLE" in refused["message"] and "cannot grant-customs" in refused["message"]
    assert registry.get_customs(customs) == CustomsRecord(country="", active=False)

    registry.grant_customs(authority, customs, "KR")
    for caller, key_args in callers.items():
        code, refused = run_json(capsys, "authority", "revoke-customs", customs, *key_args)
        assert code == 1 and refused["error"] == "MissingRoleError" and refused["message"].startswith(caller)
        assert "cannot revoke-customs" in refused["message"]
    assert registry.get_customs(customs) == CustomsRecord(country="KR", active=True)


@pytest.mark.parametrize("country", ["kr", "KOR", "K1", "", "Ü1"])
def test_a_bad_country_is_refused_before_sending(
    env: None, capsys: pytest.CaptureFixture[str], w3: Web3, funder: NodeSigner, registry: Registry, country: str
) -> None:
    customs = new_signer(w3, funder).address
    block = w3.eth.block_number
    code, refused = run_json(capsys, "authority", "grant-customs", customs, "--country", country)
    assert code == 1 and refused["error"] == "ConfigurationError"
    assert "ISO 3166-1 alpha-2" in refused["message"] and repr(country) in refused["message"]
    assert w3.eth.block_number == block  # nothing was sent
    assert registry.get_customs(customs) == CustomsRecord(country="", active=False)


def test_granting_twice_and_revoking_a_key_without_the_role(
    env: None, capsys: pytest.CaptureFixture[str], w3: Web3, funder: NodeSigner, registry: Registry
) -> None:
    customs = new_signer(w3, funder).address
    assert run_json(capsys, "authority", "grant-customs", customs, "--country", "KR")[0] == 0
    code, refused = run_json(capsys, "authority", "grant-customs", customs, "--country", "JP")
    assert code == 1 and refused["error"] == "CustomsAlreadyGrantedError"
    assert refused["message"] == f"{customs} already holds the customs role (revoke it first to change its country)"
    assert registry.get_customs(customs) == CustomsRecord(country="KR", active=True)

    never = new_signer(w3, funder).address
    code, refused = run_json(capsys, "authority", "revoke-customs", never)
    assert code == 1 and refused["error"] == "NotCustomsError" and never in refused["message"]

    code, refused = run_json(capsys, "authority", "grant-customs", "0x" + "00" * 20, "--country", "KR")
    assert code == 1 and refused["error"] == "InvalidCustomsError"


@pytest.mark.parametrize("bad", ["0x1234", "garbage", "0x" + "zz" * 20])
@pytest.mark.parametrize(
    "command", [["grant-customs", "{bad}", "--country", "KR"], ["revoke-customs", "{bad}"], ["customs", "{bad}"]]
)
def test_a_malformed_address_is_a_one_line_error(
    env: None, capsys: pytest.CaptureFixture[str], command: list[str], bad: str
) -> None:
    code, refused = run_json(capsys, "authority", *(arg.replace("{bad}", bad) for arg in command))
    assert code == 1 and refused["error"] == "ConfigurationError"
    assert refused["message"] == f"customs key {bad!r} is not an Ethereum address (0x and 40 hex digits)"


def test_the_history_is_left_out_when_the_node_does_not_answer(registry: Registry) -> None:
    """A node that refuses (here: is not there for) the log query costs the history, not the command."""
    dead = Registry(Web3(Web3.HTTPProvider(f"http://127.0.0.1:{free_port()}")), registry.address)
    history = role_history(dead, registry.address)
    assert history["granted"] is None and history["revoked"] is None
    assert history["history_error"] == "the node did not answer the log query (ConnectionError)"
