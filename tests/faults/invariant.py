"""THE INVARIANT of the fault suite, checked against the chain after every scenario:

1. every certificate's API status equals what the chain says: its issued document verified on
   the registry (``verify_certificates``) and by the public ``POST /api/v1/verify`` — VALID and
   ISSUED, SUSPENDED, REVOKED, CANCELLED and SUPERSEDED alike; a certificate with no document must
   be CANCELLED (cancelled before any batch took it) and its leaf in no anchored batch;
2. no root is anchored twice (``BatchAnchored`` events counted per root with ``eth_getLogs``),
   every anchored root is a batch of the database whose certificates make exactly that root, and
   every certificate with a document is in exactly one anchored batch;
3. no request the API accepted is lost (``expected``: certificate id -> the status the accepted
   requests lead to);
4. nothing stays PENDING, no intent stays in flight, and health counts no divergence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ecoo.merkle import MerkleTree
from ecoo.registry import CertificateQuery, CertificateState, CertificateStatus, RevocationReason
from ecoo.registry.events import read_events

from .harness import Client, World

#: The public verdict that means each API status.
VERDICT = {
    "ISSUED": "VALID",
    "SUSPENDED": "SUSPENDED",
    "REVOKED": "REVOKED",
    "CANCELLED": "CANCELLED",
    "SUPERSEDED": "SUPERSEDED",
}


def chain_status(state: CertificateState) -> str:
    """The API status the registry's answer means."""
    if not state.anchored or not state.proof_valid:
        return "NOT_ANCHORED"
    if state.status == CertificateStatus.ACTIVE:
        return "ISSUED"
    if state.status == CertificateStatus.SUSPENDED:
        return "SUSPENDED"
    return {RevocationReason.CANCELLED: "CANCELLED", RevocationReason.SUPERSEDED: "SUPERSEDED"}.get(state.reason, "REVOKED")


@dataclass
class Report:
    certificates: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    anchors: int = 0
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.certificates} certificates {dict(self.statuses)}, {self.anchors} anchors"


def check_invariant(world: World, service: Client, expected: dict[int, str] | None = None) -> Report:
    """Check the invariant through ``service`` (a live service of ``world``); raises AssertionError
    listing every problem found."""
    report = Report()
    problems = report.problems
    api = world.certificates(service)
    store = world.store()
    try:
        rows = {cid: store.get_certificate(cid) for cid in api}
        # 2. anchors on chain: once per root, each a batch of ours making exactly that root
        head = world.registry.w3.eth.block_number
        anchors = Counter(
            (e.issuer.lower(), e.subject.lower())
            for e in read_events(world.registry.w3, world.registry.address, 0, head)
            if e.name == "BatchAnchored"
        )
        report.anchors = len(anchors)
        anchored_leaves: Counter[str] = Counter()
        for (issuer, root), count in anchors.items():
            if count != 1:
                problems.append(f"root {root} anchored {count} times")
            batch = store.batch_repository.by_root(issuer, root)
            if batch is None:
                problems.append(f"root {root} is anchored on chain but is no batch of the database")
                continue
            leaves = [r.leaf for r in store.batch_certificates(batch.id)]
            if "0x" + MerkleTree.build([bytes.fromhex(leaf[2:]) for leaf in leaves]).root.hex() != root:
                problems.append(f"batch {batch.id}: its certificates do not make its anchored root {root}")
            anchored_leaves.update(leaf.lower() for leaf in leaves)
        # 1. each certificate: the API's status is the chain's
        documents: dict[int, dict[str, Any]] = {}
        for cid, shown in api.items():
            report.certificates += 1
            report.statuses[shown["status"]] += 1
            row = rows[cid]
            assert row is not None
            if shown["status"] == "PENDING":
                problems.append(f"certificate {cid} is still PENDING")
            if shown["intent"] is not None:
                problems.append(f"certificate {cid} still has an intent in flight: {shown['intent']}")
            answer = service.call("GET", f"/api/v1/certificates/{cid}/document")
            if answer.status == 200:
                documents[cid] = answer.body
                if anchored_leaves[row.leaf.lower()] != 1:
                    problems.append(f"certificate {cid} is in {anchored_leaves[row.leaf.lower()]} anchored batches, not 1")
            else:
                if shown["status"] != "CANCELLED":
                    problems.append(f"certificate {cid} is {shown['status']} but has no issued document ({answer.status})")
                if anchored_leaves[row.leaf.lower()]:
                    problems.append(f"certificate {cid} has no document but its leaf is in an anchored batch")
                if row.batch_id is not None:
                    batch = store.batch_repository.get(row.batch_id)
                    assert batch is not None
                    if world.registry.get_anchor(store.key(batch.key_id).address, batch.root_bytes) is not None:
                        problems.append(f"certificate {cid} has no document but its batch {batch.id} is anchored")
        ids = sorted(documents)
        queries = [
            CertificateQuery(
                issuer=documents[cid]["proof"]["issuer"],
                root=bytes.fromhex(documents[cid]["proof"]["root"][2:]),
                leaf=bytes.fromhex(rows[cid].leaf[2:]),  # type: ignore[union-attr]
                proof=tuple(bytes.fromhex(p[2:]) for p in documents[cid]["proof"]["merklePath"]),
            )
            for cid in ids
        ]
        states = world.registry.verify_certificates(queries)
        for cid, state in zip(ids, states, strict=True):
            shown = api[cid]["status"]
            on_chain = chain_status(state)
            if on_chain != shown:
                problems.append(f"certificate {cid}: the API says {shown}, the registry says {on_chain}")
            verdict = service.call("POST", "/api/v1/verify", documents[cid], auth=False)
            if verdict.status != 200 or verdict.body.get("verdict") != VERDICT.get(shown):
                got = verdict.body.get("verdict") if isinstance(verdict.body, dict) else verdict.body
                problems.append(f"certificate {cid}: the API says {shown}, public verify says {got} ({verdict.status})")
        # 3. accepted requests
        for cid, status in (expected or {}).items():
            if cid not in api:
                problems.append(f"certificate {cid}, accepted by the API, is gone")
            elif api[cid]["status"] != status:
                problems.append(f"certificate {cid}: accepted requests lead to {status}, the API says {api[cid]['status']}")
        # 4. health
        health = service.call("GET", "/api/v1/health", auth=False)
        projection = health.body["projection"] if health.status == 200 else {}
        if projection.get("intentsInFlight") != 0 or projection.get("divergent") != 0:
            problems.append(f"health: {health.body}")
    finally:
        store.close()
    assert not problems, "THE INVARIANT does not hold:\n  " + "\n  ".join(problems)
    return report
