"""The offline commands start without the heavy libraries: ``ecoo --help``, ``ecoo schema`` and
``ecoo validate FILE`` load neither the web stack (Flask, SQLAlchemy) nor the chain libraries
(web3, eth-account, eth-utils, which alone took ~0.4 s through pydantic). Checked by what is in
``sys.modules`` after the command ran in a fresh interpreter, not by a timing that a busy machine
could make fail or pass by chance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecoo.examples import example_certificate

SRC = Path(__file__).resolve().parents[2] / "src"

#: Libraries an offline command must not import (each is a top-level package name).
HEAVY = ("web3", "flask", "sqlalchemy", "eth_account", "eth_utils")

PROBE = """
import contextlib, io, json, sys
import ecoo.cli
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = ecoo.cli.main(sys.argv[1:])
heavy = json.loads(sys.stdin.read())
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules], "out": out.getvalue()}))
"""


def run_probe(*args: str) -> dict[str, object]:
    """Run ``ecoo ARGS`` in a fresh interpreter (this checkout's src first) and report what it loaded."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


@pytest.fixture(scope="module")
def certificate_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("startup") / "co.json"
    path.write_text(json.dumps(example_certificate("RCEP")), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args",
    [("--help",), ("schema",), ("validate", "{file}"), ("verify", "--help"), ("example", "--number", "X-1")],
    ids=["help", "schema", "validate", "verify-help", "example"],
)
def test_offline_commands_do_not_load_the_web_or_chain_stack(args: tuple[str, ...], certificate_file: Path) -> None:
    report = run_probe(*(a.format(file=certificate_file) for a in args))
    assert report["code"] == 0
    assert report["out"], "the command printed nothing: the probe did not run it"
    assert report["loaded"] == [], f"ecoo {' '.join(args)} imported {report['loaded']}"


def test_the_probe_sees_a_heavy_import(certificate_file: Path) -> None:
    """The probe itself can fail: a command that talks to a chain does load web3 (port 9: no node)."""
    report = run_probe("verify", "--rpc-url", "http://127.0.0.1:9", str(certificate_file))
    assert "web3" in report["loaded"]
