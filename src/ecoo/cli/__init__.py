"""The ``ecoo`` command line. Every command takes ``--json`` and then prints exactly one JSON
object on stdout; errors are one line on stderr (and an ``{"error", "message"}`` object with
``--json``) and a non-zero exit code, never a traceback.

The commands live by subject: :mod:`.chain`, :mod:`.authority` (with :mod:`.authority_customs`,
the ``ecoo authority`` group), :mod:`.certificates`,
:mod:`.service` and :mod:`.customs`. The service commands are imported only when one of them runs
or ``ecoo --help`` lists them, and those modules import the service itself (Flask, SQLAlchemy) only
inside the command that needs it: ``ecoo validate`` and ``ecoo --help`` never load the web stack."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from ..settings import Settings
from . import authority, authority_customs, certificates, chain
from .output import EXIT_BROKEN_PIPE, EXIT_ERROR, OutputClosedError, broken_pipe_as_output_closed

__all__ = ["cli", "main"]

#: Commands imported on first use: name -> "module:attribute".
LAZY_COMMANDS = {
    "chamber": "ecoo.cli.service:chamber_group",
    "customs": "ecoo.cli.customs:customs_group",
    "demo": "ecoo.cli.service:demo_command",
    "reconcile": "ecoo.cli.reconcile:reconcile_command",
    "serve": "ecoo.cli.service:serve_command",
    "trust-list": "ecoo.cli.trustlist:trust_list_group",
}


class LazyGroup(click.Group):
    """A group some of whose commands are imported only when they are looked up (to run them or
    to list them in ``--help``). ``lazy_commands`` maps a command name to ``"module:attribute"``."""

    def __init__(self, *args: Any, lazy_commands: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module_name, _, attribute = self.lazy_commands[cmd_name].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    # Help and every command write their output in these two; click would turn a broken pipe
    # into a silent exit 1, so it is caught here first (see ecoo.cli.output.EXIT_BROKEN_PIPE).
    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        with broken_pipe_as_output_closed():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with broken_pipe_as_output_closed():
            return super().invoke(ctx)


@click.group(
    cls=LazyGroup,
    lazy_commands=LAZY_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="ecoo")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """ecoo: electronic certificates of origin, anchored in an on-chain registry."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:  # pypdf warns of what it repairs in a broken PDF: the one-line error says what matters
        logging.getLogger("pypdf").setLevel(logging.ERROR)
    ctx.obj = Settings.from_env()


for _command in (*chain.COMMANDS, *authority.COMMANDS, *certificates.COMMANDS):
    cli.add_command(_command)
for _command in authority_customs.COMMANDS:
    authority.authority_group.add_command(_command)
cli.add_command(authority.authority_group)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ecoo`` console script."""
    try:
        with broken_pipe_as_output_closed():
            cli.main(args=argv, prog_name="ecoo", standalone_mode=False)
            sys.stdout.flush()
    except OutputClosedError:
        # The recipe of Python's signal documentation ("Note on SIGPIPE"): point the closed streams
        # at /dev/null so that the interpreter's last flush at exit cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            os.dup2(devnull, fd)
        return EXIT_BROKEN_PIPE
    except click.exceptions.Abort:
        click.echo("ecoo: aborted", err=True)
        return EXIT_ERROR
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_ERROR
    return 0
