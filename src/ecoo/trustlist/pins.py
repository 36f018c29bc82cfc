"""No rollback: a verifier never goes back to an older signed trust list than one it accepted.

A publisher removes a registry by signing the next sequence without it. An attacker who kept the
older signed list (which still verifies) could hand it back to a verifier to restore the removed
registry. So a verifier remembers, per publisher and list name, the newest sequence it accepted
and the hash of that list, and refuses an older sequence, or a *different* list under the same
sequence (a publisher that signed two lists with one number has forked its list; the verifier
cannot tell which one is meant). The same model as TUF's rollback protection for metadata.

Only lists signed by the configured publisher are pinned: without a configured publisher anyone
could sign, and a pin would let the first list seen lock out the right one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import TrustListRefusedError
from .document import TrustList
from .signing import SignatureCheck, list_hash

__all__ = ["PINS_FILE", "SequencePins"]

#: The pins' file in the data directory (``ECOO_DATA_DIR``).
PINS_FILE = "trust-list-pins.json"


class SequencePins:
    """The newest accepted sequence of each (publisher, list name), in a small JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def _key(trust_list: TrustList, check: SignatureCheck) -> str | None:
        if not (check.signed and check.valid and check.publisher):
            return None
        return f"{check.publisher}/{trust_list.name}"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise TrustListRefusedError(
                f"the trust-list pins {self.path} cannot be read ({exc}); it guards against rollback, "
                "so nothing is trusted until it is repaired or removed"
            ) from exc
        return data if isinstance(data, dict) else {}

    def check(self, trust_list: TrustList, check: SignatureCheck, source: str) -> None:
        """Refuse (TrustListRefusedError) a list older than the one accepted, or another list with
        the same sequence."""
        key = self._key(trust_list, check)
        pinned = self._read().get(key) if key else None
        if not isinstance(pinned, dict):
            return
        sequence, digest = int(pinned.get("sequence", 0)), str(pinned.get("hash", ""))
        if trust_list.sequence < sequence:
            raise TrustListRefusedError(
                f"trust list {source} refused: sequence {trust_list.sequence} is older than sequence {sequence}, "
                f"which this verifier already accepted from {check.publisher} (a rollback to an older list?)"
            )
        if trust_list.sequence == sequence and "0x" + list_hash(trust_list).hex() != digest:
            raise TrustListRefusedError(
                f"trust list {source} refused: sequence {sequence} differs from the sequence {sequence} this "
                f"verifier already accepted from {check.publisher}; the publisher must issue a new sequence"
            )

    def record(self, trust_list: TrustList, check: SignatureCheck) -> None:
        """Remember ``trust_list`` as the newest accepted of its publisher (no-op for an unpinned list)."""
        key = self._key(trust_list, check)
        if key is None:
            return
        pins = self._read()
        current = pins.get(key)
        if isinstance(current, dict) and int(current.get("sequence", 0)) >= trust_list.sequence:
            return
        pins[key] = {"sequence": trust_list.sequence, "hash": "0x" + list_hash(trust_list).hex(), "issued": trust_list.issued}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(pins, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)  # a crash leaves the old pins or the new ones, never half

    def accept(self, trust_list: TrustList, check: SignatureCheck, source: str) -> None:
        """``check`` then ``record``."""
        self.check(trust_list, check, source)
        self.record(trust_list, check)
