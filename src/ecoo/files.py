"""Certificate files: read safely (size limit, strict JSON, one-line errors) and written without
ever overwriting an issued certificate."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import InputError

#: Largest file ecoo reads (a certificate with 999 items is well under 2 MB).
MAX_FILE_BYTES = 10 * 1024 * 1024


def safe_filename(name: str, fallback: str) -> str:
    """``name`` (a certificate number) reduced to characters safe in a file name, never empty."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or fallback


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Parsers disagree on duplicate keys (first or last wins): refuse the ambiguity.
            raise InputError(f"duplicate key {key!r} in a JSON object")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise InputError(f"{name} is not valid JSON")


def parse_json(text: str | bytes, source: str) -> Any:
    """``text`` as JSON, strictly: no duplicate keys, no NaN or Infinity; ``source`` names it in errors."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text") from None
    except RecursionError:
        raise InputError(f"{source}: JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputError(f"{source}: not acceptable JSON ({exc})") from None


def read_bytes(path: Path | str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path`` (``-`` for stdin), refusing anything over ``limit`` without reading it all."""
    if str(path) == "-":
        data = sys.stdin.buffer.read(limit + 1)
        source = "stdin"
    else:
        path = Path(path)
        source = str(path)
        if path.is_dir():
            raise InputError(f"{source}: is a directory, expected a file")
        try:
            size = path.stat().st_size
            if size > limit:
                raise InputError(f"{source}: {size / 1e6:.1f} MB is over the {limit // (1024 * 1024)} MB limit for one file")
            with path.open("rb") as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            raise InputError(f"{source}: no such file") from None
        except PermissionError:
            raise InputError(f"{source}: permission denied") from None
    if len(data) > limit:
        raise InputError(f"{source}: over the {limit // (1024 * 1024)} MB limit for one file")
    return data


def read_json(path: Path | str, limit: int = MAX_FILE_BYTES) -> Any:
    """The JSON value in ``path`` (``-`` for stdin), read with :func:`read_bytes` and :func:`parse_json`."""
    source = "stdin" if str(path) == "-" else str(path)
    data = read_bytes(path, limit)
    if data.startswith(b"%PDF"):
        raise InputError(f"{source}: is a PDF; give the certificate's JSON file")
    return parse_json(data, source)


def read_certificates(path: Path | str) -> Iterator[tuple[str, Any]]:
    """Certificates from a JSON file (one object or a list), JSON Lines (``.jsonl``), or a
    directory of ``.json`` files. Yields ``(source, certificate)``."""
    path_obj = Path(path)
    if str(path) != "-" and path_obj.is_dir():
        files = sorted(p for p in path_obj.iterdir() if p.suffix == ".json" and p.is_file())
        if not files:
            raise InputError(f"{path}: no .json files in this directory")
        for file in files:
            yield from read_certificates(file)
        return
    if path_obj.suffix == ".jsonl":
        text = read_bytes(path, limit=max(MAX_FILE_BYTES, 1024 * MAX_FILE_BYTES))
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield f"{path}:{number}", parse_json(line, f"{path}, line {number}")
        return
    value = read_json(path)
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield f"{path}[{index}]", item
    else:
        yield str(path), value


def dump_document(document: Any) -> str:
    """An issued document as the text ecoo writes to its file: indented, UTF-8, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_documents(documents: Iterable[Mapping[str, Any]], out: Path) -> list[Path]:
    """Write issued documents into the directory ``out``, one file each, named after the certificate
    number (``.certified-copy`` for a certified true copy). Never overwrites an issued certificate:
    a name already taken gets ``.2``, ``.3``, … Returns the paths written, in order."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for document in documents:
        certificate = document["certificate"]
        name = safe_filename(str(certificate["certificateNumber"]), "certificate")
        if certificate.get("copyType") == "CERTIFIED_TRUE_COPY":
            name += ".certified-copy"
        path = out / f"{name}.json"
        suffix = 2
        while path.exists():
            path = out / f"{name}.{suffix}.json"
            suffix += 1
        path.write_text(dump_document(document), encoding="utf-8")
        written.append(path)
    return written
