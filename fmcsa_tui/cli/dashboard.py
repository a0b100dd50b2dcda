"""Commands that serve people: `dashboard`, `demo` (the dashboard on a seeded store with
the sandbox as FMCSA) and `sandbox` (the offline FMCSA stand-in over HTTP).
"""

from __future__ import annotations

import math

import click

from fmcsa_tui.cli.common import (
    Abort,
    Terminated,
    command_settings,
    fmcsa_overrides,
    opened,
    run_command,
    store_for,
    store_option,
)
from fmcsa_tui.settings import (
    ConfigError,
    Settings,
    with_overrides,
)
from fmcsa_tui.store import SqliteStore, StoreError
from fmcsa_tui.store.seed import demo_documents

DEMO_COMPANIES = 200
DEMO_TIMEOUT = 5.0  # the sandbox's timeout faults are quicker to watch with a short timeout


def _open_dashboard(settings: Settings) -> None:
    """Open the store, run the dashboard until the operator quits, close the store."""
    from fmcsa_tui.coordinator.feed import FIRST_BATCH

    try:
        store = store_for(settings)
    except StoreError as error:
        raise Abort(str(error)) from None
    if store.read_only and isinstance(store, SqliteStore):
        # a file it may not create: one line now (exit 2), not a dashboard retrying
        # (MongoDB may be down for a while: the dashboard shows that and retries)
        run_command(_check_opens(settings))
    # The rows are read while the dashboard is imported and composed (a SQLite file, on
    # a thread: 300,000 carriers take most of a second to read).
    store.read_ahead(FIRST_BATCH)
    from fmcsa_tui.ui.app import FmcsaApp

    # the app opens the store on its own event loop, and shows it as disconnected
    # (retrying) when it cannot be reached
    try:
        app = FmcsaApp(store, settings, close_store=True)
    except ConfigError as error:  # a setting only the dashboard uses (an unknown theme)
        raise Abort(str(error)) from None
    app.run()
    if app.stopped_by is not None:
        raise Terminated(app.stopped_by)


async def _check_opens(settings: Settings) -> None:
    async with opened(settings, create=False):
        pass


@click.command()
@store_option
def dashboard(store_url: str | None) -> None:
    """Open the dashboard on the configured store (also what plain `fmcsa-tui` does)."""
    _open_dashboard(command_settings(store=store_url))


def demo_settings(store_url: str | None) -> Settings:
    """The demo's settings, its store seeded on first use: the demo's own store even
    with --read-only (it is the demo's scratch file, not the operator's data); a store
    given with --store is seeded only when writable."""
    from fmcsa_tui.settings import demo_store_url

    base = command_settings(store=store_url or demo_store_url())
    seeding = with_overrides(base, read_only=False)

    async def seed_if_empty() -> None:
        async with opened(seeding) as store:
            if not await store.list_summaries():
                await store.insert_documents(demo_documents(DEMO_COMPANIES))

    if not base.read_only or store_url is None:
        run_command(seed_if_empty())
    return base


@click.command()
@store_option
def demo(store_url: str | None) -> None:
    """The dashboard on a demo store (seeded on first use) with the sandbox as FMCSA.

    With --read-only the demo's own store is still seeded on first use (it is the
    demo's scratch file, not the operator's data); a store given with --store is not.
    """
    from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer

    base = demo_settings(store_url)
    with SandboxServer(SandboxConfig(hang_seconds=DEMO_TIMEOUT * 2)) as server:
        overrides = fmcsa_overrides(server.url, base)
        overrides["timeout"] = min(base.timeout, DEMO_TIMEOUT)
        _open_dashboard(with_overrides(base, **overrides))


def _rate(_ctx: click.Context, _param: click.Parameter, value: float | None) -> float | None:
    """A rate limit in requests per second: positive and finite (click's FloatRange lets
    NaN through)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"{value} is not a positive number of requests per second")
    return value


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--latency", type=click.FloatRange(0, 60), default=0.0, show_default=True,
              help="Seconds added to every answer")  # fmt: skip
@click.option("--webkey", help="Accept only this webKey (default: any non-empty one)")
@click.option("--qc-rate", type=float, callback=_rate, metavar="PER_SECOND",
              help="QCMobile's rate limit: HTTP 429 beyond it (default: none)")  # fmt: skip
@click.option("--hub-rate", type=float, callback=_rate, metavar="PER_SECOND",
              help="DataHub's rate limit: HTTP 429 beyond it (default: none)")  # fmt: skip
def sandbox(
    port: int,
    host: str,
    latency: float,
    webkey: str | None,
    qc_rate: float | None,
    hub_rate: float | None,
) -> None:
    """Serve the offline FMCSA stand-in (QCMobile + DataHub paths) over HTTP."""
    from fmcsa_tui.sandbox.server import SandboxConfig, serve

    config = SandboxConfig(latency=latency, webkey=webkey, qc_rate=qc_rate, hub_rate=hub_rate)
    try:
        serve(config, host=host, port=port)
    except OSError as error:
        raise Abort(f"cannot serve on {host}:{port}: {error.strerror or error}") from None
