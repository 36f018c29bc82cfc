"""Verifying an issued certificate: eight checks in order, one verdict, one ``eth_call``.

1. format     the envelope, the proof block and the certificate (schema + rules)
2. integrity  the data hashes to the leaf; the Merkle path leads from the leaf to the root
3. signature  the EIP-712 signature recovers to the claimed issuer, over this leaf and number
4. registry   the document's chain id and registry are ones this verifier trusts (configured)
5. anchored   the root was anchored by that same issuer
6. issuer     the issuer was accredited when it anchored and is in good standing now
7. status     not revoked, cancelled, suspended or superseded
8. validity   within the validity period (chain time)

The first failing check decides the verdict; later ones are skipped. Checks 5-7 come from one
``eth_call`` (``verifyCertificates`` for a list). A chain that cannot be reached gives
``UNAVAILABLE`` — never REVOKED, NOT_ANCHORED or INVALID.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ._hash import checksum_address as to_checksum_address
from ._hash import is_checksummed as is_checksum_address
from .errors import ChainUnavailableError, EcooError
from .merkle import verify_proof
from .protocol import FORMAT, PROOF_TYPE, ProtocolError, certificate_digest, compute_leaf, recover_signer, typed_data
from .registry import CertificateQuery, CertificateState, CertificateStatus, IssuerStatus, Registry, RevocationReason
from .validation import parse_date

CHECKS = ("format", "integrity", "signature", "registry", "anchored", "issuer", "status", "validity")
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_HEX65 = re.compile(r"^0x[0-9a-fA-F]{130}$")
#: Certificates per eth_call when verifying a list (keeps a call well under node gas caps).
BATCH_SIZE = 500


class Verdict(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"  # format, integrity, signature or registry check failed
    NOT_ANCHORED = "NOT_ANCHORED"
    UNTRUSTED_ISSUER = "UNTRUSTED_ISSUER"
    REVOKED = "REVOKED"
    CANCELLED = "CANCELLED"
    SUPERSEDED = "SUPERSEDED"
    SUSPENDED = "SUSPENDED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    UNAVAILABLE = "UNAVAILABLE"  # the chain could not be asked: no verdict about the certificate


class CheckStatus(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    UNAVAILABLE = "UNAVAILABLE"


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    message: str


@dataclass(frozen=True)
class VerificationReport:
    """Immutable result of verifying one document."""

    verdict: Verdict
    checks: tuple[Check, ...]
    certificate_number: str | None = None
    issuer: str | None = None
    chain_id: int | None = None
    registry: str | None = None
    root: str | None = None
    leaf: str | None = None
    withheld: tuple[str, ...] = ()
    format_issues: tuple[Any, ...] = ()
    state: CertificateState | None = None

    @property
    def failed_check(self) -> str | None:
        return next((c.name for c in self.checks if c.status is CheckStatus.FAILED), None)

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        state = self.state
        registry_view: dict[str, Any] | None = None
        if state is not None:
            registry_view = {
                "anchored": state.anchored,
                "anchoredAt": iso_time(state.anchored_at) if state.anchored else None,
                "anchoredBlock": state.anchored_block or None,
                "issuerName": state.issuer_name,
                "issuerCountry": state.issuer_country,
                "issuerStatus": state.issuer_status.name,
                "accreditedAtAnchor": state.accredited_at_anchor,
                "currentIssuerKey": state.current_key,
                "currentIssuerKeyStatus": state.current_key_status.name,
                "status": state.status.name,
                "reason": state.reason.name,
                "statusChangedAt": iso_time(state.status_changed_at) if state.status_changed_at else None,
                "statusChangedBy": state.status_changed_by,
                "successor": "0x" + state.successor.hex() if state.successor else None,
                "chainTime": iso_time(state.chain_time),
                "chainBlock": state.chain_block,
            }
        return {
            "verdict": self.verdict.value,
            "failedCheck": self.failed_check,
            "checks": [{"name": c.name, "status": c.status.value, "message": c.message} for c in self.checks],
            "certificateNumber": self.certificate_number,
            "issuer": self.issuer,
            "chainId": self.chain_id,
            "registry": self.registry,
            "root": self.root,
            "leaf": self.leaf,
            "withheld": list(self.withheld),
            "formatIssues": [{"path": i.path, "code": i.code, "message": i.message} for i in self.format_issues],
            "registryView": registry_view,
        }


def iso_time(timestamp: float) -> str:
    """UTC, ISO 8601, seconds: how ecoo writes times in reports and API responses."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class _Failed(Exception):
    """Internal: a check failed with a message."""


@dataclass
class _Context:
    """What the local checks extracted from one document."""

    document: Any
    checks: list[Check] = field(default_factory=list)
    number: str | None = None
    issuer: str | None = None
    chain_id: int | None = None
    registry: str | None = None
    root: bytes | None = None
    leaf: bytes | None = None
    path: tuple[bytes, ...] = ()
    withheld: tuple[str, ...] = ()
    issues: tuple[Any, ...] = ()
    certificate: dict[str, Any] = field(default_factory=dict)
    verdict: Verdict | None = None  # set once a check decides

    def passed(self, name: str, message: str) -> None:
        self.checks.append(Check(name, CheckStatus.PASSED, message))

    def failed(self, name: str, message: str, verdict: Verdict) -> None:
        self.checks.append(Check(name, CheckStatus.FAILED, message))
        self.verdict = verdict

    def report(self, state: CertificateState | None = None) -> VerificationReport:
        done = {c.name for c in self.checks}
        reason = (
            "not checked: an earlier check failed"
            if self.verdict is not Verdict.UNAVAILABLE
            else "not checked: chain unavailable"
        )
        status = CheckStatus.SKIPPED if self.verdict is not Verdict.UNAVAILABLE else CheckStatus.UNAVAILABLE
        checks = list(self.checks) + [Check(n, status, reason) for n in CHECKS if n not in done]
        return VerificationReport(
            verdict=self.verdict or Verdict.VALID,
            checks=tuple(checks),
            certificate_number=self.number,
            issuer=self.issuer,
            chain_id=self.chain_id,
            registry=self.registry,
            root="0x" + self.root.hex() if self.root else None,
            leaf="0x" + self.leaf.hex() if self.leaf else None,
            withheld=self.withheld,
            format_issues=self.issues,
            state=state,
        )


def _hex32(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.match(value):
        raise _Failed(f"{where}: expected a 0x-prefixed 32-byte hex string")
    return bytes.fromhex(value[2:])


def _check_format(ctx: _Context) -> None:
    from .validation import validate_certificate

    doc = ctx.document
    if not isinstance(doc, dict):
        raise _Failed(f"expected an issued certificate (a JSON object), got {type(doc).__name__}")
    if doc.get("ecoo") != FORMAT:
        raise _Failed(f'/ecoo: expected "{FORMAT}" (is this an issued ecoo certificate?)')
    extra = sorted(set(doc) - {"ecoo", "certificate", "proof"})
    if extra:
        raise _Failed(f"unexpected member(s) {', '.join(extra)} next to certificate and proof")
    certificate, proof = doc.get("certificate"), doc.get("proof")
    if not isinstance(certificate, dict):
        raise _Failed("/certificate: expected an object")
    if not isinstance(proof, dict):
        raise _Failed("/proof: expected an object")
    ctx.certificate = certificate
    number = certificate.get("certificateNumber")
    ctx.number = number if isinstance(number, str) else None
    if proof.get("type") != PROOF_TYPE:
        raise _Failed(f'/proof/type: expected "{PROOF_TYPE}"')
    chain_id = proof.get("chainId")
    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or not 0 < chain_id < 2**63:
        raise _Failed("/proof/chainId: expected a positive integer")
    ctx.chain_id = chain_id
    for name in ("registry", "issuer"):
        value = proof.get(name)
        if not isinstance(value, str) or not is_checksum_address(value):
            raise _Failed(f"/proof/{name}: expected a checksummed 0x address")
    ctx.registry, ctx.issuer = proof["registry"], proof["issuer"]
    ctx.root = _hex32(proof.get("root"), "/proof/root")
    ctx.leaf = _hex32(proof.get("leaf"), "/proof/leaf")
    path = proof.get("merklePath")
    if not isinstance(path, list) or len(path) > 64:
        raise _Failed("/proof/merklePath: expected a list of at most 64 hashes")
    ctx.path = tuple(_hex32(node, f"/proof/merklePath/{i}") for i, node in enumerate(path))
    for name in ("salts", "withheld"):
        block = proof.get(name)
        if not isinstance(block, dict) or len(block) > 10_000:
            raise _Failed(f"/proof/{name}: expected an object")
        for key, value in block.items():
            _hex32(value, f"/proof/{name}/{key}")
    if not isinstance(proof.get("signature"), str) or not _HEX65.match(proof["signature"]):
        raise _Failed("/proof/signature: expected a 0x-prefixed 65-byte hex signature")
    if not isinstance(proof.get("typedData"), dict):
        raise _Failed("/proof/typedData: expected the EIP-712 typed data object")
    ctx.withheld = tuple(sorted(proof["withheld"]))
    ctx.issues = tuple(validate_certificate(certificate, withheld=frozenset(ctx.withheld)))
    if ctx.issues:
        first = ctx.issues[0]
        more = f" (and {len(ctx.issues) - 1} more)" if len(ctx.issues) > 1 else ""
        raise _Failed(f"{first.path or '/'}: {first.message}{more}")


def _local_checks(ctx: _Context, trusted: Iterable[tuple[int, str]] | None) -> None:
    """Checks 1-4, which need no chain."""
    try:
        _check_format(ctx)
    except _Failed as exc:
        ctx.failed("format", str(exc), Verdict.INVALID)
        return
    withheld_note = f"; withheld by the holder: {', '.join(ctx.withheld)}" if ctx.withheld else ""
    ctx.passed("format", f"well-formed {ctx.certificate.get('scheme')} certificate of origin{withheld_note}")

    proof = ctx.document["proof"]
    assert ctx.leaf is not None and ctx.root is not None and ctx.chain_id is not None
    try:
        salts = {k: bytes.fromhex(v[2:]) for k, v in proof["salts"].items()}
        withheld = {k: bytes.fromhex(v[2:]) for k, v in proof["withheld"].items()}
        leaf = compute_leaf(ctx.certificate, salts, withheld)
    except (ProtocolError, EcooError) as exc:
        ctx.failed("integrity", f"the certificate data does not match its proof: {exc}", Verdict.INVALID)
        return
    if leaf != ctx.leaf:
        ctx.failed("integrity", "the certificate data was altered: it does not hash to the leaf in its proof", Verdict.INVALID)
        return
    if not verify_proof(ctx.root, ctx.leaf, ctx.path):
        ctx.failed("integrity", "the Merkle path does not lead from this certificate's leaf to the root", Verdict.INVALID)
        return
    ctx.passed(
        "integrity",
        f"data hashes to leaf {_short(ctx.leaf)}; Merkle path ({len(ctx.path)} nodes) reaches root {_short(ctx.root)}",
    )

    assert ctx.registry is not None and ctx.issuer is not None
    expected = typed_data(ctx.chain_id, ctx.registry, ctx.leaf, ctx.number or "")
    if proof["typedData"] != expected:
        ctx.failed(
            "signature", "the embedded EIP-712 typed data does not describe this certificate, chain and registry", Verdict.INVALID
        )
        return
    digest = certificate_digest(ctx.chain_id, ctx.registry, ctx.leaf, ctx.number or "")
    try:
        signer = recover_signer(digest, bytes.fromhex(proof["signature"][2:]))
    except ProtocolError as exc:
        ctx.failed("signature", str(exc), Verdict.INVALID)
        return
    if signer != ctx.issuer:
        ctx.failed("signature", f"signed by {signer}, not by the claimed issuer {ctx.issuer}", Verdict.INVALID)
        return
    ctx.passed("signature", f"EIP-712 signature by {ctx.issuer}")

    if trusted is None:  # the verifier could not learn which registries it trusts: no chain
        ctx.checks.append(Check("registry", CheckStatus.UNAVAILABLE, "chain unavailable: the trusted registry is unknown"))
        ctx.verdict = Verdict.UNAVAILABLE
        return
    key = (ctx.chain_id, to_checksum_address(ctx.registry))
    trusted_set = set(trusted)
    if key not in trusted_set:
        names = ", ".join(f"{a} on chain {c}" for c, a in sorted(trusted_set)) or "none configured"
        ctx.failed(
            "registry",
            f"registry {ctx.registry} on chain {ctx.chain_id} is not one this verifier trusts (trusted: {names})",
            Verdict.INVALID,
        )
        return
    ctx.passed("registry", f"registry {ctx.registry} on chain {ctx.chain_id} is trusted")


def _short(value: bytes) -> str:
    return "0x" + value.hex()[:12] + "…"


_REASON_VERDICT = {
    RevocationReason.FRAUD: (Verdict.REVOKED, "revoked for fraud"),
    RevocationReason.ERROR: (Verdict.REVOKED, "revoked: issued in error"),
    RevocationReason.CANCELLED: (Verdict.CANCELLED, "cancelled at the exporter's request"),
    RevocationReason.SUPERSEDED: (Verdict.SUPERSEDED, "superseded"),
    RevocationReason.NONE: (Verdict.REVOKED, "revoked"),
}


def _chain_checks(ctx: _Context, state: CertificateState) -> None:
    """Checks 5-8 from the registry's answer."""
    assert ctx.root is not None
    if not state.proof_valid:  # the contract disagrees with the local Merkle check: never VALID
        ctx.failed("anchored", "the registry rejects the Merkle path for this root", Verdict.INVALID)
        return
    if not state.anchored:
        ctx.failed(
            "anchored", f"root {_short(ctx.root)} was never anchored by {ctx.issuer} in this registry", Verdict.NOT_ANCHORED
        )
        return
    ctx.passed("anchored", f"anchored by {ctx.issuer} at {iso_time(state.anchored_at)} (block {state.anchored_block})")

    issuer_claim = ctx.certificate.get("issuer") if isinstance(ctx.certificate.get("issuer"), dict) else {}
    if state.issuer_status is IssuerStatus.NONE:
        ctx.failed("issuer", f"{ctx.issuer} is not an issuer known to the accreditation registry", Verdict.UNTRUSTED_ISSUER)
        return
    if state.issuer_status is IssuerStatus.SUSPENDED:
        ctx.failed("issuer", f"the accreditation of {state.issuer_name} ({ctx.issuer}) is suspended", Verdict.UNTRUSTED_ISSUER)
        return
    if state.current_key_status is not IssuerStatus.ACCREDITED:
        ctx.failed(
            "issuer",
            f"{state.issuer_name} rotated to key {state.current_key}, whose accreditation is {state.current_key_status.name.lower()}",
            Verdict.UNTRUSTED_ISSUER,
        )
        return
    if not state.accredited_at_anchor:
        ctx.failed(
            "issuer",
            f"{ctx.issuer} was not accredited when it anchored this certificate (block {state.anchored_block})",
            Verdict.UNTRUSTED_ISSUER,
        )
        return
    claimed_country = issuer_claim.get("country") if isinstance(issuer_claim, dict) else None
    if claimed_country != state.issuer_country:
        ctx.failed(
            "issuer",
            f"the certificate names issuer country {claimed_country!r}; the registry accredits {ctx.issuer} for {state.issuer_country!r}",
            Verdict.UNTRUSTED_ISSUER,
        )
        return
    retired = f"; key since rotated to {state.current_key}" if state.issuer_status is IssuerStatus.RETIRED else ""
    ctx.passed(
        "issuer", f"{state.issuer_name} ({state.issuer_country}): accredited when it anchored, in good standing now{retired}"
    )

    if state.status is CertificateStatus.REVOKED:
        verdict, text = _REASON_VERDICT[state.reason]
        when = f" at {iso_time(state.status_changed_at)}" if state.status_changed_at else ""
        by = f" by {state.status_changed_by}" if state.status_changed_by else ""
        if state.reason is RevocationReason.SUPERSEDED and state.successor:
            text = f"superseded by the certificate with leaf 0x{state.successor.hex()}"
        ctx.failed("status", f"{text}{when}{by}", verdict)
        return
    if state.status is CertificateStatus.SUSPENDED:
        ctx.failed("status", f"suspended under enquiry since {iso_time(state.status_changed_at)}", Verdict.SUSPENDED)
        return
    ctx.passed("status", "not revoked, cancelled, suspended or superseded")
    _check_validity(ctx, state.chain_time)


def _check_validity(ctx: _Context, now_timestamp: int) -> None:
    today = datetime.fromtimestamp(now_timestamp, UTC).date()
    issued = parse_date(ctx.certificate.get("issueDate"))
    until = parse_date(ctx.certificate.get("validUntil"))
    if issued and today < issued:
        ctx.failed("validity", f"not valid before {issued.isoformat()} (chain date {today.isoformat()})", Verdict.NOT_YET_VALID)
        return
    if until and today > until:
        ctx.failed("validity", f"expired after {until.isoformat()} (chain date {today.isoformat()})", Verdict.EXPIRED)
        return
    span = f"valid {issued.isoformat() if issued else '?'} to {until.isoformat()}" if until else "no expiry date"
    ctx.passed("validity", f"{span} (chain date {today.isoformat()}, UTC)")


class Verifier:
    """Verifies issued certificates against the registries it is configured to trust."""

    def __init__(self, registries: Mapping[tuple[int, str], Registry], *, batch_size: int = BATCH_SIZE) -> None:
        self._registries: dict[tuple[int, str], Registry] = {
            (chain, str(to_checksum_address(address))): reg for (chain, address), reg in registries.items()
        }
        self.batch_size = batch_size
        self.unavailable: str | None = None

    @classmethod
    def offline(cls, reason: str) -> Verifier:
        """A verifier that could not reach its chain: local checks run, the verdict is UNAVAILABLE."""
        verifier = cls({})
        verifier.unavailable = reason
        return verifier

    @classmethod
    def for_registry(cls, registry: Registry, chain_id: int | None = None) -> Verifier:
        """Trust ``registry`` only. ``chain_id`` avoids asking the node for it."""
        return cls({(chain_id if chain_id is not None else registry.chain_id, registry.address): registry})

    @property
    def trusted(self) -> frozenset[tuple[int, str]]:
        return frozenset(self._registries)

    def verify(self, document: Any) -> VerificationReport:
        return self.verify_many([document])[0]

    def verify_many(self, documents: Sequence[Any]) -> list[VerificationReport]:
        """Verify a list: one ``eth_call`` per registry and ``batch_size`` certificates."""
        contexts = [_Context(document=doc) for doc in documents]
        for ctx in contexts:
            _local_checks(ctx, None if self.unavailable else self._registries)
        pending: dict[tuple[int, str], list[_Context]] = {}
        for ctx in contexts:
            if ctx.verdict is None:
                assert ctx.chain_id is not None and ctx.registry is not None
                pending.setdefault((ctx.chain_id, to_checksum_address(ctx.registry)), []).append(ctx)
        states: dict[int, CertificateState] = {}
        for key, group in pending.items():
            registry = self._registries[key]
            for start in range(0, len(group), self.batch_size):
                chunk = group[start : start + self.batch_size]
                queries = [CertificateQuery(c.issuer or "", c.root or b"", c.leaf or b"", c.path) for c in chunk]
                try:
                    answers = registry.verify_certificates(queries)
                except ChainUnavailableError as exc:
                    for ctx in chunk:
                        ctx.checks.append(Check("anchored", CheckStatus.UNAVAILABLE, f"chain unavailable: {exc}"))
                        ctx.verdict = Verdict.UNAVAILABLE
                    continue
                for ctx, state in zip(chunk, answers, strict=True):
                    states[id(ctx)] = state
                    _chain_checks(ctx, state)
        return [ctx.report(states.get(id(ctx))) for ctx in contexts]


def verify(document: Any, verifier: Verifier | Registry) -> VerificationReport:
    """Verify one issued certificate (a parsed JSON document) and return the immutable report."""
    if isinstance(verifier, Registry):
        verifier = Verifier.for_registry(verifier)
    return verifier.verify(document)
