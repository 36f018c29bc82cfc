"""Certificate files: read safely (size limit, strict JSON, one-line errors) and written without
ever overwriting an issued certificate."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from itertools import accumulate
from pathlib import Path
from typing import Any

from .errors import InputError, PdfError

#: Largest file ecoo reads (a certificate with 999 items is well under 2 MB).
MAX_FILE_BYTES = 10 * 1024 * 1024


def safe_filename(name: str, fallback: str) -> str:
    """``name`` (a certificate number) reduced to characters safe in a file name, never empty."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or fallback


#: Deepest nesting of arrays and objects ecoo reads. A certificate is at most 4 levels deep and an
#: issued document 6; 64 leaves room for any honest JSON while keeping every recursive consumer
#: (the C parser, the validator, the canonical form) far from the stack limit. The limit is
#: checked before parsing because importing py_ecc (through web3) raises Python's recursion
#: limit to 100,000: the C stack overflows (SIGSEGV) long before RecursionError is raised.
MAX_DEPTH = 64

#: Integers are refused from 10**1000 on (over 1000 digits), whatever the interpreter allows:
#: Python's own guard (int_max_str_digits, 4300) can be switched off (PYTHONINTMAXSTRDIGITS=0), and
#: then one 10 MB integer takes minutes to convert (quadratic in its digits); 1000 digits convert in
#: microseconds. No field is anywhere near (the largest schema maximum is 99,999,999; money and
#: quantities are decimal strings; hashes hex strings), and the canonical form refuses past 2**53,
#: but below this bound a wrong number still reaches the validator, which names its field (the
#: verification page shows a hostile 400-digit "date" as INVALID format, at its path): a tighter
#: bound would turn that answer into a parse error for the whole document.
MAX_INTEGER_DIGITS = 1000

# A JSON string, escapes included. It matches without backtracking (an unterminated string runs to
# the end of the text, a trailing backslash included), so removing every string is linear in the
# input, whatever it holds, and leaves the brackets that structure the value.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
# Every byte but the four brackets, deleted; then an opening bracket is "(" and a closing one ")".
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_AS_PARENTHESES = bytes.maketrans(b"[{]}", b"(())")
_DEPTH_STEP = {ord("("): 1, ord(")"): -1}
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_SOURCE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def nesting_depth_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects in ``text`` nest deeper than ``limit``, found without recursion
    and without parsing; brackets inside strings do not count."""
    outside = _STRING.sub("", text).encode("utf-8", "surrogatepass")
    brackets = remaining = outside.translate(_AS_PARENTHESES, _NOT_BRACKETS)
    # Fast path: each pass removes the innermost pairs, so ``limit`` passes empty any balanced text
    # nested at most ``limit`` deep (a few C-speed passes for real documents, which are shallow).
    for _ in range(limit + 1):
        if not remaining:
            return False
        shorter = remaining.replace(b"()", b"")
        if len(shorter) == len(remaining):
            break  # what is left is unbalanced
        remaining = shorter
    # Exact, for deep or unbalanced text: the running depth, stopping at the first bracket past the
    # limit. Malformed text may be miscounted after its first error; the parser stops there too.
    return next(filter(limit.__lt__, accumulate(map(_DEPTH_STEP.__getitem__, brackets))), None) is not None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Parsers disagree on duplicate keys (first or last wins): refuse the ambiguity.
            raise InputError(f"duplicate key {_shown(key)} in a JSON object")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise InputError(f"{name} is not valid JSON")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        count = len(digits.lstrip("-"))
        raise InputError(f"not acceptable JSON: an integer of {count} digits (at most {MAX_INTEGER_DIGITS})")
    return int(digits)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses to infinity, which JSON cannot hold
        raise InputError(f"not acceptable JSON: the number {_shown(text)} is too large")
    return value


def _shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a one-line error, shortened, lone surrogates escaped."""
    short = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(short)


# A path as a linked list, (parent, key), so that walking a large value copies no lists.
_Path = tuple["_Path", str | int] | None


def _pointer(path: _Path) -> str:
    tokens: list[str] = []
    while path is not None:
        path, key = path
        tokens.append(str(key).replace("~", "~0").replace("/", "~1"))
    return "/" + "/".join(reversed(tokens)) if tokens else "(the top level)"


def lone_surrogate_at(value: Any) -> str | None:
    """Where in ``value`` a string or key holds a lone UTF-16 surrogate (``"\\ud800"`` in JSON):
    a JSON Pointer, or None. Such a string has no UTF-8 form, so nothing downstream (the
    database, the canonical form, a response) can store or show it. Walks without recursion."""
    stack: list[tuple[_Path, Any]] = [(None, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return _pointer(path)
        elif isinstance(item, dict):
            for key, member in item.items():
                if _SURROGATE.search(key):
                    return f"a key in {_pointer(path)}"
                stack.append(((path, key), member))
        elif isinstance(item, list):
            stack.extend(((path, index), member) for index, member in enumerate(item))
    return None


def parse_json(text: str | bytes, source: str, limit: int = MAX_FILE_BYTES) -> Any:
    """``text`` as JSON, strictly, for every JSON ecoo is given (files, request bodies, uploads,
    pasted text, a PDF's embedded document): at most ``limit`` bytes, UTF-8 only, nested at most
    :data:`MAX_DEPTH` deep, no duplicate keys, no NaN or Infinity, integers under 10**1000, no lone
    surrogates. Anything else is an :class:`InputError` of one line that names ``source``."""
    if len(text) > limit:  # characters of a str are at least one byte each
        raise InputError(f"{source}: over the {limit // (1024 * 1024)} MB limit")
    if isinstance(text, bytes | bytearray | memoryview):
        try:
            # RFC 8259, 8.1: JSON exchanged between systems is UTF-8 (a leading BOM is tolerated).
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    if nesting_depth_exceeds(text):
        raise InputError(f"{source}: JSON nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constants,
            parse_int=_bounded_int,
            parse_float=_finite_float,
        )
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:  # not reachable after the depth check; kept as a last line of defence
        raise InputError(f"{source}: JSON nested too deeply") from None
    except ValueError as exc:
        raise InputError(f"{source}: not acceptable JSON ({exc})") from None
    # Only an escape (or a str given as such) can hold a surrogate: walk the value only then.
    where = lone_surrogate_at(value) if _SURROGATE_SOURCE.search(text) else None
    if where is not None:
        raise InputError(f"{source}: a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape) at {where}: not Unicode text")
    return value


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


def read_document(path: Path | str, limit: int = MAX_FILE_BYTES) -> Any:
    """What ``path`` (``-`` for stdin) presents as an issued document: its JSON, or, for a PDF
    (``%PDF`` first, as the verification page and API tell them apart), the document an ecoo
    certificate PDF carries, read by :func:`ecoo.pdf.reader.extract_document` with its limits.
    Either way the JSON goes through :func:`parse_json`: there is no second parser."""
    source = "stdin" if str(path) == "-" else str(path)
    data = read_bytes(path, limit)
    if data.startswith(b"%PDF"):
        from .pdf.reader import extract_document  # pypdf loads with the first PDF, not with every command

        try:
            return extract_document(data)
        except PdfError as exc:
            raise PdfError(f"{source}: {exc}") from None
    return parse_json(data, source)


def read_certificates(path: Path | str, *, pdf: bool = False) -> Iterator[tuple[str, Any]]:
    """Certificates from a JSON file (one object or a list), JSON Lines (``.jsonl``), or a
    directory of ``.json`` files. Yields ``(source, certificate)``. With ``pdf``, for issued
    documents, a file may also be an ecoo certificate PDF (see :func:`read_document`) and a
    directory's ``.pdf`` files are read too."""
    path_obj = Path(path)
    if str(path) != "-" and path_obj.is_dir():
        suffixes = (".json", ".pdf") if pdf else (".json",)
        files = sorted(p for p in path_obj.iterdir() if p.suffix in suffixes and p.is_file())
        if not files:
            raise InputError(f"{path}: no {' or '.join(suffixes)} files in this directory")
        for file in files:
            yield from read_certificates(file, pdf=pdf)
        return
    if path_obj.suffix == ".jsonl":
        text = read_bytes(path, limit=max(MAX_FILE_BYTES, 1024 * MAX_FILE_BYTES))
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield f"{path}:{number}", parse_json(line, f"{path}, line {number}")
        return
    value = read_document(path) if pdf else read_json(path)
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
