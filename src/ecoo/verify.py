"""Verifying an issued certificate: eight checks in order, one verdict, one ``eth_call``.

1. format     the envelope, the proof block and the certificate (schema + rules)
2. integrity  the data hashes to the leaf; the Merkle path leads from the leaf to the root
3. signature  the EIP-712 signature recovers to the claimed issuer, over this leaf and number
4. registry   the document's chain id and registry are ones this verifier trusts (configured, or
              an entry of its trust list in force now: see ecoo.trustlist)
5. anchored   the root was anchored by that same issuer
6. issuer     the issuer was accredited when it anchored and is in good standing now, and the
              certificate's issuer block names it (country and accreditation code on chain)
7. status     not revoked, cancelled, suspended or superseded
8. validity   within the validity period (chain time)

The first failing check decides the verdict; later ones are skipped. Checks 5-7 come from one
``eth_call`` (``verifyCertificates`` for a list). A chain that cannot be reached gives
``UNAVAILABLE`` — never REVOKED, NOT_ANCHORED or INVALID; for a list of documents, only those of
that chain's registry (the others are asked concurrently, and a registry that is down is not asked
again for its next batch).

Utilisation: for the documents whose chain checks ran, the verifier asks the registry what customs
recorded against their items, in one more ``eth_call`` per batch (``getUtilisations``): two calls
per verification, or per batch of up to ``batch_size``, instead of one (a batch whose certificates
list more than ``MAX_UTILISATION_ITEMS`` items together takes one more per that many;
``Verifier(utilisation=False)`` makes none). It is reported beside the verdict, never as one: a fully utilised certificate is
still authentic (VALID) and says so. A registry deployed before the customs records, or a node that
stops answering after the chain checks, leaves the utilisation unknown and the verdict as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from .documents import DocumentClaims, IssuedDocument, Proof, to_hex
from .errors import ChainUnavailableError, EcooError, ProtocolError
from .hashing import checksum_address as to_checksum_address
from .merkle import verify_proof
from .protocol import certificate_digest, compute_leaf, recover_signer, typed_data
from .registry import (
    CertificateQuery,
    CertificateState,
    CertificateStatus,
    IssuerStatus,
    ItemUtilisation,
    Registry,
    RevocationReason,
    UtilisationQuery,
)
from .validation import parse_date
from .verdicts import CHECKS, Check, CheckStatus, ItemUsage, Verdict, VerificationReport, certificate_items, iso_time, item_usages

__all__ = [  # the report vocabulary lives in ecoo.verdicts; ecoo.verify keeps offering it
    "BATCH_SIZE",
    "CHECKS",
    "Check",
    "CheckStatus",
    "ItemUsage",
    "RegistryReader",
    "TrustPolicy",
    "VerificationReport",
    "Verdict",
    "Verifier",
    "iso_time",
    "verify",
]

#: Certificates per eth_call when verifying a list (keeps a call well under node gas caps).
BATCH_SIZE = 500
#: Registries asked at the same time when a list of documents spans several (one thread each).
MAX_CONCURRENT_REGISTRIES = 8


#: Items per getUtilisations call: about 3,800 gas each (measured on Anvil), so a call stays near
#: 15 M gas, under the eth_call gas caps of common nodes (Anvil 30 M, geth 50 M). A batch of 500
#: certificates of up to 8 items is one call.
MAX_UTILISATION_ITEMS = 4_000
#: Why utilisation is unknown when the registry answered the chain checks but not getUtilisations.
OLDER_REGISTRY = "the registry does not report utilisation (a deployment older than the customs records)"


class RegistryReader(Protocol):
    """What the verifier needs of a registry: its answer for a list of certificates, and the
    utilisation of their items, each in one ``eth_call`` (:class:`~ecoo.registry.Registry`, or a
    trust list's failover registry)."""

    def verify_certificates(self, queries: Sequence[CertificateQuery]) -> list[CertificateState]: ...

    def get_utilisations(self, queries: Sequence[UtilisationQuery]) -> list[list[ItemUtilisation]]: ...


@dataclass(frozen=True)
class TrustPolicy:
    """Where the trusted registries come from, for the registry check's messages: ``source`` names
    it (e.g. "trust list customs.json (sequence 4)"); ``untrusted`` says, for a registry the source
    names but does not trust now (an entry outside its validity period), why."""

    source: str
    untrusted: Mapping[tuple[int, str], str] = field(default_factory=dict)


@dataclass
class _Context:
    """One document on its way through the checks."""

    raw: Any  # the document as given
    claims: DocumentClaims = field(default_factory=DocumentClaims)  # what it says, as far as well formed
    document: IssuedDocument | None = None  # once its envelope and proof block are well formed
    checks: list[Check] = field(default_factory=list)
    issues: tuple[Any, ...] = ()
    verdict: Verdict | None = None  # set once a check decides
    utilisation: tuple[ItemUsage, ...] | None = None  # once the registry said
    fully_utilised: bool | None = None
    utilisation_unknown: str | None = None

    @property
    def proof(self) -> Proof:
        assert self.document is not None, "only after the format check"
        return self.document.proof

    @property
    def certificate(self) -> dict[str, Any]:
        assert self.document is not None, "only after the format check"
        return self.document.certificate

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
        claims = self.claims
        return VerificationReport(
            verdict=self.verdict or Verdict.VALID,
            checks=tuple(checks),
            certificate_number=claims.number,
            issuer=claims.issuer,
            chain_id=claims.chain_id,
            registry=claims.registry,
            root=to_hex(claims.root) if claims.root else None,
            leaf=to_hex(claims.leaf) if claims.leaf else None,
            withheld=tuple(sorted(self.proof.withheld)) if self.document else (),
            format_issues=self.issues,
            state=state,
            utilisation=self.utilisation,
            fully_utilised=self.fully_utilised,
            utilisation_unknown=self.utilisation_unknown,
        )

    def items(self) -> list[tuple[int, str | None]]:
        return certificate_items(self.certificate)

    def utilised(self, answer: list[ItemUtilisation]) -> None:
        """Record the registry's utilisation of this certificate's items (in ``items()`` order)."""
        items = self.items()
        if len(answer) != len(items):
            self.utilisation_unknown = f"the registry answered for {len(answer)} items, not {len(items)}"
            return
        self.utilisation, self.fully_utilised = item_usages(items, [(u.certified, u.utilised) for u in answer])


def _check_format(ctx: _Context) -> None:
    """Check 1: the envelope and proof block (``IssuedDocument.from_json``), then the
    certificate's schema and rules. Raises ProtocolError with the first problem."""
    from .validation import validate_certificate

    document = ctx.document = IssuedDocument.from_json(ctx.raw, ctx.claims)
    ctx.issues = tuple(validate_certificate(document.certificate, withheld=frozenset(document.proof.withheld)))
    if ctx.issues:
        first = ctx.issues[0]
        more = f" (and {len(ctx.issues) - 1} more)" if len(ctx.issues) > 1 else ""
        raise ProtocolError(f"{first.path or '/'}: {first.message}{more}")


def _local_checks(ctx: _Context, trusted: Iterable[tuple[int, str]] | None, policy: TrustPolicy | None = None) -> None:
    """Checks 1-4, which need no chain."""
    try:
        _check_format(ctx)
    except ProtocolError as exc:
        ctx.failed("format", str(exc), Verdict.INVALID)
        return
    assert ctx.document is not None
    certificate, proof, number = ctx.document.certificate, ctx.document.proof, ctx.document.number or ""
    withheld_note = f"; withheld by the holder: {', '.join(sorted(proof.withheld))}" if proof.withheld else ""
    ctx.passed("format", f"well-formed {certificate.get('scheme')} certificate of origin{withheld_note}")

    try:
        leaf = compute_leaf(certificate, proof.salts, proof.withheld)
    except EcooError as exc:  # ProtocolError: units and salts disagree; CanonicalizationError: not JSON
        ctx.failed("integrity", f"the certificate data does not match its proof: {exc}", Verdict.INVALID)
        return
    if leaf != proof.leaf:
        ctx.failed("integrity", "the certificate data was altered: it does not hash to the leaf in its proof", Verdict.INVALID)
        return
    if not verify_proof(proof.root, proof.leaf, proof.merkle_path):
        ctx.failed("integrity", "the Merkle path does not lead from this certificate's leaf to the root", Verdict.INVALID)
        return
    ctx.passed(
        "integrity",
        f"data hashes to leaf {_short(proof.leaf)}; Merkle path ({len(proof.merkle_path)} nodes) reaches root {_short(proof.root)}",
    )

    expected = typed_data(proof.chain_id, proof.registry, proof.leaf, number)
    if proof.typed_data != expected:
        ctx.failed(
            "signature", "the embedded EIP-712 typed data does not describe this certificate, chain and registry", Verdict.INVALID
        )
        return
    digest = certificate_digest(proof.chain_id, proof.registry, proof.leaf, number)
    try:
        signer = recover_signer(digest, proof.signature)
    except ProtocolError as exc:
        ctx.failed("signature", str(exc), Verdict.INVALID)
        return
    if signer != proof.issuer:
        ctx.failed("signature", f"signed by {signer}, not by the claimed issuer {proof.issuer}", Verdict.INVALID)
        return
    ctx.passed("signature", f"EIP-712 signature by {proof.issuer}")

    if trusted is None:  # the verifier could not learn which registries it trusts: no chain
        ctx.checks.append(Check("registry", CheckStatus.UNAVAILABLE, "chain unavailable: the trusted registry is unknown"))
        ctx.verdict = Verdict.UNAVAILABLE
        return
    key = (proof.chain_id, to_checksum_address(proof.registry))
    trusted_set = set(trusted)
    if key not in trusted_set and policy is not None:
        why = policy.untrusted.get(key, "it is not on the list")
        ctx.failed(
            "registry",
            f"registry {proof.registry} on chain {proof.chain_id} is not trusted by {policy.source}: {why}",
            Verdict.INVALID,
        )
        return
    if key not in trusted_set:
        names = ", ".join(f"{a} on chain {c}" for c, a in sorted(trusted_set)) or "none configured"
        ctx.failed(
            "registry",
            f"registry {proof.registry} on chain {proof.chain_id} is not one this verifier trusts (trusted: {names})",
            Verdict.INVALID,
        )
        return
    by = f" by {policy.source}" if policy is not None else ""
    ctx.passed("registry", f"registry {proof.registry} on chain {proof.chain_id} is trusted{by}")


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
    proof = ctx.proof
    if not state.proof_valid:  # the contract disagrees with the local Merkle check: never VALID
        ctx.failed("anchored", "the registry rejects the Merkle path for this root", Verdict.INVALID)
        return
    if not state.anchored:
        ctx.failed(
            "anchored", f"root {_short(proof.root)} was never anchored by {proof.issuer} in this registry", Verdict.NOT_ANCHORED
        )
        return
    ctx.passed("anchored", f"anchored by {proof.issuer} at {iso_time(state.anchored_at)} (block {state.anchored_block})")

    issuer_claim = ctx.certificate.get("issuer")
    if state.issuer_status is IssuerStatus.NONE:
        ctx.failed("issuer", f"{proof.issuer} is not an issuer known to the accreditation registry", Verdict.UNTRUSTED_ISSUER)
        return
    if state.issuer_status is IssuerStatus.SUSPENDED:
        ctx.failed("issuer", f"the accreditation of {state.issuer_name} ({proof.issuer}) is suspended", Verdict.UNTRUSTED_ISSUER)
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
            f"{proof.issuer} was not accredited when it anchored this certificate (block {state.anchored_block})",
            Verdict.UNTRUSTED_ISSUER,
        )
        return
    mismatch = _issuer_block_mismatch(issuer_claim, state, proof.issuer)
    if mismatch:
        ctx.failed("issuer", mismatch, Verdict.UNTRUSTED_ISSUER)
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


def _issuer_block_mismatch(claim: Any, state: CertificateState, signer: str) -> str | None:
    """Why the certificate's ``issuer`` block is not the chamber the registry accredits for the
    signing key, or None. Country and accreditation code must equal the on-chain record (the name
    is shown, not compared: the registry's spelling of a chamber's name is not the certificate's);
    a ``signingAddress``, when given, must be the signing key. Without this binding, one accredited
    chamber could sign certificates that name another chamber of its country."""
    claim = claim if isinstance(claim, dict) else {}
    registry_says = f"the registry accredits {signer} ({state.issuer_name}) for"
    for member, recorded in (("country", state.issuer_country), ("accreditationCode", state.issuer_accreditation_code)):
        claimed = claim.get(member)
        if claimed != recorded:
            return f"the certificate names issuer {member} {claimed!r}; {registry_says} {member} {recorded!r}"
    address = claim.get("signingAddress")
    if address is not None and (not isinstance(address, str) or address.lower() != signer.lower()):
        return f"the certificate names issuer signingAddress {address!r}; it was signed by {signer}"
    return None


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

    def __init__(
        self,
        registries: Mapping[tuple[int, str], RegistryReader],
        *,
        batch_size: int = BATCH_SIZE,
        policy: TrustPolicy | None = None,
        max_concurrent: int = MAX_CONCURRENT_REGISTRIES,
        utilisation: bool = True,
    ) -> None:
        self._registries: dict[tuple[int, str], RegistryReader] = {
            (chain, str(to_checksum_address(address))): reg for (chain, address), reg in registries.items()
        }
        self.batch_size = batch_size
        self.unavailable: str | None = None
        self.policy = policy  # with a trust list: what the registry check names, and why an entry is not in force
        self.max_concurrent = max(1, max_concurrent)
        self.utilisation = utilisation  # ask getUtilisations after the chain checks (one more call per batch)

    @classmethod
    def offline(cls, reason: str) -> Verifier:
        """A verifier that could not reach its chain: local checks run, the verdict is UNAVAILABLE."""
        verifier = cls({})
        verifier.unavailable = reason
        return verifier

    @classmethod
    def for_registry(cls, registry: Registry, chain_id: int | None = None, *, utilisation: bool = True) -> Verifier:
        """Trust ``registry`` only. ``chain_id`` avoids asking the node for it."""
        return cls(
            {(chain_id if chain_id is not None else registry.chain_id, registry.address): registry}, utilisation=utilisation
        )

    @property
    def trusted(self) -> frozenset[tuple[int, str]]:
        return frozenset(self._registries)

    def verify(self, document: Any) -> VerificationReport:
        return self.verify_many([document])[0]

    def verify_many(self, documents: Sequence[Any]) -> list[VerificationReport]:
        """Verify a list: one ``eth_call`` per registry and ``batch_size`` certificates (and one
        more for their utilisation, unless ``utilisation`` is off). Several
        registries are asked at the same time (a thread each, its batches in turn); a registry
        whose chain does not answer makes only its own documents UNAVAILABLE."""
        contexts = [_Context(raw=doc) for doc in documents]
        for ctx in contexts:
            _local_checks(ctx, None if self.unavailable else self._registries, self.policy)
        pending: dict[tuple[int, str], list[_Context]] = {}
        for ctx in contexts:
            if ctx.verdict is None:
                pending.setdefault((ctx.proof.chain_id, to_checksum_address(ctx.proof.registry)), []).append(ctx)
        states: dict[int, CertificateState] = {}
        groups = [(self._registries[key], group) for key, group in pending.items()]
        if len(groups) > 1 and self.max_concurrent > 1:
            with ThreadPoolExecutor(max_workers=min(len(groups), self.max_concurrent), thread_name_prefix="verify") as pool:
                answered = list(pool.map(lambda item: self._ask_registry(*item), groups))
        else:
            answered = [self._ask_registry(registry, group) for registry, group in groups]
        for part in answered:
            states.update(part)
        return [ctx.report(states.get(id(ctx))) for ctx in contexts]

    def _ask_registry(self, registry: RegistryReader, group: list[_Context]) -> dict[int, CertificateState]:
        """Checks 5-8 for the documents of one registry, ``batch_size`` per call; the states by context id."""
        states: dict[int, CertificateState] = {}
        down: ChainUnavailableError | None = None  # once no node answers, the rest of the batches are not sent
        for start in range(0, len(group), self.batch_size):
            chunk = group[start : start + self.batch_size]
            queries = [CertificateQuery(c.proof.issuer, c.proof.root, c.proof.leaf, c.proof.merkle_path) for c in chunk]
            try:
                if down is not None:
                    raise down
                answers = registry.verify_certificates(queries)
            except ChainUnavailableError as exc:
                down = exc
                for ctx in chunk:
                    ctx.checks.append(Check("anchored", CheckStatus.UNAVAILABLE, f"chain unavailable: {exc}"))
                    ctx.verdict = Verdict.UNAVAILABLE
                continue
            for ctx, state in zip(chunk, answers, strict=True):
                states[id(ctx)] = state
                _chain_checks(ctx, state)
            if self.utilisation:
                _ask_utilisation(registry, chunk)
        return states


def _ask_utilisation(registry: RegistryReader, chunk: list[_Context]) -> None:
    """The utilisation of the items of a batch whose chain checks ran: one ``eth_call`` (more only
    past :data:`MAX_UTILISATION_ITEMS` items); when the registry cannot say, each document's
    utilisation is unknown and its verdict stands."""
    part: list[_Context] = []
    items = 0
    for ctx in chunk:
        count = len(ctx.items())
        if part and items + count > MAX_UTILISATION_ITEMS:
            _ask_utilisation_once(registry, part)
            part, items = [], 0
        part.append(ctx)
        items += count
    if part:
        _ask_utilisation_once(registry, part)


def _ask_utilisation_once(registry: RegistryReader, chunk: list[_Context]) -> None:
    queries = [UtilisationQuery(c.proof.issuer, c.proof.leaf, tuple(n for n, _ in c.items())) for c in chunk]
    try:
        answers = registry.get_utilisations(queries)
    except ChainUnavailableError as exc:
        reason = f"chain unavailable: {exc}"
    except EcooError:  # a revert or an empty answer: no getUtilisations at this address
        reason = OLDER_REGISTRY
    else:
        if len(answers) == len(chunk):
            for ctx, answer in zip(chunk, answers, strict=True):
                ctx.utilised(answer)
            return
        reason = f"the registry answered for {len(answers)} certificates, not {len(chunk)}"
    for ctx in chunk:
        ctx.utilisation_unknown = reason


def verify(document: Any, verifier: Verifier | Registry) -> VerificationReport:
    """Verify one issued certificate (a parsed JSON document) and return the immutable report."""
    if isinstance(verifier, Registry):
        verifier = Verifier.for_registry(verifier)
    return verifier.verify(document)
