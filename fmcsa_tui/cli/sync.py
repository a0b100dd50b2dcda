"""`fmcsa-tui sync`: the headless sync, through the same run coordinator as the dashboard."""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from typing import Any

import click

from fmcsa_tui.cli.common import (
    Abort,
    command_settings,
    fmcsa_overrides,
    opened,
    run_command,
    say,
    store_option,
)
from fmcsa_tui.coordinator import Notice, QueueChanged, RunCoordinator, RunEnded
from fmcsa_tui.formatting import one_line, safe_line
from fmcsa_tui.models import (
    CompanySummary,
    Source,
    summarize,
)
from fmcsa_tui.settings import (
    ConfigError,
    Settings,
    with_overrides,
)
from fmcsa_tui.store import CompanyFilter, CompanyStore
from fmcsa_tui.sync.engine import SyncEngine
from fmcsa_tui.sync.events import (
    RunFinished,
    RunRefused,
    SourceFailed,
    SourceProgress,
    SourceSucceeded,
)

SOURCE_NAMES = [source.value for source in Source]


@click.command()
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
    base = command_settings(store=store_url, concurrency=concurrency)
    with contextlib.ExitStack() as stack:
        if fmcsa == "sandbox":
            from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer

            server = stack.enter_context(SandboxServer(SandboxConfig()))
            fmcsa = server.url
        settings = with_overrides(base, **fmcsa_overrides(fmcsa, base))
        chosen = [Source(name) for name in sources] or list(Source)
        outcome = run_command(_sync(settings, dots, all_, failed, chosen))
    sys.exit(outcome)


async def _sync(
    settings: Settings, dots: tuple[str, ...], all_: bool, failed: bool, sources: list[Source]
) -> int:
    async with opened(settings) as store:
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
