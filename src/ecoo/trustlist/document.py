"""The trust-list document: its schema, its reader and the immutable records it parses into.

A trust list names the registries a verifier trusts (see docs/trust-lists.md). It is read only
through the project's one bounded JSON reader (:func:`ecoo.files.read_json` / ``parse_json``),
then checked against ``ecoo/schema/trust-list.schema.json`` and the rules a schema cannot say
(real calendar dates, an entry's period in order, one entry per registry). Every problem is one
line that starts with the JSON Pointer of the value at fault.

Dates: ``validFrom`` and ``validUntil`` are an ISO 8601 calendar date (``2026-01-31``) or an RFC
3339 date-time with a time zone (``2026-01-31T12:00:00Z``). A date means the whole day in UTC:
``validFrom`` from its start, ``validUntil`` until its end (inclusive). ``issued`` is a date-time.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..files import parse_json, read_json
from ..hashing import checksum_address, is_checksummed

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = [
    "FORMAT",
    "SCHEMA_FILE",
    "TrustEntry",
    "TrustList",
    "format_moment",
    "load_trust_list_schema",
    "parse_moment",
    "entry_period_problem",
    "parse_trust_list",
    "parse_trust_list_text",
    "read_trust_list",
    "trust_list_problems",
    "write_trust_list",
]

FORMAT = "ecoo-trust-list/1"
SCHEMA_FILE = "trust-list.schema.json"
#: Problems listed in one error before "and N more".
SHOWN_PROBLEMS = 10


def load_trust_list_schema() -> dict[str, Any]:
    """A fresh copy of the published trust-list schema, read from the package like the certificate's."""
    text = files("ecoo.schema").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> Validator:
    from jsonschema import Draft202012Validator

    schema = load_trust_list_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """An aware UTC datetime for a ``validFrom``/``validUntil``/``issued`` value (format checked by the
    schema). A bare date is its day's start, or with ``end_of_day`` the last microsecond of it."""
    if len(text) == 10:
        day = date.fromisoformat(text)
        if end_of_day:
            return datetime.combine(day, time.max, UTC)
        return datetime.combine(day, time.min, UTC)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # the schema requires a zone; a caller bypassing it gets UTC, not local time
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_moment(moment: datetime) -> str:
    """``moment`` as the list writes date-times: UTC, seconds, ``Z``."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class TrustEntry:
    """One trusted registry: where it is, who runs it and when the list trusts it."""

    chain_id: int
    registry: str  # as written in the list (the signature covers the list as written); see ``address``
    rpc_urls: tuple[str, ...]  # tried in this order
    authority_name: str
    authority_country: str
    valid_from: str  # as written in the list (a date or a date-time)
    valid_until: str | None = None  # None: no end
    notes: str | None = None

    @property
    def address(self) -> str:
        """The registry in EIP-55 form."""
        return checksum_address(self.registry)

    @property
    def key(self) -> tuple[int, str]:
        return self.chain_id, self.address

    @property
    def starts(self) -> datetime:
        return parse_moment(self.valid_from)

    @property
    def ends(self) -> datetime | None:
        return parse_moment(self.valid_until, end_of_day=True) if self.valid_until else None

    def active_at(self, moment: datetime) -> bool:
        ends = self.ends
        return self.starts <= moment and (ends is None or moment <= ends)

    def period(self) -> str:
        """The validity period as written, for messages."""
        return f"valid from {self.valid_from} until {self.valid_until or '(no end)'}"

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "chainId": self.chain_id,
            "registry": self.registry,
            "rpcUrls": list(self.rpc_urls),
            "authority": {"name": self.authority_name, "country": self.authority_country},
            "validFrom": self.valid_from,
        }
        if self.valid_until is not None:
            entry["validUntil"] = self.valid_until
        if self.notes is not None:
            entry["notes"] = self.notes
        return entry

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrustEntry:
        return cls(
            chain_id=int(data["chainId"]),  # JSON Schema counts 7001.0 as an integer
            registry=data["registry"],
            rpc_urls=tuple(data["rpcUrls"]),
            authority_name=data["authority"]["name"],
            authority_country=data["authority"]["country"],
            valid_from=data["validFrom"],
            valid_until=data.get("validUntil"),
            notes=data.get("notes"),
        )


@dataclass(frozen=True)
class TrustList:
    """A parsed, schema-valid trust list. ``signature`` is the raw signature member, if any
    (checked by :mod:`ecoo.trustlist.signing`, not here)."""

    name: str
    sequence: int
    issued: str
    entries: tuple[TrustEntry, ...]
    signature: dict[str, str] | None = None

    def entry(self, chain_id: int, registry: str) -> TrustEntry | None:
        key = (chain_id, checksum_address(registry))
        return next((e for e in self.entries if e.key == key), None)

    def unsigned_json(self) -> dict[str, Any]:
        """The list without its signature: what the publisher signs."""
        return {
            "format": FORMAT,
            "name": self.name,
            "sequence": self.sequence,
            "issued": self.issued,
            "entries": [e.to_json() for e in self.entries],
        }

    def to_json(self) -> dict[str, Any]:
        document = self.unsigned_json()
        if self.signature is not None:
            document["signature"] = dict(self.signature)
        return document

    def changed(self, entries: Iterable[TrustEntry], now: datetime | None = None) -> TrustList:
        """The next sequence of this list with ``entries``, issued ``now``, unsigned (a signature
        covers one sequence only: the publisher signs the new one again)."""
        return replace(
            self,
            entries=tuple(entries),
            sequence=self.sequence + 1,
            issued=format_moment(now or datetime.now(UTC)),
            signature=None,
        )

    @classmethod
    def new(cls, name: str, now: datetime | None = None) -> TrustList:
        return cls(name=name, sequence=1, issued=format_moment(now or datetime.now(UTC)), entries=())


def _pointer(path: Iterable[Any]) -> str:
    tokens = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(tokens) if tokens else "/"


def _semantic_problems(document: dict[str, Any]) -> Iterator[str]:
    """What the schema cannot say: real dates, periods in order, one entry per registry."""
    try:
        parse_moment(document["issued"])
    except ValueError as exc:
        yield f"/issued: not a real date-time ({exc})"
    publisher = document.get("signature", {}).get("publisher")
    if publisher is not None and not _case_ok(publisher):
        yield f"/signature/publisher: {publisher} has a wrong EIP-55 checksum (a mistyped address?)"
    seen: dict[tuple[int, str], int] = {}
    for index, entry in enumerate(document["entries"]):
        bounds: dict[str, datetime] = {}
        for member in ("validFrom", "validUntil"):
            if member in entry:
                try:
                    bounds[member] = parse_moment(entry[member], end_of_day=member == "validUntil")
                except ValueError as exc:
                    yield f"/entries/{index}/{member}: not a real date or date-time ({exc})"
        if len(bounds) == 2 and bounds["validUntil"] < bounds["validFrom"]:
            yield f"/entries/{index}/validUntil: {entry['validUntil']} is before validFrom {entry['validFrom']}"
        if not _case_ok(entry["registry"]):
            yield f"/entries/{index}/registry: {entry['registry']} has a wrong EIP-55 checksum (a mistyped address?)"
        key = (entry["chainId"], checksum_address(entry["registry"]))
        if key in seen:
            yield f"/entries/{index}/registry: registry {key[1]} on chain {key[0]} is already /entries/{seen[key]}"
        seen.setdefault(key, index)


def _case_ok(address: str) -> bool:
    """All lower or all upper case, or a valid EIP-55 checksum."""
    digits = address[2:]
    return digits in (digits.lower(), digits.upper()) or is_checksummed(address)


def trust_list_problems(document: Any) -> list[str]:
    """Every reason ``document`` is not a valid trust list, one line each, starting with its JSON Pointer."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    problems = [f"{_pointer(e.absolute_path)}: {_describe(e)}" for e in errors]
    if not problems:
        problems = list(_semantic_problems(document))
    return problems


#: What a string that fails its pattern should have been, by the member (or array) holding it.
_EXPECTED = {
    "validFrom": "a date (YYYY-MM-DD) or an RFC 3339 date-time with a time zone",
    "validUntil": "a date (YYYY-MM-DD) or an RFC 3339 date-time with a time zone",
    "issued": "an RFC 3339 date-time with a time zone (e.g. 2026-12-02T16:00:00Z)",
    "registry": "an address (0x and 40 hex digits)",
    "publisher": "an address (0x and 40 hex digits)",
    "country": "an ISO 3166-1 alpha-2 code (two capital letters)",
    "value": "a 65-byte signature (0x and 130 hex digits)",
    "rpcUrls": "an http:// or https:// URL",
}


def _describe(error: Any) -> str:
    path = list(error.absolute_path)
    holder = next((p for p in reversed(path) if isinstance(p, str)), None)
    if error.validator == "pattern" and holder in _EXPECTED:
        return f"{_short(repr(error.instance), 60)} is not {_EXPECTED[holder]}"
    return _short(error.message)


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def parse_trust_list(value: Any, source: str) -> TrustList:
    """A :class:`TrustList` from a parsed JSON value; InputError naming ``source`` and each problem's pointer."""
    problems = trust_list_problems(value)
    if problems:
        shown = "; ".join(problems[:SHOWN_PROBLEMS])
        more = f" (and {len(problems) - SHOWN_PROBLEMS} more)" if len(problems) > SHOWN_PROBLEMS else ""
        raise InputError(f"{source}: not a valid trust list: {shown}{more}")
    return TrustList(
        name=value["name"],
        sequence=int(value["sequence"]),
        issued=value["issued"],
        entries=tuple(TrustEntry.from_json(e) for e in value["entries"]),
        signature=dict(value["signature"]) if "signature" in value else None,
    )


def read_trust_list(path: Path | str) -> TrustList:
    """Read and check the trust list in ``path`` (the bounded reader, then the schema and rules)."""
    return parse_trust_list(read_json(path), str(path))


def parse_trust_list_text(text: str | bytes, source: str) -> TrustList:
    """:func:`read_trust_list` for text already in memory (the bounded ``parse_json``)."""
    return parse_trust_list(parse_json(text, source), source)


def write_trust_list(trust_list: TrustList, path: Path) -> Path:
    """Write ``trust_list`` to ``path`` atomically (a reader never sees half a list)."""
    text = json.dumps(trust_list.to_json(), indent=2, ensure_ascii=False) + "\n"
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def entry_period_problem(entry: TrustEntry, moment: datetime) -> str | None:
    """Why ``entry`` is not in force at ``moment``, or None."""
    if entry.active_at(moment):
        return None
    when = "not yet valid" if moment < entry.starts else "expired"
    return f"{when}: its entry is {entry.period()}; now is {format_moment(moment)}"
