"""What a chamber does through the service: create certificates (stored PENDING, signed, then
anchored by the worker), and change the status of issued ones on the registry."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ..devchain import DEV_FUNDING_WEI, fund
from ..errors import (
    AnchoringInProgressError,
    BatchTooLargeError,
    ChainUnavailableError,
    DeploymentNotFoundError,
    FinalStatusError,
    InvalidAmendmentError,
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
from .status import CertificateStatus
from .store import CertificateRow, Chamber, Store
from .vault import KeyVault

MAX_BATCH = 1000
REASONS = {"fraud": RevocationReason.FRAUD, "error": RevocationReason.ERROR, "cancelled": RevocationReason.CANCELLED}
# A certificate whose status the chamber can still change on the registry.
CHANGEABLE = (CertificateStatus.ISSUED, CertificateStatus.SUSPENDED)


class Issuance:
    def __init__(self, store: Store, chain: ServiceChain, vault: KeyVault, settings: ServiceSettings) -> None:
        self.store, self.chain, self.vault, self.settings = store, chain, vault, settings
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
        except ChainUnavailableError as exc:
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

    # -- status ----------------------------------------------------------------------------------

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

    def _signer_and_owner(self, chamber: Chamber, row: CertificateRow) -> tuple[Any, str]:
        """The chamber's current key, and the key that anchored ``row`` (they differ after a rotation)."""
        address, ciphertext, _ = self.store.key(chamber.key_id)
        owner, _, _ = self.store.key(row.key_id)
        return self.vault.signer(ciphertext, chamber.id), owner

    def revoke(self, chamber: Chamber, row: CertificateRow, reason: str, actor: str) -> CertificateRow:
        if reason not in REASONS:
            raise UnknownRevocationReasonError(reason, list(REASONS))
        status = CertificateStatus.CANCELLED if reason == "cancelled" else CertificateStatus.REVOKED
        if row.status == CertificateStatus.PENDING:
            # Not anchored yet: withdraw it so that it is never anchored.
            if row.batch_id is None and self.store.set_status(
                row.id, CertificateStatus.CANCELLED, reason, actor, None, expect=[CertificateStatus.PENDING]
            ):
                return self._reload(row)
            raise AnchoringInProgressError("the certificate is being anchored right now", "retry in a few seconds")
        if row.status not in CHANGEABLE:
            raise FinalStatusError(row.status)
        signer, owner = self._signer_and_owner(chamber, row)
        registry = self._registry("revoke")
        tx = self._chain_call("revoke", lambda: registry.revoke(signer, row.leaf_bytes, REASONS[reason], issuer=owner))
        self.store.set_status(row.id, status, reason, actor, tx.tx_hash)
        return self._reload(row)

    def suspend(self, chamber: Chamber, row: CertificateRow, actor: str, reason: str | None = None) -> CertificateRow:
        if row.status != CertificateStatus.ISSUED:
            raise NotIssuedError(row.status, "suspended")
        signer, owner = self._signer_and_owner(chamber, row)
        registry = self._registry("suspend")
        tx = self._chain_call("suspend", lambda: registry.suspend_certificate(signer, row.leaf_bytes, issuer=owner))
        self.store.set_status(row.id, CertificateStatus.SUSPENDED, reason, actor, tx.tx_hash)
        return self._reload(row)

    def lift(self, chamber: Chamber, row: CertificateRow, actor: str) -> CertificateRow:
        if row.status != CertificateStatus.SUSPENDED:
            raise NotSuspendedError(row.status)
        signer, owner = self._signer_and_owner(chamber, row)
        registry = self._registry("lift")
        tx = self._chain_call("lift", lambda: registry.lift_certificate_suspension(signer, row.leaf_bytes, issuer=owner))
        self.store.set_status(row.id, CertificateStatus.ISSUED, None, actor, tx.tx_hash)
        return self._reload(row)

    def supersede(
        self, chamber: Chamber, row: CertificateRow, amended: Any, reason: str, actor: str
    ) -> tuple[CertificateRow, CertificateRow]:
        if row.status not in CHANGEABLE:
            raise NotIssuedError(row.status, "superseded")
        if not isinstance(amended, dict):
            raise InvalidAmendmentError()
        if not isinstance(reason, str) or not reason.strip():
            raise MissingAmendmentReasonError()
        certificate = copy.deepcopy(amended)
        certificate["replaces"] = {"certificateNumber": row.number, "leaf": row.leaf, "reason": reason}
        key = (
            certificate.get("certificateNumber")
            if certificate.get("certificateNumber") != row.number
            else f"{row.number}#amends-{row.id}"
        )
        return self._replace(chamber, row, certificate, str(key), "supersede", actor)

    def certified_copy(self, chamber: Chamber, row: CertificateRow, actor: str) -> tuple[CertificateRow, CertificateRow]:
        if row.status not in CHANGEABLE:
            raise NotIssuedError(row.status, "copied")
        certificate = copy.deepcopy(row.data)
        certificate["copyType"] = "CERTIFIED_TRUE_COPY"
        certificate["copyOf"] = {"certificateNumber": row.number, "issueDate": row.issue_date, "leaf": row.leaf}
        return self._replace(chamber, row, certificate, f"{row.number}#copy-of-{row.id}", "copy", actor)

    def _replace(
        self, chamber: Chamber, row: CertificateRow, certificate: dict[str, Any], key: str, action: str, actor: str
    ) -> tuple[CertificateRow, CertificateRow]:
        """Store the replacement (PENDING), then point the original to it on the registry."""
        replaces = certificate.get("replaces")
        note = f"superseded: {replaces['reason']}" if isinstance(replaces, dict) else "replaced by a certified true copy"
        new = self.create(chamber, [certificate], actor, idempotency_keys=[key])[0]
        signer, owner = self._signer_and_owner(chamber, row)
        try:
            registry = self._registry(action)
            tx = self._chain_call(action, lambda: registry.supersede(signer, row.leaf_bytes, new.leaf_bytes, issuer=owner))
        except (RegistryUnreachableError, RegistryRefusedError):
            # The original is unchanged on chain: withdraw the replacement (if not anchored yet) so
            # that the same copy or amendment can be retried.
            self.store.withdraw(new.id, f"{action} failed", actor)
            raise
        self.store.set_status(row.id, CertificateStatus.SUPERSEDED, note, actor, tx.tx_hash, successor_leaf=new.leaf)
        return self._reload(row), new

    # -- key rotation ----------------------------------------------------------------------------

    def rotate_key(self, chamber: Chamber, authority: Any, fund_from: Any = None) -> str:
        """Give ``chamber`` a new signing key through the registry's key rotation (signed by the
        ``authority``). The old key keeps its history; certificates still waiting to be batched are
        re-signed with the new key. Refused while a batch is being anchored."""
        from eth_account import Account

        if self.store.batch_repository.unanchored(chamber.id):
            raise AnchoringInProgressError("a batch of this chamber is being anchored", "rotate afterwards")
        old_address = self.store.key(chamber.key_id).address
        account = Account.create()
        registry = self._registry("rotate the key")
        if fund_from is not None:
            fund(registry.w3, fund_from.address, account.address, DEV_FUNDING_WEI)
        self._chain_call("rotate the key", lambda: registry.rotate_issuer_key(authority, old_address, account.address))
        key_id = self.store.add_key(chamber.id, account.address, self.vault.encrypt(bytes(account.key), chamber.id))
        chain_id, registry_address = self.chain.identity()
        signer = self.vault.signer(self.store.key(key_id).ciphertext, chamber.id)
        pending = [row for row in self.store.pending(chamber.id, 1_000_000)]
        signatures = {
            row.id: "0x" + signer.sign_digest(certificate_digest(chain_id, registry_address, row.leaf_bytes, row.number)).hex()
            for row in pending
        }
        self.store.resign_pending(chamber.id, key_id, signatures)
        return str(account.address)

    def _reload(self, row: CertificateRow) -> CertificateRow:
        fresh = self.store.get_certificate(row.id)
        assert fresh is not None
        return fresh
