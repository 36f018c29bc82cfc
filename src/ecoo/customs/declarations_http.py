"""Declarations, the single-window check: ``POST /api/v1/declarations`` (officer; JSON, or multipart
with certificate files and the declaration), ``GET /api/v1/declarations`` and ``/<id>``.

A declaration is read and bounded (:mod:`.declaration_input`), its certificates verified through
the trust list, what is already utilised read from each registry, each line decided
(:mod:`.declarations`), everything stored (and audited) before any record is sent, then the records
sent (:mod:`.declaration_records`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from sqlalchemy.exc import IntegrityError

from ..errors import ChainUnavailableError, EcooError
from ..errors.base import DeclarationInputError
from ..files import parse_json
from ..registry import ItemUtilisation, UtilisationQuery
from ..service.http import ApiError, json_body
from ..utilisation import declaration_hash, new_salt
from .accounts import OFFICER
from .auth import audit, current_actor, objects, page_role, require_role
from .declaration_input import MAX_CERTIFICATES, Declaration, read_declaration
from .declaration_records import LineRecord, record_kind, send_records, sender_options
from .declaration_repository import (
    LineRow,
    StoredDeclaration,
    find_declaration,
    find_reference,
    insert_declaration,
    line_rows,
    list_declarations,
    update_answer,
    watch,
)
from .declarations import LineDecision, Presented, check_lines, items_to_read, outcome, present, utilisation_summary
from .params import MAX_ID, int_arg
from .record_repository import on_chain
from .verifications import log_verifications
from .verifying import report_json

__all__ = ["bp"]

bp = Blueprint("customs_declarations", __name__)

Usage = dict[tuple[str, int], ItemUtilisation]


def _invalid(exc: DeclarationInputError) -> ApiError:
    return ApiError(400, "invalid_declaration", str(exc), {"field": exc.field})


def _read_request() -> tuple[Declaration, list[Any]]:
    """The declaration and its certificates: a JSON body, or multipart with ``declaration`` (JSON
    text) and ``files`` (each an issued certificate's JSON or an ecoo PDF)."""
    try:
        if request.mimetype == "multipart/form-data":
            uploads = [u for u in request.files.getlist("files") if u.filename]
            if len(uploads) > MAX_CERTIFICATES:
                raise DeclarationInputError("/files", f"at most {MAX_CERTIFICATES} certificates per declaration")
            text = request.form.get("declaration")
            if text is None:
                raise ApiError(400, "invalid_declaration", "send the declaration (JSON) as form field 'declaration'")
            try:
                value = parse_json(text, "declaration", objects().settings.max_body_bytes)
            except EcooError as exc:
                raise ApiError(400, "malformed_json", str(exc)) from None
            return read_declaration(value, [(u.filename or "file", u.read()) for u in uploads])
        return read_declaration(json_body())
    except DeclarationInputError as exc:
        raise _invalid(exc) from None


def _read_usage(declaration: Declaration, presented: list[Presented]) -> Usage:
    """What each registry says is utilised of the declared items: one call per registry."""
    wanted = items_to_read(declaration, presented)
    by_registry: dict[tuple[int, str], list[Presented]] = {}
    for index in wanted:
        found = presented[index]
        by_registry.setdefault((int(found.report.chain_id or 0), str(found.report.registry)), []).append(found)
    usage: Usage = {}
    for (chain_id, registry), group in by_registry.items():
        queries = [UtilisationQuery(str(f.report.issuer), bytes.fromhex(str(f.leaf)[2:]), wanted[f.index]) for f in group]
        try:
            answers = objects().registries.sender(chain_id, registry).get_utilisations(queries)
        except (EcooError, OSError) as exc:
            raise ApiError(503, "chain_unavailable", f"the utilisation could not be read from chain {chain_id}: {exc}") from None
        for found, items in zip(group, answers, strict=True):
            for number, item in zip(wanted[found.index], items, strict=True):
                usage[(str(found.leaf), number)] = item
    return usage


def _on_trust_list(chain_id: int, registry: str) -> bool:
    return objects().registries.entry(chain_id, registry) is not None


def _row(decision: LineDecision) -> LineRow:
    line, found = decision.line, decision.certificate
    report = found.report if found is not None else None
    kind = record_kind(decision, _on_trust_list)
    return LineRow(
        line_no=line.line,
        chain_id=report.chain_id if report else None,
        registry=report.registry if report else None,
        issuer=report.issuer if report else None,
        leaf=found.leaf if found else (line.certificate if isinstance(line.certificate, str) else None),
        item=line.item,
        hs_code=line.hs_code,
        quantity=line.quantity,
        unit=line.unit,
        preference=line.preference,
        decision="accept" if decision.accepted else "reject",
        reasons=[r.to_json() for r in decision.reasons],
        record_kind=kind,
        record_state="not_sent" if kind else None,
        certified=decision.certified,
    )


def _answer(
    declaration_id: int,
    declaration: Declaration,
    presented: list[Presented],
    decisions: list[LineDecision],
    records: list[LineRecord],
    usage: Usage,
    signed: bool,
) -> dict[str, Any]:
    lines = []
    final: list[bool] = []
    for decision, record in zip(decisions, records, strict=True):
        reasons = [r.to_json() for r in decision.reasons + tuple(record.extra)]
        accepted = decision.accepted and not record.extra
        final.append(accepted)
        shown = {"kind": record.kind, "tx": record.tx, "state": record.state}
        if record.error:
            shown["error"] = record.error
        shown_line: dict[str, Any] = {
            "line": decision.line.line,
            "decision": "accept" if accepted else "reject",
            "reasons": reasons,
            "record": shown if record.kind else None,
        }
        if signed and decision.accepted and record.kind:
            # What became of the utilisation the check accepted (overlay_answer keeps it current).
            shown_line["onChain"] = on_chain(accepted, record.state)
        lines.append(shown_line)
    accepted_count = sum(final)
    verdict = "accepted" if accepted_count == len(final) else "rejected" if accepted_count == 0 else "partly_accepted"
    answer: dict[str, Any] = {
        "id": declaration_id,
        "reference": declaration.reference,
        "outcome": verdict,
        "certificates": [
            {"leaf": p.leaf, "report": report_json(p.report), "utilisation": utilisation_summary(p, decisions, usage)}
            for p in presented
        ],
        "lines": lines,
    }
    if not signed:
        answer["records"] = "not_sent: no customs key is configured (ECOO_CUSTOMS_KEY_FILE); nothing was recorded on chain"
    return answer


def content_hash(declaration: Declaration, documents: list[Any]) -> str:
    """SHA-256 of the declaration as read and the certificates presented (canonical JSON): what a
    retry under the same reference must repeat."""
    content = {
        "reference": declaration.reference,
        "importer": declaration.importer.to_json(),
        "portOfEntry": declaration.port_of_entry,
        "date": declaration.date.isoformat(),
        "lines": [[n.line, n.certificate, n.item, n.hs_code, n.units, n.unit, n.preference] for n in declaration.lines],
        "certificates": documents,
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


def _replay(stored: StoredDeclaration, fingerprint: str) -> Any:
    """A declaration whose reference is stored already: the same content is a retry, answered with
    the stored declaration (200; nothing checked or sent again); other content is refused."""
    if stored.content_hash != fingerprint:
        raise ApiError(
            409,
            "reference_conflict",
            f"declaration reference {stored.reference} is already stored (declaration {stored.id}) with other content; "
            "a retry must send the same declaration and certificates, a new declaration needs a new reference",
            {"id": stored.id},
        )
    audit("declaration.retry", f"declaration {stored.id} {stored.reference}", {"outcome": stored.outcome})
    return jsonify(stored.answer or {"id": stored.id, "reference": stored.reference, "outcome": stored.outcome}), 200


@bp.post("/api/v1/declarations")
@require_role(OFFICER)
def create_declaration() -> Any:
    declaration, documents = _read_request()
    fingerprint = content_hash(declaration, documents)
    built, actor = objects(), current_actor()
    with built.db.transaction() as conn:
        earlier = find_reference(conn, declaration.reference)
    if earlier is not None:
        return _replay(earlier, fingerprint)
    reports = built.registries.verifier().verify_many(documents)
    try:
        presented = present(documents, reports)
    except DeclarationInputError as exc:
        raise _invalid(exc) from None
    usage = _read_usage(declaration, presented)
    decisions = check_lines(declaration, presented, usage, built.settings.country)
    salt = new_salt()
    hashed = declaration_hash(declaration.reference, salt)
    signed = built.signer is not None
    unsent = [LineRecord(record_kind(d, _on_trust_list), decision=d) for d in decisions]
    try:
        with built.db.transaction() as conn:  # durable first: nothing is sent before this commits
            declaration_id = insert_declaration(
                conn,
                reference=declaration.reference,
                content_hash=fingerprint,
                salt="0x" + salt.hex(),
                declaration_hash="0x" + hashed.hex(),
                importer=declaration.importer.to_json(),
                port_of_entry=declaration.port_of_entry,
                declared_on=declaration.date.isoformat(),
                actor=actor.label,
                outcome=outcome(decisions),
                lines=[_row(d) for d in decisions],
                claim_seconds=built.settings.lease_seconds,
            )
            # The answer is stored with the declaration: a retry arriving while the records are
            # sent finds it (kept in step with the records as they move on).
            first = _answer(declaration_id, declaration, presented, decisions, unsent, usage, signed)
            update_answer(conn, declaration_id, first["outcome"], first)
            log_verifications(conn, actor, reports, "declaration", declaration_id, documents=documents)
            detail = {"outcome": outcome(decisions), "lines": len(decisions), "certificates": len(presented)}
            audit("declaration.create", f"declaration {declaration_id} {declaration.reference}", detail, conn)
    except IntegrityError:
        # Another request stored this reference since the look above: the unique constraint
        # decided, and this one answers with that declaration.
        with built.db.transaction() as conn:
            earlier = find_reference(conn, declaration.reference)
        if earlier is None:
            raise
        return _replay(earlier, fingerprint)
    try:
        records = send_records(
            built.db,
            declaration_id,
            hashed,
            presented,
            decisions,
            built.signer,
            built.registries.sender,
            _on_trust_list,
            **sender_options(built.settings),
        )
    except ChainUnavailableError as exc:  # stored: the lines stay not_sent and can be sent again
        records = [LineRecord(record_kind(d, _on_trust_list), decision=d, error=str(exc)) for d in decisions]
    answer = _answer(declaration_id, declaration, presented, decisions, records, usage, signed)
    with built.db.transaction() as conn:
        update_answer(conn, declaration_id, answer["outcome"], answer)
        # Watched from here on (the alerts follow it): the certificates with a line finally
        # accepted, each with the block its verification read (the watcher looks back from there).
        for decision, record in zip(decisions, records, strict=True):
            found = decision.certificate
            if decision.accepted and not record.extra and found is not None and found.certificate is not None:
                watch(
                    conn,
                    chain_id=int(found.report.chain_id or 0),
                    registry=str(found.report.registry),
                    issuer=str(found.report.issuer),
                    leaf=str(found.leaf),
                    certificate_number=str(found.report.certificate_number or ""),
                    chamber=found.report.state.issuer_name if found.report.state else None,
                    declaration_id=declaration_id,
                    verified_block=found.report.state.chain_block if found.report.state else None,
                )
        states: dict[str, int] = {}
        for record in records:
            if record.kind:
                states[record.state] = states.get(record.state, 0) + 1
        audit("declaration.records", f"declaration {declaration_id}", {"states": states, "outcome": answer["outcome"]}, conn)
    return jsonify(answer), 201


@bp.get("/api/v1/declarations")
@require_role(OFFICER)
def declarations_index() -> Any:
    before = int_arg("before", 0, 1, MAX_ID) or None
    limit = int_arg("limit", 50, 1, 200)
    with objects().db.transaction() as conn:
        rows = list_declarations(conn, before=before, limit=limit)
    items = [
        {
            "id": row.id,
            "reference": row.reference,
            "date": row.declared_on,
            "portOfEntry": row.port_of_entry,
            "outcome": row.outcome,
            "actor": row.actor,
            "createdAt": row.created_at,
        }
        for row in rows
    ]
    return jsonify({"declarations": items, "next": rows[-1].id if len(rows) == limit else None})


@bp.get(f"/api/v1/declarations/<int(max={MAX_ID}):declaration_id>")
@require_role(OFFICER)
def declaration_detail(declaration_id: int) -> Any:
    with objects().db.transaction() as conn:
        row = find_declaration(conn, declaration_id)
    if row is None:
        raise ApiError(404, "not_found", f"no declaration {declaration_id}")
    return jsonify(row.answer or {"id": row.id, "reference": row.reference, "outcome": row.outcome})


# -- pages -----------------------------------------------------------------------------------------


@bp.get("/declarations")
@page_role(OFFICER)
def declarations_page() -> Any:
    """The declaration form (drag and drop, lines table; declarations.js posts it to the API) and
    the recent declarations."""
    built = objects()
    with built.db.transaction() as conn:
        recent = list_declarations(conn, limit=20)
    today = datetime.now(UTC).date().isoformat()
    return render_template("customs/declarations.html", recent=recent, today=today, records_signed=built.signer is not None)


@bp.get(f"/declarations/<int(max={MAX_ID}):declaration_id>")
@page_role(OFFICER)
def declaration_page(declaration_id: int) -> Any:
    with objects().db.transaction() as conn:
        row = find_declaration(conn, declaration_id)
        lines = line_rows(conn, declaration_id) if row is not None else []
    if row is None:
        raise ApiError(404, "not_found", f"no declaration {declaration_id}")
    return render_template("customs/declaration.html", declaration=row, lines=lines, answer=row.answer)
