"""Scenario 3: the chain stops and restarts (same state file, same port) while certificates arrive,
the worker anchors and status changes are asked for. Whatever the API accepted while the chain was
away is anchored once it is back; a change asked for while it is away is refused (503, nothing
sent) or accepted and then made — never lost, never half-done."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from .harness import World, kill_tree
from .invariant import check_invariant

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_chain_stops_and_restarts_under_load(world: World) -> None:
    service = world.start()
    first = world.create(service, 6)
    world.wait_status(service, first, "ISSUED")
    expected = {cid: "ISSUED" for cid in first}

    stop = threading.Event()
    accepted: list[int] = []
    answers: Counter[int] = Counter()

    def load() -> None:  # one certificate every 50 ms, whatever the chain does
        while not stop.is_set():
            answer = service.call("POST", "/api/v1/certificates", world.certificate())
            answers[answer.status] += 1
            if answer.accepted:
                accepted.append(int(answer.body["id"]))
            time.sleep(0.05)

    thread = threading.Thread(target=load)
    thread.start()
    try:
        changes = iter(
            [
                (first[0], "suspend", {"reason": "enquiry"}, "SUSPENDED"),
                (first[1], "revoke", {"reason": "fraud"}, "REVOKED"),
                (first[2], "revoke", {"reason": "cancelled"}, "CANCELLED"),
                (first[3], "suspend", None, "SUSPENDED"),
            ]
        )
        for _cycle in range(2):
            time.sleep(0.7)  # anchoring in flight
            world.anvil.stop()
            for _ in range(2):  # asked for while the chain is away
                cid, action, body, status = next(changes)
                answer = service.call("POST", f"/api/v1/certificates/{cid}/{action}", body)
                assert answer.status in (200, 202, 503), answer
                if answer.accepted:
                    expected[cid] = status
            time.sleep(1.0)
            world.anvil.start()  # same state file, same port
    finally:
        time.sleep(0.5)
        stop.set()
        thread.join()
    assert accepted and answers[202] == len(accepted), answers
    expected.update({cid: "ISSUED" for cid in accepted})
    world.settle(service)
    report = check_invariant(world, service, expected)
    assert report.certificates == len(first) + len(accepted)


def test_chain_loses_its_last_blocks(world: World) -> None:
    """The node dies without saving (SIGKILL) and comes back from its last state dump: the blocks
    since then — an anchor the follower already recorded among them — are gone, as after a deep
    reorganisation. The service must notice, anchor that batch again and end where the chain is.

    Fails on fcd56e2 (finding 3 of docs/reliability.md): the follower rewinds and the worker sends
    the anchor again, but with the nonce the process tracked (``NonceManager``), one above what the
    chain now expects; the node queues it for ever, the batch stays SENT with a "pending"
    transaction and its certificates PENDING."""
    service = world.start()
    first = world.create(service, 3)
    world.wait_status(service, first, "ISSUED")
    world.anvil.stop()  # a clean stop: the state so far is saved...
    world.anvil.state_interval = 3600  # ...and no dump until the node dies
    world.anvil.start()
    time.sleep(1.0)  # the worker follows the restarted chain
    second = world.create(service, 3)
    world.wait_status(service, second, "ISSUED")
    assert world.anvil.pid is not None
    kill_tree(world.anvil.pid)  # the second anchor was never saved
    world.anvil.stop()
    world.anvil.start()
    world.settle(service, timeout=20)  # a resent anchor is mined at once; 20 s is two receipt timeouts
    report = check_invariant(world, service, dict.fromkeys(first + second, "ISSUED"))
    assert report.anchors == 2


def test_node_restarts_before_an_anchor_is_recorded(world: World) -> None:
    """An anchor is mined, the service dies before its follower records it, and the node restarts
    (from its state file: it keeps no state of the blocks before the restart, as a pruned node keeps
    none of old blocks). The restarted service must still record the anchor: nothing may depend on
    the state at an old block (finding 4 of docs/reliability.md)."""
    service = world.start("follow.before_commit:BatchAnchored", ECOO_BATCH_WINDOW="1")
    ids = world.create(service, 3)
    assert service.wait_dead(30.0) and service.killed_by_fault()
    for _ in range(3):  # the chain moves on: the anchor's block is no longer the head
        world.registry.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    world.anvil.stop()
    world.anvil.start()
    service = world.start()
    world.settle(service, timeout=20)
    report = check_invariant(world, service, dict.fromkeys(ids, "ISSUED"))
    assert report.anchors == 1
