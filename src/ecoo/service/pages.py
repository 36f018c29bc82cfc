"""Pages for people: the customs verification page and the chamber dashboard.

Server-rendered and complete without JavaScript (a few lines of inline script only add drag and
drop). The result page puts the verdict first, then why (the eight checks), then what the registry
recorded, then the certificate as presented, laid out in the boxes of a paper CO so that an officer
finds each field where the form has it.

The dashboard logs in with the chamber's API token and keeps only the token's *id* in the signed
session cookie, never the token: every request checks that token is still live, so revoking it
ends the browser sessions opened with it too.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from .._io import InputError, parse_json
from ..protocol import CORE, split_units
from ..verify import CheckStatus, Verdict, VerificationReport
from .api_issuer import STATUSES, download_name
from .api_public import lookup_documents
from .http import chamber_for, services
from .issuance import ApiError
from .store import CertificateRow, Chamber, DuplicateCertificateError, api_tokens

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

#: Longest text shown for one field; the schema allows 4000 characters, a forgery may hold megabytes.
MAX_FIELD_CHARS = 4000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PAGE_SIZE = 50


# -- security headers ------------------------------------------------------------------------------


@bp.before_request
def _nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


@bp.after_request
def _security_headers(response: Response) -> Response:
    # Inline script runs only with this response's nonce; nothing is loaded from elsewhere.
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; script-src 'nonce-{g.get('csp_nonce', '')}'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # /v/<leaf> is a capability-like link: do not hand it to other sites.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return {"csrf_token": _csrf_token, "csp_nonce": g.get("csp_nonce", "")}


# -- landing and verification ----------------------------------------------------------------------


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("index.html")


@bp.get("/verify")
def verify_form() -> ResponseReturnValue:
    return render_template("verify.html")


def _allow_pasted_certificates() -> None:
    # Werkzeug keeps form fields under 500 kB by default; a pasted certificate of 999 items is larger.
    request.max_form_memory_size = services().settings.max_body_bytes


@bp.post("/verify")
def verify_upload() -> ResponseReturnValue:
    _allow_pasted_certificates()
    try:
        document, source = _presented()
    except ApiError as exc:  # shown on the form, so the officer can try again at once
        return render_template("verify.html", error=exc.message, pasted=request.form.get("json", "")), exc.status
    return _result_page(document, source)


@bp.get("/verify/lookup")
def verify_lookup() -> ResponseReturnValue:
    """Customs type the issuer's address and the certificate number printed on a paper copy."""
    issuer, number = request.args.get("issuer", "").strip(), request.args.get("number", "").strip()
    try:
        documents = lookup_documents(issuer, number, None)
    except ApiError as exc:
        return render_template("verify.html", lookup_error=exc.message, issuer=issuer, number=number), exc.status
    # The newest certificate under that number (a certified copy or an amendment replaces the original).
    return _result_page(documents[-1], f"certificate {number} of issuer {issuer}, as held by this registry service")


@bp.get("/v/<leaf>")
def verify_leaf(leaf: str) -> ResponseReturnValue:
    """The QR code's target: the document the service issued with this leaf, verified now."""
    try:
        document = lookup_documents(None, None, leaf.lower())[0]
    except ApiError as exc:
        row = services().store.find_by_leaf(leaf) if exc.status == 404 else None
        if row is not None and row.document is None:
            raise ApiError(
                404,
                "not_anchored_yet",
                f"Certificate {row.number} was created by its issuer but is not anchored in the registry yet, so it "
                "cannot be verified. Anchoring usually takes under a minute: reload this page shortly.",
            ) from None
        raise
    return _result_page(document, "the issuer's copy held by this registry service", leaf=leaf.lower())


_NOT_A_CERTIFICATE = " An issued certificate is a JSON file, or a PDF made by ecoo."


def _presented() -> tuple[Any, str]:
    """The document the officer gave (an uploaded JSON or PDF file, else pasted JSON) and what it was."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.read()  # MAX_CONTENT_LENGTH already bounds the whole request
        if data.startswith(b"%PDF"):
            from ..pdf import PdfError, extract_document

            try:
                return extract_document(data), f"PDF file {upload.filename}"
            except PdfError as exc:
                raise ApiError(400, "not_an_ecoo_pdf", f"{upload.filename}: {exc}") from None
        return _parse(data, upload.filename, _NOT_A_CERTIFICATE), f"JSON file {upload.filename}"
    pasted = request.form.get("json", "")
    if pasted.strip():
        return _parse(pasted, "the pasted text", _NOT_A_CERTIFICATE), "pasted JSON"
    raise ApiError(400, "nothing_presented", "Choose a certificate file (JSON or PDF) or paste the certificate's JSON.")


def _parse(data: str | bytes, source: str, hint: str = "") -> Any:
    try:
        return parse_json(data, source)
    except InputError as exc:
        raise ApiError(400, "malformed_json", f"{exc}.{hint}") from None


def _result_page(document: Any, source: str, *, leaf: str | None = None) -> ResponseReturnValue:
    report = services().chain.verifier().verify(document)
    certificate = document.get("certificate") if isinstance(document, dict) else None
    proof = document.get("proof") if isinstance(document, dict) else None
    withheld = set(report.withheld)
    if isinstance(proof, dict) and isinstance(proof.get("withheld"), dict):
        withheld |= {str(k) for k in proof["withheld"]}
    page = render_template(
        "result.html",
        report=report.to_json(),
        verdict=_VERDICTS[report.verdict],
        checks=_checks(report),
        failed=_failed(report),
        anchoring=_anchoring(report),
        form=_form(certificate, frozenset(withheld)),
        withheld=[_withheld_label(p) for p in sorted(withheld, key=_pointer_order)],
        source=source,
        leaf=leaf,
        differences=_differences(document) if report.failed_check == "integrity" else None,
    )
    # As the API does: an unreachable chain is the service's failure, not the certificate's.
    return page, 503 if report.verdict is Verdict.UNAVAILABLE else 200


_UNIT_NAMES = {
    "/exporter": "Exporter",
    "/consignee": "Consignee",
    "/importer": "Importer",
    "/producer": "Producer",
    "/transport": "Transport details",
    "/thirdPartyInvoicing": "Third-party invoicing",
    "/backToBack": "Back-to-back reference",
    "/exporterDeclaration": "Exporter's declaration",
    "/remarks": "Remarks",
}
_ITEM_UNIT = re.compile(r"^/items/(\d{1,4})/(fobValue|invoice)$")


def _pointer_order(pointer: str) -> tuple[int, int, str]:
    match = _ITEM_UNIT.match(pointer)
    return (1, int(match[1]), match[2]) if match else (0, 0, pointer)


def _withheld_label(pointer: str) -> str:
    match = _ITEM_UNIT.match(pointer)
    if match:
        return f"{'FOB value' if match[2] == 'fobValue' else 'Invoice'} of item {int(match[1]) + 1}"
    return _UNIT_NAMES.get(pointer, pointer)


def _differences(document: dict[str, Any]) -> list[tuple[str, str, str]] | None:
    """Where an altered certificate differs from the one this service issued with the same leaf —
    the anchored truth — or None when the service holds no such certificate. Only the core is
    compared: it can never be withheld, whereas answering "differs" for a withheld part (a
    consignee, a FOB value) would let anyone test guesses of it, which its salt exists to prevent."""
    leaf = _get(document, "proof", "leaf")
    if not isinstance(leaf, str) or not re.fullmatch(r"0x[0-9a-fA-F]{64}", leaf):
        return None
    row = services().store.find_by_leaf(leaf)
    if row is None or row.document is None:
        return None
    # The integrity check runs after the format check: both certificates are well-formed here.
    presented = _flatten(split_units(document["certificate"])[CORE])
    anchored = _flatten(split_units(row.document["certificate"])[CORE])
    paths = list(anchored) + [p for p in presented if p not in anchored]
    return [
        (path, _text(presented.get(path, "—")), _text(anchored.get(path, "—")))
        for path in paths
        if presented.get(path, _ABSENT) != anchored.get(path, _ABSENT)
    ][:50]


_ABSENT = object()


def _flatten(value: Any, pointer: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        return {k: v for key, item in value.items() for k, v in _flatten(item, f"{pointer}/{key}").items()}
    if isinstance(value, list) and value:
        return {k: v for i, item in enumerate(value) for k, v in _flatten(item, f"{pointer}/{i}").items()}
    return {pointer: value}


# -- the verdict, in words ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VerdictView:
    code: Verdict
    tone: str  # good, bad, warn, none: the banner's colour
    headline: str
    advice: str


_VERDICTS: dict[Verdict, VerdictView] = {
    v.code: v
    for v in (
        VerdictView(
            Verdict.VALID,
            "good",
            "Genuine and in force",
            "The certificate is unaltered, was signed and anchored in the registry by an accredited issuer, "
            "and is neither revoked, suspended nor expired.",
        ),
        VerdictView(
            Verdict.INVALID,
            "bad",
            "Not a genuine, unaltered certificate",
            "Do not accept it. The document fails a check that needs no registry: see the failed check below.",
        ),
        VerdictView(
            Verdict.NOT_ANCHORED,
            "bad",
            "Not in the registry",
            "Do not accept it. The registry has no record of this certificate from this issuer.",
        ),
        VerdictView(
            Verdict.UNTRUSTED_ISSUER,
            "bad",
            "Issuer not accredited",
            "Do not accept it. The issuer is not accredited, its accreditation is suspended, or it names "
            "another country than the one it is accredited for.",
        ),
        VerdictView(Verdict.REVOKED, "bad", "Revoked by the issuer", "Do not accept it. The issuer withdrew this certificate."),
        VerdictView(
            Verdict.CANCELLED, "bad", "Cancelled", "Do not accept it. The certificate was cancelled at the exporter's request."
        ),
        VerdictView(
            Verdict.SUPERSEDED,
            "bad",
            "Replaced by another certificate",
            "Do not accept this version: an amended certificate or a certified true copy replaced it. "
            "Ask for the replacement (linked below).",
        ),
        VerdictView(
            Verdict.SUSPENDED,
            "warn",
            "Suspended during an enquiry",
            "Hold the goods' preferential treatment: the issuer suspended the certificate while a "
            "verification enquiry runs. It may be restored or revoked.",
        ),
        VerdictView(Verdict.EXPIRED, "warn", "Expired", "The certificate is genuine but its validity period has ended."),
        VerdictView(Verdict.NOT_YET_VALID, "warn", "Not yet valid", "The certificate is genuine but its validity has not begun."),
        VerdictView(
            Verdict.UNAVAILABLE,
            "none",
            "Registry unavailable",
            "The registry could not be reached — this is NOT a verdict on the certificate. "
            "Try again later; the checks that need no registry are shown below.",
        ),
    )
}

#: Each check as the question it answers, and what its failure means, in plain words.
CHECK_WORDS: dict[str, tuple[str, str]] = {
    "format": ("Is it a well-formed ecoo certificate of origin?", "the file is not a well-formed ecoo certificate of origin"),
    "integrity": (
        "Is the data exactly what the issuer signed and anchored?",
        "the certificate data was changed after it was issued",
    ),
    "signature": ("Did the issuer named in it sign it?", "the signature is not the claimed issuer's"),
    "registry": ("Is it anchored in a registry this service trusts?", "it points to a registry this service does not trust"),
    "anchored": ("Did the issuer record it in the registry?", "the registry has no record of it from this issuer"),
    "issuer": ("Is the issuer accredited and in good standing?", "the issuer is not accredited, or not in good standing"),
    "status": ("Is it still in force?", "the issuer revoked, cancelled, suspended or replaced it"),
    "validity": ("Is today within its validity period?", "today is outside its validity period"),
}


@dataclass(frozen=True)
class CheckView:
    number: int
    name: str
    question: str
    status: str
    message: str


def _checks(report: VerificationReport) -> list[CheckView]:
    return [
        CheckView(i, c.name, CHECK_WORDS.get(c.name, (c.name, ""))[0], c.status.value, c.message)
        for i, c in enumerate(report.checks, 1)
    ]


def _failed(report: VerificationReport) -> dict[str, str] | None:
    for check in report.checks:
        if check.status is CheckStatus.FAILED:
            return {"name": check.name, "meaning": CHECK_WORDS.get(check.name, ("", check.name))[1], "message": check.message}
    return None


def anchoring_transaction(issuer: str, root: str, block: int) -> str | None:
    """The transaction that anchored ``root``: from this service's own batches, else from the
    registry's BatchAnchored event in that block (one extra request, for the page only)."""
    known = services().store.batch_transaction(root)
    if known:
        return known
    try:
        return services().chain.registry().anchor_transaction(issuer, bytes.fromhex(root[2:]), block)
    except Exception:  # noqa: BLE001 - the transaction hash is a courtesy; the verdict does not depend on it
        return None


def _anchoring(report: VerificationReport) -> list[tuple[str, str]]:
    """What the proof claims and what the registry answered, as labelled rows."""
    view = report.to_json()["registryView"] or {}
    rows: list[tuple[str, str]] = []

    def add(label: str, *values: Any) -> None:
        shown = [str(v) for v in values if v not in (None, "")]
        if shown:
            rows.append((label, " ".join(shown)))

    add("Issuer", view.get("issuerName"), f"({view['issuerCountry']})" if view.get("issuerCountry") else None)
    add("Issuer key", report.issuer)
    if view:
        standing = str(view.get("issuerStatus", "")).lower()
        add(
            "Issuer standing",
            f"{standing} now;",
            "accredited" if view.get("accreditedAtAnchor") else "NOT accredited",
            "when it anchored",
        )
    add("Registry", report.registry)
    add("Chain id", report.chain_id)
    add("Anchored at", view.get("anchoredAt"), f"(block {view['anchoredBlock']})" if view.get("anchoredBlock") else None)
    if view.get("anchored") and report.root and report.issuer:
        add("Anchoring transaction", anchoring_transaction(report.issuer, report.root, int(view["anchoredBlock"])))
    add("Merkle root", report.root)
    add("Leaf", report.leaf)
    if view:
        add(
            "Registry status",
            view.get("status"),
            f"reason {view['reason']}" if view.get("reason") not in (None, "NONE") else None,
            f"since {view['statusChangedAt']}" if view.get("statusChangedAt") else None,
            f"by {view['statusChangedBy']}" if view.get("statusChangedBy") else None,
        )
    add("Checked against", f"chain block {view['chainBlock']} at {view['chainTime']}" if view.get("chainBlock") else None)
    return rows


# -- the certificate, laid out like the paper form ------------------------------------------------


@dataclass
class Box:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""  # shown instead of rows: "withheld by the holder", "not stated"
    withheld: bool = False


@dataclass
class ItemView:
    cells: dict[str, str]
    withheld: set[str]


@dataclass
class FormView:
    header: Box
    parties: list[Box]
    transport: Box
    particulars: Box
    items: list[ItemView]
    items_note: str
    remarks: Box
    declaration: Box
    certification: Box


WITHHELD = "withheld by the holder"
_SPECIAL = {"TO_ORDER": "To order", "AVAILABLE_ON_REQUEST": "Available on request"}


def _text(value: Any) -> str:
    """Any JSON value as display text: never raises, never overlong."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        text = value
    elif isinstance(value, int | float):
        text = str(value) if not isinstance(value, int) or abs(value) < 10**100 else "(a number too long to show)"
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_FIELD_CHARS else text[:MAX_FIELD_CHARS] + "…"


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _joined(*parts: Any, sep: str = " ") -> str:
    return sep.join(t for t in (_text(p) for p in parts) if t)


def _box(title: str, pointer: str | None, withheld: frozenset[str], value: Any, rows: list[tuple[str, Any]]) -> Box:
    if pointer is not None and pointer in withheld:
        return Box(title, note=WITHHELD, withheld=True)
    if value is None:
        return Box(title, note="not stated")
    if isinstance(value, str):
        return Box(title, note=_SPECIAL.get(value, _text(value)))
    shown = [(label, _text(v)) for label, v in rows]
    shown = [(label, v) for label, v in shown if v]
    return Box(title, shown, note="" if shown else "not stated")


def _party(title: str, key: str, certificate: dict[str, Any], withheld: frozenset[str]) -> Box:
    party = certificate.get(key)
    identifier = _get(party, "identifier")
    return _box(
        title,
        f"/{key}",
        withheld,
        party,
        [
            ("Name", _get(party, "name")),
            ("Address", _get(party, "address")),
            ("Country", _get(party, "country")),
            (
                "Identifier",
                _joined(_get(identifier, "scheme"), _get(identifier, "value")) if isinstance(identifier, dict) else identifier,
            ),
        ],
    )


def _form(certificate: Any, withheld: frozenset[str]) -> FormView | None:
    if not isinstance(certificate, dict):
        return None
    c = certificate
    issuer = c.get("issuer")
    header = _box(
        "Certificate",
        None,
        withheld,
        c,
        [
            ("Certificate No.", c.get("certificateNumber")),
            ("Scheme", c.get("scheme")),
            ("Copy", _text(c.get("copyType")).replace("_", " ").capitalize()),
            ("Issued", _joined(c.get("issueDate"), f"at {_text(c.get('issuePlace'))}" if c.get("issuePlace") else None)),
            ("Valid until", c.get("validUntil")),
            ("Exported from", c.get("exportCountry")),
            ("Destination", c.get("importCountry")),
        ],
    )
    transport = c.get("transport")
    transit = _get(transport, "transitCountries")
    flags = c.get("flags")
    set_flags = [
        label
        for key, label in (
            ("issuedRetroactively", "issued retroactively"),
            ("exhibition", "exhibition"),
            ("cumulation", "cumulation"),
            ("deMinimis", "de minimis"),
        )
        if _get(flags, key) is True
    ]
    third, b2b = c.get("thirdPartyInvoicing"), c.get("backToBack")
    particulars = Box(
        "Other particulars",
        [
            (
                "Third-party invoicing",
                WITHHELD
                if "/thirdPartyInvoicing" in withheld
                else _joined(_get(third, "invoicingParty", "name"), _get(third, "invoicingParty", "country"), sep=", ") or "no",
            ),
            (
                "Back-to-back of",
                WITHHELD
                if "/backToBack" in withheld
                else _joined(
                    _get(b2b, "originalCertificateNumber"),
                    _get(b2b, "originalIssueDate"),
                    _get(b2b, "originalIssuingCountry"),
                    sep=", ",
                )
                or "no",
            ),
            ("Copy of", _joined(_get(c.get("copyOf"), "certificateNumber"), _get(c.get("copyOf"), "issueDate"), sep=", ") or "—"),
            (
                "Replaces",
                _joined(_get(c.get("replaces"), "certificateNumber"), _get(c.get("replaces"), "reason"), sep=" — ") or "—",
            ),
            ("Flags", ", ".join(set_flags) or "none"),
        ],
    )
    items = c.get("items")
    item_views = [_item(i, item, withheld) for i, item in enumerate(items[:999])] if isinstance(items, list) else []
    declaration = c.get("exporterDeclaration")
    certification = c.get("certification")
    return FormView(
        header=header,
        parties=[
            _party("1. Exporter", "exporter", c, withheld),
            _party("2. Consignee", "consignee", c, withheld),
            _party("Producer", "producer", c, withheld),
            _party("Importer", "importer", c, withheld),
        ],
        transport=_box(
            "3. Means of transport and route",
            "/transport",
            withheld,
            transport,
            [
                ("Mode", _get(transport, "mode")),
                ("Vessel / flight", _get(transport, "vesselOrFlight")),
                ("Departure", _get(transport, "departureDate")),
                ("Port of loading", _get(transport, "portOfLoading")),
                ("Port of discharge", _get(transport, "portOfDischarge")),
                ("Transit via", ", ".join(_text(t) for t in transit) if isinstance(transit, list) else transit),
                ("Transport document", _get(transport, "transportDocumentNumber")),
            ],
        ),
        particulars=particulars,
        items=item_views,
        items_note="" if item_views else "no goods items in the document",
        remarks=_box("Remarks", "/remarks", withheld, c.get("remarks") or None, []),
        declaration=_box(
            "Declaration by the exporter",
            "/exporterDeclaration",
            withheld,
            declaration,
            [
                ("Place and date", _joined(_get(declaration, "place"), _get(declaration, "date"), sep=", ")),
                ("Signatory", _get(declaration, "signatory")),
            ],
        ),
        certification=_box(
            "Certification",
            None,
            withheld,
            certification,
            [
                ("Issuer", _get(issuer, "name")),
                ("Country", _get(issuer, "country")),
                ("Accreditation", _get(issuer, "accreditationCode")),
                ("Place and date", _joined(_get(certification, "place"), _get(certification, "date"), sep=", ")),
                ("Officer", _get(certification, "officer")),
            ],
        ),
    )


def _item(index: int, item: Any, withheld: frozenset[str]) -> ItemView:
    criterion = _get(item, "originCriterion")
    rvc = _get(criterion, "rvcPercent")
    national = _get(item, "nationalTariffCode")
    cells = {
        "number": _text(_get(item, "itemNumber")) or str(index + 1),
        "marks": _text(_get(item, "marksAndNumbers")),
        "packages": _joined(_get(item, "packageCount"), _get(item, "packageType")),
        "description": _text(_get(item, "description") if isinstance(item, dict) else item),
        "hs": _joined(_get(item, "hsCode"), f"({_text(national)})" if national else None),
        "origin": _text(_get(item, "originCountry")),
        "criterion": _joined(_get(criterion, "code"), f"{_text(rvc)}\u00a0%" if rvc else None)
        if isinstance(criterion, dict)
        else _text(criterion),
        "quantity": _joined(_get(item, "quantity", "value"), _get(item, "quantity", "unit")),
        "weight": _joined(_get(item, "grossWeight", "value"), _get(item, "grossWeight", "unit")),
        "fob": _joined(_get(item, "fobValue", "amount"), _get(item, "fobValue", "currency")),
        "invoice": _text(_get(item, "invoice", "number")),
        "invoice_date": _text(_get(item, "invoice", "date")),
    }
    hidden = {name for name, member in (("fob", "fobValue"), ("invoice", "invoice")) if f"/items/{index}/{member}" in withheld}
    for name in hidden:
        cells[name] = WITHHELD
    if "invoice" in hidden:
        cells["invoice_date"] = ""
    return ItemView(cells, hidden)


# -- the chamber dashboard -------------------------------------------------------------------------


def _csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _check_csrf() -> None:
    sent, expected = request.form.get("csrf_token", ""), session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ApiError(
            400,
            "csrf_failed",
            "This form was not sent from the current dashboard page (or the page is too old). "
            "Go back, reload the page and try again.",
        )


def _token_live(chamber_id: int, token_id: int) -> bool:
    # token_owner() looks tokens up by hash, and the session holds only the token's id.
    with services().store.transaction() as conn:
        row = conn.execute(
            select(api_tokens.c.id).where(
                api_tokens.c.id == token_id, api_tokens.c.chamber_id == chamber_id, api_tokens.c.revoked_at.is_(None)
            )
        ).first()
        return row is not None


def _signed_in() -> tuple[Chamber, int] | None:
    """The session's chamber and token id, or None — and a revoked token signs the session out."""
    chamber_id, token_id = session.get("chamber_id"), session.get("token_id")
    if not isinstance(chamber_id, int) or not isinstance(token_id, int):
        return None
    chamber = services().store.chamber(chamber_id) if _token_live(chamber_id, token_id) else None
    if chamber is None:
        session.clear()
        flash("You were signed out: the API token you signed in with has been revoked.", "error")
        return None
    return chamber, token_id


@bp.get("/dashboard")
def dashboard() -> ResponseReturnValue:
    signed_in = _signed_in()
    if signed_in is None:
        return render_template("login.html")
    return _dashboard_page(*signed_in)


@bp.post("/dashboard/login")
def login() -> ResponseReturnValue:
    _check_csrf()
    found = chamber_for(request.form.get("token", "").strip())
    if found is None:
        return render_template("login.html", error="That API token is unknown or has been revoked."), 401
    chamber, token_id = found
    session.clear()  # a fresh session (and CSRF token) for the signed-in chamber
    session["chamber_id"], session["token_id"] = chamber.id, token_id
    return redirect(url_for(".dashboard"))


@bp.post("/dashboard/logout")
def logout() -> ResponseReturnValue:
    _check_csrf()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for(".dashboard"))


@bp.post("/dashboard/certificates")
def issue() -> ResponseReturnValue:
    signed_in = _signed_in()
    if signed_in is None:
        return redirect(url_for(".dashboard"))
    _allow_pasted_certificates()
    _check_csrf()
    chamber, token_id = signed_in
    text = request.form.get("certificate", "")
    issues: list[dict[str, Any]] = []
    try:
        certificate = _parse(text, "the certificate JSON") if text.strip() else None
        if not isinstance(certificate, dict):
            raise ApiError(400, "invalid_body", "Paste one certificate of origin as a JSON object.")
        row = services().issuance.create(chamber, [certificate], f"token:{token_id}")[0]
    except ApiError as exc:
        status, message = exc.status, exc.message
        if isinstance(exc.details, list):
            issues = [found for problem in exc.details if isinstance(problem, dict) for found in problem.get("issues", [])]
    except DuplicateCertificateError as exc:
        status, message = 409, str(exc)
    else:
        flash(f"Certificate {row.number} stored as PENDING; anchoring...", "info")
        return redirect(url_for(".dashboard"))
    return _dashboard_page(chamber, token_id, issue_error=message, issue_issues=issues, issue_text=text, status=status)


_ACTIONS = {"suspend", "lift", "revoke-error", "revoke-fraud", "revoke-cancelled"}


@bp.post("/dashboard/certificates/<int:certificate_id>/status")
def change_status(certificate_id: int) -> ResponseReturnValue:
    """Suspend, lift or revoke one of the chamber's certificates on the registry."""
    signed_in = _signed_in()
    if signed_in is None:
        return redirect(url_for(".dashboard"))
    _check_csrf()
    chamber, token_id = signed_in
    action = request.form.get("action", "")
    if action not in _ACTIONS:
        raise ApiError(400, "invalid_action", "Choose suspend, lift, or a revocation reason.")
    row = services().store.get_certificate(certificate_id, chamber.id)
    if row is None:  # another chamber's certificate looks exactly like a missing one
        raise ApiError(404, "not_found", f"This chamber has no certificate {certificate_id}.")
    actor = f"token:{token_id}"
    issuance = services().issuance
    try:
        if action == "suspend":
            updated = issuance.suspend(chamber, row, actor)
        elif action == "lift":
            updated = issuance.lift(chamber, row, actor)
        else:
            updated = issuance.revoke(chamber, row, action.removeprefix("revoke-"), actor)
    except ApiError as exc:
        flash(f"Certificate {row.number}: {exc.message}", "error")
    else:
        flash(f"Certificate {row.number} is now {updated.status} on the registry.", "info")
    return redirect(url_for(".dashboard"))


def _dashboard_page(chamber: Chamber, token_id: int, *, status: int = 200, **issue_state: Any) -> ResponseReturnValue:
    args = request.args
    errors: list[str] = []
    filters = {name: args.get(name, "").strip() for name in ("number", "status", "destination", "from", "to")}
    filters["destination"] = filters["destination"].upper()
    if filters["status"] and filters["status"] not in STATUSES:
        errors.append(f"status must be one of {', '.join(STATUSES)}")
        filters["status"] = ""
    if filters["destination"] and not re.fullmatch(r"[A-Z]{2}", filters["destination"]):
        errors.append("destination must be a two-letter country code, like KR")
        filters["destination"] = ""
    for name in ("from", "to"):
        if filters[name] and not _DATE.match(filters[name]):
            errors.append(f"'{name}' must be a date YYYY-MM-DD")
            filters[name] = ""
    after = args.get("after", "")
    rows = services().store.list_certificates(
        chamber.id,
        number=filters["number"] or None,
        status=filters["status"] or None,
        destination=filters["destination"] or None,
        issued_from=filters["from"] or None,
        issued_to=filters["to"] or None,
        limit=_PAGE_SIZE,
        after_id=int(after) if after.isdigit() else None,
    )
    counts = services().store.counts(chamber.id)
    older = {**{k: v for k, v in filters.items() if v}, "after": rows[-1].id} if len(rows) == _PAGE_SIZE else None
    page = render_template(
        "dashboard.html",
        chamber=chamber,
        rows=rows,
        counts=[(s, counts.get(s, 0)) for s in STATUSES],
        total=sum(counts.values()),
        filters=filters,
        filter_errors=errors,
        older=older,
        **issue_state,
    )
    return page, status


def _own_issued(chamber: Chamber, certificate_id: int) -> CertificateRow:
    row = services().store.get_certificate(certificate_id, chamber.id)
    if row is None:  # another chamber's certificate looks exactly like a missing one
        raise ApiError(404, "not_found", f"This chamber has no certificate {certificate_id}.")
    if row.document is None:
        raise ApiError(409, "not_issued_yet", f"Certificate {row.number} is {row.status}: it has no issued document yet.")
    return row


@bp.get("/dashboard/certificates/<int:certificate_id>.json")
def download_json(certificate_id: int) -> ResponseReturnValue:
    signed_in = _signed_in()
    if signed_in is None:
        return redirect(url_for(".dashboard"))
    row = _own_issued(signed_in[0], certificate_id)
    body = json.dumps(row.document, ensure_ascii=False, indent=2) + "\n"
    return Response(
        body, mimetype="application/json", headers={"Content-Disposition": f'attachment; filename="{download_name(row)}.json"'}
    )


@bp.get("/dashboard/certificates/<int:certificate_id>.pdf")
def download_pdf(certificate_id: int) -> ResponseReturnValue:
    from ..pdf import render_pdf

    signed_in = _signed_in()
    if signed_in is None:
        return redirect(url_for(".dashboard"))
    row = _own_issued(signed_in[0], certificate_id)
    assert row.document is not None
    pdf = render_pdf(row.document, f"{services().settings.public_url}/v/{row.leaf}")
    return Response(
        pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{download_name(row)}.pdf"'}
    )
