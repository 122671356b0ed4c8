"""`portal-archive`: the command line.

Each verb lives in its own module and is registered here; this module only
dispatches.  `main(args)` can be called from a test.
"""

from __future__ import annotations

import importlib

import click

from archive.exits import ArchiveError

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
}


class LazyGroup(click.Group):
    """Imports a verb's module only when that verb is used (keeps --help fast)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(VERBS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = VERBS.get(name)
        if module is None:
            return None
        return importlib.import_module(module).command

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        # The one place where a typed error becomes a message and an exit code.
        try:
            return super().invoke(ctx)
        except ArchiveError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(int(error.exit_code))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="portal-archive")
def main() -> None:
    """Archive a county-government news section into WARC files and search it."""
