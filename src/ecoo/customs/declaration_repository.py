"""The declarations' tables: ``customs_declarations``, ``customs_declaration_lines`` and
``customs_watched`` (the certificates with an accepted line, which the alerts watcher follows).

Durable first: a declaration and its lines are stored (records ``not_sent``), with the receipts
owed to each certificate, before anything is sent on chain; each record's transaction and state
are written as they happen (:mod:`.record_repository`). The request that stores a declaration
holds its records (a claim, :data:`REQUEST_CLAIM_SECONDS`) while it sends them; when it dies, the
claim expires and the recovery (:mod:`.record_recovery`) takes over.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..utilisation import RejectionCode
from .record_repository import overlay_answer
from .store import insert_id
from .store.schema import declaration_lines, declaration_receipts, declarations, watched

__all__ = [
    "REQUEST_CLAIM_SECONDS",
    "LineRow",
    "StoredDeclaration",
    "count_declarations",
    "find_declaration",
    "find_reference",
    "insert_declaration",
    "line_rows",
    "list_declarations",
    "request_owner",
    "update_answer",
    "watch",
]


#: How long the request that stored a declaration holds its records before the recovery may take
#: them (renewed before each send, so only a request that died or hangs loses them).
REQUEST_CLAIM_SECONDS = 120.0


def request_owner(declaration_id: int) -> str:
    """The claim the request that stored declaration ``declaration_id`` holds on its records."""
    return f"request:{declaration_id}"


@dataclass(frozen=True)
class LineRow:
    """A line as stored: what was declared, the decision, and its record on chain."""

    line_no: int
    chain_id: int | None
    registry: str | None
    issuer: str | None
    leaf: str | None
    item: int | None
    hs_code: str | None
    quantity: str | None
    unit: str | None
    preference: str | None
    decision: str
    reasons: list[dict[str, str]]
    record_kind: str | None
    record_tx: str | None = None
    record_state: str | None = None
    record_error: str | None = None
    certified: int | None = None  # the item's certified quantity in thousandths (what a utilisation states)
    record_attempts: int = 0


@dataclass(frozen=True)
class StoredDeclaration:
    id: int
    reference: str
    declaration_hash: str
    declared_on: str
    port_of_entry: str | None
    created_at: float
    actor: str
    outcome: str
    answer: dict[str, Any] | None
    content_hash: str | None = None


def insert_declaration(
    conn: Connection,
    *,
    reference: str,
    content_hash: str,
    salt: str,
    declaration_hash: str,
    importer: dict[str, Any],
    port_of_entry: str,
    declared_on: str,
    actor: str,
    outcome: str,
    lines: Sequence[LineRow],
    claim_seconds: float = REQUEST_CLAIM_SECONDS,
) -> int:
    """Store a declaration and its lines (their records not yet sent, held by this request, see
    :func:`request_owner`), and the receipt owed to each VALID certificate a recorded line names;
    its id. A reference already stored raises IntegrityError (the unique constraint decides
    between two requests at once; the caller answers with the stored declaration)."""
    declaration_id = insert_id(
        conn,
        declarations.insert().values(
            reference=reference,
            reference_once=reference,
            content_hash=content_hash,
            salt=salt,
            declaration_hash=declaration_hash,
            importer=json.dumps(importer, ensure_ascii=False),
            port_of_entry=port_of_entry,
            declared_on=declared_on,
            created_at=time.time(),
            actor=actor,
            outcome=outcome,
        ),
    )
    now = time.time()
    claim = {"record_claim": request_owner(declaration_id), "record_claim_until": now + claim_seconds}
    if lines:
        conn.execute(
            declaration_lines.insert(),
            [
                {
                    "declaration_id": declaration_id,
                    "line_no": line.line_no,
                    "chain_id": line.chain_id,
                    "registry": line.registry,
                    "issuer": line.issuer,
                    "leaf": line.leaf,
                    "item": line.item,
                    "hs_code": line.hs_code,
                    "quantity": line.quantity,
                    "unit": line.unit,
                    "preference": line.preference,
                    "decision": line.decision,
                    "reasons": json.dumps(line.reasons, ensure_ascii=False),
                    "record_kind": line.record_kind,
                    "record_state": line.record_state,
                    "record_certified": str(line.certified) if line.certified is not None else None,
                    "record_attempts": 0,
                    "record_next_at": now if line.record_kind else None,
                    # Every row names the same columns (one executemany): a line without a record is held by nobody.
                    **(claim if line.record_kind else {"record_claim": None, "record_claim_until": None}),
                }
                for line in lines
            ],
        )
    receipts = _receipts_owed(lines)
    if receipts:
        conn.execute(
            declaration_receipts.insert(),
            [
                {
                    "declaration_id": declaration_id,
                    "chain_id": chain_id,
                    "registry": registry,
                    "issuer": issuer,
                    "leaf": leaf,
                    "record_state": "not_sent",
                    "record_attempts": 0,
                    "record_next_at": now,
                    **claim,
                }
                for chain_id, registry, issuer, leaf in receipts
            ],
        )
    return declaration_id


def _receipts_owed(lines: Sequence[LineRow]) -> list[tuple[int, str, str, str]]:
    """Each certificate that a recorded line names and that verified VALID (its lines' reasons, if
    any, are not ``certificate_not_valid``): once, in the order of the lines."""
    owed: dict[tuple[int, str, str, str], None] = {}
    for line in lines:
        if not line.record_kind or line.chain_id is None or not (line.registry and line.issuer and line.leaf):
            continue
        if any(reason.get("code") == RejectionCode.CERTIFICATE_NOT_VALID.code for reason in line.reasons):
            continue
        owed.setdefault((line.chain_id, line.registry, line.issuer, line.leaf), None)
    return list(owed)


def update_answer(conn: Connection, declaration_id: int, outcome: str, answer: dict[str, Any]) -> None:
    """Store the declaration's answer, each line's record as stored now (the recovery may have
    moved one on while the request built the answer)."""
    answer = overlay_answer(conn, declaration_id, answer)
    outcome = str(answer.get("outcome", outcome))
    conn.execute(
        declarations.update()
        .where(declarations.c.id == declaration_id)
        .values(outcome=outcome, answer=json.dumps(answer, ensure_ascii=False))
    )


def watch(
    conn: Connection,
    *,
    chain_id: int,
    registry: str,
    issuer: str,
    leaf: str,
    certificate_number: str,
    chamber: str | None,
    declaration_id: int,
    verified_block: int | None,
) -> None:
    """Put a certificate on the watch list (once: a later declaration leaves the first row, unless
    its verification read an older block: the watcher then looks back from the older one)."""
    exists = conn.execute(
        select(watched.c.id, watched.c.verified_block).where(
            (watched.c.chain_id == chain_id) & (watched.c.registry == registry) & (watched.c.leaf == leaf)
        )
    ).first()
    if exists is not None:
        if verified_block is not None and exists.verified_block is not None and verified_block < exists.verified_block:
            conn.execute(
                watched.update().where(watched.c.id == exists.id).values(verified_block=verified_block, looked_back_at=None)
            )
        return
    try:
        with conn.begin_nested():
            conn.execute(
                watched.insert().values(
                    chain_id=chain_id,
                    registry=registry,
                    issuer=issuer,
                    leaf=leaf,
                    certificate_number=certificate_number[:128],
                    chamber=chamber[:256] if chamber else None,
                    declaration_id=declaration_id,
                    accepted_at=time.time(),
                    verified_block=verified_block,
                )
            )
    except IntegrityError:
        pass  # another declaration put it there meanwhile


def _stored(row: Any) -> StoredDeclaration:
    return StoredDeclaration(
        id=row.id,
        reference=row.reference,
        declaration_hash=row.declaration_hash,
        declared_on=row.declared_on,
        port_of_entry=row.port_of_entry,
        created_at=row.created_at,
        actor=row.actor,
        outcome=row.outcome,
        answer=json.loads(row.answer) if row.answer else None,
        content_hash=row.content_hash,
    )


def find_declaration(conn: Connection, declaration_id: int) -> StoredDeclaration | None:
    row = conn.execute(select(declarations).where(declarations.c.id == declaration_id)).first()
    return _stored(row) if row is not None else None


def find_reference(conn: Connection, reference: str) -> StoredDeclaration | None:
    """The declaration stored under ``reference`` (the first, for duplicates of an earlier version)."""
    row = conn.execute(select(declarations).where(declarations.c.reference_once == reference)).first()
    return _stored(row) if row is not None else None


def list_declarations(conn: Connection, *, before: int | None = None, limit: int = 50) -> list[StoredDeclaration]:
    """The newest declarations first (``before``: an id, for the next page)."""
    query = select(declarations).order_by(declarations.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(declarations.c.id < before)
    return [_stored(row) for row in conn.execute(query)]


def count_declarations(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(declarations)).scalar() or 0)


def line_rows(conn: Connection, declaration_id: int) -> list[LineRow]:
    query = select(declaration_lines).where(declaration_lines.c.declaration_id == declaration_id)
    return [
        LineRow(
            line_no=row.line_no,
            chain_id=row.chain_id,
            registry=row.registry,
            issuer=row.issuer,
            leaf=row.leaf,
            item=row.item,
            hs_code=row.hs_code,
            quantity=row.quantity,
            unit=row.unit,
            preference=row.preference,
            decision=row.decision,
            reasons=json.loads(row.reasons) if row.reasons else [],
            record_kind=row.record_kind,
            record_tx=row.record_tx,
            record_state=row.record_state,
            record_error=row.record_error,
            certified=int(row.record_certified) if row.record_certified else None,
            record_attempts=int(row.record_attempts or 0),
        )
        for row in conn.execute(query.order_by(declaration_lines.c.id))
    ]
