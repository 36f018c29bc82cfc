"""Schemathesis, a third-party client of the OpenAPI document, fuzzes the served API (issue 9).

`schemathesis run --checks all` against a real service (a real Anvil, one chamber's token, one
issued certificate to find) for a bounded time: every response must be documented, match its
schema and never be a server error. The rules OpenAPI cannot state are in schemathesis.toml.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ecoo.anvil import ManagedAnvil
from tests.support.chain import ROOT
from tests.support.service import ServiceHarness, make_service

pytestmark = pytest.mark.slow

#: Seconds of generation (coverage, fuzzing and stateful phases); the seed keeps runs reproducible.
BUDGET_SECONDS = "90"
SEED = "1"


@pytest.fixture
def served(tmp_path: Path, anvil_node: ManagedAnvil) -> Iterator[tuple[ServiceHarness, str]]:
    harness = make_service(tmp_path, anvil_node)
    harness.app.config["TESTING"] = False  # errors answer as in production, not as exceptions
    harness.create(harness.certificate("ST-1"))
    harness.anchor()
    server = make_server("127.0.0.1", 0, harness.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield harness, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    harness.worker.stop()
    harness.app.extensions["ecoo"].store.close()


def test_schemathesis_finds_no_server_error_and_no_schema_violation(served: tuple[ServiceHarness, str], tmp_path: Path) -> None:
    harness, base = served
    binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert binary, "schemathesis is not installed (pip install -e '.[dev]')"
    command = [
        binary,
        "--config-file",
        str(ROOT / "schemathesis.toml"),
        "run",
        f"{base}/api/v1/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {harness.token}",
        "--max-time",
        BUDGET_SECONDS,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--no-color",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the hooks module named in schemathesis.toml
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "passed" in done.stdout and " 0 passed" not in done.stdout
