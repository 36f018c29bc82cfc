"""A declaration's records on each certificate's registry: receipt (each VALID certificate once),
utilisation (each accepted line) and rejection (each rejected line whose certificate is known),
all with the declaration's salted hash, signed by the administration's customs key.

Durable first: the records are stored ``not_sent`` with the declaration, before anything is sent
(:mod:`.declaration_repository`). :class:`RecordSender` is the one code path that moves a stored
record on, for the request that stored it (:func:`send_records`) and for the recovery that takes
over what a request left behind (:mod:`.record_recovery`), as the chamber's worker resolves its
anchors and intents: first ask the chain, then send only what it does not have.

One step of a record, under its claim (only one sender at a time, see :mod:`.record_repository`):

1. its transaction, when one is known: mined → ``confirmed`` (with its block); pending → wait;
   reverted or unknown to the node (never arrived, or a reorganisation dropped it) → go on;
2. when a send may ever have started (``record_from_block`` is written before every send), the
   registry's events for (issuer, leaf, this customs key, declaration hash) and the record's kind
   (a utilisation's item and quantity, a rejection's code), skipping events that the declaration's
   other records hold: found → ``confirmed`` with that transaction;
3. the customs key has transactions the node holds unmined → wait (one of them may be this record);
4. only then send; the transaction's hash is written (``sent``) as soon as the node has it.

A utilisation is therefore never sent while one for the same line may be on its way or on the
chain. When another port was faster and the registry refuses a utilisation
(``UtilisationExceededError``), the line becomes a rejection ``quantity_exceeded`` and is recorded
as one; when another port's first record fixed another certified quantity
(``CertifiedQuantityMismatchError``), a rejection ``certified_quantity_mismatch``. A failed step is tried again by the recovery after a backoff; a confirmed record is looked
at again until its block is :data:`SETTLE_DEPTH` deep, so that a reorganisation that drops it is
noticed and the record sent again. Without a customs key nothing is sent: the records stay
``not_sent`` and the answer says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from web3.exceptions import TransactionNotFound

from ..chain import NETWORK_ERRORS
from ..errors import ChainUnavailableError, EcooError
from ..errors.registry import CertifiedQuantityMismatchError, UtilisationExceededError
from ..registry.events import TOPIC_OF, decode_log
from ..service.faults import fault_point
from ..utilisation import RejectionCode, from_units, to_units
from ..verdicts import Verdict
from .declaration_repository import request_owner
from .declarations import LineDecision, Presented, Reason
from .record_repository import (
    LINE,
    StoredRecord,
    claim_record,
    declaration_records,
    release_record,
    sibling_transactions,
    unschedule,
    write_record,
)

if TYPE_CHECKING:
    from ..registry import Registry
    from ..signers import Signer
    from .config import CustomsSettings
    from .store import CustomsDatabase

__all__ = ["CLAIM_SECONDS", "SETTLE_DEPTH", "LineRecord", "RecordSender", "record_kind", "send_records", "sender_options"]

log = logging.getLogger(__name__)

#: Seconds a sender holds a record (renewed right before a send): far longer than it takes to
#: estimate, sign and hand one transaction to the node, after which its hash is stored.
CLAIM_SECONDS = 120.0
#: Blocks on top of a confirmed record's (its own included) before it is no longer looked at.
SETTLE_DEPTH = 64
#: Blocks below the head the event search starts from (a reorganisation may shorten the chain).
SEARCH_MARGIN = 64
#: Seconds before a pending or shallow record is looked at again; the first retry of a failed one,
#: doubling up to the cap.
RECHECK_SECONDS = 10.0
BACKOFF_BASE = 5.0
BACKOFF_CAP = 900.0

_EVENT = {"receipt": "CertificateReceived", "utilisation": "CertificateUtilised", "rejection": "CertificateRejected"}


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


def rejection_code(record: StoredRecord) -> RejectionCode:
    """The code a line's rejection records: its first reason's."""
    codes = {code.code: code for code in RejectionCode}
    first = record.reasons[0].get("code") if record.reasons else None
    return codes.get(str(first), RejectionCode.CERTIFICATE_NOT_VALID)


def exceeded_reason(record: StoredRecord, exc: UtilisationExceededError) -> Reason:
    """The rejection a utilisation becomes when another port recorded first."""
    remaining = max(int(exc.certified) - int(exc.utilised), 0)
    return Reason(
        RejectionCode.QUANTITY_EXCEEDED,
        f"line {record.line_no} declares {record.quantity} of item {record.item}, but another customs office recorded "
        f"utilisation first: {from_units(remaining)} remain of {from_units(int(exc.certified))} certified",
    )


def mismatch_reason(record: StoredRecord, exc: CertifiedQuantityMismatchError) -> Reason:
    """The rejection a utilisation becomes when the registry holds another certified quantity."""
    stated, recorded = (int(exc.args_by_name[name]) for name in ("stated", "recorded"))
    return Reason(
        RejectionCode.CERTIFIED_QUANTITY_MISMATCH,
        f"line {record.line_no}: item {record.item} is certified {from_units(stated)} {record.unit or ''} on the "
        f"certificate, but the registry holds {from_units(recorded)} {record.unit or ''} as its certified quantity "
        "(an earlier record fixed it) and refused the utilisation",
    )


class RecordSender:
    """Moves stored records on, one step each (:meth:`advance`); collaborators injected so that the
    tests make the waits short without patching."""

    def __init__(
        self,
        db: CustomsDatabase,
        signer: Signer,
        sender: Callable[[int, str], Registry],
        *,
        owner: str,
        claim_seconds: float = CLAIM_SECONDS,
        settle_depth: int = SETTLE_DEPTH,
        recheck: float = RECHECK_SECONDS,
        backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db, self.signer, self.sender, self.owner = db, signer, sender, owner
        self.claim_seconds, self.settle_depth, self.recheck = claim_seconds, max(1, settle_depth), recheck
        self.backoff_base, self.backoff_cap, self.clock = backoff_base, backoff_cap, clock

    def backoff(self, attempts: int) -> float:
        return float(min(self.backoff_cap, self.backoff_base * 2 ** max(attempts - 1, 0)))

    def advance(self, record: StoredRecord) -> bool:
        """One step of ``record`` (see the module) as it is once claimed; False when another sender
        holds it, or moved it on since ``record`` was read (it is no longer due)."""
        now = self.clock()
        with self.db.transaction() as conn:
            current = claim_record(conn, record, self.owner, now, now + self.claim_seconds)
        if current is None:
            return False
        try:
            due = current.next_at is not None and current.next_at <= now
            if due:
                self._step(current)
        finally:
            with self.db.transaction() as conn:
                release_record(conn, current, self.owner)
        return due

    def _write(self, record: StoredRecord, **values: Any) -> None:
        with self.db.transaction() as conn:
            write_record(conn, record, **values)

    def _step(self, record: StoredRecord) -> None:
        progress = _Progress()
        try:
            registry = self.sender(record.chain_id, record.registry)
            if not self._resolved(registry, record):
                self._send(registry, record, progress)
        except (EcooError, OSError) as exc:
            log.warning("%s record of declaration %s: %s", record.kind, record.declaration_id, exc)
            attempts = record.attempts + 1  # a send that began counted this attempt already: the same number
            values: dict[str, Any] = {"record_error": str(exc)[:500], "record_next_at": self.clock() + self.backoff(attempts)}
            if progress.started or record.tx is None:  # a send failed, or the chain could not be asked before one
                values["record_attempts"] = attempts
                if not progress.sent:  # else it stays "sent": the next step looks its transaction up
                    values["record_state"] = "failed"
            # else a sent or confirmed record that could not be looked at now keeps its state: its
            # transaction is looked up again after the backoff.
            self._write(record, **values)

    # -- 1 to 3: what the chain already has ------------------------------------------------------

    def _resolved(self, registry: Registry, record: StoredRecord) -> bool:
        """Whether the chain has the record or may still get it (then its state is written)."""
        if record.tx:
            mined = self._mined(registry, record.tx)
            if isinstance(mined, int):
                self._confirmed(registry, record, record.tx, mined)
                return True
            if mined == "pending":
                self._write(record, record_state="sent", record_next_at=self.clock() + self.recheck)
                return True
            if record.state == "confirmed":
                log.warning("the transaction %s of a %s record is no longer on the chain (a reorganisation?)", record.tx, record.kind)
        if record.from_block is None:
            return False  # no send ever started: the chain cannot have it
        landed = self._landed(registry, record)
        if landed is not None:
            self._confirmed(registry, record, *landed)
            return True
        if self._key_has_pending(registry):
            self._write(
                record,
                record_error="waiting: the customs key has transactions the node has not mined yet",
                record_next_at=self.clock() + self.recheck,
            )
            return True
        return False

    @staticmethod
    def _mined(registry: Registry, tx: str) -> int | str | None:
        """The block of ``tx`` if it was mined and succeeded, "pending", or None (unknown, reverted)."""
        try:
            receipt = registry.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
        except TransactionNotFound:
            receipt = None
        except NETWORK_ERRORS as exc:
            raise ChainUnavailableError(registry.node.url, type(exc).__name__) from exc
        if receipt is not None:
            return int(receipt["blockNumber"]) if receipt["status"] == 1 else None
        return "pending" if registry.transaction_state(tx) == "pending" else None

    def _landed(self, registry: Registry, record: StoredRecord) -> tuple[str, int] | None:
        """The transaction and block of the record's event on the chain, if it is there."""
        topics = [TOPIC_OF[_EVENT[record.kind]], _topic(record.issuer), record.leaf.lower(), _topic(self.signer.address)]
        query: Any = {"address": registry.address, "fromBlock": record.from_block, "toBlock": "latest", "topics": topics}
        try:
            logs = registry.w3.eth.get_logs(query)
        except NETWORK_ERRORS as exc:
            raise ChainUnavailableError(registry.node.url, type(exc).__name__) from exc
        with self.db.transaction() as conn:
            taken = sibling_transactions(conn, record)
        for raw in logs:
            event = decode_log(raw)
            if event is None or event.tx_hash in taken or event.declaration_hash != record.declaration_hash.lower():
                continue
            if record.kind == "utilisation" and (event.item != record.item or event.quantity != _units(record)):
                continue
            if record.kind == "rejection" and event.code != int(rejection_code(record)):
                continue
            return event.tx_hash, event.block_number
        return None

    def _key_has_pending(self, registry: Registry) -> bool:
        address = registry.w3.to_checksum_address(self.signer.address)
        try:
            pending = registry.w3.eth.get_transaction_count(address, "pending")
            latest = registry.w3.eth.get_transaction_count(address, "latest")
        except NETWORK_ERRORS as exc:
            raise ChainUnavailableError(registry.node.url, type(exc).__name__) from exc
        return pending > latest

    def _confirmed(self, registry: Registry, record: StoredRecord, tx: str, block: int) -> None:
        head, _ = registry.head()
        settled = head - block + 1 >= self.settle_depth
        with self.db.transaction() as conn:
            if tx in sibling_transactions(conn, record):
                return  # another record of the declaration took this event meanwhile: look again
            write_record(
                conn,
                record,
                record_state="confirmed",
                record_tx=tx,
                record_block=block,
                record_error=None,
                record_next_at=None if settled else self.clock() + self.recheck,
            )

    # -- 4: sending ----------------------------------------------------------------------------

    def _send(self, registry: Registry, record: StoredRecord, progress: _Progress) -> None:
        head, _ = registry.head()
        now = self.clock()
        attempts = record.attempts + 1
        with self.db.transaction() as conn:
            if claim_record(conn, record, self.owner, now, now + self.claim_seconds) is None:
                return  # our claim ran out and another sender has it now
            start = record.from_block if record.from_block is not None else max(head - SEARCH_MARGIN, 0)
            write_record(conn, record, record_from_block=start, record_attempts=attempts, record_error=None)
        record = replace(record, from_block=start, attempts=attempts)
        progress.started = True

        def sent(tx_hash: str) -> None:
            progress.sent = True
            fault_point("record.before_store", record.kind)  # the node has it, only the chain knows
            self._write(
                record, record_state="sent", record_tx=tx_hash, record_error=None, record_next_at=self.clock() + self.recheck
            )
            fault_point("record.after_send", record.kind)

        fault_point("record.before_send", record.kind)
        try:
            result = self._transact(registry, record, sent)
        except (UtilisationExceededError, CertifiedQuantityMismatchError) as exc:
            if record.kind != "utilisation":
                raise
            # Another port recorded first: what remained is no longer enough, or its record fixed
            # another certified quantity. The registry refused the line: it becomes a rejection.
            if isinstance(exc, UtilisationExceededError):
                reason = exceeded_reason(record, exc)
            else:
                reason = mismatch_reason(record, exc)
            reasons = [reason.to_json()]
            self._write(
                record,
                record_kind="rejection",
                decision="reject",
                reasons=reasons,
                record_state="not_sent",
                record_tx=None,
                record_block=None,
            )
            record = replace(record, kind="rejection", reasons=tuple(reasons), tx=None)
            progress.sent = False
            result = self._transact(registry, record, sent)
        self._confirmed(registry, record, result.tx_hash, result.block_number)

    def _transact(self, registry: Registry, record: StoredRecord, sent: Callable[[str], None]) -> Any:
        leaf, hashed = bytes.fromhex(record.leaf[2:]), bytes.fromhex(record.declaration_hash[2:])
        if record.kind == "receipt":
            return registry.record_receipt(self.signer, record.issuer, leaf, hashed, on_sent=sent)
        if record.kind == "utilisation":
            certified = record.certified if record.certified is not None else self._certified_on_chain(registry, record)
            return registry.record_utilisation(
                self.signer, record.issuer, leaf, int(record.item or 0), certified, _units(record), hashed, on_sent=sent
            )
        code = int(rejection_code(record))
        return registry.record_rejection(self.signer, record.issuer, leaf, code, hashed, on_sent=sent)

    @staticmethod
    def _certified_on_chain(registry: Registry, record: StoredRecord) -> int:
        """The certified quantity an earlier record fixed, for a line stored without its own."""
        (usage,) = registry.get_utilisation(record.issuer, bytes.fromhex(record.leaf[2:]), [int(record.item or 0)])
        if not usage.certified:
            raise EcooError(f"line {record.line_no}: its certified quantity was not stored and no record fixed it yet")
        return int(usage.certified)


@dataclass
class _Progress:
    """How far one step's send got: started (the attempt counted), sent (the node has a transaction)."""

    started: bool = False
    sent: bool = False


def _topic(address: str) -> str:
    return "0x" + address.lower().removeprefix("0x").rjust(64, "0")


def _units(record: StoredRecord) -> int:
    return to_units(str(record.quantity))


def sender_options(settings: CustomsSettings) -> dict[str, Any]:
    """The :class:`RecordSender` options the service's settings give: claims of
    ``ECOO_LEASE_SECONDS``, waits of at most ``ECOO_MAX_BACKOFF``."""
    cap = settings.max_backoff
    return {"claim_seconds": settings.lease_seconds, "recheck": min(RECHECK_SECONDS, cap), "backoff_cap": cap}


def send_records(
    db: CustomsDatabase,
    declaration_id: int,
    declaration_hash: bytes,
    presented: Sequence[Presented],
    decisions: Sequence[LineDecision],
    signer: Signer | None,
    sender: Callable[[int, str], Registry],
    trusted: Callable[[int, str], bool] | None = None,
    **options: Any,
) -> list[LineRecord]:
    """Send the declaration's stored receipts and line records (in the request that stored them,
    which holds their claim; ``options`` go to the :class:`RecordSender`); the line records as
    stored afterwards, in the order of ``decisions``."""
    del declaration_hash, presented  # stored with the declaration: the stored records are what is sent
    records = [LineRecord(record_kind(d, trusted), decision=d) for d in decisions]
    with db.transaction() as conn:
        if signer is None:
            unschedule(conn, declaration_id)
            return records
        stored = declaration_records(conn, declaration_id)
    sending = RecordSender(db, signer, sender, owner=request_owner(declaration_id), **options)
    for waiting in stored:
        if waiting.state != "confirmed":
            sending.advance(waiting)
    with db.transaction() as conn:
        now = {r.line_no: r for r in declaration_records(conn, declaration_id) if r.table == LINE}
    for record in records:
        line_decision = record.decision
        row = now.get(line_decision.line.line) if line_decision is not None else None
        if line_decision is None or row is None:
            continue
        record.kind, record.state, record.tx, record.error = row.kind, row.state, row.tx, row.error
        if line_decision.accepted and row.kind == "rejection":  # the chain turned it down: another port was faster
            record.extra = [Reason(rejection_code(row), str(r.get("message", ""))) for r in row.reasons]
    return records
