#!/usr/bin/env python3
"""Run Slither over the registry and fail on any untriaged finding of Low impact or above.

    python scripts/slither_gate.py [--slither .venv-slither/bin/slither] [--triage slither.triage.json]

Slither analyses the Hardhat build (``--compile-force-framework hardhat``: a root foundry.toml
would otherwise win; ``--skip-clean``: a clean wipes Hardhat's global compiler cache). Findings in
the project's own contracts (``contracts/``) are matched against the triage file by detector and
element (``Contract.member``), not by Slither's line-based ids, so moving code does not turn a
reviewed finding into a new one. Informational and optimisation findings are printed, never fatal.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FATAL = ("High", "Medium", "Low")


def element_name(result: dict[str, Any]) -> str:
    first = result["elements"][0]
    parent = first.get("type_specific_fields", {}).get("parent", {}).get("name")
    return f"{parent}.{first['name']}" if parent else first["name"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slither", default=str(ROOT / ".venv-slither" / "bin" / "slither"))
    parser.add_argument("--triage", type=Path, default=ROOT / "slither.triage.json")
    args = parser.parse_args()

    command = [
        args.slither,
        ".",
        "--compile-force-framework",
        "hardhat",
        "--skip-clean",
        "--filter-paths",
        "node_modules",
        "--fail-none",
        "--json",
        "-",
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    try:
        output = json.loads(run.stdout)
    except json.JSONDecodeError:
        sys.stderr.write(run.stderr)
        print(f"slither produced no JSON (exit {run.returncode}): {' '.join(command)}")
        return 2
    if not output.get("success"):
        sys.stderr.write(run.stderr)
        print(f"slither failed: {output.get('error')}")
        return 2

    triaged = {(f["check"], f["element"]): f["justification"] for f in json.loads(args.triage.read_text())["findings"]}
    seen: set[tuple[str, str]] = set()
    new = 0
    for result in output.get("results", {}).get("detectors", []):
        files = {e.get("source_mapping", {}).get("filename_relative", "") for e in result["elements"]}
        if not any(f.startswith("contracts/") for f in files):
            continue
        key = (result["check"], element_name(result))
        seen.add(key)
        if key in triaged:
            print(f"triaged  {result['impact']:<13} {key[0]} {key[1]}: {triaged[key]}")
        elif result["impact"] in FATAL:
            new += 1
            print(f"NEW      {result['impact']:<13} {key[0]} {key[1]}\n{result['description']}")
        else:
            print(f"note     {result['impact']:<13} {key[0]} {key[1]}")
    for key in sorted(triaged.keys() - seen):
        print(f"stale    triage entry no longer reported: {key[0]} {key[1]} (remove it)")
    print(f"slither: {len(seen)} finding(s) in contracts/, {new} new of Low impact or above")
    return 1 if new else 0


if __name__ == "__main__":
    raise SystemExit(main())
