"""What a newcomer stumbled on in the command line (issue #11), each through the real console entry
point in a subprocess: ``ecoo verify`` of the PDF the service issued, the message when no node
answers, ``ecoo keygen``'s output, ``ecoo example``'s certificate numbers, and ``ecoo ... | head``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from ecoo.anvil import ManagedAnvil, free_port
from tests.support.service import ServiceHarness, made_service

pytestmark = pytest.mark.anvil  # starts its own node or build: left out of `make test-fast`

SRC = Path(__file__).resolve().parents[2] / "src"
PASSWORD = "correct horse battery staple"  # a throwaway keystore's password, for the test alone
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of an ``ecoo`` subprocess: this checkout's src, a data dir of the test's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ECOO_")}
    return {**env, "PYTHONPATH": str(SRC), "ECOO_DATA_DIR": str(tmp_path / "cli-data"), **extra}


def ecoo(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ecoo", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


@pytest.fixture
def issued(made: list[ServiceHarness], tmp_path: Path, anvil_node: ManagedAnvil) -> tuple[ServiceHarness, dict[str, Any], bytes]:
    """A service on the session's Anvil, one certificate it issued: the service, the document, its PDF."""
    service = made_service(made, tmp_path, anvil_node)
    created = service.create(service.certificate("STUMBLE-PDF-1"))
    assert service.anchor() >= 1
    document = service.client.get(f"/api/v1/certificates/{created['id']}/document", headers=service.auth).json
    pdf = service.client.get(f"/api/v1/certificates/{created['id']}/pdf", headers=service.auth)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    return service, dict(document or {}), pdf.data


def chain_env(tmp_path: Path, node: ManagedAnvil) -> dict[str, str]:
    """The service's chain and its deployments record (made_service keeps it in tmp_path)."""
    return cli_env(tmp_path, ECOO_RPC_URL=node.url, ECOO_DEPLOYMENTS_DIR=str(tmp_path / "deployments"))


def test_verify_accepts_the_pdf_the_service_issued(
    issued: tuple[ServiceHarness, dict[str, Any], bytes], tmp_path: Path, anvil_node: ManagedAnvil
) -> None:
    service, document, pdf = issued
    (tmp_path / "co.pdf").write_bytes(pdf)
    # The service's verification endpoint takes it ...
    answer = service.client.post("/api/v1/verify", data=pdf, content_type="application/pdf")
    assert answer.status_code == 200 and answer.json["verdict"] == "VALID"
    # ... and so does the command line, with the same verdict on the same document.
    env = chain_env(tmp_path, anvil_node)
    result = ecoo("verify", "co.pdf", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("VALID: certificate STUMBLE-PDF-1")
    as_json = json.loads(ecoo("verify", "co.pdf", "--json", env=env, cwd=tmp_path).stdout)
    assert as_json["verdict"] == "VALID" and as_json["leaf"] == document["proof"]["leaf"]

    # A directory holding the PDF and the JSON: both verified, the PDF read like the file alone.
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "co.pdf").write_bytes(pdf)
    (tmp_path / "bundle" / "co.json").write_text(json.dumps(document))
    many = json.loads(ecoo("verify", "bundle", "--json", env=env, cwd=tmp_path).stdout)
    assert many["verdicts"] == {"VALID": 2} and {r["source"] for r in many["reports"]} == {
        "bundle/co.pdf",
        "bundle/co.json",
    }

    # `ecoo validate` and `ecoo redact` take the PDF too (its certificate data, its document).
    assert ecoo("validate", "co.pdf", env=env, cwd=tmp_path).returncode == 0
    redacted = ecoo("redact", "co.pdf", "--hide", "consignee", "--out", "r.json", env=env, cwd=tmp_path)
    assert redacted.returncode == 0, redacted.stderr
    assert ecoo("verify", "r.json", env=env, cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("fake.pdf", b"%PDF-1.7\n...", "fake.pdf: not a readable PDF"),
        ("huge.pdf", b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024), "MB limit"),
    ],
)
def test_a_pdf_that_is_not_an_ecoo_certificate_gets_one_line(name: str, content: bytes, expected: str, tmp_path: Path) -> None:
    (tmp_path / name).write_bytes(content)
    result = ecoo("verify", name, "--json", "--rpc-url", "http://127.0.0.1:9", env=cli_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert json.loads(result.stdout)["error"] in ("PdfError", "InputError")


def test_a_pdf_without_the_document_is_refused(tmp_path: Path) -> None:
    """A real PDF (made by the same layout library) that carries no ecoo document."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    (tmp_path / "plain.pdf").write_bytes(bytes(pdf.output()))
    result = ecoo("verify", "plain.pdf", "--rpc-url", "http://127.0.0.1:9", env=cli_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "ecoo: error: plain.pdf: the PDF has no ecoo-certificate.json attachment: it is not an ecoo certificate PDF"
    )


def test_verify_without_a_node_names_the_url_and_how_to_start_one(
    issued: tuple[ServiceHarness, dict[str, Any], bytes], tmp_path: Path
) -> None:
    _, document, _ = issued
    (tmp_path / "co.json").write_text(json.dumps(document))
    dead = f"http://127.0.0.1:{free_port()}"
    deployments = str(tmp_path / "deployments")
    cases = {
        "given by --rpc-url": (["--rpc-url", dead], cli_env(tmp_path, ECOO_DEPLOYMENTS_DIR=deployments)),
        "from ECOO_RPC_URL": ([], cli_env(tmp_path, ECOO_RPC_URL=dead, ECOO_DEPLOYMENTS_DIR=deployments)),
    }
    node_data = tmp_path / "node-data"
    node_data.mkdir()
    (node_data / "node.json").write_text(json.dumps({"url": dead, "pid": 1}))
    cases["recorded by a running `ecoo up`"] = ([], cli_env(tmp_path, ECOO_DATA_DIR=str(node_data)))
    for origin, (args, env) in cases.items():
        result = ecoo("verify", "co.json", *args, env=env, cwd=tmp_path)
        assert result.returncode == 3, (origin, result.stderr)
        assert result.stdout.startswith("UNAVAILABLE: certificate STUMBLE-PDF-1")
        note = result.stderr.strip()
        assert len(note.splitlines()) == 1, note
        assert note.startswith(f"ecoo: chain unavailable ({origin}") and f"no Ethereum node answers at {dead}" in note
        assert "`ecoo up`" in note and "`make run`" in note, note


def test_keygen_prints_the_address_only(tmp_path: Path) -> None:
    env = cli_env(tmp_path, ECOO_KEYSTORE_PASSWORD=PASSWORD)
    result = ecoo("keygen", "--out", "key.json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    address = result.stdout.removesuffix("\n")
    assert ADDRESS.fullmatch(address), result.stdout  # CHAMBER=$(ecoo keygen --out key.json) is the address
    assert "key.json" in result.stderr and PASSWORD not in result.stdout + result.stderr
    key = Account.decrypt(json.loads((tmp_path / "key.json").read_text()), PASSWORD)
    assert Account.from_key(key).address == address

    as_json = ecoo("keygen", "--out", "key2.json", "--json", env=env, cwd=tmp_path)
    assert as_json.returncode == 0 and as_json.stderr == ""
    assert json.loads(as_json.stdout) == {"address": json.loads(as_json.stdout)["address"], "keystore": "key2.json"}


def test_example_gives_a_new_number_each_run_and_takes_number(
    made: list[ServiceHarness], tmp_path: Path, anvil_node: ManagedAnvil
) -> None:
    env = cli_env(tmp_path)
    first, second = (json.loads(ecoo("example", env=env, cwd=tmp_path).stdout) for _ in range(2))
    assert first["certificateNumber"] != second["certificateNumber"]
    assert first["certificateNumber"].startswith("TH-RCEP-2026-") and first["items"] == second["items"]
    # Both go through the service: the second is not a 409 (a duplicate number) any more.
    service = made_service(made, tmp_path, anvil_node)
    assert {service.create(first)["status"], service.create(second)["status"]} == {"PENDING"}

    given = ecoo("example", "--scheme", "EUR1", "--number", "CH-ZH-A-0000001", env=env, cwd=tmp_path)
    assert json.loads(given.stdout)["certificateNumber"] == "CH-ZH-A-0000001"
    for bad in ("two words", "", "x" * 65):
        refused = ecoo("example", "--number", bad, env=env, cwd=tmp_path)
        assert refused.returncode == 1 and refused.stdout == ""
        assert refused.stderr.startswith("ecoo: error: --number: expected a certificate number"), refused.stderr


def many_issues_file(tmp_path: Path) -> Path:
    """A list of 2,000 empty objects: `ecoo validate` prints over 1 MB about them, far more than a
    pipe holds, so the command is still writing when `head -1` has gone."""
    path = tmp_path / "many.json"
    path.write_text(json.dumps([{}] * 2000))
    return path


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    source = many_issues_file(tmp_path)
    args = [sys.executable, "-m", "ecoo", "validate", source.name]
    with (
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(tmp_path), cwd=tmp_path) as producer,
        subprocess.Popen(["head", "-1"], stdin=producer.stdout, stdout=subprocess.PIPE) as head,
    ):
        assert producer.stdout is not None and producer.stderr is not None
        producer.stdout.close()  # head alone reads it now: its exit closes the pipe
        first, _ = head.communicate(timeout=120)
        err = producer.stderr.read().decode()
        code = producer.wait(timeout=120)
    assert code == 141, err  # 128 + SIGPIPE, as cat or grep end there
    assert err == "", err  # no "Broken pipe", no traceback
    assert first == b"many.json[0]: 11 issue(s)\n"


def test_the_whole_output_still_exits_with_the_command_s_code(tmp_path: Path) -> None:
    """Read to the end, the same command gives its own code (1: invalid certificates), not 141."""
    source = many_issues_file(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "ecoo", "validate", str(source)], capture_output=True, env=cli_env(tmp_path), timeout=120
    )
    assert result.returncode == 1 and len(result.stdout) > 1024 * 1024 and result.stderr == b""
