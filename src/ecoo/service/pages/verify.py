"""The customs verification pages: the form (upload a JSON or PDF file, or paste JSON), the lookup
by issuer and certificate number, the QR code's link ``/v/<leaf>``, and the result page.

The result page is read on a phone as often as at a desk (the QR code leads to it): the verdict
and the key facts come first, then what the page does not publish and why, then — each folded
away — why (the eight checks), what the registry recorded, and the certificate as presented, laid
out in the numbered boxes of a paper CO (the same :mod:`ecoo.certificate_view` the printed PDF
uses) so that an officer finds each field where the form has it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from ...certificate_view import GOODS_COLUMNS, NO_ITEMS, NOT_PUBLISHED, WITHHELD, CertificateForm, certificate_form, display_text
from ...documents import hex_bytes
from ...protocol import CORE, split_units
from ...verify import Verdict, VerificationReport
from ..http import ApiError, services
from ..views import lookup_documents
from .presented import allow_pasted_certificates, presented_document
from .wording import VERDICTS, check_views, failed_check, pointer_order, unpublished_parts, withheld_label

bp = Blueprint("verify", __name__)

_LEAF = re.compile(r"0x[0-9a-fA-F]{64}")
_MAX_DIFFERENCES = 50
_KEY_ITEMS = 3  # items named among the key facts; the goods table has them all


@bp.get("/verify")
def verify_form() -> ResponseReturnValue:
    return render_template("verify.html")


@bp.post("/verify")
def verify_upload() -> ResponseReturnValue:
    allow_pasted_certificates()
    try:
        document, source = presented_document()
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
    source = f"certificate {number} of issuer {issuer}, as held by this registry service"
    return _result_page(documents[-1], source, public=True)


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
    return _result_page(document, "the issuer's copy held by this registry service", leaf=leaf.lower(), public=True)


def _result_page(document: Any, source: str, *, leaf: str | None = None, public: bool = False) -> ResponseReturnValue:
    """``public``: the document is the service's public view (``views.public_view``), which leaves
    out every part a holder may withhold — the page says so, and never that a holder removed them."""
    verified_at = datetime.now(UTC)
    report = services().chain.verifier().verify(document)
    certificate = document.get("certificate") if isinstance(document, dict) else None
    proof = document.get("proof") if isinstance(document, dict) else None
    withheld = set(report.withheld)
    if isinstance(proof, dict) and isinstance(proof.get("withheld"), dict):
        withheld |= {str(k) for k in proof["withheld"]}
    signer = proof.get("issuer") if isinstance(proof, dict) else None
    form = certificate_form(certificate, withheld, signer, withheld_text=NOT_PUBLISHED if public else WITHHELD)
    view = report.to_json()
    page = render_template(
        "result.html",
        report=view,
        verdict=VERDICTS[report.verdict],
        checks=check_views(report, public=public),
        failed=failed_check(report),
        anchoring=_anchoring(report),
        form=form,
        key_facts=_key_facts(form),
        goods_columns=GOODS_COLUMNS,
        no_items=NO_ITEMS,
        withheld=[] if public else [withheld_label(p) for p in sorted(withheld, key=pointer_order)],
        not_published=unpublished_parts(sorted(withheld)) if public else None,
        verified_at=_shown_time(verified_at),
        chain_read=_chain_read(view["registryView"]),
        source=source,
        leaf=leaf,
        differences=_differences(document) if report.failed_check == "integrity" else None,
    )
    # As the API does: an unreachable chain is the service's failure, not the certificate's.
    return page, 503 if report.verdict is Verdict.UNAVAILABLE else 200


def _shown_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _chain_read(view: dict[str, Any] | None) -> str | None:
    """ "block 6, mined 2026-12-03 06:58:00 UTC": the chain state the registry was read at."""
    if not view or not view.get("chainBlock"):
        return None
    mined = datetime.fromisoformat(str(view["chainTime"]).replace("Z", "+00:00"))
    return f"block {view['chainBlock']}, mined {_shown_time(mined)}"


def _key_facts(form: CertificateForm | None) -> list[tuple[str, str]]:
    """What a person checks first, as the certificate states it: number, issuer, dates, route, goods."""
    if form is None:
        return []
    official = {line.label: line.text for line in form.official.lines if line.label}
    facts = [("Certificate No.", form.number), ("Scheme", form.scheme)]
    facts += [(label, official[key]) for label, key in _OFFICIAL_FACTS if official.get(key)]
    goods = [
        " · ".join(
            f"{prefix}{cell.text}".replace("\n", " ")
            for prefix, cell in (("", row[3]), ("HS ", row[4]), ("origin ", row[5]), ("", row[7]))
            if cell.text and cell.text != "—"
        )
        for row in form.goods[:_KEY_ITEMS]
        if len(row) == len(GOODS_COLUMNS)
    ]
    if len(form.goods) > _KEY_ITEMS:
        goods.append(f"and {len(form.goods) - _KEY_ITEMS} more (see the goods below)")
    if goods:
        facts.append((f"Goods ({len(form.goods)} item{'s' if len(form.goods) != 1 else ''})", "\n".join(goods)))
    return facts


# Box 4's lines named among the key facts: (the label shown, box 4's label).
_OFFICIAL_FACTS = (("Issued by", "Issuing body"), ("Issued on", "Issued"), ("Valid until", "Valid until"), ("Route", "Export → import"))


# -- what a tampered certificate changed -----------------------------------------------------------


def _differences(document: dict[str, Any]) -> list[tuple[str, str, str]] | None:
    """Where an altered certificate differs from the one this service issued with the same leaf —
    the anchored truth — or None when the service holds no such certificate. Only the core is
    compared: it can never be withheld, whereas answering "differs" for a withheld part (a
    consignee, a FOB value) would let anyone test guesses of it, which its salt exists to prevent."""
    proof = document.get("proof")
    leaf = proof.get("leaf") if isinstance(proof, dict) else None
    if not isinstance(leaf, str) or not _LEAF.fullmatch(leaf):
        return None
    row = services().store.find_by_leaf(leaf)
    if row is None or row.document is None:
        return None
    # The integrity check runs after the format check: both certificates are well-formed here.
    presented = _flatten(split_units(document["certificate"])[CORE])
    anchored = _flatten(split_units(row.document["certificate"])[CORE])
    paths = list(anchored) + [p for p in presented if p not in anchored]
    return [
        (path, display_text(presented.get(path, "—")), display_text(anchored.get(path, "—")))
        for path in paths
        if presented.get(path, _ABSENT) != anchored.get(path, _ABSENT)
    ][:_MAX_DIFFERENCES]


_ABSENT = object()


def _flatten(value: Any, pointer: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        return {k: v for key, item in value.items() for k, v in _flatten(item, f"{pointer}/{key}").items()}
    if isinstance(value, list) and value:
        return {k: v for i, item in enumerate(value) for k, v in _flatten(item, f"{pointer}/{i}").items()}
    return {pointer: value}


# -- what the registry recorded --------------------------------------------------------------------


def anchoring_transaction(issuer: str, root: str, block: int) -> str | None:
    """The transaction that anchored ``root``: from this service's own batches, else from the
    registry's BatchAnchored event in that block (one extra request, for the page only)."""
    known = services().store.batch_transaction(root)
    if known:
        return known
    try:
        return services().chain.registry().anchor_transaction(issuer, hex_bytes(root, 32), block)
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
    add("Chain state read at", _chain_read(view))
    return rows
