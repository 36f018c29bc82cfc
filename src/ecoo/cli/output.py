"""What a command prints: one JSON object on stdout with ``--json``, readable lines without; an
error as one line on stderr (and an ``{"error", "message"}`` object with ``--json``) and exit
code 1, never a traceback. When the reader of the output goes away (``ecoo ... | head``), the
command stops quietly with :data:`EXIT_BROKEN_PIPE`."""

from __future__ import annotations

import functools
import json
import select
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn, ParamSpec

import click

from ..errors import EcooError

P = ParamSpec("P")

#: Exit code of a failed command (``ecoo verify`` adds its own, see there).
EXIT_ERROR = 1

#: Exit code when the reader of stdout went away (``ecoo ... | head``): 141, 128 + SIGPIPE, what
#: ``cat``, ``grep`` or ``seq`` give there (the shell reports a process killed by SIGPIPE so), so
#: that ``set -o pipefail`` treats ecoo like them. Not 0: the output was cut short, and ``ecoo
#: verify``'s own code (0 only for VALID) was never reached; a 0 would claim what was not checked.
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE

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


class OutputClosedError(Exception):
    """The reader of stdout (or stderr) went away: nothing more the command says can reach anyone.
    Not an :class:`~ecoo.errors.EcooError`: there is no one to show a message to."""


def output_closed() -> bool:
    """Whether stdout or stderr is a pipe whose reader has gone (``poll`` reports POLLERR)."""
    poller = select.poll()
    for fd in (1, 2):
        poller.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


@contextmanager
def broken_pipe_as_output_closed() -> Iterator[None]:
    """Turn a ``BrokenPipeError`` from writing the output into :class:`OutputClosedError` (which
    click, unlike an ``OSError``, lets through to :func:`ecoo.cli.main`). A broken pipe to
    anything else (a child process) is not the reader leaving: it propagates unchanged."""
    try:
        yield
    except BrokenPipeError as exc:
        if not output_closed():
            raise
        raise OutputClosedError from exc


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
        except BrokenPipeError:
            raise  # the reader of the output left: nothing to report (see EXIT_BROKEN_PIPE)
        except OSError as exc:
            fail(as_json, type(exc).__name__, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))

    return guarded
