"""What every command shares: one printer, one way to fail, settings, the store, signals.

Everything printed goes through `say` (one safe line per line of text) or `say_json`;
bad input is `Abort` (one line, exit 2); SIGTERM and SIGHUP end a command as Ctrl-C
does (`run_command` raises `Terminated`, the entry point exits 128 + the signal).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import click
from pytimeparse import parse as parse_duration

from fmcsa_tui.formatting import json_text, safe_line
from fmcsa_tui.settings import ConfigError, Settings, http_base_url, load_settings
from fmcsa_tui.store import CompanyStore, ReadOnlyStore, StoreError, open_store
from fmcsa_tui.sync.engine import StopSignals

_T = TypeVar("_T")


def say(text: str, *, err: bool = False) -> None:
    """Print `text`, every line of it made safe for a terminal: the CLI's only printer.

    Anything printed may hold outside text (a name another program stored, an FMCSA
    error message), so no line reaches the terminal without `safe_line`.
    """
    click.echo("\n".join(safe_line(line) for line in text.split("\n")), err=err)


def say_json(value: Any, dumps: Callable[..., str] | None = None) -> None:
    """Print `value` as JSON with every invisible or cursor-moving character escaped."""
    click.echo(json_text(value, dumps=dumps))


class Abort(click.ClickException):
    """Bad input or configuration: one line on stderr, exit 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        say(f"fmcsa-tui: {self.format_message()}".splitlines()[0], err=True)


class GlobalOptions(dict[str, Any]):
    """What `fmcsa-tui --store URL --read-only COMMAND` gives every command (settings
    overrides; None: not given)."""


def command_settings(**overrides: Any) -> Settings:
    context = click.get_current_context(silent=True)
    given = context.find_root().obj if context is not None else None
    if isinstance(given, GlobalOptions):
        for name, value in given.items():
            if overrides.get(name) is None:
                overrides[name] = value
    try:
        return load_settings(**overrides)
    except ConfigError as error:
        raise Abort(str(error)) from None


def store_for(settings: Settings) -> CompanyStore:
    """The configured store, not yet opened (StoreError for a URL it cannot use)."""
    return open_store(
        settings.store,
        database=settings.mongo_database,
        companies=settings.mongo_companies,
        inspections=settings.mongo_inspections,
        read_only=settings.read_only,
        history_retention=settings.history_retention,
    )


def refuse_read_only(settings: Settings, what: str) -> None:
    """A command that writes, asked in read-only mode: one line, exit 2, before the
    store or FMCSA is contacted (the store would refuse the writes anyway)."""
    if settings.read_only:
        raise Abort(str(ReadOnlyStore(what)))


@contextlib.asynccontextmanager
async def opened(settings: Settings, *, create: bool = True) -> AsyncIterator[CompanyStore]:
    """The store, open; `create=False` for commands that only read, which never make one."""
    try:
        store = store_for(settings)
        await store.open(create=create)
    except StoreError as error:
        raise Abort(str(error)) from None
    try:
        yield store
    finally:
        await store.close()


class Terminated(Exception):
    """SIGTERM or SIGHUP arrived: the command was cancelled as Ctrl-C cancels it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def run_command(coro: Awaitable[_T]) -> _T:
    """Run `coro` to the end; SIGTERM/SIGHUP cancel it cleanly and raise Terminated.

    Cancelling lets every run release its lease and finish the write it is in (see
    `SyncEngine.run`). A second signal of the same kind kills at once, as usual.
    """

    async def main() -> _T:
        task = asyncio.current_task()

        def cancel(_signum: int) -> None:
            if task is not None:
                task.cancel()

        with StopSignals(cancel) as signals:
            try:
                result = await coro
            except asyncio.CancelledError:
                if signals.received is not None:
                    raise Terminated(signals.received) from None
                raise
        if signals.received is not None:
            raise Terminated(signals.received)
        return result

    return asyncio.run(main())


class Age(click.ParamType):
    """An age such as ``6h``, ``90m``, ``1d`` or ``30s`` (pytimeparse), as a timedelta:
    at least a second, at most ten years."""

    name = "AGE"
    _LONGEST = timedelta(days=3650)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, timedelta):
            return value
        seconds = parse_duration(str(value).strip())
        if seconds is None:
            self.fail(f"{value!r} is not an age such as 6h, 90m, 1d or 30s", param, ctx)
        age = timedelta(seconds=seconds)
        if not timedelta(seconds=1) <= age <= self._LONGEST:
            self.fail(f"{value!r} must be between 1s and 3650d", param, ctx)
        return age


def read_only_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--read-only",
        is_flag=True,
        default=None,
        help="Browse only: the store refuses every write; commands that write refuse at "
        "once (default: env FMCSA_TUI_READ_ONLY, then config.toml)",
    )(function)


def run_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """`--concurrency` and `--fmcsa`, as every command that runs syncs takes them."""
    function = click.option(
        "--fmcsa",
        metavar="sandbox|live|URL",
        help="Where FMCSA is: the in-process sandbox, the real APIs, or a running "
        "`fmcsa-tui sandbox` URL (default: the configured base URLs)",
    )(function)
    return click.option("--concurrency", type=click.IntRange(1, 256), help="Companies at once")(
        function
    )


def store_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--store",
        "store_url",
        metavar="URL",
        help="sqlite:///PATH or mongodb://HOST/DB (default: env FMCSA_TUI_STORE, then "
        "config.toml, then a file in the user data dir)",
    )(function)


def fmcsa_overrides(fmcsa: str | None, base: Settings) -> dict[str, Any]:
    """Overrides for --fmcsa: sandbox (started here), live (the real APIs) or a URL."""
    if fmcsa is None:
        return {}
    if fmcsa == "live":
        from fmcsa_tui.settings import DEFAULT_HUB_BASE_URL, DEFAULT_QC_BASE_URL

        return {"qc_base_url": DEFAULT_QC_BASE_URL, "hub_base_url": DEFAULT_HUB_BASE_URL}
    if fmcsa.lower().startswith(("http://", "https://")):
        try:
            origin = http_base_url(fmcsa)
        except ValueError as error:
            raise Abort(f"--fmcsa {fmcsa!r} is not a usable URL: {error}") from None
        overrides: dict[str, Any] = {"qc_base_url": f"{origin}/qc/services", "hub_base_url": origin}
        if base.webkey is None:
            overrides["webkey"] = "sandbox"
        return overrides
    raise Abort(f"--fmcsa must be sandbox, live or an http(s) URL, not {fmcsa!r}")
