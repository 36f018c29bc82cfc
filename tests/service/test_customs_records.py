"""The chamber sees what customs recorded against its certificates: a customs key the authority
granted records receipt, utilisation of item 1 and a rejection on a real Anvil; after the chain
follower's pass the issuer API shows them (quantities in the item's unit), on SQLite and on a real
PostgreSQL; a reorganisation that removes a record removes it from the projection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from web3.exceptions import TransactionNotFound

from ecoo.anvil import ManagedAnvil
from ecoo.documents import hex_bytes
from ecoo.examples import example_certificate
from ecoo.registry import Registry
from ecoo.service.store.customs_records import CertificateCustoms, CustomsRecordRow
from ecoo.service.store.schema import customs_records
from ecoo.service.views import customs_summary, rejection_reason
from ecoo.signers import LocalSigner, unlocked_signer
from ecoo.utilisation import RejectionCode, declaration_hash, new_salt, to_units
from tests.service.test_openapi import Contract, served_document
from tests.support.chain import new_signer, node_rpc, node_w3
from tests.support.service import ServiceHarness, made_service


class Recorded:
    """An issued certificate of the service (item 1: 12,000 SET) and a customs key recording against it."""

    def __init__(self, service: ServiceHarness, node: ManagedAnvil, number: str = "CUSTOMS-1") -> None:
        self.service = service
        co = service.certificate(number)
        co["items"][0]["quantity"] = {"value": "12000", "unit": "SET"}
        self.id = service.create(co)["id"]
        assert service.anchor() == 1
        self.document = service.client.get(f"/api/v1/certificates/{self.id}/document", headers=service.auth).json
        self.issuer = self.document["proof"]["issuer"]
        self.leaf = hex_bytes(self.document["proof"]["leaf"], 32)
        self.registry: Registry = service.app.extensions["ecoo"].chain.registry()
        w3 = node_w3(node)
        authority = unlocked_signer(w3)  # the harness deploys with the node's account: admin and authority
        self.customs: LocalSigner = new_signer(w3, authority)
        self.registry.grant_customs(authority, self.customs.address, "JP")
        self.declaration = declaration_hash("JP-IMP-2026-000123", new_salt())

    def receipt(self) -> Any:
        return self.registry.record_receipt(self.customs, self.issuer, self.leaf, self.declaration)

    def utilise(self, quantity: str, item: int = 1, certified: str = "12000") -> Any:
        return self.registry.record_utilisation(
            self.customs, self.issuer, self.leaf, item, to_units(certified), to_units(quantity), self.declaration
        )

    def reject(self, code: RejectionCode) -> Any:
        return self.registry.record_rejection(self.customs, self.issuer, self.leaf, int(code), self.declaration)

    def follow(self) -> Any:
        return self.service.app.extensions["ecoo"].follower.run_once(force=True)

    def customs_view(self) -> dict[str, Any]:
        """The certificate's ``customs`` in the issuer API, the response checked against the OpenAPI document."""
        url = f"/api/v1/certificates/{self.id}"
        detail = self.service.client.get(url, headers=self.service.auth)
        assert detail.status_code == 200, detail.json
        Contract(served_document(self.service.client)).check("GET", url, detail)
        return dict(detail.json["customs"])


def test_receipt_utilisation_and_rejection_reach_the_issuer_api(
    tmp_path: Path, own_chain: ManagedAnvil, database_url: str | None, made: list[ServiceHarness]
) -> None:
    service = made_service(made, tmp_path, own_chain, database_url)
    recorded = Recorded(service, own_chain)
    assert recorded.customs_view() == {"receipts": [], "utilisation": [], "rejections": []}

    receipt = recorded.receipt()
    utilised = recorded.utilise("8000")
    rejected = recorded.reject(RejectionCode.QUANTITY_EXCEEDED)
    assert recorded.customs_view()["receipts"] == []  # nothing until the follower has read the blocks
    assert recorded.follow().customs == 3

    view = recorded.customs_view()
    customs, declaration = recorded.customs.address.lower(), "0x" + recorded.declaration.hex()
    (got_receipt,) = view["receipts"]
    assert got_receipt["customs"] == customs and got_receipt["declarationHash"] == declaration
    assert got_receipt["block"] == receipt.block_number and got_receipt["tx"] == receipt.tx_hash
    assert got_receipt["at"].endswith("Z")
    assert view["utilisation"] == [{"item": 1, "certified": "12000", "utilised": "8000", "remaining": "4000", "unit": "SET"}]
    (got_rejection,) = view["rejections"]
    assert got_rejection["code"] == 4 and got_rejection["reason"] == "quantity_exceeded"
    assert got_rejection["tx"] == rejected.tx_hash and got_rejection["block"] == rejected.block_number
    assert got_rejection["customs"] == customs and got_rejection["declarationHash"] == declaration
    assert utilised.block_number < rejected.block_number

    # The service's public verification reports the same utilisation, beside the verdict.
    verified = service.client.post("/api/v1/verify", json=recorded.document)
    Contract(served_document(service.client)).check("POST", "/api/v1/verify", verified)
    assert verified.json["verdict"] == "VALID" and verified.json["fullyUtilised"] is False
    assert verified.json["utilisation"] == view["utilisation"]

    # The next pass finds nothing new and stores nothing twice.
    recorded.utilise("1000")
    assert recorded.follow().customs == 1
    assert recorded.customs_view()["utilisation"][0]["utilised"] == "9000"
    assert service.app.extensions["ecoo"].store.customs_records.count() == 4
    # The list shows no customs records (the detail does); another certificate has none.
    other = service.create(service.certificate("CUSTOMS-OTHER"))
    service.anchor()
    assert service.client.get(f"/api/v1/certificates/{other['id']}", headers=service.auth).json["customs"]["receipts"] == []


def test_a_reorganisation_that_removes_a_utilisation_removes_it_from_the_projection(
    tmp_path: Path, own_chain: ManagedAnvil, database_url: str | None, made: list[ServiceHarness]
) -> None:
    service = made_service(made, tmp_path, own_chain, database_url)
    recorded = Recorded(service, own_chain, "CUSTOMS-REORG")
    recorded.receipt()
    recorded.utilise("8000")
    recorded.follow()
    later = recorded.utilise("2500")  # the newest block holds only this record
    assert recorded.follow().customs == 1
    assert recorded.customs_view()["utilisation"][0]["utilised"] == "10500"

    node_rpc(own_chain, "anvil_reorg", 1, [])  # the last block replaced: the second utilisation is gone
    with pytest.raises(TransactionNotFound):
        node_w3(own_chain).eth.get_transaction_receipt(later.tx_hash)
    follow = recorded.follow()
    assert follow.rewound >= 1
    view = recorded.customs_view()
    assert view["utilisation"] == [{"item": 1, "certified": "12000", "utilised": "8000", "remaining": "4000", "unit": "SET"}]
    assert len(view["receipts"]) == 1
    store = service.app.extensions["ecoo"].store
    with store.transaction() as conn:
        hashes = set(conn.execute(select(customs_records.c.tx_hash)).scalars())
    assert later.tx_hash not in hashes and len(hashes) == 2
    # The registry agrees: what the chain holds now is what the chamber sees.
    (item,) = recorded.registry.get_utilisation(recorded.issuer, recorded.leaf, [1])
    assert (item.certified, item.utilised) == (to_units("12000"), to_units("8000"))


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ((), ""),
        ((("received", None, None, None, None),), "received"),
        (
            (
                ("received", None, None, None, None),
                ("utilised", 1, 8_000_000, 12_000_000, None),
                ("rejected", None, None, None, 4),
            ),
            "received · 8,000 / 12,000 SET utilised · 1 rejection",
        ),
        (
            (("utilised", 1, 500, 1_000_500, None), ("utilised", 2, 900_000, 900_000, None), ("rejected", None, None, None, 9)),
            "item 1: 0.5 / 1,000.5 SET utilised · item 2: 900 / 900 PCE utilised · 1 rejection",
        ),
        ((("rejected", None, None, None, 4), ("rejected", None, None, None, 60000)), "2 rejections"),
    ],
)
def test_the_dashboard_line_of_a_certificate(records: tuple[Any, ...], expected: str) -> None:
    data = example_certificate("RCEP")
    data["items"][0]["quantity"] = {"value": "12000", "unit": "SET"}
    data["items"][1]["quantity"] = {"value": "900", "unit": "PCE"}
    rows = tuple(
        CustomsRecordRow(
            kind, "0xissuer", "0xleaf", "0xcustoms", "0x00", n, "0xtx", 0, None, item, None, utilised, certified, code
        )
        for n, (kind, item, utilised, certified, code) in enumerate(records)
    )
    assert customs_summary(data, CertificateCustoms(rows)) == expected
    assert rejection_reason(4) == "quantity_exceeded" and rejection_reason(60000) is None


def test_the_documented_rejection_reasons_are_the_codes() -> None:
    from ecoo.service.api_docs import openapi_document

    reasons = openapi_document()["components"]["schemas"]["CustomsRejection"]["properties"]["reason"]["enum"]
    assert reasons == [code.code for code in RejectionCode] + [None]
