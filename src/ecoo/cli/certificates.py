"""Commands for certificates: schema, example, validate and redact work offline; keygen makes a
chamber key; issue, revoke, suspend, lift, supersede and copy are signed by a chamber; verify
checks an issued certificate against the registry."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import ChainUnavailableError, ConfigurationError, InputError
from ..files import dump_document, read_certificates, read_document, read_json, write_documents
from ..settings import Settings
from .options import (
    connect,
    key_options,
    open_registry,
    registry_and_signer,
    registry_option,
    rpc_option,
    rpc_url_origin,
)
from .output import EXIT_ERROR, Output, handle_errors, json_option

if TYPE_CHECKING:
    from ..issuing import CertificateIssuer
    from ..registry import TxResult
    from ..verdicts import VerificationReport

#: `ecoo verify` exit codes: 0 only for VALID.
EXIT_NOT_VALID = 1
EXIT_UNAVAILABLE = 3

REASONS = {"fraud": "FRAUD", "error": "ERROR", "cancelled": "CANCELLED"}

Progress = Callable[[str, int, int], None]


def progress_bar(enabled: bool) -> tuple[Progress, Callable[[], None]]:
    """A progress callback drawing a bar per stage on stderr, and the function that ends the bar."""
    if not enabled:
        return (lambda stage, done, total: None), (lambda: None)
    state: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if state.get("stage") != stage:
            if "bar" in state:
                state["bar"].render_finish()
            state["stage"] = stage
            state["bar"] = click.progressbar(length=total, label=f"{stage:>6}", file=sys.stderr)
            state["done"] = 0
        state["bar"].update(done - state["done"])
        state["done"] = done

    def finish() -> None:
        if "bar" in state:
            state["bar"].render_finish()

    return update, finish


# -- offline commands ---------------------------------------------------------------------------


@click.command("schema")
@json_option
@handle_errors
def schema_command(as_json: bool) -> None:
    """Print the JSON Schema of a certificate of origin."""
    from ..validation import SCHEMA

    click.echo(json.dumps(SCHEMA, indent=None if as_json else 2, ensure_ascii=False))


@click.command("example")
@click.option("--scheme", default="RCEP", show_default=True, help="NON_PREFERENTIAL, RCEP, ATIGA, EUR1, GSP_A, CPTPP.")
@click.option("--number", default=None, help="Certificate number to put in (default: a new one each run).")
@json_option
@handle_errors
def example_command(scheme: str, number: str | None, as_json: bool) -> None:
    """Print a valid example certificate of origin issued today (input for `ecoo issue`), with a new
    certificate number each run unless --number gives one: a chamber never issues a number twice."""
    from datetime import UTC, datetime

    from ..examples import example_certificate, fresh_certificate_number

    example = example_certificate(scheme.upper(), issued_on=datetime.now(UTC).date())
    if number is None:
        example["certificateNumber"] = fresh_certificate_number(example["certificateNumber"])
    else:
        from ..validation import validate_certificate

        example["certificateNumber"] = number
        wrong = [i.message for i in validate_certificate(example) if i.path == "/certificateNumber"]
        if wrong:
            raise ConfigurationError(f"--number: {wrong[0]}")
    click.echo(json.dumps(example, indent=None if as_json else 2, ensure_ascii=False))


@click.command("validate")
@click.argument("sources", nargs=-1, required=True)
@json_option
@handle_errors
def validate_command(sources: tuple[str, ...], as_json: bool) -> None:
    """Check certificates (JSON file, list, .jsonl, directory, or an issued ecoo PDF) against the
    schema and rules."""
    from ..validation import validate_certificate

    results: list[dict[str, Any]] = []
    for source in sources:
        for label, certificate in read_certificates(source, pdf=True):
            if isinstance(certificate, dict) and isinstance(certificate.get("proof"), dict):
                certificate = certificate.get("certificate")  # an issued document: check its data
            issues = validate_certificate(certificate)
            results.append(
                {
                    "source": label,
                    "valid": not issues,
                    "issues": [{"path": i.path, "code": i.code, "message": i.message} for i in issues],
                }
            )
    invalid = [r for r in results if not r["valid"]]
    lines = []
    for r in results:
        verdict = "valid" if r["valid"] else f"{len(r['issues'])} issue(s)"
        lines.append(f"{r['source']}: {verdict}")
        lines.extend(f"  {i['path'] or '/'}: {i['message']}" for i in r["issues"])
    Output(as_json).result({"valid": not invalid, "certificates": results}, lines)
    if invalid:
        sys.exit(EXIT_ERROR)


@click.command("keygen")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Keystore file to create.")
@json_option
@handle_errors
def keygen_command(out: Path, as_json: bool) -> None:
    """Create a new key in an encrypted keystore (password from ECOO_KEYSTORE_PASSWORD or a prompt).
    Prints the address only (the keystore's name goes to stderr; --json prints both in one object);
    the key never leaves the keystore unencrypted."""
    import os

    from eth_account import Account

    from ..signers import write_keystore

    if out.exists():
        raise ConfigurationError(f"{out} exists; refusing to overwrite a keystore")
    password = os.environ.get("ECOO_KEYSTORE_PASSWORD")
    if password is None:
        password = click.prompt("keystore password", hide_input=True, confirmation_prompt=True, err=True)
    if not password:
        raise ConfigurationError("an empty keystore password protects nothing")
    account = Account.create()
    write_keystore(account, out, password)
    if not as_json:  # CHAMBER=$(ecoo keygen --out key.json) must hold the address alone
        click.echo(f"wrote keystore {out} (mode 600)", err=True)
    Output(as_json).result({"address": account.address, "keystore": str(out)}, [account.address])


@click.command("redact")
@click.argument("source")
@click.option(
    "--hide",
    "hide",
    multiple=True,
    required=True,
    help="Part to withhold: exporter, consignee, importer, producer, transport, third-party-invoicing, "
    "back-to-back, exporter-declaration, remarks, fob-values, invoices, or a unit like /items/0/fobValue.",
)
@click.option(
    "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Output file (default: stdout)."
)
@json_option
@handle_errors
def redact_command(source: str, hide: tuple[str, ...], out: Path | None, as_json: bool) -> None:
    """Withhold parts of an issued certificate before handing it on; the result still verifies."""
    from ..protocol import redact

    document = read_document(source)
    if not isinstance(document, dict) or not isinstance(document.get("proof"), dict):
        raise InputError(f"{source}: not an issued ecoo certificate")
    redacted = redact(document, hide)
    withheld = sorted(redacted["proof"]["withheld"])
    if out is None:
        click.echo(dump_document(redacted) if not as_json else json.dumps({"document": redacted, "withheld": withheld}))
        return
    out.write_text(dump_document(redacted), encoding="utf-8")
    Output(as_json).result({"out": str(out), "withheld": withheld}, [f"wrote {out}; withheld: {', '.join(withheld)}"])


# -- commands a chamber signs -------------------------------------------------------------------


def open_issuer(
    settings: Settings, rpc_url: str | None, registry: str | None, key_env: str, keystore: Path | None, unlocked: bool
) -> CertificateIssuer:
    """The chamber issuing on the registry of the chain, with the key its options name."""
    from ..issuing import CertificateIssuer

    return CertificateIssuer(*registry_and_signer(settings, rpc_url, registry, key_env, keystore, unlocked))


def chamber_options(fn: Callable[..., None]) -> Callable[..., None]:
    """Options every chamber command shares (chain, registry, key source, --json). The command
    receives ``open_issuer()``, which connects and returns a CertificateIssuer: a command reads
    its input files before it connects, so a bad file is reported first."""

    @functools.wraps(fn)  # click takes the help text from the docstring
    def command(
        settings: Settings,
        /,
        rpc_url: str | None,
        registry: str | None,
        key_env: str,
        keystore: Path | None,
        unlocked: bool,
        **params: Any,
    ) -> None:
        fn(open_issuer=functools.partial(open_issuer, settings, rpc_url, registry, key_env, keystore, unlocked), **params)

    return rpc_option(registry_option(key_options("ECOO_ISSUER_KEY")(json_option(click.pass_obj(handle_errors(command))))))


OpenIssuer = Callable[[], "CertificateIssuer"]

out_option = click.option(
    "--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("issued"), show_default=True
)


@click.command("issue")
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("issued"),
    show_default=True,
    help="Directory for the issued certificate files.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal).")
@chamber_options
def issue_command(open_issuer: OpenIssuer, sources: tuple[str, ...], out: Path, progress: bool | None, as_json: bool) -> None:
    """Issue certificates from JSON files, lists, .jsonl files or directories: validate, sign with the
    chamber's key and anchor them all under one Merkle root (one transaction)."""
    certificates = [certificate for source in sources for _, certificate in read_certificates(source)]
    issuer = open_issuer()
    show = progress if progress is not None else sys.stderr.isatty() and len(certificates) > 20
    update, finish = progress_bar(show)
    try:
        batch = issuer.issue(certificates, update)
    finally:
        finish()
    written = write_documents(batch.documents, out)
    Output(as_json).result(
        {
            "issuer": batch.issuer,
            "root": batch.root,
            "tx": batch.tx,
            "count": len(written),
            "files": [str(p) for p in written],
        },
        [
            f"issued {len(written)} certificate(s) under root 0x{batch.root.hex()}",
            f"anchored in tx {batch.tx.tx_hash} (block {batch.tx.block_number}, {batch.tx.gas_used:,} gas)",
            *(f"  {p}" for p in written),
        ],
    )


def change_status(name: str, open_issuer: OpenIssuer, target: str, as_json: bool, act: Callable[..., TxResult]) -> None:
    """Apply ``act(issuer, document)`` to TARGET (an issued file, or its 0x leaf) and print the transaction."""
    document: Any = target if re.fullmatch(r"0x[0-9a-fA-F]{64}", target) else read_document(target)
    tx = act(open_issuer(), document)
    Output(as_json).result({"tx": tx, "action": name}, [f"{name}: tx {tx.tx_hash} (block {tx.block_number})"])


@click.command("revoke")
@click.argument("target")
@click.option("--reason", type=click.Choice(sorted(REASONS)), required=True)
@chamber_options
def revoke_command(open_issuer: OpenIssuer, target: str, reason: str, as_json: bool) -> None:
    """Revoke an issued certificate (TARGET: its file or its 0x leaf) with a reason. Final."""
    from ..registry import RevocationReason

    def revoke(issuer: CertificateIssuer, document: Any) -> TxResult:
        return issuer.revoke(document, RevocationReason[REASONS[reason]])

    change_status("revoke", open_issuer, target, as_json, revoke)


@click.command("suspend")
@click.argument("target")
@chamber_options
def suspend_command(open_issuer: OpenIssuer, target: str, as_json: bool) -> None:
    """Suspend an issued certificate (TARGET: file or 0x leaf) while an enquiry runs."""
    change_status("suspend", open_issuer, target, as_json, lambda issuer, document: issuer.suspend(document))


@click.command("lift")
@click.argument("target")
@chamber_options
def lift_command(open_issuer: OpenIssuer, target: str, as_json: bool) -> None:
    """Lift the suspension of an issued certificate (TARGET: file or 0x leaf)."""
    change_status("lift", open_issuer, target, as_json, lambda issuer, document: issuer.lift(document))


@click.command("supersede")
@click.argument("original")
@click.argument("amended")
@click.option("--reason", required=True, help="Why the certificate was amended (recorded in the new certificate).")
@out_option
@chamber_options
def supersede_command(open_issuer: OpenIssuer, original: str, amended: str, reason: str, out: Path, as_json: bool) -> None:
    """Issue AMENDED (certificate data) as the replacement of ORIGINAL (an issued file) and mark
    ORIGINAL superseded on the registry."""
    original_doc = read_document(original)
    amended_data = read_json(amended)
    if isinstance(amended_data, dict) and isinstance(amended_data.get("proof"), dict):
        amended_data = amended_data["certificate"]
    batch, tx = open_issuer().supersede(original_doc, amended_data, reason)
    written = write_documents(batch.documents, out)
    Output(as_json).result(
        {"file": str(written[0]), "anchorTx": batch.tx, "supersedeTx": tx},
        [f"issued {written[0]} and marked {original} superseded (tx {tx.tx_hash})"],
    )


@click.command("copy")
@click.argument("original")
@out_option
@chamber_options
def copy_command(open_issuer: OpenIssuer, original: str, out: Path, as_json: bool) -> None:
    """Issue a certified true copy of a lost ORIGINAL (issued file); the original is then superseded."""
    batch, tx = open_issuer().certified_copy(read_document(original))
    written = write_documents(batch.documents, out)
    Output(as_json).result(
        {"file": str(written[0]), "anchorTx": batch.tx, "supersedeTx": tx},
        [f"issued certified true copy {written[0]}; the original is superseded (tx {tx.tx_hash})"],
    )


# -- verify -------------------------------------------------------------------------------------


@click.command("verify")
@click.argument("sources", nargs=-1, required=True)
@rpc_option
@registry_option
@click.option(
    "--trust-list",
    "trust_list",
    envvar="ECOO_TRUST_LIST",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Trust list (env ECOO_TRUST_LIST): each document is checked on the registry and nodes its entry names.",
)
@click.option(
    "--publisher",
    envvar="ECOO_TRUST_LIST_PUBLISHER",
    default=None,
    help="Address the trust list must be signed by (env ECOO_TRUST_LIST_PUBLISHER).",
)
@click.option(
    "--max-block-age",
    envvar="ECOO_MAX_BLOCK_AGE",
    type=click.FloatRange(min=0, min_open=True),
    help="With --trust-list: skip a node whose newest block is older, in seconds (env ECOO_MAX_BLOCK_AGE; default: no limit).",
)
@json_option
@click.pass_obj
@handle_errors
def verify_command(
    settings: Settings,
    sources: tuple[str, ...],
    rpc_url: str | None,
    registry: str | None,
    trust_list: Path | None,
    publisher: str | None,
    max_block_age: float | None,
    as_json: bool,
) -> None:
    """Verify issued certificates (JSON or ecoo PDF files, lists, .jsonl or directories). Exit code 0
    only when all are VALID (1: another verdict, 3: UNAVAILABLE and no other verdict). With
    --trust-list, each is routed to its chain and registry, and the registries are asked at the
    same time."""
    from ..verify import Verifier

    single = len(sources) == 1 and not Path(sources[0]).is_dir() and not sources[0].endswith(".jsonl")
    documents = (
        [(sources[0], read_document(sources[0]))] if single else [d for s in sources for d in read_certificates(s, pdf=True)]
    )
    if single and isinstance(documents[0][1], list):  # one file holding a list of documents
        documents, single = [(f"{sources[0]}[{i}]", d) for i, d in enumerate(documents[0][1])], False
    if not documents:
        raise InputError(f"{sources[0]}: an empty list: no certificate to verify")
    trust_info: dict[str, Any] | None = None
    trust_line = ""
    if trust_list is not None:
        from .trustlist import open_trust_list_verifier

        given = click.get_current_context().get_parameter_source
        if any(given(name) is click.core.ParameterSource.COMMANDLINE for name in ("rpc_url", "registry")):
            raise ConfigurationError("--trust-list names the registries and nodes: leave out --rpc-url and --registry")
        verifier, trust_info, trust_line = open_trust_list_verifier(trust_list, publisher, max_block_age)
    else:
        given = click.get_current_context().get_parameter_source
        if publisher is not None and given("publisher") is click.core.ParameterSource.COMMANDLINE:
            raise ConfigurationError("--publisher is the signer of a trust list: give --trust-list too")
        if max_block_age is not None and given("max_block_age") is click.core.ParameterSource.COMMANDLINE:
            raise ConfigurationError("--max-block-age applies to the trust list's nodes: give --trust-list too")
        try:
            verifier = Verifier.for_registry(open_registry(settings, connect(settings, rpc_url), registry))
        except ChainUnavailableError as exc:  # the offline checks still run: the verdict says UNAVAILABLE
            # The report says only that the registry is unknown; say here which node was tried and why.
            click.echo(f"ecoo: chain unavailable ({rpc_url_origin(settings, rpc_url)}): {exc}", err=True)
            verifier = Verifier.offline(str(exc))
    reports = verifier.verify_many([document for _, document in documents])
    if single:
        report_one(reports[0], trust_info, trust_line, as_json)
    else:
        report_many(list(zip((label for label, _ in documents), reports, strict=True)), trust_info, trust_line, as_json)
    code = verify_exit_code(reports)
    if code:
        sys.exit(code)


def verify_exit_code(reports: list[VerificationReport]) -> int:
    """0 when every report is VALID; 1 when one has a verdict other than VALID and UNAVAILABLE; else 3."""
    from ..verify import Verdict

    verdicts = {report.verdict for report in reports}
    if verdicts <= {Verdict.VALID}:
        return 0
    return EXIT_UNAVAILABLE if verdicts <= {Verdict.VALID, Verdict.UNAVAILABLE} else EXIT_NOT_VALID


def report_one(report: VerificationReport, trust_info: dict[str, Any] | None, trust_line: str, as_json: bool) -> None:
    """One document's report, as `ecoo verify FILE` has always printed it (with the trust list, if any)."""
    lines = [trust_line] if trust_line else []
    lines.append(f"{report.verdict.value}: certificate {report.certificate_number or '?'}")
    for check in report.checks:
        lines.append(f"  [{check.status.value:<11}] {check.name:<9} {check.message}")
    lines += [f"  utilisation: {line}" for line in report.utilisation_lines]
    data = report.to_json()
    if trust_info is not None:
        data["trustList"] = trust_info
    Output(as_json).result(data, lines)


def report_many(
    labelled: list[tuple[str, VerificationReport]], trust_info: dict[str, Any] | None, trust_line: str, as_json: bool
) -> None:
    """Many documents: a line each (with the deciding check when not VALID) and a count by verdict."""
    counts = Counter(report.verdict.value for _, report in labelled)
    lines = [trust_line] if trust_line else []
    for label, report in labelled:
        lines.append(f"{report.verdict.value:<12} {label}: certificate {report.certificate_number or '?'}")
        decided = next((c for c in report.checks if c.status.value in ("FAILED", "UNAVAILABLE")), None)
        if decided is not None:
            lines.append(f"  [{decided.status.value:<11}] {decided.name:<9} {decided.message}")
        if report.utilisation or report.utilisation_unknown:  # a list names only what customs recorded
            lines.append(f"  utilisation: {'; '.join(report.utilisation_lines)}")
    lines.append(f"{len(labelled)} certificate(s): " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    data: dict[str, Any] = {
        "count": len(labelled),
        "verdicts": dict(sorted(counts.items())),
        "reports": [{"source": label, **report.to_json()} for label, report in labelled],
    }
    if trust_info is not None:
        data["trustList"] = trust_info
    Output(as_json).result(data, lines)


COMMANDS = (
    schema_command,
    example_command,
    validate_command,
    keygen_command,
    redact_command,
    issue_command,
    revoke_command,
    suspend_command,
    lift_command,
    supersede_command,
    copy_command,
    verify_command,
)
