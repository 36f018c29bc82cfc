"""What a chamber does through the service: create certificates (stored PENDING, signed, then
anchored by the worker), and change the status of issued ones on the registry."""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..devchain import DEV_FUNDING_WEI, fund
from ..errors import (
    AnchoringInProgressError,
    BatchTooLargeError,
    ChainUnavailableError,
    ChangeInProgressError,
    DeploymentNotFoundError,
    DuplicateCertificateError,
    EcooError,
    FinalStatusError,
    IntentConflictError,
    InvalidAmendmentError,
    InvalidReasonTextError,
    MissingAmendmentReasonError,
    NoCertificatesError,
    NotIssuedError,
    NotSuspendedError,
    RegistryRefusedError,
    RegistryRevert,
    RegistryUnreachableError,
    RejectedCertificatesError,
    UnknownRevocationReasonError,
)
from ..issuing import certificate_issues, issuer_mismatches
from ..protocol import certificate_digest, prepare
from ..registry import RevocationReason, TxResult
from .chain import ServiceChain
from .config import ServiceSettings
from .follower import ChainFollower
from .intents import IntentSender
from .status import CertificateStatus, IntentKind, IntentState
from .store import CertificateRow, Chamber, IntentRow, Store
from .vault import KeyVault

log = logging.getLogger(__name__)

MAX_BATCH = 1000
REASONS = {"fraud": RevocationReason.FRAUD, "error": RevocationReason.ERROR, "cancelled": RevocationReason.CANCELLED}
# A certificate whose status the chamber can still change on the registry.
CHANGEABLE = (CertificateStatus.ISSUED, CertificateStatus.SUSPENDED)
#: The longest reason a chamber may give; no control characters (NUL among them: PostgreSQL
#: cannot store it in text, and a reason is shown on pages and in the audit trail).
MAX_REASON = 1000
_REASON = re.compile(r"[^\x00-\x1f\x7f]*")


def check_reason(reason: str) -> None:
    """Refuse a reason the store could not hold or a page should not show (before anything is stored)."""
    if len(reason) > MAX_REASON or not _REASON.fullmatch(reason):
        raise InvalidReasonTextError(MAX_REASON)


@dataclass(frozen=True)
class Change:
    """A certificate as the chain shows it after a request, and the request's intent if it is
    still on its way (or the one it was, for the record)."""

    row: CertificateRow
    intent: IntentRow | None


class Issuance:
    def __init__(
        self, store: Store, chain: ServiceChain, vault: KeyVault, settings: ServiceSettings, follower: ChainFollower
    ) -> None:
        self.store, self.chain, self.vault, self.settings = store, chain, vault, settings
        self.follower = follower
        self.sender = IntentSender(store, lambda: self.chain.registry(), vault, settings.lease_seconds)
        self.on_created: list[Any] = []  # callbacks (the worker's wake-up)

    # -- creation --------------------------------------------------------------------------------

    def create(
        self, chamber: Chamber, certificates: Sequence[Any], actor: str, idempotency_keys: Sequence[str] | None = None
    ) -> list[CertificateRow]:
        if not certificates:
            raise NoCertificatesError()
        if len(certificates) > MAX_BATCH:
            raise BatchTooLargeError(MAX_BATCH)
        failures = certificate_issues(certificates)
        valid_indices = [i for i in range(len(certificates)) if i not in failures]
        valid = [certificates[i] for i in valid_indices]
        signing_address = self.store.key(chamber.key_id).address
        mismatched = issuer_mismatches(
            valid, chamber.country, chamber.accreditation_code, "this chamber is accredited", signing_address=signing_address
        )
        for position, issues in mismatched.items():
            failures[valid_indices[position]] = issues
        problems: list[dict[str, Any]] = [
            {
                "index": index,
                "number": certificates[index].get("certificateNumber") if isinstance(certificates[index], dict) else None,
                "issues": [i.to_json() for i in failures[index]],
            }
            for index in sorted(failures)
        ]
        if problems:
            raise RejectedCertificatesError(problems)
        try:
            chain_id, registry = self.chain.identity()
        except (ChainUnavailableError, DeploymentNotFoundError) as exc:
            raise RegistryUnreachableError("sign", cause=exc) from exc
        address, ciphertext, _ = self.store.key(chamber.key_id)
        signer = self.vault.signer(ciphertext, chamber.id)
        rows = []
        for index, certificate in enumerate(certificates):
            prepared = prepare(certificate)
            number = str(certificate["certificateNumber"])
            digest = certificate_digest(chain_id, registry, prepared.leaf, number)
            signature = signer.sign_digest(digest)
            rows.append(
                {
                    "number": number,
                    "idempotency_key": idempotency_keys[index] if idempotency_keys else number,
                    "scheme": certificate["scheme"],
                    "export_country": certificate["exportCountry"],
                    "destination": certificate["importCountry"],
                    "issue_date": certificate["issueDate"],
                    "data": prepared.certificate,
                    "salts": {name: "0x" + salt.hex() for name, salt in prepared.salts.items()},
                    "leaf": "0x" + prepared.leaf.hex(),
                    "signature": "0x" + signature.hex(),
                }
            )
        ids = self.store.insert_certificates(chamber, rows, actor)
        for callback in self.on_created:
            callback()
        return self.store.get_certificates(ids)

    # -- status: every change is an intent first -------------------------------------------------

    def revoke(self, chamber: Chamber, row: CertificateRow, reason: str, actor: str) -> Change:
        if reason not in REASONS:
            raise UnknownRevocationReasonError(reason, list(REASONS))
        if row.status == CertificateStatus.PENDING:
            # Not anchored: it is cancelled, whatever the reason. The update is conditional on no
            # batch having taken it, so it cannot race the worker forming one. A replacement the
            # registry already points to (a supersede) is never dropped unanchored: it is revoked
            # on chain once anchored, so the original never points to nothing.
            if not self._replaces_on_chain(row) and self.store.cancel_unbatched(row.id, reason, actor):
                return Change(self._reload(row), None)
            fresh = self._reload(row)
            if fresh.status != CertificateStatus.PENDING:  # another request, or the chain, was first
                if fresh.status.final:
                    raise FinalStatusError(fresh.status)
                return self._change(fresh, IntentKind.REVOKE, actor, reason, "revoke", revocation_reason=RevocationReason.CANCELLED)
            # A batch has it: once the batch is anchored, it is revoked on chain as Cancelled.
            intent = self._intend(fresh, IntentKind.REVOKE, actor, reason, revocation_reason=RevocationReason.CANCELLED)
            return Change(self._reload(row), intent)
        if row.status not in CHANGEABLE:
            raise FinalStatusError(row.status)
        return self._change(row, IntentKind.REVOKE, actor, reason, "revoke", revocation_reason=REASONS[reason])

    def _replaces_on_chain(self, row: CertificateRow) -> bool:
        """Whether ``row`` is the replacement an original points to on the registry (or will: an
        open supersede)."""
        link = row.data.get("replaces") or row.data.get("copyOf")
        original = self.store.find_by_leaf(link["leaf"]) if isinstance(link, dict) and isinstance(link.get("leaf"), str) else None
        if original is None:
            return False
        if original.successor_leaf == row.leaf:
            return True
        pending = self.store.intent_repository.open_for(original.id)
        return pending is not None and pending.successor_leaf == row.leaf

    def suspend(self, chamber: Chamber, row: CertificateRow, actor: str, reason: str | None = None) -> Change:
        if row.status != CertificateStatus.ISSUED:
            raise NotIssuedError(row.status, "suspended")
        return self._change(row, IntentKind.SUSPEND, actor, reason, "suspend")

    def lift(self, chamber: Chamber, row: CertificateRow, actor: str) -> Change:
        if row.status != CertificateStatus.SUSPENDED:
            raise NotSuspendedError(row.status)
        return self._change(row, IntentKind.LIFT, actor, None, "lift")

    def supersede(self, chamber: Chamber, row: CertificateRow, amended: Any, reason: str, actor: str) -> tuple[Change, Change]:
        if row.status not in CHANGEABLE:
            raise NotIssuedError(row.status, "superseded")
        if not isinstance(amended, dict):
            raise InvalidAmendmentError()
        if not isinstance(reason, str) or not reason.strip():
            raise MissingAmendmentReasonError()
        check_reason(reason)
        certificate = copy.deepcopy(amended)
        certificate["replaces"] = {"certificateNumber": row.number, "leaf": row.leaf, "reason": reason}
        key = (
            certificate.get("certificateNumber")
            if certificate.get("certificateNumber") != row.number
            else f"{row.number}#amends-{row.id}"
        )
        return self._replace(chamber, row, certificate, str(key), "supersede", actor, f"superseded: {reason}")

    def certified_copy(self, chamber: Chamber, row: CertificateRow, actor: str) -> tuple[Change, Change]:
        if row.status not in CHANGEABLE:
            raise NotIssuedError(row.status, "copied")
        certificate = copy.deepcopy(row.data)
        certificate["copyType"] = "CERTIFIED_TRUE_COPY"
        certificate["copyOf"] = {"certificateNumber": row.number, "issueDate": row.issue_date, "leaf": row.leaf}
        key = f"{row.number}#copy-of-{row.id}"
        return self._replace(chamber, row, certificate, key, "copy", actor, "replaced by a certified true copy")

    def _replace(  # noqa: PLR0913 - the one path of supersede and copy
        self, chamber: Chamber, row: CertificateRow, certificate: dict[str, Any], key: str, action: str, actor: str, note: str
    ) -> tuple[Change, Change]:
        """Store the replacement (PENDING), then the intent to point the original to it on the
        registry; a refused or unsent supersede withdraws the replacement so it can be retried."""
        if self.store.intent_repository.open_for(row.id) is not None:
            raise ChangeInProgressError(row.id)
        try:
            new = self.create(chamber, [certificate], actor, idempotency_keys=[key])[0]
        except DuplicateCertificateError as exc:
            # The same request again after it stopped between storing the replacement and its
            # intent (a crash): finish it with the replacement already stored.
            stored = self._stored_replacement(exc, certificate)
            if stored is None:
                raise
            new = stored
        try:
            change = self._change(row, IntentKind.SUPERSEDE, actor, note, action, successor_leaf=new.leaf)
        except (RegistryUnreachableError, RegistryRefusedError, ChangeInProgressError):
            self.store.withdraw(new.id, f"{action} failed", actor)
            raise
        return change, Change(self._reload(new), None)

    def _stored_replacement(self, exc: DuplicateCertificateError, certificate: dict[str, Any]) -> CertificateRow | None:
        """The stored replacement a repeated supersede or copy request left, if it is this one."""
        existing = self.store.get_certificate(exc.existing_id) if exc.existing_id > 0 else None
        if existing is None or existing.status not in (CertificateStatus.PENDING, CertificateStatus.ISSUED):
            return None
        return existing if prepare(certificate).certificate == existing.data else None

    def _intend(self, row: CertificateRow, kind: IntentKind, actor: str, reason: str | None, **values: Any) -> IntentRow:
        """Store the intent (durably, before anything is sent)."""
        if reason is not None:
            check_reason(reason)
        try:
            return self.store.intent_repository.create(row.chamber_id, row.id, kind, actor, reason=reason, **values)
        except IntentConflictError as exc:
            raise ChangeInProgressError(row.id) from exc

    def _change(self, row: CertificateRow, kind: IntentKind, actor: str, reason: str | None, action: str, **values: Any) -> Change:
        """Store the intent, send it now, and wait briefly for the follower to record the event.
        The chain unreachable before sending closes the intent as failed (503: nothing changed);
        once sent, the intent stays open and the worker completes it (202 with the intent)."""
        intent = self._intend(row, kind, actor, reason, **values)
        intents = self.store.intent_repository
        try:
            outcome = self.sender.send(intent, raise_refusal=True)
        except (ChainUnavailableError, DeploymentNotFoundError) as exc:
            intents.mark_failed(intent.id, "the chain could not be reached; nothing was sent")
            raise RegistryUnreachableError(action, "the chain") from exc
        except RegistryRevert as exc:
            raise RegistryRefusedError(action, exc) from exc
        if outcome == "failed":  # the certificate reached another final status meanwhile
            raise FinalStatusError(self._reload(row).status)
        # With one confirmation the event is there now; with more, the worker's follower records it.
        self._settle(intent.id, timeout=3.0 if self.settings.confirmations == 1 else 0.0)
        return Change(self._reload(row), intents.get(intent.id))

    def _settle(self, intent_id: int, timeout: float = 5.0) -> None:
        """Follow the chain until the intent is done or ``timeout`` passes (it then stays in flight)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.follower.run_once()  # waits while another thread of this process follows
            except Exception:  # noqa: BLE001 - the change is sent; the worker's follower records it later
                log.exception("following the chain after a change failed")
                return
            intent = self.store.intent_repository.get(intent_id)
            if intent is None or not intent.state.open or time.monotonic() > deadline:
                return
            time.sleep(0.1)

    # -- key rotation ----------------------------------------------------------------------------

    def rotate_key(self, chamber: Chamber, authority: Any, fund_from: Any = None) -> str:
        """Give ``chamber`` a new signing key through the registry's key rotation (signed by the
        ``authority``). The new key is stored, encrypted, in a ROTATE intent before the rotation is
        sent (a crash cannot lose it); the follower makes it the chamber's key when the registry's
        event arrives, and the worker re-signs certificates not yet batched. A rotation left open
        by a crash is sent again, with the same key, by the next call. Refused while a batch is
        being anchored."""
        from eth_account import Account

        try:
            self.follower.run_once()  # batches the chain has anchored are recorded first
        except EcooError:
            pass
        if self.store.batch_repository.unanchored(chamber.id):
            raise AnchoringInProgressError("a batch of this chamber is being anchored", "rotate afterwards")
        old_address = self.store.key(chamber.key_id).address
        intents = self.store.intent_repository
        intent = next((i for i in intents.open_intents(chamber.id) if i.kind == IntentKind.ROTATE), None)
        if intent is None:
            account = Account.create()
            ciphertext = self.vault.encrypt(bytes(account.key), chamber.id)
            intent = intents.create(
                chamber.id, None, IntentKind.ROTATE, "cli", new_address=account.address, new_ciphertext=ciphertext
            )
        new_address, _ = intents.new_key(intent.id)
        registry = self._registry("rotate the key")
        if fund_from is not None:
            fund(registry.w3, fund_from.address, new_address, DEV_FUNDING_WEI)
        try:
            self._chain_call(
                "rotate the key",
                lambda: registry.rotate_issuer_key(
                    authority, old_address, new_address, on_sent=lambda tx: intents.mark_sent(intent.id, tx)
                ),
            )
        except (RegistryRefusedError, RegistryUnreachableError) as exc:
            sent = intents.get(intent.id)
            if isinstance(exc, RegistryRefusedError) or (sent is not None and sent.state == IntentState.QUEUED):
                intents.mark_failed(intent.id, str(exc))  # refused, or never sent: not in flight
            raise
        self._settle(intent.id, timeout=30.0)
        if self.store.chamber(chamber.id) is None or self.store.chamber(chamber.id).address.lower() != new_address.lower():  # type: ignore[union-attr]
            raise RegistryUnreachableError("rotate the key", "the chain follower (the rotation is sent; it completes on its own)")
        return str(new_address)

    def _registry(self, action: str) -> Any:
        try:
            return self.chain.registry()
        except (ChainUnavailableError, DeploymentNotFoundError) as exc:
            raise RegistryUnreachableError(action) from exc

    def _chain_call(self, action: str, call: Any) -> TxResult:
        try:
            result: TxResult = call()
            return result
        except ChainUnavailableError as exc:
            raise RegistryUnreachableError(action, "the chain") from exc
        except RegistryRevert as exc:
            raise RegistryRefusedError(action, exc) from exc

    def _reload(self, row: CertificateRow) -> CertificateRow:
        fresh = self.store.get_certificate(row.id)
        assert fresh is not None
        return fresh
