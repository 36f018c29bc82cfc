"""The on-chain records of declarations as stored intents: each line's record (utilisation or
rejection, in ``customs_declaration_lines``) and each certificate's receipt
(``customs_declaration_receipts``), with their state, transaction, attempts, when the recovery
looks at them next, and who is sending them now.

A record is sent only by the holder of its claim (:func:`claim_record`: a conditional update, so
two threads or processes never send one record at the same time); a claim expires, so a sender
that died leaves nothing blocked for longer than the claim. Every write of a line's record keeps
the declaration's stored answer (``GET /api/v1/declarations/<id>``) and outcome in step with it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.engine import Connection

from .store.schema import declaration_lines, declaration_receipts, declarations

__all__ = [
    "LINE",
    "RECEIPT",
    "StoredRecord",
    "claim_record",
    "declaration_records",
    "due_records",
    "on_chain",
    "overlay_answer",
    "release_record",
    "sibling_transactions",
    "unschedule",
    "write_record",
]

#: Which table a record lives in.
LINE, RECEIPT = "line", "receipt"

_TABLES: dict[str, Table] = {RECEIPT: declaration_receipts, LINE: declaration_lines}  # receipts first


@dataclass(frozen=True)
class StoredRecord:
    """One record to put on a registry: a receipt, or a line's utilisation or rejection."""

    table: str  # LINE | RECEIPT
    id: int
    declaration_id: int
    declaration_hash: str
    reference: str
    chain_id: int
    registry: str
    issuer: str
    leaf: str
    kind: str  # receipt | utilisation | rejection
    state: str
    tx: str | None
    error: str | None
    attempts: int
    from_block: int | None
    block: int | None
    next_at: float | None = None  # when the recovery looks at it next (None: never)
    line_no: int | None = None
    item: int | None = None
    quantity: str | None = None
    unit: str | None = None
    certified: int | None = None
    reasons: tuple[dict[str, str], ...] = ()


def _record(table: str, row: Any, reference: str, declaration_hash: str) -> StoredRecord:
    common: dict[str, Any] = {
        "table": table,
        "id": row.id,
        "declaration_id": row.declaration_id,
        "declaration_hash": declaration_hash,
        "reference": reference,
        "chain_id": int(row.chain_id),
        "registry": row.registry,
        "issuer": row.issuer,
        "leaf": row.leaf,
        "state": row.record_state,
        "tx": row.record_tx,
        "error": row.record_error,
        "attempts": int(row.record_attempts or 0),
        "from_block": row.record_from_block,
        "block": row.record_block,
        "next_at": row.record_next_at,
    }
    if table == RECEIPT:
        return StoredRecord(kind="receipt", **common)
    return StoredRecord(
        kind=row.record_kind,
        line_no=row.line_no,
        item=row.item,
        quantity=row.quantity,
        unit=row.unit,
        certified=int(row.record_certified) if row.record_certified else None,
        reasons=tuple(json.loads(row.reasons) if row.reasons else ()),
        **common,
    )


def _sendable(table: Table) -> Any:
    """Rows that are records at all (a line without a certificate on a trusted registry is not)."""
    if table is declaration_lines:
        return and_(table.c.record_kind.is_not(None), table.c.chain_id.is_not(None), table.c.issuer.is_not(None))
    return table.c.id.is_not(None)


def _query(table: Table) -> Any:
    joined = table.join(declarations, declarations.c.id == table.c.declaration_id)
    return select(table, declarations.c.reference, declarations.c.declaration_hash).select_from(joined).where(_sendable(table))


def due_records(conn: Connection, now: float, limit: int) -> list[StoredRecord]:
    """Records whose next look is due and that nobody holds: receipts and lines, oldest first."""
    found: list[StoredRecord] = []
    for name, table in _TABLES.items():
        free = or_(table.c.record_claim_until.is_(None), table.c.record_claim_until < now)
        query = _query(table).where(table.c.record_next_at <= now, free).order_by(table.c.record_next_at, table.c.id)
        for row in conn.execute(query.limit(limit)):
            found.append(_record(name, row, row.reference, row.declaration_hash))
    return sorted(found, key=lambda r: (r.declaration_id, r.table != RECEIPT, r.line_no or 0))[:limit]


def declaration_records(conn: Connection, declaration_id: int) -> list[StoredRecord]:
    """Every record of one declaration: its receipts first, then its lines in order."""
    found: list[StoredRecord] = []
    for name, table in _TABLES.items():
        order = table.c.line_no if table is declaration_lines else table.c.id
        for row in conn.execute(_query(table).where(table.c.declaration_id == declaration_id).order_by(order)):
            found.append(_record(name, row, row.reference, row.declaration_hash))
    return found


def sibling_transactions(conn: Connection, record: StoredRecord) -> set[str]:
    """The transactions the declaration's other records hold (sent or confirmed): an event in one
    of them is theirs, not ``record``'s (two lines may declare the same item and quantity)."""
    taken: set[str] = set()
    for name, table in _TABLES.items():
        query = select(table.c.id, table.c.record_tx).where(
            table.c.declaration_id == record.declaration_id,
            table.c.record_tx.is_not(None),
            table.c.record_state.in_(("sent", "confirmed")),
        )
        taken |= {str(row.record_tx) for row in conn.execute(query) if not (name == record.table and row.id == record.id)}
    return taken


def claim_record(conn: Connection, record: StoredRecord, owner: str, now: float, until: float) -> StoredRecord | None:
    """Hold ``record`` for ``owner`` until ``until`` if nobody else holds it (or their claim
    expired); the record as it is now, after the claim, or None when another sender holds it. The
    caller goes on with what it returns, never with the row it read before: another sender may have
    moved the record on (sent it) in between."""
    table = _TABLES[record.table]
    free = or_(table.c.record_claim == owner, table.c.record_claim_until.is_(None), table.c.record_claim_until < now)
    result = conn.execute(
        table.update().where(table.c.id == record.id, free).values(record_claim=owner, record_claim_until=until)
    )
    if result.rowcount != 1:
        return None
    row = conn.execute(_query(table).where(table.c.id == record.id)).first()
    return None if row is None else _record(record.table, row, row.reference, row.declaration_hash)


def release_record(conn: Connection, record: StoredRecord, owner: str) -> None:
    table = _TABLES[record.table]
    conn.execute(
        table.update()
        .where(table.c.id == record.id, table.c.record_claim == owner)
        .values(record_claim=None, record_claim_until=None)
    )


def write_record(conn: Connection, record: StoredRecord, **values: Any) -> None:
    """Write a record's columns (``record_state``, ``record_tx`` ...; for a line also ``record_kind``,
    ``decision``, ``reasons`` as a list) and bring the declaration's answer in step."""
    table = _TABLES[record.table]
    if "reasons" in values:
        values["reasons"] = json.dumps(values["reasons"], ensure_ascii=False)
    conn.execute(table.update().where(table.c.id == record.id).values(**values))
    if record.table == LINE:
        row = conn.execute(select(declarations.c.answer).where(declarations.c.id == record.declaration_id)).first()
        if row is not None and row.answer:
            answer = overlay_answer(conn, record.declaration_id, json.loads(row.answer))
            conn.execute(
                declarations.update()
                .where(declarations.c.id == record.declaration_id)
                .values(outcome=answer["outcome"], answer=json.dumps(answer, ensure_ascii=False))
            )


def unschedule(conn: Connection, declaration_id: int) -> None:
    """Records that are never to be sent (no customs key): the recovery leaves them alone."""
    for table in _TABLES.values():
        conn.execute(
            table.update()
            .where(table.c.declaration_id == declaration_id)
            .values(record_next_at=None, record_claim=None, record_claim_until=None)
        )


def on_chain(accepted: bool, state: str | None) -> str:
    """What became of a utilisation the check accepted: ``confirmed`` (recorded on chain),
    ``refused`` (the registry refused it: the line is now rejected) or ``pending`` (``not_sent``,
    ``sent`` or ``failed`` and to be tried again)."""
    if not accepted:
        return "refused"
    return "confirmed" if state == "confirmed" else "pending"


def overlay_answer(conn: Connection, declaration_id: int, answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` with each line's record, decision and reasons as stored now, the attempts made
    when there were any, what became of each utilisation the check accepted (``onChain``, only in
    the answers of a service with a customs key), and the outcome that follows (the recovery
    changes them after the answer): ``pending`` while any accepted line's utilisation is not
    confirmed, else accepted, partly_accepted or rejected."""
    rows = {row.line_no: row for row in conn.execute(select(declaration_lines).where(declaration_lines.c.declaration_id == declaration_id))}
    lines: Sequence[Any] = answer.get("lines") or []
    accepted = 0
    pending = False
    for line in lines:
        row = rows.get(line.get("line")) if isinstance(line, dict) else None
        if row is None:
            continue
        line["decision"] = row.decision
        line["reasons"] = json.loads(row.reasons) if row.reasons else []
        accepted += row.decision == "accept"
        if row.record_kind:
            shown: dict[str, Any] = {"kind": row.record_kind, "tx": row.record_tx, "state": row.record_state}
            if row.record_error:
                shown["error"] = row.record_error
            if row.record_attempts:
                shown["attempts"] = int(row.record_attempts)
            line["record"] = shown
        if "onChain" in line:  # the check accepted it, and a customs key records it
            line["onChain"] = on_chain(row.decision == "accept", row.record_state)
            pending = pending or line["onChain"] == "pending"
    if lines and len(rows) == len(lines):
        decided = "accepted" if accepted == len(lines) else "rejected" if accepted == 0 else "partly_accepted"
        answer["outcome"] = "pending" if pending else decided
    return answer
