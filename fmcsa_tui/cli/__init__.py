"""The `fmcsa-tui` command: wires settings, store, engine, sandbox and UI together.

Exit codes: 0 success; 1 some source failed (``sync``); 2 bad input or configuration
(one line on stderr, nothing changed); 3 an internal error (one line; set
``FMCSA_TUI_DEBUG=1`` for the traceback); 128 + the signal for SIGINT, SIGTERM, SIGHUP.

The commands live by concern: `carriers` (add, seed-demo), `records` (show, status),
`history`, `sync`, `worker`, `dashboard` (dashboard, demo, sandbox), `serve` (the dashboard
in a browser); `common` is what they share.
"""

from __future__ import annotations

import os
import sys

import click

from fmcsa_tui.cli.carriers import add, seed_demo
from fmcsa_tui.cli.common import GlobalOptions, Terminated, read_only_option, say, store_option
from fmcsa_tui.cli.dashboard import dashboard, demo, sandbox
from fmcsa_tui.cli.history import history
from fmcsa_tui.cli.records import show, status
from fmcsa_tui.cli.serve import serve
from fmcsa_tui.cli.sync import sync
from fmcsa_tui.cli.worker import worker
from fmcsa_tui.formatting import one_line
from fmcsa_tui.store import StoreError

__all__ = ["cli", "main"]


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fmcsa-tui")
@store_option
@read_only_option
@click.pass_context
def cli(ctx: click.Context, store_url: str | None, read_only: bool | None) -> None:
    """Operator dashboard and headless sync engine for FMCSA carrier data.

    Without a command, opens the dashboard on the configured store. `--store` and
    `--read-only` given here apply to the command after them too.
    """
    ctx.obj = GlobalOptions(store=store_url, read_only=read_only or None)
    if ctx.invoked_subcommand is None:
        ctx.invoke(dashboard, store_url=store_url)


for _command in (
    seed_demo,
    add,
    show,
    status,
    history,
    sync,
    worker,
    dashboard,
    demo,
    serve,
    sandbox,
):
    cli.add_command(_command)


def main() -> None:
    """Entry point: no traceback ever reaches the operator unless they ask for it."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        say("fmcsa-tui: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        if isinstance(error, click.UsageError | click.BadParameter):
            say(f"fmcsa-tui: {error.format_message().splitlines()[0]}", err=True)
            sys.exit(2)
        error.show()
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        say("fmcsa-tui: interrupted", err=True)
        sys.exit(130)
    except Terminated as stopped:
        say(f"fmcsa-tui: stopped by {stopped}; runs in progress were cancelled cleanly", err=True)
        sys.exit(128 + stopped.signum)
    except StoreError as error:  # the store went away mid-command
        say(f"fmcsa-tui: {one_line(error)}", err=True)
        sys.exit(2)
    except Exception as error:
        if os.environ.get("FMCSA_TUI_DEBUG"):
            raise
        say(f"fmcsa-tui: internal error: {type(error).__name__}: {one_line(error)}", err=True)
        sys.exit(3)
