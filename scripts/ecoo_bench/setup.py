"""Shared setup: the sample certificates, chambers and funding."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from web3 import Web3

from ecoo.examples import shift_dates
from ecoo.signers import LocalSigner

from .common import SAMPLES

# -- shared setup ------------------------------------------------------------------------------


@dataclass
class Chamber:
    signer: LocalSigner
    sample: dict[str, Any]
    label: str


def load_samples() -> list[tuple[str, dict[str, Any]]]:
    """The sample certificates, every date shifted so that each is issued today (UTC)."""
    today = datetime.now(UTC).date()
    samples = []
    for path in sorted(SAMPLES.glob("*.json")):
        sample = json.loads(path.read_text(encoding="utf-8"))
        samples.append((path.stem, shift_dates(sample, today - date.fromisoformat(sample["issueDate"]))))
    return samples


def make_certificates(sample: dict[str, Any], prefix: str, count: int) -> list[dict[str, Any]]:
    return [{**sample, "certificateNumber": f"{prefix}-{i:06d}"} for i in range(count)]


def fund(w3: Web3, dev: str, address: str, wei: int = 10**20) -> None:
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": dev, "to": address, "value": wei}))  # type: ignore[typeddict-item]
