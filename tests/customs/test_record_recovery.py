"""The on-chain records of declarations are durable intents, resent by the recovery and never
recorded twice, on a real Anvil (the issuing chamber's node):

* the node stops right after a declaration is stored: the answer says each record failed, the
  recovery keeps failing while the node is away, and once it is back sends each record once (a
  second recovery that read the records before they were sent sends nothing); a confirmed record
  stays confirmed when the node is away again;
* the service process (``ecoo serve --customs``, a real subprocess) is killed with SIGKILL right
  after the node took the utilisation's transaction, its hash stored or not: the restarted
  service finds the record on the chain (its receipt, or the registry's events for the
  declaration's hash) and marks it confirmed without a single further transaction; on SQLite and
  on a real PostgreSQL;
* a reorganisation drops the records (``anvil_reorg``, ``evm_revert``): the recovery notices and
  sends them again; the chain ends with exactly one of each.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from web3.exceptions import TransactionNotFound

import ecoo
from ecoo.customs import declarations_http
from ecoo.customs.declaration_records import sender_options
from ecoo.customs.record_recovery import RecordRecovery
from ecoo.customs.record_repository import StoredRecord, declaration_records, due_records
from ecoo.customs.store.schema import declarations
from ecoo.registry import Registry, RegistryEvent
from ecoo.service.faults import FAULT_ENV
from ecoo.signers import LocalSigner, unlocked_signer
from tests.support.chain import new_signer, node_rpc, node_w3
from tests.support.customs import CustomsHarness, IssuingChamber, customs_env, make_customs
from tests.support.postgres import free_port

pytestmark = pytest.mark.slow

IMPORTER = {"name": "Hanbit Motors Co., Ltd.", "identifier": {"scheme": "BRN", "value": "6068112345"}}
#: Short claims and waits, as a test wants them (the service's ECOO_LEASE_SECONDS, ECOO_MAX_BACKOFF).
FAST = {"lease_seconds": 1.0, "max_backoff": 0.2}


def _customs_key(chamber: IssuingChamber) -> LocalSigner:
    """A new key, funded, that the registry's authority granted the customs role (KR)."""
    w3 = node_w3(chamber.node)
    authority = unlocked_signer(w3)  # the deployer is the registry's authority
    key = new_signer(w3, authority)
    Registry(w3, chamber.registry).grant_customs(authority, key.address, "KR")
    return key


def _port(
    tmp_path: Path, chamber: IssuingChamber, trust_list: Path, key: LocalSigner | None, database_url: str | None = None
) -> CustomsHarness:
    (tmp_path / "port").mkdir()
    customs_key = {"customs_key": bytes(key.account.key)} if key is not None else {}
    return make_customs(tmp_path / "port", chamber, trust_list, database_url, **customs_key, **FAST)


@pytest.fixture
def port(issuing_chamber: IssuingChamber, trust_list_file: Path, tmp_path: Path) -> Iterator[CustomsHarness]:
    harness = _port(tmp_path, issuing_chamber, trust_list_file, _customs_key(issuing_chamber))
    yield harness
    harness.close()


def _declaration(document: dict[str, Any], quantity: str, reference: str) -> dict[str, Any]:
    line = {"line": 1, "certificate": 0, "item": 1, "hsCode": "870830", "quantity": quantity, "unit": "SET"}
    date = time.strftime("%Y-%m-%d", time.gmtime())
    return {"reference": reference, "importer": IMPORTER, "portOfEntry": "KRPUS", "date": date, "lines": [line]} | {
        "certificates": [document]
    }


def _registry(chamber: IssuingChamber) -> Registry:
    return Registry(node_w3(chamber.node), chamber.registry)


def _records_on_chain(chamber: IssuingChamber, declaration_hash: str) -> list[RegistryEvent]:
    """The customs records of one declaration on the registry, in chain order."""
    names = ("CertificateReceived", "CertificateUtilised", "CertificateRejected")
    return [e for e in _registry(chamber).events(0, "latest", names) if e.declaration_hash == declaration_hash]


def _utilised(chamber: IssuingChamber, document: dict[str, Any]) -> int:
    proof = document["proof"]
    (item,) = _registry(chamber).get_utilisation(proof["issuer"], bytes.fromhex(proof["leaf"][2:]), [1])
    return int(item.utilised)


def _nonce(chamber: IssuingChamber, key: LocalSigner) -> int:
    return int(node_w3(chamber.node).eth.get_transaction_count(key.address))  # type: ignore[arg-type]


def _stored(harness: CustomsHarness, declaration_id: int) -> list[StoredRecord]:
    """The declaration's records as stored: its receipt first, then its line."""
    with harness.objects.db.transaction() as conn:
        return declaration_records(conn, declaration_id)


def _recovery(harness: CustomsHarness) -> RecordRecovery:
    """The recovery the service's background runs, with this service's settings."""
    built = harness.objects
    assert built.signer is not None
    return RecordRecovery(built.db, built.signer, built.registries.sender, **sender_options(harness.settings))


def _until(what: str, done: Callable[[], bool], step: Callable[[], Any] = lambda: None, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        step()
        time.sleep(0.1)


def _all_confirmed(harness: CustomsHarness, declaration_id: int) -> bool:
    return all(r.state == "confirmed" for r in _stored(harness, declaration_id))


# -- (a) the node stopped ------------------------------------------------------------------------


def test_records_the_stopped_node_refused_are_sent_once_it_is_back(
    port: CustomsHarness, issuing_chamber: IssuingChamber, monkeypatch: pytest.MonkeyPatch
) -> None:
    document, node, signer = issuing_chamber.documents[0], issuing_chamber.node, port.objects.signer
    assert isinstance(signer, LocalSigner)
    before = _utilised(issuing_chamber, document)
    real_send = declarations_http.send_records

    def node_stops_first(*args: Any, **kwargs: Any) -> Any:  # the declaration is stored: the node goes away
        node.stop()
        return real_send(*args, **kwargs)

    monkeypatch.setattr(declarations_http, "send_records", node_stops_first)
    response = port.client.post("/api/v1/declarations", json=_declaration(document, "1500", "KR-IMP-STOPPED"), headers=port.officer)
    monkeypatch.undo()
    assert response.status_code == 201, response.json
    answer = response.json or {}
    [line] = answer["lines"]
    assert line["decision"] == "accept" and line["record"]["kind"] == "utilisation"
    assert line["record"]["state"] == "failed" and line["record"]["tx"] is None
    assert "no Ethereum node answers" in line["record"]["error"], line
    # Accepted by the check, not yet on chain: never reported as accepted before it is.
    assert answer["outcome"] == "pending" and line["onChain"] == "pending"
    declaration_id = int(answer["id"])
    receipt, utilisation = _stored(port, declaration_id)
    assert (receipt.kind, receipt.state, receipt.attempts) == ("receipt", "failed", 1)
    assert (utilisation.state, utilisation.attempts, utilisation.tx, utilisation.from_block) == ("failed", 1, None, None)
    stored = port.client.get(f"/api/v1/declarations/{declaration_id}", headers=port.officer).json or {}
    assert stored["lines"][0]["record"]["state"] == "failed"

    # While the node is away the recovery tries again (after its backoff) and fails again.
    recovery = _recovery(port)
    _until("a second failed attempt", lambda: _stored(port, declaration_id)[1].attempts == 2, recovery.run_once)
    assert {r.state for r in _stored(port, declaration_id)} == {"failed"}

    node.start()  # same state file, same port
    declaration_hash = receipt.declaration_hash
    assert _records_on_chain(issuing_chamber, declaration_hash) == []  # nothing was sent while it was away
    nonce = _nonce(issuing_chamber, signer)
    # A second recovery (another process) reads the due records now, and is slow to step them.
    late = _recovery(port)
    with port.objects.db.transaction() as conn:
        stale = due_records(conn, time.time() + 60, 10)
    assert {r.id for r in stale if r.table == "line"} == {utilisation.id}

    _until("both records confirmed", lambda: _all_confirmed(port, declaration_id), recovery.run_once)
    for record in stale:  # read before they were sent: each is looked at as it is now, and not sent again
        late.sending.advance(record)

    on_chain = _records_on_chain(issuing_chamber, declaration_hash)
    assert [e.name for e in on_chain] == ["CertificateReceived", "CertificateUtilised"]
    assert _utilised(issuing_chamber, document) == before + 1_500_000
    assert _nonce(issuing_chamber, signer) == nonce + 2
    receipt, utilisation = _stored(port, declaration_id)
    assert (receipt.tx, utilisation.tx) == (on_chain[0].tx_hash, on_chain[1].tx_hash)
    assert utilisation.attempts == 3 and utilisation.error is None
    stored = port.client.get(f"/api/v1/declarations/{declaration_id}", headers=port.officer).json or {}
    line = stored["lines"][0]
    assert line["record"]["state"] == "confirmed" and line["record"]["tx"] == on_chain[1].tx_hash
    assert stored["outcome"] == "accepted" and line["onChain"] == "confirmed"
    listed = (port.client.get("/api/v1/declarations", headers=port.officer).json or {})["declarations"]
    assert [(d["id"], d["outcome"]) for d in listed] == [(declaration_id, "accepted")]
    assert "error" not in line["record"]

    # Further passes look again (not settled yet) but send nothing.
    for _ in range(3):
        time.sleep(0.25)
        recovery.run_once()
    assert len(_records_on_chain(issuing_chamber, declaration_hash)) == 2
    assert _nonce(issuing_chamber, signer) == nonce + 2

    # The node away again: a look that cannot be made leaves a confirmed record confirmed.
    node.stop()
    time.sleep(0.25)
    assert recovery.run_once() == 2
    after = _stored(port, declaration_id)
    assert [(r.state, r.tx, r.attempts) for r in after] == [(r.state, r.tx, r.attempts) for r in (receipt, utilisation)]
    assert all(r.error and "no Ethereum node answers" in r.error for r in after)


# -- (b) the service killed after the node took the transaction ----------------------------------


class Service:
    """``ecoo serve --customs`` in a process of its own, with its background work on."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        command = [sys.executable, "-m", "ecoo", "serve", "--customs", "--host", "127.0.0.1", "--port", str(self.port)]
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + 60
        while not self._answers():
            assert self.process.poll() is None, f"the service exited: {log.read_text(errors='replace')[-2000:]}"
            assert time.monotonic() < deadline, f"the service did not answer: {log.read_text(errors='replace')[-2000:]}"
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2):  # noqa: S310
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def post(self, path: str, body: Any, token: str) -> int | None:
        """The answer's status, or None when the connection broke (the process died serving it)."""
        request = urllib.request.Request(  # noqa: S310 - this test's own service
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)


@pytest.mark.parametrize(
    ("fault", "hash_stored"),
    [("record.after_send:utilisation", True), ("record.before_store:utilisation", False)],
    ids=["hash-stored", "hash-lost"],
)
def test_a_service_killed_after_sending_confirms_from_the_chain_without_sending_again(
    fault: str,
    hash_stored: bool,
    issuing_chamber: IssuingChamber,
    trust_list_file: Path,
    tmp_path: Path,
    database_url: str | None,
) -> None:
    key = _customs_key(issuing_chamber)
    key_file = tmp_path / "customs.key"
    key_file.write_text("0x" + bytes(key.account.key).hex(), encoding="ascii")  # Anvil-funded test key
    key_file.chmod(0o600)
    # The accounts and tokens, made by a customs service without a key on the same database (it sends nothing).
    harness = _port(tmp_path, issuing_chamber, trust_list_file, None, database_url)
    package = str(Path(ecoo.__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOO_") and k != "DATABASE_URL"}
    env |= customs_env(tmp_path / "port", trust_list_file, database_url) | {
        "ECOO_CUSTOMS_KEY_FILE": str(key_file),
        "ECOO_WORKER": "1",
        "ECOO_LEASE_SECONDS": "1",
        "ECOO_MAX_BACKOFF": "0.5",
        "ECOO_WATCH_INTERVAL": "0.2",
        "PYTHONPATH": os.pathsep.join(p for p in (package, os.environ.get("PYTHONPATH", "")) if p),
    }
    document = issuing_chamber.documents[0]
    before = _utilised(issuing_chamber, document)
    services: list[Service] = []
    try:
        first = Service(env | {FAULT_ENV: fault}, tmp_path / "service.log")
        services.append(first)
        body = _declaration(document, "2500", "KR-IMP-KILLED")
        assert first.post("/api/v1/declarations", body, harness.officer_token) is None  # it died answering
        assert first.process.wait(timeout=30) == -signal.SIGKILL
        assert "SIGKILL at record." in (tmp_path / "service.log").read_text(errors="replace")

        with harness.objects.db.transaction() as conn:
            [declaration_id] = conn.execute(select(declarations.c.id)).scalars().all()
        receipt, utilisation = _stored(harness, declaration_id)
        assert receipt.state == "confirmed"  # sent and confirmed before the utilisation
        on_chain = _records_on_chain(issuing_chamber, receipt.declaration_hash)
        assert [e.name for e in on_chain] == ["CertificateReceived", "CertificateUtilised"]  # the node took it
        sent = on_chain[1]
        if hash_stored:
            assert (utilisation.state, utilisation.tx) == ("sent", sent.tx_hash)
        else:  # only the chain knows; that a send began is stored
            assert (utilisation.state, utilisation.tx) == ("not_sent", None) and utilisation.from_block is not None
        nonce = _nonce(issuing_chamber, key)

        second = Service(env, tmp_path / "service.log")
        services.append(second)
        _until("the utilisation confirmed", lambda: _stored(harness, declaration_id)[1].state == "confirmed", timeout=60)
        time.sleep(1.5)  # a few more passes of the recovery: nothing more is sent
        receipt, utilisation = _stored(harness, declaration_id)
        assert (utilisation.state, utilisation.tx, utilisation.block) == ("confirmed", sent.tx_hash, sent.block_number)
        assert [e.name for e in _records_on_chain(issuing_chamber, receipt.declaration_hash)] == [
            "CertificateReceived",
            "CertificateUtilised",
        ]
        assert _nonce(issuing_chamber, key) == nonce  # not one more transaction
        assert _utilised(issuing_chamber, document) == before + 2_500_000
    finally:
        for service in services:
            service.stop()
        harness.close()


# -- (c) a reorganisation drops the records ------------------------------------------------------


@pytest.mark.parametrize("reorganise", ["anvil_reorg", "evm_revert"])
def test_records_a_reorganisation_dropped_are_sent_again_once(
    reorganise: str, port: CustomsHarness, issuing_chamber: IssuingChamber
) -> None:
    document, node = issuing_chamber.documents[1], issuing_chamber.node
    before = _utilised(issuing_chamber, document)
    snapshot = node_rpc(node, "evm_snapshot")
    response = port.client.post("/api/v1/declarations", json=_declaration(document, "3000", "KR-IMP-REORG"), headers=port.officer)
    assert response.status_code == 201, response.json
    declaration_id = int((response.json or {})["id"])
    receipt, utilisation = _stored(port, declaration_id)
    assert (receipt.state, utilisation.state) == ("confirmed", "confirmed")
    head = node_w3(node).eth.block_number
    assert (receipt.block, utilisation.block) == (head - 1, head)  # the two newest blocks, nothing else
    assert _utilised(issuing_chamber, document) == before + 3_000_000
    dropped = {receipt.tx, utilisation.tx}

    if reorganise == "anvil_reorg":
        node_rpc(node, "anvil_reorg", 2, [])  # both blocks replaced by empty ones
    else:
        assert node_rpc(node, "evm_revert", snapshot) is True  # back to before the declaration
    for tx in dropped:
        with pytest.raises(TransactionNotFound):
            node_w3(node).eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
    assert _records_on_chain(issuing_chamber, receipt.declaration_hash) == []
    assert _utilised(issuing_chamber, document) == before

    recovery = _recovery(port)
    _until(
        "both records sent again and confirmed",
        # (after evm_revert the same signed transaction may come back with the same hash: count the sends)
        lambda: all(r.state == "confirmed" and r.attempts == 2 for r in _stored(port, declaration_id)),
        recovery.run_once,
    )
    for _ in range(3):  # more passes: nothing more
        time.sleep(0.25)
        recovery.run_once()
    on_chain = _records_on_chain(issuing_chamber, receipt.declaration_hash)
    assert [e.name for e in on_chain] == ["CertificateReceived", "CertificateUtilised"]
    assert _utilised(issuing_chamber, document) == before + 3_000_000
    receipt, utilisation = _stored(port, declaration_id)
    assert (receipt.tx, utilisation.tx) == (on_chain[0].tx_hash, on_chain[1].tx_hash)
    assert (receipt.block, utilisation.block) == (on_chain[0].block_number, on_chain[1].block_number)
