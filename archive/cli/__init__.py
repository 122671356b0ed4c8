"""`portal-archive`: the command line.

Each verb lives in its own module and is registered here; this module only
dispatches.  `main(args)` can be called from a test.
"""

from __future__ import annotations

import importlib
import os
import signal
from pathlib import Path

import click

from archive.exits import ArchiveError, ExitCode, UsageProblem

# verb name -> module that defines a click command called `command`
VERBS = {
    "replica": "archive.cli.replica",
    "crawl": "archive.cli.crawl",
    "parse": "archive.cli.parse",
    "verify": "archive.cli.verify",
    "replay": "archive.cli.replay",
    "demo": "archive.cli.demo",
    "export": "archive.cli.export",
    "reindex": "archive.cli.reindex",
    "changes": "archive.cli.changes",
    "runs": "archive.cli.runs",
    "schedule": "archive.cli.schedule",
    "serve": "archive.cli.serve",
    "search": "archive.cli.search",
    "show": "archive.cli.show",
    "keys": "archive.cli.keys",
    "upload": "archive.cli.upload",
    "profile": "archive.cli.profile",
    "worker": "archive.cli.worker",
    "enqueue": "archive.cli.enqueue",
    "queue": "archive.cli.queue",
}


HELP_ONLY = "portal-archive.help-only"  # ctx.meta: the command was asked for its help alone


class LazyGroup(click.Group):
    """Imports a verb's module only when that verb is used (keeps --help fast)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(VERBS)

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[no-untyped-def]
        # Seen before the group's own callback runs: a command asked only for its help needs no catalogue.
        ctx.meta[HELP_ONLY] = bool(set(args[1:]) & set(ctx.help_option_names))
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = VERBS.get(name)
        if module is None:
            return None
        return importlib.import_module(module).command

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        # The one place where a typed error becomes a message and an exit code.
        # SIGTERM (systemd, `timeout`, kill) stops a command as Ctrl-C does, its clean-up run (an export's
        # half-written file removed), unless the command handles signals itself (crawl, serve, worker...).
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            return super().invoke(ctx)
        except ArchiveError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(int(error.exit_code))
        except (KeyboardInterrupt, click.Abort):  # Ctrl-C where a command has no stop of its own: failed, not 1
            click.echo("Error: interrupted before the end (Ctrl-C or SIGTERM)", err=True)
            ctx.exit(int(ExitCode.FAILED))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="portal-archive")
@click.option("--catalogue", metavar="URL",
              help="The catalogue every command uses: sqlite:///PATH or postgresql://USER@HOST:PORT/DB "
                   "(default: $PORTAL_ARCHIVE_CATALOGUE, else DATA/catalog.sqlite).")
def main(catalogue: str | None) -> None:
    """Archive county-government news portals into WARC files, and search, watch and export them.

    \b
    Exit codes (every command):
      0 ok  1 finished with problems  2 bad usage  3 failed  4 data folder busy
      5 nothing found  6 catalogue missing or outdated  7 archive files damaged
      8 a service or program unavailable
    """
    from archive.cli.output import forgive_closed_stdout

    forgive_closed_stdout()
    from archive.catalogue import ENVIRONMENT, backend

    given = catalogue or os.environ.get(ENVIRONMENT)
    if given and not click.get_current_context().meta.get(HELP_ONLY):
        try:  # a URL no command can use is refused before any command locks or creates a data folder
            backend(Path("."), given)
        except UsageProblem as error:
            raise click.BadParameter(str(error), param_hint="--catalogue" if catalogue else ENVIRONMENT) from None
    if catalogue:
        # Children (crawls started by `schedule`, Datasette under `serve`) inherit it too.
        os.environ[ENVIRONMENT] = catalogue
