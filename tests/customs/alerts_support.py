"""The watch list's test world: a real Anvil with a fresh registry, an accredited chamber key, a
customs database (SQLite file or a fresh PostgreSQL database) and a trust list naming the chain.

Certificates are put on the watch list the way the declarations engineer's code does: a row of
``customs_watched`` (:meth:`WatchWorld.watch`)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from web3 import Web3

from ecoo.anvil import ManagedAnvil
from ecoo.customs.alert_repository import AlertRepository, Finding
from ecoo.customs.app import create_customs_app
from ecoo.customs.config import CustomsSettings
from ecoo.customs.store import CustomsDatabase
from ecoo.customs.store.schema import watched
from ecoo.customs.watch import Watcher
from ecoo.deploy import deploy_registry
from ecoo.registry import Registry
from ecoo.signers import LocalSigner, unlocked_signer
from ecoo.trustlist import TrustEntry
from tests.support.chain import accredit, new_signer, node_rpc
from tests.support.customs import CustomsHarness, customs_env


@dataclass
class Entries:
    """A trust list's entries by (chain id, registry): what ``CustomsRegistries.entry`` answers."""

    entries: dict[tuple[int, str], TrustEntry] = field(default_factory=dict)

    def add(self, entry: TrustEntry) -> None:
        self.entries[entry.key] = entry

    def entry(self, chain_id: int, registry: str) -> TrustEntry | None:
        return self.entries.get((chain_id, Web3.to_checksum_address(registry)))


@dataclass
class Chamber:
    """One chain with its registry, authority and an accredited chamber key."""

    node: ManagedAnvil
    registry: Registry
    authority: LocalSigner
    issuer: LocalSigner

    @property
    def chain_id(self) -> int:
        return self.registry.chain_id

    def entry(self, *urls: str) -> TrustEntry:
        return TrustEntry(
            chain_id=self.chain_id,
            registry=self.registry.address,
            rpc_urls=urls or (self.node.url,),
            authority_name="Ministry of Commerce",
            authority_country="TH",
            valid_from="2026-01-01",
        )

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            node_rpc(self.node, "evm_mine")

    def new_key(self) -> LocalSigner:
        return new_signer(self.registry.w3, unlocked_signer(self.registry.w3))


def chamber_on(node: ManagedAnvil) -> Chamber:
    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
    funder = unlocked_signer(w3)
    authority = new_signer(w3, funder)
    deployment, _ = deploy_registry(w3, funder, admin=funder.address, authority=authority.address, reuse=False)
    registry = Registry(w3, deployment.address)
    issuer = new_signer(w3, funder)
    accredit(registry, authority, issuer.address, "Chamber of Commerce of Bangkok")
    return Chamber(node, registry, authority, issuer)


def new_leaf() -> bytes:
    return os.urandom(32)


@dataclass
class WatchWorld:
    db: CustomsDatabase
    entries: Entries
    numbers: int = 0

    def watch(
        self,
        chamber: Chamber,
        leaf: bytes,
        issuer: str | None = None,
        accepted_at: float | None = None,
        verified_block: int | None = None,
        row_id: int | None = None,
    ) -> str:
        """Put a certificate on the watch list (as an accepted declaration line does, with the block
        its verification read when given; ``row_id``: the row's id, as a row committed late has);
        returns its number."""
        self.numbers += 1
        number = f"TH-RCEP-2026-{self.numbers:07d}"
        with self.db.transaction() as conn:
            conn.execute(
                watched.insert().values(
                    **({"id": row_id} if row_id is not None else {}),
                    verified_block=verified_block,
                    chain_id=chamber.chain_id,
                    registry=chamber.registry.address,
                    issuer=Web3.to_checksum_address(issuer or chamber.issuer.address),
                    leaf="0x" + leaf.hex(),
                    certificate_number=number,
                    chamber="Chamber of Commerce of Bangkok",
                    accepted_at=time.time() if accepted_at is None else accepted_at,
                )
            )
        return number

    def watcher(self, **options: Any) -> Watcher:
        return Watcher(self.db, self.entries, **options)


def customs_database(tmp_path: Path, url: str | None) -> CustomsDatabase:
    db = CustomsDatabase(url or f"sqlite:///{tmp_path / 'customs.db'}")
    db.migrate()
    return db


def watch_document(db: CustomsDatabase, document: dict[str, Any], chamber: str | None = "Chamber of Commerce of Bangkok") -> None:
    """Put an issued document's certificate on the watch list, as an accepted declaration does."""
    proof = document["proof"]
    with db.transaction() as conn:
        conn.execute(
            watched.insert().values(
                chain_id=proof["chainId"],
                registry=proof["registry"],
                issuer=proof["issuer"],
                leaf=proof["leaf"],
                certificate_number=document["certificate"]["certificateNumber"],
                chamber=chamber,
                accepted_at=time.time(),
            )
        )


def make_alerts(db: CustomsDatabase, count: int, kind: str = "revoked_fraud", chamber: str | None = "Chamber") -> list[int]:
    """``count`` alerts without a chain: watched certificates of a made-up registry and findings
    recorded for them the way the watcher records what it reads."""
    registry, issuer = "0x" + "11" * 20, "0x" + "22" * 20
    repository = AlertRepository(db)
    leaves = ["0x" + os.urandom(32).hex() for _ in range(count)]
    with db.transaction() as conn:
        for i, leaf in enumerate(leaves):
            conn.execute(
                watched.insert().values(
                    chain_id=4242,
                    registry=Web3.to_checksum_address(registry),
                    issuer=Web3.to_checksum_address(issuer),
                    leaf=leaf,
                    certificate_number=f"XX-{os.urandom(3).hex()}-{i}",
                    chamber=chamber,
                    accepted_at=time.time(),
                )
            )
    cursor = repository.cursor(4242, registry)
    if cursor is None:
        assert repository.acquire_lease(4242, registry, 1, "tests", 1)
        cursor = repository.cursor(4242, registry)
        assert cursor is not None
    findings = [
        Finding(
            kind=kind,
            name="CertificateRevoked",
            block_number=cursor.block_number + 1,
            block_hash="0x" + "ab" * 32,
            tx_hash="0x" + os.urandom(32).hex(),
            log_index=i,
            issuers=(issuer,),
            leaf=leaf,
            detail={"reason": "fraud"},
        )
        for i, leaf in enumerate(leaves)
    ]
    return repository.record(4242, registry, findings, cursor.block_number + 1, "0x" + "ab" * 32, after=cursor.block_number)


def restart_customs(
    customs: CustomsHarness, tmp_path: Path, trust_list: Path, database_url: str | None, **overrides: Any
) -> CustomsHarness:
    """A new customs service on ``customs``'s database (after ``customs.close()``: a restart), with
    the same accounts and tokens."""
    settings = CustomsSettings.from_env(customs_env(tmp_path, trust_list, database_url), **overrides)
    app = create_customs_app(settings)
    app.config["TESTING"] = True
    return replace(customs, app=app, client=app.test_client(), settings=settings, closed=False)
