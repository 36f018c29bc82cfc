"""Scenario 1: ``kill -9`` of a real service process at each step of anchoring and of every status
change — before sending, after sending (the hash stored, the receipt not awaited), and after the
receipt before the follower's database commit — then a restart on the same database and chain.

The process kills itself with SIGKILL at the step named by ``ECOO_FAULT_AT`` (``ecoo.service.faults``),
so the step is exact. A request the dying process was serving gets no answer; its change was
stored as an intent before anything was sent, so the restarted service must complete it.
"""

from __future__ import annotations

from typing import Any

import pytest

from .harness import ServiceProcess, World
from .invariant import check_invariant

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

#: How long a fault point may take to be reached once the work that reaches it is asked for.
DEATH_TIMEOUT = 30.0

ANCHOR_FAULTS = ["anchor.before_send", "anchor.after_send", "follow.before_commit:BatchAnchored"]

#: Per fault point, the detail that names each status change (the intent's kind, or the event).
CHANGE_FAULTS = {
    "intent.before_send": {"suspend": "SUSPEND", "lift": "LIFT", "revoke": "REVOKE", "supersede": "SUPERSEDE"},
    "intent.after_send": {"suspend": "SUSPEND", "lift": "LIFT", "revoke": "REVOKE", "supersede": "SUPERSEDE"},
    "follow.before_commit": {
        "suspend": "CertificateSuspended",
        "lift": "CertificateSuspensionLifted",
        "revoke": "CertificateRevoked",
        "supersede": "CertificateSuperseded",
    },
}


def died_at_fault(service: ServiceProcess) -> None:
    assert service.wait_dead(DEATH_TIMEOUT), f"fault {service.fault} never reached:\n{service.log.read_text()[-3000:]}"
    assert service.killed_by_fault(), f"the service died, but not at {service.fault}:\n{service.log.read_text()[-3000:]}"


@pytest.mark.parametrize("fault", ANCHOR_FAULTS)
def test_kill_while_anchoring(world: World, fault: str) -> None:
    # A batch window of 1 s: the 202 is surely out before the worker forms the batch and dies.
    service = world.start(fault, ECOO_BATCH_WINDOW="1")
    ids = world.create(service, 3)
    died_at_fault(service)
    service = world.start()  # same database, same chain
    world.settle(service)
    report = check_invariant(world, service, {cid: "ISSUED" for cid in ids})
    assert report.anchors == 1


def amended(service: ServiceProcess, certificate_id: int) -> dict[str, Any]:
    answer = service.call("GET", f"/api/v1/certificates/{certificate_id}")
    assert answer.status == 200, answer
    certificate = dict(answer.body["certificate"])
    certificate["certificateNumber"] += "-A"  # an amendment carries a number of its own
    certificate["consignee"] = {**certificate["consignee"], "address": "12 Corrected Street, Amended City"}
    return certificate


@pytest.mark.parametrize("point", list(CHANGE_FAULTS))
def test_kill_during_status_changes(world: World, point: str) -> None:
    details = CHANGE_FAULTS[point]
    service = world.start(f"{point}:{details['suspend']}")
    a, b, c, d = world.create(service, 4)
    world.wait_status(service, [a, b, c, d], "ISSUED")
    changes: list[tuple[str, str, Any, dict[int, str]]] = [
        ("suspend", f"/api/v1/certificates/{a}/suspend", {"reason": "enquiry"}, {a: "SUSPENDED"}),
        ("lift", f"/api/v1/certificates/{a}/lift", None, {a: "ISSUED"}),
        ("revoke", f"/api/v1/certificates/{b}/revoke", {"reason": "fraud"}, {b: "REVOKED"}),
        ("supersede", f"/api/v1/certificates/{c}/supersede", None, {c: "SUPERSEDED"}),
    ]
    expected = {d: "ISSUED"}
    for index, (name, path, body, outcome) in enumerate(changes):
        if name == "supersede":
            body = {"certificate": amended(service, c), "reason": "consignee address corrected"}
        answer = service.call("POST", path, body)  # no answer, as a rule: the process dies serving it
        assert answer.status in (0, 200, 202), answer
        died_at_fault(service)
        following = changes[index + 1][0] if index + 1 < len(changes) else None
        service = world.start(f"{point}:{details[following]}" if following else None)
        # The change was stored as an intent before anything was sent: the restarted service completes it.
        for cid, status in outcome.items():
            world.wait_status(service, [cid], status)
        expected.update(outcome)
    world.settle(service)
    report = check_invariant(world, service, expected)
    assert report.statuses == {"ISSUED": 3, "REVOKED": 1, "SUPERSEDED": 1}  # a, d, the replacement; b; c
