"""The watch list on real Anvil nodes: every trust-changing event of a watched certificate becomes
one alert, from confirmed blocks only, across restarts, reorganisations and a chain going down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ecoo.anvil import ManagedAnvil, free_port
from ecoo.customs.alert_repository import AlertRepository
from ecoo.customs.store import CustomsDatabase
from ecoo.customs.store.schema import alerts
from ecoo.customs.watch import Watcher
from ecoo.registry import RevocationReason
from tests.customs.alerts_support import Chamber, Entries, WatchWorld, chamber_on, customs_database, new_leaf
from tests.support.chain import node_rpc


@pytest.fixture
def chamber(own_chain: ManagedAnvil) -> Chamber:
    return chamber_on(own_chain)


@pytest.fixture
def world(tmp_path: Path, chamber: Chamber, database_url: str | None) -> Iterator[WatchWorld]:
    db = customs_database(tmp_path, database_url)
    entries = Entries()
    entries.add(chamber.entry())
    made = WatchWorld(db, entries)
    yield made
    made.db.close()  # the test may have replaced it (a restart)


def kinds(db: CustomsDatabase) -> list[tuple[str, str | None]]:
    return [(a.kind, a.certificate_number) for a in AlertRepository(db).alerts_after(0, 1000)]


def test_a_revocation_for_fraud_after_clearance_alerts_once_and_survives_a_restart(
    tmp_path: Path, chamber: Chamber, world: WatchWorld
) -> None:
    leaf, other = new_leaf(), new_leaf()
    first = world.watch(chamber, leaf)
    second = world.watch(chamber, other)
    watcher = world.watcher(confirmations=2)
    assert [r.alerts for r in watcher.run_once()] == [[]]

    chamber.registry.revoke(chamber.issuer, leaf, RevocationReason.FRAUD)
    assert watcher.run_once()[0].alerts == []  # one confirmation of two: not yet
    chamber.mine()
    assert len(watcher.run_once()[0].alerts) == 1  # within a block of being confirmed
    assert kinds(world.db) == [("revoked_fraud", first)]
    chamber.mine(3)
    assert watcher.run_once()[0].alerts == []  # once

    # The service stops; meanwhile the chamber suspends the other certificate; a new process
    # starts on the same database and neither misses that nor repeats the first.
    world.db.close()
    chamber.registry.suspend_certificate(chamber.issuer, other)
    chamber.mine(2)
    world.db = CustomsDatabase(world.db.url)
    restarted = world.watcher(confirmations=2)
    assert len(restarted.run_once()[0].alerts) == 1
    assert restarted.run_once()[0].alerts == []
    assert kinds(world.db) == [("revoked_fraud", first), ("suspended", second)]
    alert = AlertRepository(world.db).alerts_after(0, 1)[0]
    assert alert.leaf == "0x" + leaf.hex() and alert.issuer == chamber.issuer.address
    assert alert.detail == {"event": "CertificateRevoked", "reason": "fraud"}


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (RevocationReason.FRAUD, "revoked_fraud"),
        (RevocationReason.ERROR, "revoked_error"),
        (RevocationReason.CANCELLED, "cancelled"),
    ],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_revocation_reason_has_its_kind(reason: RevocationReason, kind: str, chamber: Chamber, world: WatchWorld) -> None:
    leaf = new_leaf()
    world.watch(chamber, leaf)
    watcher = world.watcher()
    watcher.run_once()
    chamber.registry.revoke(chamber.issuer, leaf, reason)
    watcher.run_once()
    assert [k for k, _ in kinds(world.db)] == [kind]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_supersession_names_the_successor_and_unwatched_certificates_are_ignored(chamber: Chamber, world: WatchWorld) -> None:
    leaf, successor, unwatched = new_leaf(), new_leaf(), new_leaf()
    world.watch(chamber, leaf)
    watcher = world.watcher()
    watcher.run_once()
    chamber.registry.revoke(chamber.issuer, unwatched, RevocationReason.FRAUD)
    chamber.registry.supersede(chamber.issuer, leaf, successor)
    watcher.run_once()
    [alert] = AlertRepository(world.db).alerts_after(0, 10)
    assert alert.kind == "superseded" and alert.detail["successor"] == "0x" + successor.hex()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_same_leaf_of_another_issuer_is_not_the_watched_certificate(chamber: Chamber, world: WatchWorld) -> None:
    leaf = new_leaf()
    world.watch(chamber, leaf)
    stranger = chamber.new_key()
    chamber.registry.accredit_issuer(chamber.authority, stranger.address, name="Other", country="VN", accreditation_code="X-1")
    watcher = world.watcher()
    watcher.run_once()
    chamber.registry.revoke(stranger, leaf, RevocationReason.FRAUD)  # on chain a status is (issuer, leaf)'s
    watcher.run_once()
    assert kinds(world.db) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_reorganisation_that_removes_a_revocation_before_it_is_confirmed_never_alerts(
    chamber: Chamber, world: WatchWorld
) -> None:
    leaf = new_leaf()
    world.watch(chamber, leaf)
    watcher = world.watcher(confirmations=3)
    watcher.run_once()
    chamber.registry.revoke(chamber.issuer, leaf, RevocationReason.FRAUD)
    chamber.mine()  # two confirmations of three
    assert watcher.run_once()[0].alerts == []
    node_rpc(chamber.node, "anvil_reorg", 2, [])  # the revocation's block is replaced
    chamber.mine(5)
    watcher.run_once()
    assert kinds(world.db) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_cursor_whose_block_was_reorganised_away_is_rewound_and_nothing_is_alerted_twice(
    chamber: Chamber, world: WatchWorld
) -> None:
    leaf, later = new_leaf(), new_leaf()
    world.watch(chamber, leaf)
    world.watch(chamber, later)
    watcher = world.watcher(confirmations=1)
    watcher.run_once()
    chamber.registry.revoke(chamber.issuer, leaf, RevocationReason.ERROR)
    chamber.mine(3)
    assert len(watcher.run_once()[0].alerts) == 1
    node_rpc(chamber.node, "anvil_reorg", 2, [])  # the cursor's block is replaced (the revocation is deeper)
    chamber.registry.suspend_certificate(chamber.issuer, later)
    [result] = watcher.run_once()
    assert result.rewound and len(result.alerts) == 1
    assert [k for k, _ in kinds(world.db)] == ["revoked_error", "suspended"]
    cursor = AlertRepository(world.db).cursor(chamber.chain_id, chamber.registry.address)
    assert cursor is not None and cursor.block_hash == chamber.registry.head()[1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_certificate_watched_after_the_cursor_passed_its_revocation_still_alerts(chamber: Chamber, world: WatchWorld) -> None:
    world.watch(chamber, new_leaf())
    watcher = world.watcher()
    watcher.run_once()
    late = new_leaf()
    chamber.registry.revoke(chamber.issuer, late, RevocationReason.FRAUD)  # between its check and its acceptance
    chamber.mine(2)
    assert watcher.run_once()[0].alerts == []  # not watched yet: the cursor goes past
    number = world.watch(chamber, late)
    assert len(watcher.run_once()[0].alerts) == 1
    assert watcher.run_once()[0].alerts == []
    assert kinds(world.db) == [("revoked_fraud", number)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_revocation_after_the_verification_alerts_however_long_the_records_took(chamber: Chamber, world: WatchWorld) -> None:
    """The certificate is verified at block B; it is revoked while the declaration's records are
    still being sent (long: well over the look-back's 120 s) and the watcher's cursor goes past
    the revocation before the certificate is watched. Its row holds B: exactly one alert."""
    world.watch(chamber, new_leaf())
    watcher = world.watcher()
    watcher.run_once()
    leaf = new_leaf()
    verified_block = chamber.registry.head()[0]  # what the verification read
    chamber.mine()
    chamber.registry.revoke(chamber.issuer, leaf, RevocationReason.FRAUD)
    node_rpc(chamber.node, "evm_increaseTime", 900)  # the records take a quarter of an hour
    chamber.mine(2)
    assert watcher.run_once()[0].alerts == []  # not watched yet: the cursor goes past the revocation
    accepted = chamber.registry.w3.eth.get_block("latest")["timestamp"]
    number = world.watch(chamber, leaf, accepted_at=accepted, verified_block=verified_block)
    assert len(watcher.run_once()[0].alerts) == 1
    assert watcher.run_once()[0].alerts == []
    assert kinds(world.db) == [("revoked_fraud", number)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_certificate_verified_before_watching_began_is_looked_back_for_from_its_verification(
    chamber: Chamber, world: WatchWorld
) -> None:
    """B is verified, then revoked; A is verified and watched, and the registry's watching begins
    after A's verification; B is watched only then (its records were slow): one alert for B."""
    leaf = new_leaf()
    verified_b = chamber.registry.head()[0]
    chamber.registry.revoke(chamber.issuer, leaf, RevocationReason.CANCELLED)
    chamber.mine(2)
    world.watch(chamber, new_leaf(), verified_block=chamber.registry.head()[0])
    watcher = world.watcher()
    watcher.run_once()  # watching begins after A's verification: B's revocation is before it
    number = world.watch(chamber, leaf, verified_block=verified_b)
    assert len(watcher.run_once()[0].alerts) == 1
    assert kinds(world.db) == [("cancelled", number)]


def test_a_watched_row_committed_after_a_newer_one_is_still_looked_back_for(chamber: Chamber, world: WatchWorld) -> None:
    """On PostgreSQL ids are handed out before commit: a row with a smaller id may appear after the
    watcher looked back for a larger one. Each row is looked back for on its own."""
    first = world.watch(chamber, new_leaf(), row_id=100)
    watcher = world.watcher()
    watcher.run_once()
    leaf = new_leaf()
    verified_block = chamber.registry.head()[0]
    chamber.registry.revoke(chamber.issuer, leaf, RevocationReason.ERROR)
    chamber.mine(2)
    later = world.watch(chamber, new_leaf(), row_id=101)
    assert watcher.run_once()[0].alerts == []  # looks back for row 101, which nothing concerns
    number = world.watch(chamber, leaf, verified_block=verified_block, row_id=50)  # committed only now
    assert len(watcher.run_once()[0].alerts) == 1
    assert kinds(world.db) == [("revoked_error", number)] and number not in (first, later)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_event_long_before_the_acceptance_is_not_an_alert(chamber: Chamber, world: WatchWorld) -> None:
    leaf = new_leaf()
    chamber.registry.suspend_certificate(chamber.issuer, leaf)
    chamber.registry.lift_certificate_suspension(chamber.issuer, leaf)
    node_rpc(chamber.node, "evm_increaseTime", 3600)
    chamber.mine()
    accepted = chamber.registry.w3.eth.get_block("latest")["timestamp"]
    world.watch(chamber, leaf, accepted_at=accepted)
    watcher = world.watcher()
    watcher.run_once()
    assert kinds(world.db) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_rotated_key_alerts_the_certificates_of_the_old_key(chamber: Chamber, world: WatchWorld) -> None:
    old_leaf = new_leaf()
    world.watch(chamber, old_leaf)
    watcher = world.watcher()
    watcher.run_once()
    new_key = chamber.new_key()
    chamber.registry.rotate_issuer_key(chamber.authority, chamber.issuer.address, new_key.address)
    watcher.run_once()
    [alert] = AlertRepository(world.db).alerts_after(0, 10)
    assert alert.kind == "key_rotated" and alert.detail["newKey"] == new_key.address


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_one_process_follows_a_registry_at_a_time(chamber: Chamber, world: WatchWorld) -> None:
    world.watch(chamber, new_leaf())
    first, second = world.watcher(), world.watcher()
    first.run_once()
    repository = AlertRepository(world.db)
    assert repository.acquire_lease(chamber.chain_id, chamber.registry.address, 0, first.owner, 60)
    [result] = second.run_once()
    assert result.leased_elsewhere and result.alerts == []
    repository.release_lease(chamber.chain_id, chamber.registry.address, first.owner)
    assert not second.run_once()[0].leased_elsewhere


@pytest.fixture
def second_chain(tmp_path: Path) -> Iterator[ManagedAnvil]:
    node = ManagedAnvil(tmp_path / "second-chain.json", port=free_port(), chain_id=31338).start()
    yield node
    node.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_one_chain_down_does_not_stop_the_alerts_of_the_other(
    chamber: Chamber, world: WatchWorld, second_chain: ManagedAnvil
) -> None:
    other = chamber_on(second_chain)
    world.entries.add(other.entry("http://127.0.0.1:9/", second_chain.url))  # the first node is dead: failover
    here, there = new_leaf(), new_leaf()
    world.watch(chamber, here)
    world.watch(other, there)
    watcher = world.watcher()
    assert all(r.error is None for r in watcher.run_once())
    other.registry.revoke(other.issuer, there, RevocationReason.CANCELLED)
    second_chain.stop()
    chamber.registry.revoke(chamber.issuer, here, RevocationReason.FRAUD)
    results = {r.chain_id: r for r in watcher.run_once()}
    assert len(results[chamber.chain_id].alerts) == 1 and results[chamber.chain_id].error is None
    assert results[31338].error is not None and "chain 31338" in results[31338].error
    assert "9/" not in results[31338].error  # node URLs are redacted to scheme://host:port
    cursor = AlertRepository(world.db).cursor(31338, other.registry.address)
    assert cursor is not None and cursor.last_error == results[31338].error

    second_chain.start()
    results = {r.chain_id: r for r in watcher.run_once()}
    assert len(results[31338].alerts) == 1 and results[31338].error is None
    assert sorted(k for k, _ in kinds(world.db)) == ["cancelled", "revoked_fraud"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_registry_no_longer_on_the_trust_list_is_reported(chamber: Chamber, world: WatchWorld) -> None:
    world.watch(chamber, new_leaf())
    world.entries.entries.clear()
    [result] = world.watcher().run_once()
    assert result.error is not None and "not on the trust list" in result.error


def test_alerts_are_unique_per_event_and_certificate(tmp_path: Path, chamber: Chamber, world: WatchWorld) -> None:
    leaf = new_leaf()
    world.watch(chamber, leaf)
    watcher = world.watcher()
    watcher.run_once()
    chamber.registry.revoke(chamber.issuer, leaf, RevocationReason.FRAUD)
    watcher.run_once()
    repository = AlertRepository(world.db)
    cursor = repository.cursor(chamber.chain_id, chamber.registry.address)
    assert cursor is not None
    # Read the whole range again (as a deep reorganisation's rewind does): nothing new.
    repository.rewind(chamber.chain_id, chamber.registry.address, cursor.start_block - 1, None, after=cursor.block_number)
    assert watcher.run_once()[0].alerts == []
    with world.db.transaction() as conn:
        assert len(conn.execute(select(alerts.c.id)).all()) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_suspended_issuer_alerts_the_certificates_of_its_key_and_of_the_keys_it_was_rotated_from(
    chamber: Chamber, world: WatchWorld
) -> None:
    old_leaf, new_leaf_, other_leaf = new_leaf(), new_leaf(), new_leaf()
    new_key, other = chamber.new_key(), chamber.new_key()
    chamber.registry.accredit_issuer(chamber.authority, other.address, name="Other", country="VN", accreditation_code="X-2")
    old = world.watch(chamber, old_leaf)
    world.watch(chamber, other_leaf, issuer=other.address)
    watcher = world.watcher()
    watcher.run_once()
    chamber.registry.rotate_issuer_key(chamber.authority, chamber.issuer.address, new_key.address)
    new = world.watch(chamber, new_leaf_, issuer=new_key.address)
    watcher.run_once()
    assert kinds(world.db) == [("key_rotated", old)]

    chamber.registry.suspend_issuer(chamber.authority, new_key.address)
    watcher.run_once()
    suspended = [a for a in AlertRepository(world.db).alerts_after(0, 10) if a.kind == "issuer_suspended"]
    assert sorted(a.certificate_number or "" for a in suspended) == sorted([old, new])
    assert {a.detail["suspendedKey"] for a in suspended} == {new_key.address}
    assert len({(a.tx_hash, a.log_index) for a in suspended}) == 1  # one event, one alert per certificate


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_node_of_another_chain_on_the_list_is_skipped(chamber: Chamber, world: WatchWorld, second_chain: ManagedAnvil) -> None:
    world.entries.add(chamber.entry(second_chain.url, chamber.node.url))
    leaf = new_leaf()
    world.watch(chamber, leaf)
    watcher = world.watcher()
    watcher.run_once()
    chamber.registry.revoke(chamber.issuer, leaf, RevocationReason.FRAUD)
    [result] = watcher.run_once()
    assert result.error is None and len(result.alerts) == 1
    world.entries.add(chamber.entry(second_chain.url))  # only the other chain's node: never asked for this one
    [result] = watcher.run_once()
    assert result.error is not None and "serves chain 31338" in result.error


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_reorganisation_below_the_cursor_during_a_pass_is_not_stepped_over(chamber: Chamber, world: WatchWorld) -> None:
    world.watch(chamber, new_leaf())
    timed = ReorganisingWatcher(world.db, world.entries, confirmations=1)
    [first] = timed.run_once()
    chamber.mine(2)
    timed.reorganise = lambda: node_rpc(chamber.node, "anvil_reorg", 3, [])  # the cursor's block too
    [second] = timed.run_once()
    assert second.block == first.block and second.alerts == []  # the pass stopped where it was
    [third] = timed.run_once()
    assert third.rewound and third.block == chamber.registry.head()[0]


class ReorganisingWatcher(Watcher):
    """A watcher whose chain reorganises (for real, on Anvil) once, right after the pass has
    checked its cursor and before it reads on: the moment a real reorganisation may come."""

    reorganise: Any = None

    def _look_back(self, registry: Any, cursor: Any) -> list[int] | None:
        found = super()._look_back(registry, cursor)
        if self.reorganise is not None:
            self.reorganise()
            self.reorganise = None
        return found
