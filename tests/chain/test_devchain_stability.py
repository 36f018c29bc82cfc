"""The dev chain is stable (issue 9, finding 6): any number of stop/start cycles of `ecoo up` keep the
same chain and registry, one node runs per data directory, a restart keeps its port, and a service
restarted after its chain restarted keeps anchoring. Every test starts its own real Anvil."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from ecoo import anvil
from ecoo.anvil import ManagedAnvil, free_port, rpc_answers, running_node, start_node, stop_node
from ecoo.anvil_state import header_hash, prune_stale_genesis
from ecoo.cli import main
from ecoo.datadir_lock import DataDirLock
from ecoo.deploy import deploy_registry, live_problem, open_registry
from ecoo.errors import AnvilError, DataDirectoryInUseError
from ecoo.issuing import CertificateIssuer
from ecoo.registry import Registry
from ecoo.service.app import create_app
from ecoo.settings import Settings
from ecoo.signers import LocalSigner, unlocked_signer
from ecoo.verify import Verdict, verify
from tests.support.samples import sample
from tests.support.service import make_service

pytestmark = pytest.mark.anvil  # starts its own nodes: left out of `make test-fast`


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "ECOO_DATA_DIR": str(tmp_path / "data"), "ECOO_DEPLOYMENTS_DIR": str(tmp_path / "deployments")}
    for name in ("ECOO_RPC_URL", "ECOO_REGISTRY"):
        env.pop(name, None)
    return env


def start_up(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """A real `ecoo up --json` process on ``tmp_path``'s data directory (default state file), once
    it has printed its one JSON line (the node serves and the registry is deployed)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ecoo", "up", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline()
    if not line:
        process.wait(30)
        process.stdout.close()
        raise AssertionError(process.stderr.read())
    return process, json.loads(line)


@contextmanager
def ecoo_up(tmp_path: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """:func:`start_up` until the block ends; then stopped with SIGTERM, as a service manager or
    Ctrl-C would, which it must survive cleanly."""
    process, info = start_up(tmp_path, *args)
    with process:
        try:
            yield process, info
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert process.returncode == 0


def _chamber(w3: Web3, registry: Registry) -> LocalSigner:
    """A funded chamber key, accredited by the dev account (`ecoo up` makes it the authority) as the
    issuer the sample certificates name."""
    funder = unlocked_signer(w3)
    chamber = LocalSigner(Account.create())
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": funder.address, "to": chamber.address, "value": 10**18}))
    registry.accredit_issuer(funder, chamber.address, name="VCCI HCM", country="VN", accreditation_code="VCCI-HCM-07")
    return chamber


def test_five_stop_start_cycles_of_up_keep_the_chain_the_registry_and_the_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = str(free_port())
    with ecoo_up(tmp_path, "--port", port) as (_, first):
        assert not first["reused"] and first["stateFile"] == str(tmp_path / "data" / "anvil-state.json")
        w3 = Web3(Web3.HTTPProvider(first["url"]))
        genesis = w3.eth.get_block(0)["hash"]
        registry = Registry(w3, first["registry"])
        document = CertificateIssuer(registry, _chamber(w3, registry)).issue([sample(number="CYCLE-1")]).documents[0]
        assert verify(document, registry).verdict is Verdict.VALID
    (tmp_path / "cycle-1.json").write_text(json.dumps(document))

    for cycle in range(2, 6):
        with ecoo_up(tmp_path, "--port", port) as (_, info):
            assert info["reused"] and info["registry"] == first["registry"], (cycle, info)
            w3 = Web3(Web3.HTTPProvider(info["url"]))
            assert w3.eth.get_block(0)["hash"] == genesis, cycle
            if cycle == 5:
                # What `ecoo verify` trusts: the deployment record, the node found through node.json.
                for name, value in _env(tmp_path).items():
                    if name.startswith("ECOO_"):
                        monkeypatch.setenv(name, value)
                monkeypatch.delenv("ECOO_RPC_URL", raising=False)
                monkeypatch.chdir(tmp_path)
                code = main(["verify", str(tmp_path / "cycle-1.json"), "--json"])
                report = json.loads(capsys.readouterr().out)
                assert code == 0 and report["verdict"] == "VALID", report
    record = json.loads((tmp_path / "deployments" / "31337.json").read_text())
    assert record["address"] == first["registry"]


def test_stale_geneses_in_a_state_file_are_pruned_and_block_0_is_the_chains_own(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with ManagedAnvil(state) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        w3.eth.wait_for_transaction_receipt(
            w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": w3.eth.accounts[1], "value": 1})
        )
        hashes = {n: w3.eth.get_block(n)["hash"].to_0x_hex() for n in (0, 1)}
    saved = json.loads(state.read_text())
    # The header hash this module computes is the node's, for every block (a new Anvil header
    # format would show here first).
    assert {header_hash(b["header"]) for b in saved["blocks"]} == set(hashes.values())

    # What Anvil itself writes after a second start: a fresh genesis of that start's time, listed
    # after the chain's own (then the next load takes it for block 0).
    stale = json.loads(json.dumps(saved["blocks"][0]))
    genesis = next(b for b in saved["blocks"] if int(b["header"]["number"], 16) == 0)
    stale["header"] = {**genesis["header"], "timestamp": hex(int(genesis["header"]["timestamp"], 16) + 7)}
    saved["blocks"].append(stale)
    damaged = json.dumps(saved)
    state.write_text(damaged)
    os.chmod(state, 0o600)
    assert prune_stale_genesis(state) == 1
    blocks = json.loads(state.read_text())["blocks"]
    assert [header_hash(b["header"]) for b in blocks if int(b["header"]["number"], 16) == 0] == [hashes[0]]
    assert len(blocks) == 2 and os.stat(state).st_mode & 0o777 == 0o600
    assert prune_stale_genesis(state) == 0 and prune_stale_genesis(tmp_path / "missing.json") == 0

    state.write_text(damaged)  # a managed node prunes before it starts
    with ManagedAnvil(state) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        assert {n: w3.eth.get_block(n)["hash"].to_0x_hex() for n in (0, 1)} == hashes


def test_a_deployment_is_matched_by_its_block_not_by_block_0(tmp_path: Path) -> None:
    """A record written while Anvil served a stale genesis (before the pruning) names a block 0 the
    repaired chain no longer shows; its deployment block, which commits to the whole history
    before it, still decides that the registry is there."""
    with ManagedAnvil(tmp_path / "state.json") as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        deployment, _ = deploy_registry(w3, unlocked_signer(w3), deployments_dir=tmp_path)
        assert live_problem(w3, replace(deployment, genesis_hash="0x" + "ab" * 32)) is None
        assert open_registry(w3, tmp_path).address == deployment.address
        other_block = replace(deployment, block_hash="0x" + "cd" * 32)
        assert (
            live_problem(w3, other_block) == f"the chain was reset since (block {deployment.block} is not the deployment block)"
        )
        new_chain = replace(other_block, genesis_hash="0x" + "ab" * 32)
        assert live_problem(w3, new_chain) == "the chain was reset since (different genesis block)"


def test_a_service_restarted_after_its_chain_restarted_keeps_anchoring(tmp_path: Path) -> None:
    node = ManagedAnvil(tmp_path / "chain-state.json", port=free_port()).start()
    try:
        service = make_service(tmp_path, node)
        old = service.issue("RESTART-0")
        for _ in range(3):  # from the third start on, an unpruned state file showed another genesis
            node.stop()
            node.start()
        restarted = create_app(service.settings)  # the service restarted: resolves its registry anew
        restarted.config["TESTING"] = True
        try:
            client, worker = restarted.test_client(), restarted.extensions["ecoo"].worker
            created = client.post("/api/v1/certificates", json=service.certificate("RESTART-1"), headers=service.auth)
            assert created.status_code == 202, created.json
            assert worker.run_once(force=True) == 1, worker.last_error
            assert worker.last_error is None
            assert client.get(f"/api/v1/certificates/{created.json['id']}", headers=service.auth).json["status"] == "ISSUED"
            assert client.post("/api/v1/verify", json=old).json["verdict"] == "VALID"
        finally:
            restarted.extensions["ecoo"].worker.stop()
            restarted.extensions["ecoo"].store.close()
            service.worker.stop()
            service.app.extensions["ecoo"].store.close()
    finally:
        node.stop()


def _snapshot(tmp_path: Path) -> dict[str, Any]:
    files = [tmp_path / "data" / "node.json", tmp_path / "deployments" / "31337.json"]
    return {str(f): (f.read_bytes(), f.stat().st_mtime_ns) for f in files}


def test_one_node_per_data_directory_a_second_up_or_demo_exits_at_once_and_changes_nothing(tmp_path: Path) -> None:
    with ecoo_up(tmp_path, "--port", str(free_port())) as (first, info):
        before = _snapshot(tmp_path)
        code_before = Web3(Web3.HTTPProvider(info["url"])).eth.get_code(info["registry"])
        assert code_before
        other_port = free_port()
        for command in (
            ["up", "--port", str(other_port), "--fresh"],
            ["node", "--port", str(other_port)],
            ["demo", "--port", str(free_port()), "--node-port", str(other_port), "--fresh"],
        ):
            started = time.monotonic()
            second = subprocess.run(
                [sys.executable, "-m", "ecoo", *command],
                capture_output=True,
                text=True,
                env=_env(tmp_path),
                cwd=tmp_path,
                timeout=60,
            )
            assert second.returncode != 0, (command, second.stdout)
            assert time.monotonic() - started < 15, command  # at once: no node start, no port wait
            lines = second.stderr.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in second.stderr, second.stderr
            assert f"pid {first.pid}" in lines[0] and info["url"] in lines[0] and "ecoo up" in lines[0], lines[0]
            assert rpc_answers(f"http://127.0.0.1:{other_port}", 0.3) is None  # no second node was started
        assert _snapshot(tmp_path) == before  # node.json and the deployment record untouched
        assert Web3(Web3.HTTPProvider(info["url"])).eth.get_code(info["registry"]) == code_before  # --fresh deleted nothing
        assert not (tmp_path / "data" / "ecoo.db").exists()  # the second demo made no database
    with ecoo_up(tmp_path, "--port", str(free_port())) as (_, again):  # the lock went with its holder
        assert again["reused"] and again["registry"] == info["registry"]


def test_a_start_after_the_holder_was_killed_waits_for_its_node_to_save_and_exit(tmp_path: Path) -> None:
    old_port = free_port()
    first, info = start_up(tmp_path, "--port", str(old_port))
    with first:
        first.send_signal(signal.SIGKILL)  # no clean-up at all: its node is told to stop by the kernel
        first.wait(10)
    with ecoo_up(tmp_path, "--port", str(free_port())) as (_, again):  # another port: the lock, not the port, waits
        assert again["reused"] and again["registry"] == info["registry"]
        assert rpc_answers(f"http://127.0.0.1:{old_port}", 0.3) is None  # the old node had exited


HOLD_THE_LOCK_IN_A_CHILD = """
import pathlib, subprocess, sys
from ecoo.datadir_lock import DataDirLock
lock = DataDirLock(pathlib.Path(sys.argv[1]), "x").acquire()
subprocess.Popen(["sleep", "2"], pass_fds=(lock.fileno,))
print(1, flush=True)
input()
"""
HOLD_THE_LOCK = """
import pathlib, sys
from ecoo.datadir_lock import DataDirLock
DataDirLock(pathlib.Path(sys.argv[1]), "x").acquire()
print(1, flush=True)
input()
"""


def test_the_lock_names_its_holder_and_is_released_by_its_death(tmp_path: Path) -> None:
    with DataDirLock(tmp_path, "ecoo up") as lock:
        lock.record("http://127.0.0.1:1234")
        with pytest.raises(DataDirectoryInUseError, match=rf"ecoo up \(pid {os.getpid()}, node http://127.0.0.1:1234\)"):
            DataDirLock(tmp_path, "ecoo demo").acquire()
    DataDirLock(tmp_path, "ecoo demo").acquire().release()

    # A holder killed outright (no clean-up at all) leaves no stale lock behind.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "1"
    with pytest.raises(DataDirectoryInUseError, match=rf"x \(pid {holder.pid}, node starting\)"):
        DataDirLock(tmp_path, "ecoo up").acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    holder.stdin.close()  # type: ignore[union-attr]
    holder.stdout.close()
    DataDirLock(tmp_path, "ecoo up").acquire().release()

    # A holder that dies while a child it started keeps the lock (the node, saving its state): a
    # new start waits for the child, within bounds, instead of refusing.
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK_IN_A_CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "1"
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    holder.stdout.close()
    started = time.monotonic()
    with pytest.raises(DataDirectoryInUseError, match=rf"x \(pid {holder.pid}, "):  # within bounds
        DataDirLock(tmp_path, "ecoo up").acquire(orphan_wait=0.3)
    DataDirLock(tmp_path, "ecoo up").acquire().release()
    assert 1.0 < time.monotonic() - started < 10


def test_an_immediate_restart_keeps_the_default_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setattr(anvil, "DEFAULT_PORT", port)  # stands for 8545, which other programs may hold
    settings = Settings(data_dir=tmp_path / "data", deployments_dir=tmp_path / "deployments")
    for cycle in range(3):
        with running_node(settings) as node:
            assert node.port == port, cycle
            w3 = Web3(Web3.HTTPProvider(node.url))  # kept-alive connections: the node closes them
            for _ in range(3):  # on stopping, which leaves the port in TIME_WAIT for a minute
                w3.eth.block_number  # noqa: B018
            assert json.loads(settings.node_file.read_text())["url"] == f"http://127.0.0.1:{port}"


def _listen(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the port may linger in TIME_WAIT
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_a_start_waits_for_a_stopping_node_and_fails_clearly_if_the_port_stays_busy(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", deployments_dir=tmp_path / "deployments")
    port = free_port()
    with DataDirLock(settings.data_dir, "ecoo up") as lock:
        stopping = _listen(port)  # a node still saving its state: gone in a second
        threading.Timer(1.0, stopping.close).start()
        started = time.monotonic()
        node = start_node(settings, port=port, lock=lock)
        try:
            assert node.port == port and time.monotonic() - started >= 0.9
            # The node itself holds the data directory's lock until it exits (see ecoo.datadir_lock).
            opened = {os.readlink(f"/proc/{node.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{node.pid}/fd")}
            assert str(lock.path.resolve()) in opened
        finally:
            stop_node(settings, node)

        busy = _listen(port)
        try:
            started = time.monotonic()
            with pytest.raises(AnvilError, match=rf"port {port} is still in use after 1 s"):
                start_node(settings, port=port, lock=lock, port_wait=1.0)
            assert time.monotonic() - started < 5
            assert not settings.node_file.exists()
        finally:
            busy.close()
