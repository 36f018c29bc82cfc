"""Scenario 5: the cancel race of issue 9, finding 1 — a cancelled certificate must never verify
VALID. Cancelling a PENDING certificate is atomic with batch formation: either no batch has taken
it (it is CANCELLED and never anchored), or a batch has (the cancel becomes an on-chain revoke with
reason Cancelled once the batch is anchored)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest

from ecoo.errors import EcooError
from ecoo.merkle import MerkleTree
from ecoo.registry import RevocationReason
from ecoo.service.status import IntentKind, IntentState

from .harness import World
from .invariant import check_invariant

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

ROUNDS = 8


@pytest.mark.parametrize("batched", [False, True], ids=["cancelled-unbatched", "cancelled-in-a-batch"])
def test_a_certificate_cancelled_while_the_chain_is_away_never_verifies_valid(world: World, batched: bool) -> None:
    """The finding's steps: stop the chain; POST a certificate (PENDING); the worker passes; revoke
    it as cancelled; restart the chain. The worker no longer forms a batch while it cannot follow
    the chain, so ``batched`` forms one through the store, as a worker that lost the chain right
    after forming it would have left it."""
    service = world.start()
    world.anvil.stop()
    (cid,) = world.create(service, 1)
    time.sleep(1.0)  # worker passes while the chain is away
    if batched:
        store = world.store()
        try:
            row = store.get_certificate(cid)
            assert row is not None and row.batch_id is None
            root = "0x" + MerkleTree.build([row.leaf_bytes]).root.hex()
            store.create_batch(world.chamber_id, row.key_id, root, [cid])
        finally:
            store.close()
    answer = service.call("POST", f"/api/v1/certificates/{cid}/revoke", {"reason": "cancelled"})
    assert answer.accepted, answer
    if batched:
        assert answer.status == 202 and answer.body["intent"]["kind"] == "REVOKE", answer  # after the anchor
    else:
        assert (answer.status, answer.body["status"]) == (200, "CANCELLED"), answer
    world.anvil.start()
    world.settle(service)
    report = check_invariant(world, service, {cid: "CANCELLED"})  # the chain and public verify say CANCELLED too
    assert report.anchors == (1 if batched else 0)
    again = service.call("POST", f"/api/v1/certificates/{cid}/revoke", {"reason": "cancelled"})
    assert again.status == 409, again  # final


def test_cancel_races_batch_formation(world: World) -> None:
    """Many times: a cancel (the API's stale read, then ``Issuance.revoke``) and a worker pass that
    forms and anchors a batch, at the same moment. Every certificate ends CANCELLED: either in no
    batch and never anchored, or in an anchored batch with a revoke (Cancelled) intent done and
    the chain saying CANCELLED; never anchored and left valid."""
    service = world.in_process()
    objects = service.objects
    chamber = objects.store.chamber(world.chamber_id)
    rng = random.Random(9)
    ids: list[int] = []
    for _ in range(ROUNDS):
        batch = world.create(service, 3)
        ids += batch
        start = threading.Barrier(2, timeout=10)
        errors: list[BaseException] = []

        def cancel(batch: list[int] = batch, start: threading.Barrier = start) -> None:
            start.wait()
            for cid in rng.sample(batch, len(batch)):
                row = objects.store.get_certificate(cid)  # the handler's read: stale by the time it acts
                time.sleep(rng.uniform(0, 0.01))
                objects.issuance.revoke(chamber, row, "cancelled", "race")

        def form(start: threading.Barrier = start) -> None:
            start.wait()
            time.sleep(rng.uniform(0, 0.01))
            try:
                objects.worker.run_once(force=True)
            except EcooError:
                pass  # a batch that lost a certificate to the cancel is formed again next pass

        threads = [threading.Thread(target=_run, args=(job, errors)) for job in (cancel, form)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
    service.passes(4)
    outcomes: Counter[str] = Counter()
    for cid in ids:
        row = objects.store.get_certificate(cid)
        assert row.status == "CANCELLED", (cid, row.status)
        if row.batch_id is None:
            assert row.document is None
            outcomes["cancelled before any batch"] += 1
        else:
            intent = objects.store.intent_repository.latest_for(cid)
            assert intent is not None and intent.kind == IntentKind.REVOKE, (cid, intent)
            assert intent.revocation_reason == RevocationReason.CANCELLED and intent.state == IntentState.DONE, intent
            outcomes["in a batch, revoked as Cancelled"] += 1
    report = check_invariant(world, service, dict.fromkeys(ids, "CANCELLED"))
    print(f"cancel race: {dict(outcomes)}; {report}")


def _run(job: object, errors: list[BaseException]) -> None:
    try:
        job()  # type: ignore[operator]
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)
