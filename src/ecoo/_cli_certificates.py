"""``ecoo`` commands for certificates: schema, example, validate, keygen, fund, issue, verify,
revoke, suspend, lift, supersede, copy, redact. Registered on the group in :mod:`ecoo.cli`."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ._io import InputError, read_certificates, read_json, safe_filename
from .cli import (
    EXIT_ERROR,
    Output,
    _connect,
    _guarded,
    _open_registry,
    cli,
    json_option,
    key_options,
    registry_and_signer,
    registry_option,
    rpc_option,
)
from .errors import ChainUnavailableError, ConfigurationError, DeploymentNotFoundError

#: `ecoo verify` exit codes: 0 only for VALID.
EXIT_NOT_VALID = 1
EXIT_UNAVAILABLE = 3

REASONS = {"fraud": "FRAUD", "error": "ERROR", "cancelled": "CANCELLED"}


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _write_documents(documents: tuple[dict[str, Any], ...], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for document in documents:
        certificate = document["certificate"]
        name = safe_filename(str(certificate["certificateNumber"]), "certificate")
        if certificate.get("copyType") == "CERTIFIED_TRUE_COPY":
            name += ".certified-copy"
        path = out / f"{name}.json"
        suffix = 2
        while path.exists():  # never overwrite an issued certificate
            path = out / f"{name}.{suffix}.json"
            suffix += 1
        path.write_text(_dump(document), encoding="utf-8")
        written.append(path)
    return written


def _progress_callback(enabled: bool) -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    """A progress bar on stderr (only when stderr is a terminal or --progress was given)."""
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


@cli.command("schema")
@json_option
def schema_command(as_json: bool) -> None:
    """Print the JSON Schema of a certificate of origin."""

    def run() -> None:
        from .validation import SCHEMA

        click.echo(json.dumps(SCHEMA, indent=None if as_json else 2, ensure_ascii=False))

    _guarded(as_json, run)


@cli.command("example")
@click.option("--scheme", default="RCEP", show_default=True, help="NON_PREFERENTIAL, RCEP, ATIGA, EUR1, GSP_A, CPTPP.")
@click.option("--number", default=None, help="Certificate number to put in (default: the example's).")
@json_option
def example_command(scheme: str, number: str | None, as_json: bool) -> None:
    """Print a valid example certificate of origin issued today (input for `ecoo issue`)."""

    def run() -> None:
        from datetime import UTC, datetime

        from .examples import example_certificate

        example = example_certificate(scheme.upper(), issued_on=datetime.now(UTC).date())
        if number:
            example["certificateNumber"] = number
        click.echo(json.dumps(example, indent=None if as_json else 2, ensure_ascii=False))

    _guarded(as_json, run)


@cli.command("validate")
@click.argument("sources", nargs=-1, required=True)
@json_option
def validate_command(sources: tuple[str, ...], as_json: bool) -> None:
    """Check certificates (JSON file, list, .jsonl, or directory) against the schema and rules."""

    def run() -> None:
        from .validation import validate_certificate

        results: list[dict[str, Any]] = []
        for source in sources:
            for label, certificate in read_certificates(source):
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

    _guarded(as_json, run)


@cli.command("keygen")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Keystore file to create.")
@json_option
def keygen_command(out: Path, as_json: bool) -> None:
    """Create a new key in an encrypted keystore (password from ECOO_KEYSTORE_PASSWORD or a prompt).
    Prints the address only; the key never leaves the keystore unencrypted."""

    def run() -> None:
        import os

        from eth_account import Account

        from .signers import write_keystore

        if out.exists():
            raise ConfigurationError(f"{out} exists; refusing to overwrite a keystore")
        password = os.environ.get("ECOO_KEYSTORE_PASSWORD")
        if password is None:
            password = click.prompt("keystore password", hide_input=True, confirmation_prompt=True, err=True)
        if not password:
            raise ConfigurationError("an empty keystore password protects nothing")
        account = Account.create()
        write_keystore(account, out, password)
        Output(as_json).result(
            {"address": account.address, "keystore": str(out)}, [f"address {account.address}", f"keystore {out} (mode 600)"]
        )

    _guarded(as_json, run)


@cli.command("redact")
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
def redact_command(source: str, hide: tuple[str, ...], out: Path | None, as_json: bool) -> None:
    """Withhold parts of an issued certificate before handing it on; the result still verifies."""

    def run() -> None:
        from .protocol import redact

        document = read_json(source)
        if not isinstance(document, dict) or not isinstance(document.get("proof"), dict):
            raise InputError(f"{source}: not an issued ecoo certificate")
        redacted = redact(document, hide)
        withheld = sorted(redacted["proof"]["withheld"])
        if out is None:
            click.echo(_dump(redacted) if not as_json else json.dumps({"document": redacted, "withheld": withheld}))
            return
        out.write_text(_dump(redacted), encoding="utf-8")
        Output(as_json).result({"out": str(out), "withheld": withheld}, [f"wrote {out}; withheld: {', '.join(withheld)}"])

    _guarded(as_json, run)


# -- chain commands -----------------------------------------------------------------------------


@cli.command("fund")
@click.argument("address")
@click.option("--eth", "amount", type=float, default=1.0, show_default=True)
@rpc_option
@json_option
@click.pass_obj
def fund_command(settings: Any, address: str, amount: float, rpc_url: str | None, as_json: bool) -> None:
    """Send test ether from the dev node's unlocked account to ADDRESS (local dev chains only)."""

    def run() -> None:
        from eth_utils.address import to_checksum_address

        from .chain import chain_info
        from .signers import unlocked_signer

        w3 = _connect(settings, rpc_url)
        if not chain_info(w3).is_dev:
            raise ConfigurationError("fund is for local dev chains only")
        dev = unlocked_signer(w3)
        tx = w3.eth.send_transaction({"from": dev.address, "to": to_checksum_address(address), "value": int(amount * 10**18)})
        w3.eth.wait_for_transaction_receipt(tx)
        Output(as_json).result({"address": address, "eth": amount, "tx": tx.to_0x_hex()}, [f"sent {amount} ETH to {address}"])

    _guarded(as_json, run)


def _issuer_command_setup(
    settings: Any, rpc_url: str | None, registry: str | None, key_env: str, keystore: Path | None, unlocked: bool
) -> Any:
    from .issuing import CertificateIssuer

    return CertificateIssuer(*registry_and_signer(settings, rpc_url, registry, key_env, keystore, unlocked))


def chamber_command(fn: Callable[..., None]) -> Callable[..., None]:
    """Options every chamber command shares (chain, registry, key source, --json); the command
    receives ``open_issuer()``, which connects and returns a CertificateIssuer."""

    def wrapper(
        settings: Any,
        /,
        rpc_url: str | None,
        registry: str | None,
        key_env: str,
        keystore: Path | None,
        unlocked: bool,
        **params: Any,
    ) -> None:
        fn(open_issuer=lambda: _issuer_command_setup(settings, rpc_url, registry, key_env, keystore, unlocked), **params)

    wrapper.__doc__, wrapper.__name__ = fn.__doc__, fn.__name__  # click takes the help text from here
    return rpc_option(registry_option(key_options("ECOO_ISSUER_KEY")(json_option(click.pass_obj(wrapper)))))


@cli.command("issue")
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
@chamber_command
def issue_command(
    open_issuer: Callable[[], Any], sources: tuple[str, ...], out: Path, progress: bool | None, as_json: bool
) -> None:
    """Issue certificates from JSON files, lists, .jsonl files or directories: validate, sign with the
    chamber's key and anchor them all under one Merkle root (one transaction)."""

    def run() -> None:
        certificates = [certificate for source in sources for _, certificate in read_certificates(source)]
        issuer = open_issuer()
        show = progress if progress is not None else sys.stderr.isatty() and len(certificates) > 20
        update, finish = _progress_callback(show)
        try:
            batch = issuer.issue(certificates, update)
        finally:
            finish()
        written = _write_documents(batch.documents, out)
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

    _guarded(as_json, run)


def _status_command(name: str, doc: str, act: Callable[..., Any], extra: list[Any] | None = None) -> None:
    def command(open_issuer: Callable[[], Any], target: str, as_json: bool, **params: Any) -> None:
        def run() -> None:
            document: Any = target if re.fullmatch(r"0x[0-9a-fA-F]{64}", target) else read_json(target)
            tx = act(open_issuer(), document, **params)
            Output(as_json).result({"tx": tx, "action": name}, [f"{name}: tx {tx.tx_hash} (block {tx.block_number})"])

        _guarded(as_json, run)

    command.__doc__ = doc
    decorated: Any = chamber_command(command)
    for option in reversed(extra or []):
        decorated = option(decorated)
    cli.command(name)(click.argument("target")(decorated))


def _revoke(issuer: Any, document: Any, reason: str) -> Any:
    from .registry import RevocationReason

    return issuer.revoke(document, RevocationReason[REASONS[reason]])


_status_command(
    "revoke",
    "Revoke an issued certificate (TARGET: its file or its 0x leaf) with a reason. Final.",
    _revoke,
    [click.option("--reason", type=click.Choice(sorted(REASONS)), required=True)],
)
_status_command(
    "suspend",
    "Suspend an issued certificate (TARGET: file or 0x leaf) while an enquiry runs.",
    lambda issuer, document: issuer.suspend(document),
)
_status_command(
    "lift",
    "Lift the suspension of an issued certificate (TARGET: file or 0x leaf).",
    lambda issuer, document: issuer.lift(document),
)

out_option = click.option(
    "--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("issued"), show_default=True
)


@cli.command("supersede")
@click.argument("original")
@click.argument("amended")
@click.option("--reason", required=True, help="Why the certificate was amended (recorded in the new certificate).")
@out_option
@chamber_command
def supersede_command(open_issuer: Callable[[], Any], original: str, amended: str, reason: str, out: Path, as_json: bool) -> None:
    """Issue AMENDED (certificate data) as the replacement of ORIGINAL (an issued file) and mark
    ORIGINAL superseded on the registry."""

    def run() -> None:
        original_doc = read_json(original)
        amended_data = read_json(amended)
        if isinstance(amended_data, dict) and isinstance(amended_data.get("proof"), dict):
            amended_data = amended_data["certificate"]
        batch, tx = open_issuer().supersede(original_doc, amended_data, reason)
        written = _write_documents(batch.documents, out)
        Output(as_json).result(
            {"file": str(written[0]), "anchorTx": batch.tx, "supersedeTx": tx},
            [f"issued {written[0]} and marked {original} superseded (tx {tx.tx_hash})"],
        )

    _guarded(as_json, run)


@cli.command("copy")
@click.argument("original")
@out_option
@chamber_command
def copy_command(open_issuer: Callable[[], Any], original: str, out: Path, as_json: bool) -> None:
    """Issue a certified true copy of a lost ORIGINAL (issued file); the original is then superseded."""

    def run() -> None:
        batch, tx = open_issuer().certified_copy(read_json(original))
        written = _write_documents(batch.documents, out)
        Output(as_json).result(
            {"file": str(written[0]), "anchorTx": batch.tx, "supersedeTx": tx},
            [f"issued certified true copy {written[0]}; the original is superseded (tx {tx.tx_hash})"],
        )

    _guarded(as_json, run)


@cli.command("verify")
@click.argument("source")
@rpc_option
@registry_option
@json_option
@click.pass_obj
def verify_command(settings: Any, source: str, rpc_url: str | None, registry: str | None, as_json: bool) -> None:
    """Verify an issued certificate. Exit code 0 only for VALID (1: another verdict, 3: UNAVAILABLE)."""

    def run() -> None:
        from .verify import Verdict, Verifier

        document = read_json(source)
        try:
            w3 = _connect(settings, rpc_url)
            verifier = Verifier.for_registry(_open_registry(settings, w3, registry))
        except (ChainUnavailableError, DeploymentNotFoundError) as exc:
            if isinstance(exc, DeploymentNotFoundError):
                raise
            verifier = Verifier.offline(str(exc))
        report = verifier.verify(document)
        lines = [f"{report.verdict.value}: certificate {report.certificate_number or '?'}"]
        for check in report.checks:
            lines.append(f"  [{check.status.value:<11}] {check.name:<9} {check.message}")
        Output(as_json).result(report.to_json(), lines)
        if report.verdict is Verdict.UNAVAILABLE:
            sys.exit(EXIT_UNAVAILABLE)
        if report.verdict is not Verdict.VALID:
            sys.exit(EXIT_NOT_VALID)

    _guarded(as_json, run)
