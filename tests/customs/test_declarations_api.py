"""The declarations API on a real Anvil: certificates issued by a chamber, checked by the customs
service, utilisation, receipt and rejection recorded on the certificate's registry; two ports
racing for the last quantity of one item; a fully utilised certificate."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ecoo.customs.store.schema import declaration_lines, declarations, verifications, watched
from ecoo.registry import Registry
from ecoo.signers import unlocked_signer
from tests.support.chain import new_signer, node_rpc, node_w3
from tests.support.customs import CustomsHarness, IssuingChamber, make_customs

IMPORTER = {"name": "Hanbit Motors Co., Ltd.", "identifier": {"scheme": "BRN", "value": "6068112345"}}


def _customs_with_key(
    tmp_path: Path, chamber: IssuingChamber, trust_list: Path, name: str, database_url: str | None = None
) -> CustomsHarness:
    """A customs service whose key the registry's authority granted the customs role (KR)."""
    w3 = node_w3(chamber.node)
    authority = unlocked_signer(w3)  # the deployer is the registry's authority
    key = new_signer(w3, authority)
    Registry(w3, chamber.registry).grant_customs(authority, key.address, "KR")
    (tmp_path / name).mkdir()
    return make_customs(tmp_path / name, chamber, trust_list, database_url, customs_key=bytes(key.account.key))


@pytest.fixture
def port(issuing_chamber: IssuingChamber, trust_list_file: Path, tmp_path: Path) -> Iterator[CustomsHarness]:
    harness = _customs_with_key(tmp_path, issuing_chamber, trust_list_file, "port")
    yield harness
    harness.close()


def _declaration(*lines: dict[str, Any], reference: str = "KR-IMP-2026-000123", **top: Any) -> dict[str, Any]:
    return {
        "reference": reference,
        "importer": IMPORTER,
        "portOfEntry": "KRPUS",
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "lines": list(lines),
    } | top


def _line(line: int = 1, certificate: int | str = 0, item: int = 1, quantity: str = "2000", **changes: Any) -> dict[str, Any]:
    return {
        "line": line,
        "certificate": certificate,
        "item": item,
        "hsCode": "870830",
        "quantity": quantity,
        "unit": "SET",
    } | changes


def _utilised(chamber: IssuingChamber, document: dict[str, Any], item: int = 1) -> tuple[int, int]:
    proof = document["proof"]
    (found,) = Registry(node_w3(chamber.node), chamber.registry).get_utilisation(
        proof["issuer"], bytes.fromhex(proof["leaf"][2:]), [item]
    )
    return found.certified, found.utilised


def test_a_declaration_is_checked_stored_and_recorded_on_chain(port: CustomsHarness, issuing_chamber: IssuingChamber) -> None:
    documents = issuing_chamber.documents[:2]
    leaf = documents[1]["proof"]["leaf"]
    body = _declaration(
        _line(1, 0, quantity="2000", preference="RCEP"),
        _line(2, leaf, item=2, hsCode="400122", quantity="8.4", unit="TNE"),
        _line(3, 0, item=1, quantity="10000.001"),  # 2000 + 10000.001 > 12000
        _line(4, 1, item=1, hsCode="999999"),
        certificates=documents,
    )
    response = port.client.post("/api/v1/declarations", json=body, headers=port.officer)
    assert response.status_code == 201, response.json
    answer = response.json or {}
    assert answer["outcome"] == "partly_accepted" and "records" not in answer
    assert [line["decision"] for line in answer["lines"]] == ["accept", "accept", "reject", "reject"]
    assert [r["code"] for r in answer["lines"][2]["reasons"]] == ["quantity_exceeded"]
    assert [r["code"] for r in answer["lines"][3]["reasons"]] == ["hs_mismatch"]
    assert {line["record"]["kind"] for line in answer["lines"][:2]} == {"utilisation"}
    assert all(line["record"]["state"] == "confirmed" and line["record"]["tx"].startswith("0x") for line in answer["lines"])
    first = answer["certificates"][0]
    assert first["report"]["verdict"] == "VALID" and first["leaf"] == documents[0]["proof"]["leaf"]
    assert first["utilisation"] == [{"item": 1, "certified": "12000", "utilised": "2000", "remaining": "10000", "unit": "SET"}]
    # On chain: the registry holds what the answer says.
    assert _utilised(issuing_chamber, documents[0]) == (12_000_000, 2_000_000)
    assert _utilised(issuing_chamber, documents[1], 2) == (8_400, 8_400)
    events = Registry(node_w3(issuing_chamber.node), issuing_chamber.registry).events(0, "latest")
    names = [e.name for e in events]
    assert names.count("CertificateReceived") == 2 and names.count("CertificateRejected") == 2
    # Stored: the lines, the verification log, the watch list; the answer again by id.
    with port.objects.db.transaction() as conn:
        states = conn.execute(select(declaration_lines.c.record_state)).scalars().all()
        logged = conn.execute(select(verifications.c.declaration_id, verifications.c.source)).all()
        watching = conn.execute(select(watched.c.leaf)).scalars().all()
    assert states == ["confirmed"] * 4
    assert set(logged) == {(answer["id"], "declaration")} and len(logged) == 2
    assert sorted(watching) == sorted(d["proof"]["leaf"] for d in documents)
    again = port.client.get(f"/api/v1/declarations/{answer['id']}", headers=port.officer)
    assert again.status_code == 200 and again.json == answer
    listed = port.client.get("/api/v1/declarations", headers=port.officer).json or {}
    assert [d["reference"] for d in listed["declarations"]] == ["KR-IMP-2026-000123"]


def test_a_fully_utilised_certificate_rejects_a_further_declaration(
    port: CustomsHarness, issuing_chamber: IssuingChamber
) -> None:
    document = issuing_chamber.documents[0]
    full = port.client.post(
        "/api/v1/declarations", json=_declaration(_line(quantity="12000"), certificates=[document]), headers=port.officer
    )
    assert (full.json or {})["outcome"] == "accepted"
    further = port.client.post(
        "/api/v1/declarations",
        json=_declaration(_line(quantity="1"), reference="KR-IMP-2", certificates=[document]),
        headers=port.officer,
    )
    answer = further.json or {}
    assert answer["outcome"] == "rejected"
    (reason,) = answer["lines"][0]["reasons"]
    assert reason["code"] == "quantity_exceeded" and "fully utilised" in reason["message"]
    assert answer["lines"][0]["record"]["kind"] == "rejection"
    assert _utilised(issuing_chamber, document) == (12_000_000, 12_000_000)


def test_multipart_with_a_pdf_and_a_json_file(port: CustomsHarness, issuing_chamber: IssuingChamber) -> None:
    import io
    import json

    pdf = issuing_chamber.pdf(issuing_chamber.ids[0])
    declaration = _declaration(_line(1, 0), _line(2, 1, quantity="1"))
    data = {
        "declaration": json.dumps(declaration),
        "files": [(io.BytesIO(pdf), "co.pdf"), (io.BytesIO(json.dumps(issuing_chamber.documents[1]).encode()), "co.json")],
    }
    response = port.client.post("/api/v1/declarations", data=data, headers=port.officer, content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    assert (response.json or {})["outcome"] == "accepted"


def test_a_hostile_declaration_is_a_400_naming_the_field(port: CustomsHarness, issuing_chamber: IssuingChamber) -> None:
    body = _declaration(_line(quantity="-5"), certificates=issuing_chamber.documents[:1])
    response = port.client.post("/api/v1/declarations", json=body, headers=port.officer)
    assert response.status_code == 400
    refused = response.json or {}
    assert refused["error"] == "invalid_declaration" and refused["details"] == {"field": "/lines/0/quantity"}
    assert refused["message"].startswith("/lines/0/quantity: ")
    assert port.client.post("/api/v1/declarations", json=body).status_code == 401


def test_without_a_customs_key_nothing_is_sent_and_the_answer_says_so(
    customs: CustomsHarness, issuing_chamber: IssuingChamber
) -> None:
    body = _declaration(_line(), certificates=issuing_chamber.documents[:1])
    answer = customs.client.post("/api/v1/declarations", json=body, headers=customs.officer).json or {}
    assert answer["outcome"] == "accepted" and "not_sent" in answer["records"]
    assert answer["lines"][0]["record"] == {"kind": "utilisation", "tx": None, "state": "not_sent"}
    assert _utilised(issuing_chamber, issuing_chamber.documents[0]) == (0, 0)


def test_two_ports_racing_for_the_last_quantity(issuing_chamber: IssuingChamber, trust_list_file: Path, tmp_path: Path) -> None:
    """Both ports check before either records (the node mines nothing until both receipts wait):
    exactly one gets the quantity; the other's line is rejected quantity_exceeded by the chain."""
    ports = [_customs_with_key(tmp_path, issuing_chamber, trust_list_file, name) for name in ("busan", "incheon")]
    document = issuing_chamber.documents[0]
    answers: list[dict[str, Any]] = []
    node = issuing_chamber.node
    node_rpc(node, "evm_setAutomine", False)
    try:

        def declare(harness: CustomsHarness, reference: str) -> None:
            body = _declaration(_line(quantity="8000"), reference=reference, certificates=[document])
            answers.append(harness.client.post("/api/v1/declarations", json=body, headers=harness.officer).json or {})

        threads = [threading.Thread(target=declare, args=(p, f"KR-{i}")) for i, p in enumerate(ports)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while int(node_rpc(node, "txpool_status")["pending"], 16) < 2:  # both receipts: both have checked
            assert time.monotonic() < deadline, "the two declarations did not both reach the chain"
            time.sleep(0.05)
        node_rpc(node, "evm_setAutomine", True)
        node_rpc(node, "evm_mine")
        for thread in threads:
            thread.join(120)
    finally:
        node_rpc(node, "evm_setAutomine", True)
        for harness in ports:
            harness.close()
    assert sorted(a["outcome"] for a in answers) == ["accepted", "rejected"]
    loser = next(a for a in answers if a["outcome"] == "rejected")
    (reason,) = loser["lines"][0]["reasons"]
    assert reason["code"] == "quantity_exceeded" and "another customs office recorded utilisation first" in reason["message"]
    assert loser["lines"][0]["record"]["kind"] == "rejection" and loser["lines"][0]["record"]["state"] == "confirmed"
    assert _utilised(issuing_chamber, document) == (12_000_000, 8_000_000)


def test_declarations_are_stored_on_sqlite_and_postgresql(customs_db: CustomsHarness, issuing_chamber: IssuingChamber) -> None:
    body = _declaration(_line(), _line(2, item=9), certificates=issuing_chamber.documents[:1])
    answer = customs_db.client.post("/api/v1/declarations", json=body, headers=customs_db.officer).json or {}
    assert answer["outcome"] == "partly_accepted"
    assert [r["code"] for r in answer["lines"][1]["reasons"]] == ["no_such_item"]
    assert customs_db.client.get(f"/api/v1/declarations/{answer['id']}", headers=customs_db.officer).json == answer
    with customs_db.objects.db.transaction() as conn:
        assert conn.execute(select(watched.c.leaf)).scalars().all() == [issuing_chamber.documents[0]["proof"]["leaf"]]


def test_a_certificate_of_a_registry_off_the_trust_list_is_rejected_and_nothing_is_recorded_there(
    port: CustomsHarness, issuing_chamber: IssuingChamber
) -> None:
    import copy

    document = copy.deepcopy(issuing_chamber.documents[0])
    document["proof"]["registry"] = "0x000000000000000000000000000000000000dEaD"
    answer = (
        port.client.post("/api/v1/declarations", json=_declaration(_line(), certificates=[document]), headers=port.officer).json
        or {}
    )
    assert answer["outcome"] == "rejected" and answer["lines"][0]["record"] is None
    assert [r["code"] for r in answer["lines"][0]["reasons"]] == ["certificate_not_valid"]
    assert answer["certificates"][0]["report"]["verdict"] != "VALID"


# -- a retried declaration -------------------------------------------------------------------------


@pytest.fixture
def keyed_db(
    issuing_chamber: IssuingChamber, trust_list_file: Path, tmp_path: Path, database_url: str | None
) -> Iterator[CustomsHarness]:
    """:func:`port` on SQLite and on a real PostgreSQL."""
    harness = _customs_with_key(tmp_path, issuing_chamber, trust_list_file, "port", database_url)
    yield harness
    harness.close()


def _utilisations_on_chain(chamber: IssuingChamber) -> list[Any]:
    events = Registry(node_w3(chamber.node), chamber.registry).events(0, "latest")
    return [e for e in events if e.name == "CertificateUtilised"]


def test_a_retried_declaration_answers_the_first_and_records_nothing_again(
    keyed_db: CustomsHarness, issuing_chamber: IssuingChamber
) -> None:
    """A gateway's retry (or a second click) with the same reference and content gets the stored
    answer (200): no second declaration, no second check, nothing sent again. The same reference
    with other content is refused (409)."""
    document = issuing_chamber.documents[0]
    body = _declaration(_line(quantity="2000"), reference="KR-IMP-RETRY-1", certificates=[document])
    first = keyed_db.client.post("/api/v1/declarations", json=body, headers=keyed_db.officer)
    assert first.status_code == 201, first.json
    answer = first.json or {}
    assert answer["outcome"] == "accepted" and answer["lines"][0]["onChain"] == "confirmed"
    nonce = node_w3(issuing_chamber.node).eth.get_transaction_count(keyed_db.objects.signer.address)  # type: ignore[union-attr]
    again = keyed_db.client.post("/api/v1/declarations", json=body, headers=keyed_db.officer)
    assert again.status_code == 200 and again.json == answer
    other = _declaration(_line(quantity="2001"), reference="KR-IMP-RETRY-1", certificates=[document])
    refused = keyed_db.client.post("/api/v1/declarations", json=other, headers=keyed_db.officer)
    assert refused.status_code == 409
    error = refused.json or {}
    assert error["error"] == "reference_conflict" and "KR-IMP-RETRY-1" in error["message"]
    assert error["details"] == {"id": answer["id"]}
    # One declaration, one utilisation: the chain and the store agree, no further transaction.
    assert node_w3(issuing_chamber.node).eth.get_transaction_count(keyed_db.objects.signer.address) == nonce  # type: ignore[union-attr]
    assert _utilised(issuing_chamber, document) == (12_000_000, 2_000_000)
    assert len(_utilisations_on_chain(issuing_chamber)) == 1
    with keyed_db.objects.db.transaction() as conn:
        assert conn.execute(select(declarations.c.id)).scalars().all() == [answer["id"]]
        assert len(conn.execute(select(verifications.c.id)).all()) == 1  # not verified again
        # Watched with the block its verification read: the watcher looks back from there.
        verified = conn.execute(select(watched.c.verified_block)).scalars().all()
    assert verified == [answer["certificates"][0]["report"]["registryView"]["chainBlock"]] and verified[0] > 0


def test_two_identical_declarations_at_once_end_as_one(
    keyed_db: CustomsHarness, issuing_chamber: IssuingChamber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both requests look for the reference before either stores it (held at a barrier once they
    looked): the
    unique constraint decides; the loser answers with the winner's declaration (200)."""
    from ecoo.customs import declarations_http

    barrier = threading.Barrier(2, timeout=60)
    real = declarations_http.present

    def present_together(documents: Any, reports: Any) -> Any:
        barrier.wait()  # after each request's look for the reference, outside any transaction
        return real(documents, reports)

    monkeypatch.setattr(declarations_http, "present", present_together)
    document = issuing_chamber.documents[0]
    body = _declaration(_line(quantity="3000"), reference="KR-IMP-TWICE", certificates=[document])
    responses: list[Any] = []

    def declare() -> None:
        responses.append(keyed_db.new_client().post("/api/v1/declarations", json=body, headers=keyed_db.officer))

    threads = [threading.Thread(target=declare) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert sorted(r.status_code for r in responses) == [200, 201]
    ids = {(r.json or {})["id"] for r in responses}
    assert len(ids) == 1
    with keyed_db.objects.db.transaction() as conn:
        assert conn.execute(select(declarations.c.id)).scalars().all() == list(ids)
    assert _utilised(issuing_chamber, document) == (12_000_000, 3_000_000)
    assert len(_utilisations_on_chain(issuing_chamber)) == 1


# -- a certified quantity the registry holds otherwise ---------------------------------------------


def _another_port_records_first(chamber: IssuingChamber, document: dict[str, Any], certified: int) -> None:
    """Another administration's key records 100 SET of item 1 first, fixing ``certified`` on chain."""
    w3 = node_w3(chamber.node)
    authority = unlocked_signer(w3)
    key = new_signer(w3, authority)
    registry = Registry(w3, chamber.registry)
    registry.grant_customs(authority, key.address, "JP")
    proof = document["proof"]
    registry.record_utilisation(key, proof["issuer"], bytes.fromhex(proof["leaf"][2:]), 1, certified, 100_000, b"\x07" * 32)


def test_a_registry_holding_another_certified_quantity_rejects_the_line(
    port: CustomsHarness, issuing_chamber: IssuingChamber
) -> None:
    """The certificate says 12000 SET; another port's first record fixed 1000: a 500 SET line fits
    both, but the registry would refuse its record, so the check rejects it, naming both figures."""
    document = issuing_chamber.documents[0]
    _another_port_records_first(issuing_chamber, document, 1_000_000)
    body = _declaration(_line(quantity="500"), reference="KR-IMP-MISMATCH", certificates=[document])
    answer = port.client.post("/api/v1/declarations", json=body, headers=port.officer).json or {}
    assert answer["outcome"] == "rejected", answer
    [line] = answer["lines"]
    assert line["decision"] == "reject" and "onChain" not in line
    (reason,) = line["reasons"]
    assert reason["code"] == "certified_quantity_mismatch"
    assert "12000 SET on the certificate" in reason["message"] and "holds 1000 SET" in reason["message"]
    assert line["record"]["kind"] == "rejection" and line["record"]["state"] == "confirmed"
    assert _utilised(issuing_chamber, document) == (1_000_000, 100_000)
    with port.objects.db.transaction() as conn:
        assert conn.execute(select(watched.c.leaf)).scalars().all() == []


def test_a_utilisation_the_registry_refuses_is_never_reported_accepted(
    port: CustomsHarness, issuing_chamber: IssuingChamber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another port fixes another certified quantity after this check and before this record: the
    registry refuses the utilisation (EcooRegistryCertifiedQuantityMismatch); the line becomes a
    rejection recorded as such, the answer says refused, and nothing counts as utilised."""
    from ecoo.customs import declarations_http
    from ecoo.customs.statistics import Period, read_statistics

    document = issuing_chamber.documents[0]
    real = declarations_http.check_lines

    def another_port_between(*args: Any, **kwargs: Any) -> Any:
        decisions = real(*args, **kwargs)
        _another_port_records_first(issuing_chamber, document, 1_000_000)
        return decisions

    monkeypatch.setattr(declarations_http, "check_lines", another_port_between)
    body = _declaration(_line(quantity="500"), reference="KR-IMP-REFUSED", certificates=[document])
    response = port.client.post("/api/v1/declarations", json=body, headers=port.officer)
    answer = response.json or {}
    assert response.status_code == 201 and answer["outcome"] == "rejected", answer
    [line] = answer["lines"]
    assert line["decision"] == "reject" and line["onChain"] == "refused"
    (reason,) = line["reasons"]
    assert reason["code"] == "certified_quantity_mismatch" and "refused the utilisation" in reason["message"]
    assert line["record"]["kind"] == "rejection" and line["record"]["state"] == "confirmed"
    assert port.client.get(f"/api/v1/declarations/{answer['id']}", headers=port.officer).json == answer
    assert _utilised(issuing_chamber, document) == (1_000_000, 100_000)
    today = datetime.now(UTC).date()
    statistics = read_statistics(port.objects.db, Period(today, today))
    assert statistics.utilisation.lines == 0
    with port.objects.db.transaction() as conn:
        assert conn.execute(select(watched.c.leaf)).scalars().all() == []


# -- schema 2 on a database of an earlier version ----------------------------------------------------


def test_schema_2_keeps_the_first_of_each_reference_and_the_look_back_marks(tmp_path: Path, database_url: str | None) -> None:
    """A database of schema 1 (no unique reference, the cursor's look-back mark by id) holding the
    duplicates the old API let in: migration 2 keeps the first of each reference under the unique
    constraint, and counts the watched rows the cursor's mark covered as looked back for."""
    from sqlalchemy import insert, text
    from sqlalchemy.exc import IntegrityError

    from ecoo.customs.store import CustomsDatabase
    from ecoo.customs.store.schema import MIGRATIONS, schema_version, watch_cursors

    db = CustomsDatabase(database_url or f"sqlite:///{tmp_path / 'schema-1.db'}")
    row = {"salt": "0x00", "declaration_hash": "0x00", "declared_on": "2026-12-01", "created_at": 0.0, "actor": "system"}
    try:
        with db.transaction() as conn:  # schema 1 as an earlier version made it
            schema_version.create(conn)
            MIGRATIONS[0](conn)
            conn.execute(schema_version.insert().values(version=1, applied_at=time.time()))
            conn.execute(text("DROP INDEX customs_declarations_reference_once"))
            for table, column in [
                ("customs_declarations", "reference_once"),
                ("customs_declarations", "content_hash"),
                ("customs_watched", "verified_block"),
                ("customs_watched", "looked_back_at"),
            ]:
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
            for reference in ("KR-1", "KR-1", "KR-2"):
                values = row | {"reference": reference, "outcome": "accepted"}
                conn.execute(text(f"INSERT INTO customs_declarations ({', '.join(values)}) VALUES ({', '.join(':' + k for k in values)})"), values)
            for number in (1, 2):
                conn.execute(
                    text(
                        "INSERT INTO customs_watched (id, chain_id, registry, issuer, leaf, certificate_number, accepted_at) "
                        f"VALUES ({number}, 31337, '0xRegistry', '0xIssuer', '0x{number:064x}', 'CO-{number}', 0)"
                    )
                )
            conn.execute(
                insert(watch_cursors).values(
                    chain_id=31337, registry="0xREGISTRY", block_number=9, block_hash="0x09", updated_at=0.0, start_block=1, watched_id=1
                )
            )
        assert db.migrate() == len(MIGRATIONS) == 2
        with db.transaction() as conn:
            kept = conn.execute(select(declarations.c.reference, declarations.c.reference_once).order_by(declarations.c.id)).all()
            marks = conn.execute(select(watched.c.id, watched.c.looked_back_at).order_by(watched.c.id)).all()
        assert [tuple(r) for r in kept] == [("KR-1", "KR-1"), ("KR-1", None), ("KR-2", "KR-2")]
        assert [(r.id, r.looked_back_at is not None) for r in marks] == [(1, True), (2, False)]
        with pytest.raises(IntegrityError), db.transaction() as conn:
            conn.execute(declarations.insert().values(row | {"reference": "KR-2", "reference_once": "KR-2", "outcome": "accepted"}))
        assert db.migrate() == 2  # nothing more to do
    finally:
        db.close()
