"""The `fmcsa-tui` command: wires settings, store, engine, sandbox and UI together.

Exit codes: 0 success; 1 some source failed (``sync``); 2 bad input or configuration
(one line on stderr, nothing changed); 3 an internal error (one line; set
``FMCSA_TUI_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

import click
from bson import ObjectId, json_util

from fmcsa_tui.coordinator import Notice, QueueChanged, RunCoordinator, RunEnded
from fmcsa_tui.formatting import ago, iso_ms, json_text, one_line, safe_line
from fmcsa_tui.models import (
    Company,
    CompanySummary,
    Source,
    parse_dot,
    summarize,
    utcnow,
)
from fmcsa_tui.settings import (
    ConfigError,
    Settings,
    http_base_url,
    load_settings,
    with_overrides,
)
from fmcsa_tui.store import CompanyFilter, CompanyStore, NewCompany, StoreError, open_store
from fmcsa_tui.store.seed import demo_documents
from fmcsa_tui.sync.engine import StopSignals, SyncEngine
from fmcsa_tui.sync.events import (
    RunFinished,
    RunRefused,
    SourceFailed,
    SourceProgress,
    SourceSucceeded,
)

_T = TypeVar("_T")
SOURCE_NAMES = [source.value for source in Source]


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


def _settings(**overrides: Any) -> Settings:
    if overrides.get("store") is None:  # `fmcsa-tui --store URL COMMAND`
        context = click.get_current_context(silent=True)
        overrides["store"] = context.find_root().obj if context is not None else None
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
    )


@contextlib.asynccontextmanager
async def _opened(settings: Settings, *, create: bool = True) -> AsyncIterator[CompanyStore]:
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


def _run(coro: Awaitable[_T]) -> _T:
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


def store_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--store",
        "store_url",
        metavar="URL",
        help="sqlite:///PATH or mongodb://HOST/DB (default: env FMCSA_TUI_STORE, then "
        "config.toml, then a file in the user data dir)",
    )(function)


# --- text helpers --------------------------------------------------------------------


# --- the command group ---------------------------------------------------------------


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fmcsa-tui")
@store_option
@click.pass_context
def cli(ctx: click.Context, store_url: str | None) -> None:
    """Operator dashboard and headless sync engine for FMCSA carrier data.

    Without a command, opens the dashboard on the configured store. `--store` given
    here applies to the command after it too.
    """
    ctx.obj = store_url
    if ctx.invoked_subcommand is None:
        ctx.invoke(dashboard, store_url=store_url)


@cli.command("seed-demo")
@click.option("--companies", "count", type=click.IntRange(1, 1_000_000), default=200,
              show_default=True, help="How many sample carriers to add")  # fmt: skip
@store_option
def seed_demo(count: int, store_url: str | None) -> None:
    """Add sample carriers (varied names, some never synced) to the store."""
    settings = _settings(store=store_url)

    async def seed() -> tuple[int, str]:
        async with _opened(settings) as store:
            return await store.insert_documents(demo_documents(count)), store.description

    try:
        added, where = _run(seed())
    except StoreError as error:
        raise Abort(str(error)) from None
    say(f"added {added} sample carriers to {where}")


@cli.command()
@click.argument("dots", nargs=-1, required=True, metavar="DOT [DOT ...]")
@click.option("--name", help="Carrier name (only with one DOT; else filled on first sync)")
@click.option("--mc", "mc_number", help="MC number (only with one DOT)")
@click.option("--owner", metavar="OBJECTID",
              help="ownerId of the new companies (required on MongoDB, as the backend's "
              "schema requires it)")  # fmt: skip
@store_option
def add(
    dots: tuple[str, ...],
    name: str | None,
    mc_number: str | None,
    owner: str | None,
    store_url: str | None,
) -> None:
    """Add carriers by DOT number; an existing DOT is reported, not duplicated."""
    normalized = []
    for dot in dots:
        clean = parse_dot(dot, new=True)
        if clean is None:
            raise Abort(f"malformed DOT number {dot!r}: expected 5 to 8 digits")
        normalized.append(clean)
    if (name or mc_number) and len(normalized) > 1:
        raise Abort("--name and --mc apply to one DOT number at a time")
    extra: dict[str, Any] = {}
    if owner is not None:
        if not ObjectId.is_valid(owner):
            raise Abort(f"--owner must be a 24-character hex ObjectId, not {owner!r}")
        extra["ownerId"] = ObjectId(owner)
    settings = _settings(store=store_url)
    companies = [
        NewCompany(dot_number=dot, name=name or "", mc_number=mc_number, extra=extra)
        for dot in dict.fromkeys(normalized)
    ]

    async def insert() -> tuple[list[str], list[str]]:
        async with _opened(settings) as store:
            result = await store.add_companies(companies)
            return result.added, result.existing

    try:
        added, existing = _run(insert())
    except StoreError as error:
        raise Abort(str(error)) from None
    for dot in added:
        say(f"added DOT {dot}")
    for dot in existing:
        say(f"DOT {dot} is already in the store; left as it is")


@cli.command()
@click.argument("dot")
@click.option("--json", "as_json", is_flag=True, help="MongoDB Extended JSON, for scripts")
@store_option
def show(dot: str, as_json: bool, store_url: str | None) -> None:
    """Print one company exactly as stored, every field included."""
    settings = _settings(store=store_url)

    async def fetch() -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        async with _opened(settings, create=False) as store:
            doc = await store.get_company(dot.strip())
            if doc is None:
                return None, []
            summary = summarize(doc)
            return doc, await store.inspections_for(summary.id)

    doc, inspections = _run(fetch())
    if doc is None:
        raise Abort(f"no company with DOT number or id {dot!r} in the store")
    if as_json:
        options = json_util.JSONOptions(json_mode=json_util.JSONMode.RELAXED, tz_aware=True)
        say_json(doc, functools.partial(json_util.dumps, json_options=options))
        return
    for line in _tree(doc):
        say(line)
    say(f"fmcsainspections: {len(inspections)} documents")


def _tree(value: Any, indent: str = "") -> Iterator[str]:
    """A document as indented `key: value` lines, dates in ISO 8601 UTC."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        label = f"{indent}{safe_line(str(key))}:" if isinstance(value, dict) else f"{indent}-"
        if isinstance(item, dict | list) and item:
            yield label
            yield from _tree(item, indent + "  ")
        elif isinstance(item, datetime):
            yield f"{label} {iso_ms(item)}"
        elif isinstance(item, ObjectId):
            yield f"{label} {item}"
        else:
            shown = safe_line(item) if isinstance(item, str) else json_util.dumps(item)
            yield f"{label} {shown}"


# --- status --------------------------------------------------------------------------


def _status_record(doc: dict[str, Any], summary: CompanySummary) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": summary.id,
        "dotNumber": summary.dot_number,
        "name": summary.name,
        "mcNumber": summary.mc_number,
        "status": summary.status,
        "lastRun": iso_ms(summary.last_run),
        "success": summary.success,
        "csaScoresLastSync": iso_ms(summary.csa_scores_last_sync),
        "violationsLastSync": iso_ms(summary.violations_last_sync),
        "inspectionsLastSync": iso_ms(summary.inspections_last_sync),
        "errors": [],
    }
    if summary.status == "unreadable":
        record["problem"] = summary.problem
        return record
    company = Company.model_validate(doc)
    record["errors"] = [
        {"source": error.source, "error": error.error, "timestamp": iso_ms(error.timestamp)}
        for error in company.sync_status.errors
    ]
    return record


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON array, timestamps in ISO 8601 UTC")
@click.option("--failed", "failed", is_flag=False, flag_value="any", default=None,
              metavar="[SOURCE]", help="Only failed ones, or those failing SOURCE")  # fmt: skip
@store_option
def status(as_json: bool, failed: str | None, store_url: str | None) -> None:
    """One line (or JSON object) per company: status, lastRun, per-source times, errors."""
    settings = _settings(store=store_url)

    async def collect() -> list[dict[str, Any]]:
        async with _opened(settings, create=False) as store:
            summaries = await store.list_summaries(CompanyFilter(failed_source=failed))
            docs = await store.get_companies([summary.id for summary in summaries])
            return [_status_record(docs.get(summary.id, {}), summary) for summary in summaries]

    records = _run(collect())
    if as_json:
        say_json(records)
        return
    now = utcnow()
    for record in records:
        say(_status_line(record, now))
    if not records:
        say("no companies match" if failed else "the store has no companies")


def _status_line(record: dict[str, Any], now: datetime) -> str:
    def stamp(key: str) -> str:
        value = record[key]
        return ago(datetime.fromisoformat(value), now) if value else "never"

    name = safe_line(record["name"])
    name = name if len(name) <= 40 else name[:39] + "…"
    dot = safe_line(record["dotNumber"]) or "?"
    line = (
        f"{dot:>8}  {name:<40}  {record['status']:<10}  "
        f"lastRun={record['lastRun'] or 'never'}  success={json.dumps(record['success'])}  "
        f"csa={stamp('csaScoresLastSync')}  violations={stamp('violationsLastSync')}  "
        f"inspections={stamp('inspectionsLastSync')}"
    )
    if record.get("problem"):
        line += f"  unreadable: {safe_line(record['problem'])}"
    for error in record["errors"]:
        source, text = safe_line(error["source"]), safe_line(error["error"])
        line += f"\n{'':>10}! {source}: {text} ({error['timestamp']})"
    return line


# --- sync ----------------------------------------------------------------------------


def _fmcsa_settings(fmcsa: str | None, base: Settings) -> dict[str, Any]:
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


@cli.command()
@click.argument("dots", nargs=-1, metavar="[DOT ...]")
@click.option("--all", "all_", is_flag=True, help="Every company in the store")
@click.option("--failed", is_flag=True, help="Every company whose last run failed")
@click.option("--source", "sources", multiple=True, type=click.Choice(SOURCE_NAMES),
              help="Only this source (repeatable; default: all three)")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1, 256), help="Companies at once")
@click.option("--fmcsa", metavar="sandbox|live|URL",
              help="Where FMCSA is: the in-process sandbox, the real APIs, or a running "
              "`fmcsa-tui sandbox` URL (default: the configured base URLs)")  # fmt: skip
@store_option
def sync(
    dots: tuple[str, ...],
    all_: bool,
    failed: bool,
    sources: tuple[str, ...],
    concurrency: int | None,
    fmcsa: str | None,
    store_url: str | None,
) -> None:
    """Sync companies from FMCSA headlessly. Exit 0 all ok, 1 some source failed."""
    if not (dots or all_ or failed):
        raise Abort("say which companies: DOT numbers, --all or --failed")
    base = _settings(store=store_url, concurrency=concurrency)
    with contextlib.ExitStack() as stack:
        if fmcsa == "sandbox":
            from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer

            server = stack.enter_context(SandboxServer(SandboxConfig()))
            fmcsa = server.url
        settings = with_overrides(base, **_fmcsa_settings(fmcsa, base))
        chosen = [Source(name) for name in sources] or list(Source)
        outcome = _run(_sync(settings, dots, all_, failed, chosen))
    sys.exit(outcome)


async def _sync(
    settings: Settings, dots: tuple[str, ...], all_: bool, failed: bool, sources: list[Source]
) -> int:
    async with _opened(settings) as store:
        targets = await _targets(store, dots, all_, failed)
        if not targets:
            say("nothing to sync")
            return 0
        engine = SyncEngine(store, settings)
        try:
            engine.check_ready()
        except ConfigError as error:
            raise Abort(str(error)) from None
        report = _SyncReport(len(targets), sys.stdout.isatty())
        coordinator = RunCoordinator(engine, listener=report.on_notice)
        try:
            with report:
                await coordinator.run_all(targets, sources)
        finally:
            await engine.aclose()
        return report.finish()


async def _targets(
    store: CompanyStore, dots: tuple[str, ...], all_: bool, failed: bool
) -> list[CompanySummary]:
    if all_:
        chosen = await store.list_summaries()
    elif failed:
        chosen = await store.list_summaries(CompanyFilter(status="failed"))
    else:
        chosen = []
    chosen = [summary for summary in chosen if summary.status != "unreadable"]
    seen = {summary.id for summary in chosen}
    for dot in dots:
        doc = await store.get_company(dot.strip())
        if doc is None:
            raise Abort(f"no company with DOT number {dot!r}: add it first with `fmcsa-tui add`")
        summary = summarize(doc)
        if summary.id not in seen:
            seen.add(summary.id)
            chosen.append(summary)
    return chosen


class _SyncReport:
    """Progress for a headless sync: a bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int, tty: bool) -> None:
        self.total = total
        self.done = 0
        self.ended = 0  # runs over, whatever the outcome
        self.ok = 0
        self.failures: Counter[str] = Counter()
        self.started = time.monotonic()
        self.progress: Any = None
        if tty:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self.task = self.progress.add_task("syncing", total=total)

    def __enter__(self) -> _SyncReport:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def _line(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(safe_line(text), markup=False, highlight=False)
        else:
            say(text)

    def on_notice(self, event: Notice) -> None:
        if isinstance(event, QueueChanged):
            return
        dot = event.dot_number
        if isinstance(event, RunEnded):
            self.ended += 1
            self.ok += event.success
            if event.error is not None:
                self.done += 1
                self.failures["errors"] += 1
                self._line(f"DOT {dot}: run failed: {one_line(event.error)}")
        elif isinstance(event, SourceSucceeded):
            retried = f" after {event.attempts} attempts" if event.attempts > 1 else ""
            self._line(f"DOT {dot} {event.source}: ok in {event.duration:.2f}s{retried}"
                       f" ({event.summary})")  # fmt: skip
        elif isinstance(event, SourceFailed):
            kind = "permanent" if event.permanent else "gave up"
            self._line(f"DOT {dot} {event.source}: FAILED ({kind}): {event.error}")
        elif isinstance(event, SourceProgress) and event.retry_in is not None:
            self._line(f"DOT {dot} {event.source}: {event.message}; next try in "
                       f"{event.retry_in:.1f}s")  # fmt: skip
        elif isinstance(event, RunRefused):
            self.done += 1
            self.failures["refused"] += 1
            self._line(f"DOT {dot}: not synced: {event.reason}")
        elif isinstance(event, RunFinished):
            self.done += 1
            for source in event.failed_sources:
                self.failures[source.value] += 1
            self._line(f"DOT {dot}: {_verdict(event)} ({self.done}/{self.total})")
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done)

    def finish(self) -> int:
        ok, bad = self.ok, self.ended - self.ok
        detail = ", ".join(f"{name} {count}" for name, count in sorted(self.failures.items()))
        elapsed = time.monotonic() - self.started
        say(
            f"synced {self.ended} companies in {elapsed:.1f}s: {ok} ok, {bad} failed"
            + (f" ({detail})" if detail else "")
        )
        return 0 if bad == 0 else 1


def _verdict(event: RunFinished) -> str:
    """How a run ended, in a few words: ok, failed (which sources), cancelled (which not)."""
    if event.cancelled:
        left = ", ".join(event.unfinished_sources)
        failed = f"; failed: {', '.join(event.failed_sources)}" if event.failed_sources else ""
        return f"cancelled ({left} not written{failed})" if left else f"cancelled{failed}"
    return "ok" if event.success else "failed: " + ", ".join(event.failed_sources)


# --- the dashboard ---------------------------------------------------------------------

DEMO_COMPANIES = 200
DEMO_TIMEOUT = 5.0  # the sandbox's timeout faults are quicker to watch with a short timeout


def _open_dashboard(settings: Settings) -> None:
    """Open the store, run the dashboard until the operator quits, close the store."""
    from fmcsa_tui.ui.app import FmcsaApp

    try:
        store = store_for(settings)
    except StoreError as error:
        raise Abort(str(error)) from None
    # the app opens the store on its own event loop, and shows it as disconnected
    # (retrying) when it cannot be reached
    app = FmcsaApp(store, settings, close_store=True)
    app.run()
    if app.stopped_by is not None:
        raise Terminated(app.stopped_by)


@cli.command()
@store_option
def dashboard(store_url: str | None) -> None:
    """Open the dashboard on the configured store (also what plain `fmcsa-tui` does)."""
    _open_dashboard(_settings(store=store_url))


@cli.command()
@store_option
def demo(store_url: str | None) -> None:
    """The dashboard on a demo store (seeded on first use) with the sandbox as FMCSA."""
    from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
    from fmcsa_tui.settings import demo_store_url

    base = _settings(store=store_url or demo_store_url())

    async def seed_if_empty() -> None:
        async with _opened(base) as store:
            if not await store.list_summaries():
                await store.insert_documents(demo_documents(DEMO_COMPANIES))

    _run(seed_if_empty())
    with SandboxServer(SandboxConfig(hang_seconds=DEMO_TIMEOUT * 2)) as server:
        overrides = _fmcsa_settings(server.url, base)
        overrides["timeout"] = min(base.timeout, DEMO_TIMEOUT)
        _open_dashboard(with_overrides(base, **overrides))


# --- sandbox -------------------------------------------------------------------------


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--latency", type=click.FloatRange(0, 60), default=0.0, show_default=True,
              help="Seconds added to every answer")  # fmt: skip
@click.option("--webkey", help="Accept only this webKey (default: any non-empty one)")
def sandbox(port: int, host: str, latency: float, webkey: str | None) -> None:
    """Serve the offline FMCSA stand-in (QCMobile + DataHub paths) over HTTP."""
    from fmcsa_tui.sandbox.server import SandboxConfig, serve

    try:
        serve(SandboxConfig(latency=latency, webkey=webkey), host=host, port=port)
    except OSError as error:
        raise Abort(f"cannot serve on {host}:{port}: {error.strerror or error}") from None


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
