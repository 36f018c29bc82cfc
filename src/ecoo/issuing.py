"""Issuing operations of a chamber: issue one or many certificates (one Merkle root, one
transaction), revoke with a reason, suspend and lift, supersede with an amended certificate, and
issue a certified true copy of a lost original."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .documents import IssuedDocument, to_hex
from .errors import ConfigurationError, InvalidCertificatesError, IssuerNotAccreditedError
from .merkle import MerkleTree
from .protocol import Prepared, build_document, certificate_digest, prepare, typed_data
from .registry import Issuer, IssuerStatus, Registry, RevocationReason, TxResult
from .signers import Signer
from .validation import ValidationIssue, validate_certificate

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` while a batch is prepared, signed and anchored."""


@dataclass(frozen=True)
class IssuedBatch:
    """Certificates issued under one anchored Merkle root."""

    issuer: str
    root: bytes
    tx: TxResult
    documents: tuple[dict[str, Any], ...]


class Replacement(NamedTuple):
    """A certificate issued in place of an original (an amendment or a certified true copy), and
    the transaction that marked the original SUPERSEDED by it. Unpacks as ``batch, tx``."""

    batch: IssuedBatch
    supersede_tx: TxResult


def leaf_of(document_or_leaf: Mapping[str, Any] | bytes | str) -> bytes:
    """The leaf of an issued document, or a leaf given as bytes / 0x-hex."""
    if isinstance(document_or_leaf, bytes):
        leaf = document_or_leaf
    elif isinstance(document_or_leaf, str):
        try:
            leaf = bytes.fromhex(document_or_leaf.removeprefix("0x"))
        except ValueError:
            raise ConfigurationError(f"not a 32-byte hex leaf: {document_or_leaf!r}") from None
    else:
        try:
            leaf = bytes.fromhex(str(document_or_leaf["proof"]["leaf"]).removeprefix("0x"))
        except (KeyError, TypeError, ValueError):
            raise ConfigurationError("not an issued ecoo certificate: no proof.leaf") from None
    if len(leaf) != 32:
        raise ConfigurationError("a leaf is 32 bytes")
    return leaf


def certificate_issues(certificates: Sequence[Any]) -> dict[int, list[ValidationIssue]]:
    """Every issue of every certificate of a batch, by index: schema and rules, and a number that
    appears twice in the batch."""
    failures: dict[int, list[ValidationIssue]] = {}
    numbers: dict[str, int] = {}
    for index, certificate in enumerate(certificates):
        issues = list(validate_certificate(certificate))
        number = certificate.get("certificateNumber") if isinstance(certificate, dict) else None
        if isinstance(number, str):
            if number in numbers:
                issues.append(
                    ValidationIssue(
                        "/certificateNumber",
                        "batch.duplicate_number",
                        f"certificate number {number!r} appears twice in this batch (also #{numbers[number] + 1})",
                    )
                )
            numbers.setdefault(number, index)
        if issues:
            failures[index] = issues
    return failures


def issuer_mismatches(
    certificates: Sequence[Mapping[str, Any]], country: str, code: str, who: str, signing_address: str | None = None
) -> dict[int, list[ValidationIssue]]:
    """Certificates (valid ones) that name another issuer than the chamber ``who`` describes,
    accredited for ``country`` with ``code`` and signing with ``signing_address`` (when given, a
    certificate's optional ``issuer.signingAddress`` must be it). The verifier refuses the same
    certificates (``ecoo.verify``, issuer check): issuing them would anchor what never verifies."""
    mismatched: dict[int, list[ValidationIssue]] = {}
    for index, certificate in enumerate(certificates):
        issuer = certificate["issuer"]
        named = issuer.get("signingAddress")
        if (issuer.get("country"), issuer.get("accreditationCode")) != (country, code):
            mismatched[index] = [
                ValidationIssue(
                    "/issuer",
                    "issuer.not_this_chamber",
                    f"{who} as country {country!r}, code {code!r}; "
                    f"the certificate names {issuer.get('country')!r}, {issuer.get('accreditationCode')!r}",
                )
            ]
        elif signing_address is not None and named is not None and str(named).lower() != signing_address.lower():
            mismatched[index] = [
                ValidationIssue(
                    "/issuer/signingAddress",
                    "issuer.not_this_chamber",
                    f"{who} with key {signing_address}; the certificate names signing address {named!r}",
                )
            ]
    return mismatched


def _read_issued(document: object) -> IssuedDocument:
    """An issued document handed in (a parsed JSON file, say), read strictly: ProtocolError if not."""
    return IssuedDocument.from_json(dict(document) if isinstance(document, Mapping) else document)


def _label(certificate: Any, index: int) -> str:
    number = certificate.get("certificateNumber") if isinstance(certificate, dict) else None
    return f"#{index + 1} ({number})" if isinstance(number, str) else f"#{index + 1}"


class CertificateIssuer:
    """One chamber issuing on one registry with its own key."""

    def __init__(self, registry: Registry, signer: Signer) -> None:
        self.registry = registry
        self.signer = signer

    def _accredited_record(self) -> Issuer:
        record = self.registry.get_issuer(self.signer.address)
        if record.status is not IssuerStatus.ACCREDITED:
            # Anchoring would succeed but nothing would ever verify: refuse before signing anything.
            raise IssuerNotAccreditedError(issuer=self.signer.address)
        return record

    def validate(self, certificates: Sequence[Any]) -> None:
        """Raise InvalidCertificatesError listing every issue of every invalid certificate."""
        failures = certificate_issues(certificates)
        if failures:
            raise InvalidCertificatesError(failures, [_label(c, i) for i, c in enumerate(certificates)])

    def issue(self, certificates: Sequence[Mapping[str, Any]], progress: Progress | None = None) -> IssuedBatch:
        """Validate, salt, hash, sign and anchor ``certificates`` as one batch (one transaction)."""
        if not certificates:
            raise ConfigurationError("nothing to issue: no certificates given")
        report = progress or (lambda stage, done, total: None)
        self.validate(certificates)
        record = self._accredited_record()
        mismatched = issuer_mismatches(
            certificates,
            record.country,
            record.accreditation_code,
            f"the registry accredits {self.signer.address}",
            signing_address=self.signer.address,
        )
        if mismatched:
            raise InvalidCertificatesError(mismatched, [_label(c, i) for i, c in enumerate(certificates)])

        total = len(certificates)
        prepared: list[Prepared] = []
        for index, certificate in enumerate(certificates):
            prepared.append(prepare(certificate))
            report("hash", index + 1, total)
        tree = MerkleTree.build([p.leaf for p in prepared])
        chain_id, registry = self.registry.chain_id, self.registry.address
        signatures: list[bytes] = []
        for index, item in enumerate(prepared):
            number = str(item.certificate["certificateNumber"])
            digest = certificate_digest(chain_id, registry, item.leaf, number)
            signatures.append(
                self.signer.sign_typed_data(self.registry.w3, typed_data(chain_id, registry, item.leaf, number), digest)
            )
            report("sign", index + 1, total)
        tx = self.registry.anchor(self.signer, tree.root)
        report("anchor", 1, 1)
        documents = tuple(
            build_document(
                item,
                chain_id=chain_id,
                registry=registry,
                issuer=self.signer.address,
                root=tree.root,
                merkle_path=tree.proof(index),
                signature=signatures[index],
            )
            for index, item in enumerate(prepared)
        )
        return IssuedBatch(issuer=self.signer.address, root=tree.root, tx=tx, documents=documents)

    # -- status --------------------------------------------------------------------------------

    def revoke(self, document_or_leaf: Mapping[str, Any] | bytes | str, reason: RevocationReason) -> TxResult:
        return self.registry.revoke(self.signer, leaf_of(document_or_leaf), reason, issuer=self._owner(document_or_leaf))

    def suspend(self, document_or_leaf: Mapping[str, Any] | bytes | str) -> TxResult:
        return self.registry.suspend_certificate(self.signer, leaf_of(document_or_leaf), issuer=self._owner(document_or_leaf))

    def lift(self, document_or_leaf: Mapping[str, Any] | bytes | str) -> TxResult:
        return self.registry.lift_certificate_suspension(
            self.signer, leaf_of(document_or_leaf), issuer=self._owner(document_or_leaf)
        )

    def _owner(self, document_or_leaf: Mapping[str, Any] | bytes | str) -> str | None:
        """The issuer that anchored a document (for acting through a rotated key), if known."""
        if isinstance(document_or_leaf, Mapping):
            proof = document_or_leaf.get("proof")
            if isinstance(proof, Mapping) and isinstance(proof.get("issuer"), str):
                return str(proof["issuer"])
        return None

    # -- amendments ----------------------------------------------------------------------------

    def supersede(
        self, original: Mapping[str, Any], amended: Mapping[str, Any], reason: str, progress: Progress | None = None
    ) -> Replacement:
        """Issue ``amended`` with a ``replaces`` link to ``original``, then mark the original
        SUPERSEDED by it. If the second step fails, the amended certificate stands and
        ``supersede`` can be repeated for the original alone via the registry. Raises
        ProtocolError, before issuing anything, when ``original`` is not a well-formed issued
        document."""
        replaced = _read_issued(original)
        certificate = copy.deepcopy(dict(amended))
        certificate["replaces"] = {
            "certificateNumber": replaced.certificate["certificateNumber"],
            "leaf": to_hex(replaced.proof.leaf),
            "reason": reason,
        }
        return self._replace(replaced, certificate, progress)

    def certified_copy(self, original: Mapping[str, Any], progress: Progress | None = None) -> Replacement:
        """A certified true copy of a lost original (same data, linked to it); the original is
        then SUPERSEDED by the copy so that only one of the two verifies."""
        replaced = _read_issued(original)
        if replaced.proof.withheld:
            raise ConfigurationError("a certified copy needs the complete original, not a redacted one")
        source = replaced.certificate
        certificate = copy.deepcopy(source)
        certificate["copyType"] = "CERTIFIED_TRUE_COPY"
        certificate["copyOf"] = {
            "certificateNumber": source["certificateNumber"],
            "issueDate": source["issueDate"],
            "leaf": to_hex(replaced.proof.leaf),
        }
        return self._replace(replaced, certificate, progress)

    def _replace(self, original: IssuedDocument, certificate: dict[str, Any], progress: Progress | None) -> Replacement:
        batch = self.issue([certificate], progress)
        tx = self.registry.supersede(self.signer, original.proof.leaf, leaf_of(batch.documents[0]), issuer=original.proof.issuer)
        return Replacement(batch, tx)
