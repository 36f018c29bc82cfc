"""What a command prints: one JSON object on stdout with ``--json``, readable lines without; an
error as one line on stderr (and an ``{"error", "message"}`` object with ``--json``) and exit
code 1, never a traceback."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn, ParamSpec

import click

from ..errors import EcooError

P = ParamSpec("P")

#: Exit code of a failed command (``ecoo verify`` adds its own, see there).
EXIT_ERROR = 1

json_option = click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")


def jsonable(value: Any) -> Any:
    """``value`` with dataclasses, enums (by name), bytes (0x hex) and paths turned into JSON types."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


class Output:
    """Prints a result as one JSON object (``--json``) or as readable lines."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def result(self, data: dict[str, Any], lines: list[str]) -> None:
        if self.as_json:
            click.echo(json.dumps(jsonable(data), sort_keys=True))
        else:
            for line in lines:
                click.echo(line)


def fail(as_json: bool, error: str, message: str) -> NoReturn:
    """Report an error the house way and exit with :data:`EXIT_ERROR`."""
    if as_json:
        click.echo(json.dumps({"error": error, "message": message}))
    click.echo(f"ecoo: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def handle_errors(command: Callable[P, None]) -> Callable[P, None]:
    """Turn what a command raises on expected failures (an :class:`~ecoo.errors.EcooError`, or an
    ``OSError`` such as an unwritable output file) into :func:`fail`: one line, exit code 1. With
    a ``--json`` option (the ``as_json`` parameter) the error is also printed as a JSON object.
    Anything else is a bug and keeps its traceback."""

    @functools.wraps(command)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        as_json = bool(kwargs.get("as_json", False))
        try:
            command(*args, **kwargs)
        except EcooError as exc:
            fail(as_json, type(exc).__name__, str(exc))
        except OSError as exc:
            fail(as_json, type(exc).__name__, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))

    return guarded
