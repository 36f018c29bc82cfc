"""The invariant checker is not vacuous: each kind of divergence the suite looks for, made by
hand, is reported."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from ecoo.merkle import MerkleTree
from ecoo.service.store.schema import certificates

from .harness import World
from .invariant import check_invariant

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_the_checker_reports_every_kind_of_divergence(world: World) -> None:
    service = world.in_process()
    issued = world.create(service, 2)
    service.passes(1)
    check_invariant(world, service, dict.fromkeys(issued, "ISSUED"))
    store = service.objects.store

    def diverges(expected: dict[int, str], needle: str) -> None:
        with pytest.raises(AssertionError, match=needle):
            check_invariant(world, service, expected)

    # the database says REVOKED, the chain ISSUED (and public verify VALID)
    with store.transaction() as conn:
        conn.execute(update(certificates).where(certificates.c.id == issued[0]).values(status="REVOKED"))
    diverges({}, "the registry says ISSUED")
    diverges({}, "public verify says VALID")
    with store.transaction() as conn:
        conn.execute(update(certificates).where(certificates.c.id == issued[0]).values(status="ISSUED"))
    # an accepted request whose outcome is not there
    diverges({issued[1]: "SUSPENDED"}, "accepted requests lead to SUSPENDED")
    # a certificate left PENDING
    (pending,) = world.create(service, 1)
    diverges({}, f"certificate {pending} is still PENDING")
    # a cancelled certificate whose leaf the chain anchors anyway (finding 1)
    assert service.call("POST", f"/api/v1/certificates/{pending}/revoke", {"reason": "cancelled"}).status == 200
    check_invariant(world, service, {pending: "CANCELLED"})
    row = store.get_certificate(pending)
    key = store.key(row.key_id)
    signer = service.objects.vault.signer(key.ciphertext, key.chamber_id)
    world.registry.anchor(signer, MerkleTree.build([row.leaf_bytes]).root)
    diverges({}, "is anchored on chain but is no batch of the database")
