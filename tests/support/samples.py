"""The realistic sample certificates (tests/vectors/samples), with dates shifted to today."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ecoo.examples import shift_dates

SAMPLES = Path(__file__).resolve().parents[1] / "vectors" / "samples"


def sample(name: str = "rcep-vn-jp.json", issued_days_ago: int = 2, number: str | None = None) -> dict[str, Any]:
    """A sample certificate whose issue date is ``issued_days_ago`` days before today."""
    certificate = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    today = datetime.now(UTC).date()
    shift = today - date.fromisoformat(certificate["issueDate"]) - timedelta(days=issued_days_ago)
    shifted: dict[str, Any] = shift_dates(certificate, shift)
    if number:
        shifted["certificateNumber"] = number
    return shifted
