"""A declaration's records on each certificate's registry: receipt (each VALID certificate once),
utilisation (each accepted line) and rejection (each rejected line whose certificate is known),
all with the declaration's salted hash, signed by the administration's customs key.

Durable first: the lines are stored with ``record_state`` ``not_sent`` before anything is sent
(:mod:`.declaration_repository`); then each record is sent and its state written (``sent`` with
its transaction as soon as the node has it, ``confirmed`` once mined, ``failed`` with the error).
When another port was faster and the registry refuses a utilisation (``UtilisationExceededError``),
the line becomes a rejection ``quantity_exceeded`` and is recorded as one. Without a customs key,
nothing is sent: the records stay ``not_sent`` and the answer says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import EcooError
from ..errors.registry import UtilisationExceededError
from ..utilisation import RejectionCode, from_units
from ..verdicts import Verdict
from .declaration_repository import update_line_record
from .declarations import LineDecision, Presented, Reason

if TYPE_CHECKING:
    from ..registry import Registry
    from ..signers import Signer
    from .store import CustomsDatabase

__all__ = ["LineRecord", "record_kind", "send_records"]

log = logging.getLogger(__name__)


@dataclass
class LineRecord:
    """What became of one line's record (kept for the answer)."""

    kind: str | None
    state: str = "not_sent"
    tx: str | None = None
    error: str | None = None
    decision: LineDecision | None = None  # the decision after the chain had its say
    extra: list[Reason] = field(default_factory=list)


def record_kind(decision: LineDecision, trusted: Callable[[int, str], bool] | None = None) -> str | None:
    """utilisation (accepted), rejection (rejected, its certificate known and verified one way or
    the other), or None: no certificate, its chain could not be asked (no verdict to record), or its
    registry is not ``trusted`` (not on the trust list: this administration records nothing there)."""
    found = decision.certificate
    if found is None or found.leaf is None or found.report.issuer is None or found.report.chain_id is None:
        return None
    if found.report.verdict is Verdict.UNAVAILABLE or found.report.registry is None:
        return None
    if trusted is not None and not trusted(found.report.chain_id, found.report.registry):
        return None
    return "utilisation" if decision.accepted else "rejection"


def send_records(
    db: CustomsDatabase,
    declaration_id: int,
    declaration_hash: bytes,
    presented: Sequence[Presented],
    decisions: Sequence[LineDecision],
    signer: Signer | None,
    sender: Callable[[int, str], Registry],
    trusted: Callable[[int, str], bool] | None = None,
) -> list[LineRecord]:
    """Send the receipts and each line's record; the line records in the order of ``decisions``."""
    records = [LineRecord(record_kind(d, trusted), decision=d) for d in decisions]
    if signer is None:
        return records
    for found in presented:
        if found.valid and any(d.certificate is found for d in decisions):
            try:
                _registry(sender, found).record_receipt(signer, str(found.report.issuer), _leaf(found), declaration_hash)
            except (EcooError, OSError) as exc:  # a receipt that fails does not hold the lines back
                log.warning("receipt of %s not recorded: %s", found.leaf, exc)
    for record in records:
        decision = record.decision
        if record.kind is None or decision is None or decision.certificate is None:
            continue
        _send_line(db, declaration_id, declaration_hash, record, decision, decision.certificate, signer, sender)
    return records


def _send_line(
    db: CustomsDatabase,
    declaration_id: int,
    declaration_hash: bytes,
    record: LineRecord,
    decision: LineDecision,
    found: Presented,
    signer: Signer,
    sender: Callable[[int, str], Registry],
) -> None:
    line = decision.line

    def sent(tx: str) -> None:
        record.state, record.tx = "sent", tx
        with db.transaction() as conn:
            update_line_record(conn, declaration_id, line.line, state="sent", tx=tx)

    issuer, leaf = str(found.report.issuer), _leaf(found)
    try:
        registry = _registry(sender, found)
        if record.kind == "utilisation":
            try:
                result = registry.record_utilisation(
                    signer, issuer, leaf, line.item, decision.certified or 0, line.units, declaration_hash, on_sent=sent
                )
            except UtilisationExceededError as exc:
                # Another port recorded first: what remained is no longer enough.
                remaining = max(int(exc.certified) - int(exc.utilised), 0)
                reason = Reason(
                    RejectionCode.QUANTITY_EXCEEDED,
                    f"line {line.line} declares {line.quantity} of item {line.item}, but another customs office recorded "
                    f"utilisation first: {from_units(remaining)} remain of {from_units(int(exc.certified))} certified",
                )
                record.kind, record.extra, record.tx = "rejection", [reason], None
                with db.transaction() as conn:
                    update_line_record(
                        conn,
                        declaration_id,
                        line.line,
                        state="not_sent",
                        kind="rejection",
                        decision="reject",
                        reasons=[reason.to_json()],
                    )
                result = registry.record_rejection(signer, issuer, leaf, int(reason.code), declaration_hash, on_sent=sent)
        else:
            code = decision.reasons[0].code if decision.reasons else RejectionCode.CERTIFICATE_NOT_VALID
            result = registry.record_rejection(signer, issuer, leaf, int(code), declaration_hash, on_sent=sent)
    except (EcooError, OSError) as exc:
        record.state, record.error = "failed", str(exc)[:500]
        with db.transaction() as conn:
            update_line_record(conn, declaration_id, line.line, state="failed", error=record.error)
        return
    record.state, record.tx = "confirmed", result.tx_hash
    with db.transaction() as conn:
        update_line_record(conn, declaration_id, line.line, state="confirmed", tx=result.tx_hash)


def _registry(sender: Callable[[int, str], Registry], found: Presented) -> Registry:
    return sender(int(found.report.chain_id or 0), str(found.report.registry))


def _leaf(found: Presented) -> bytes:
    return bytes.fromhex(str(found.leaf)[2:])
