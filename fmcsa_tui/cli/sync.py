"""`fmcsa-tui sync`: the headless sync, through the same run coordinator as the dashboard."""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import click

from fmcsa_tui.cli.common import (
    Abort,
    Age,
    command_settings,
    fmcsa_overrides,
    opened,
    refuse_read_only,
    run_command,
    run_options,
    say,
    store_option,
)
from fmcsa_tui.coordinator import Notice, QueueChanged, RunCoordinator, RunEnded
from fmcsa_tui.coordinator.passes import plan_pass
from fmcsa_tui.formatting import one_line, safe_line
from fmcsa_tui.models import (
    CompanySummary,
    Source,
    summarize,
)
from fmcsa_tui.models.runs import Origin
from fmcsa_tui.settings import (
    ConfigError,
    Settings,
    with_overrides,
)
from fmcsa_tui.store import CompanyFilter, CompanyStore
from fmcsa_tui.sync.engine import SyncEngine
from fmcsa_tui.sync.events import (
    SYNCING_ELSEWHERE,
    HistoryNotWritten,
    RunFinished,
    RunRefused,
    RunSkipped,
    SourceFailed,
    SourceProgress,
    SourceSucceeded,
)

SOURCE_NAMES = [source.value for source in Source]


@click.command()
@click.argument("dots", nargs=-1, metavar="[DOT ...]")
@click.option("--all", "all_", is_flag=True, help="Every company in the store")
@click.option("--failed", is_flag=True, help="Every company whose last run failed")
@click.option("--due", type=Age(), metavar="AGE",
              help="Every company not run for longer than AGE (6h, 90m, 1d), or never")  # fmt: skip
@click.option("--source", "sources", multiple=True, type=click.Choice(SOURCE_NAMES),
              help="Only this source (repeatable; default: all three)")  # fmt: skip
@run_options
@store_option
def sync(
    dots: tuple[str, ...],
    all_: bool,
    failed: bool,
    due: timedelta | None,
    sources: tuple[str, ...],
    concurrency: int | None,
    fmcsa: str | None,
    store_url: str | None,
) -> None:
    """Sync companies from FMCSA headlessly. Exit 0 all ok, 1 some source failed.

    Processes sharing a store run each carrier once: one another process ran after
    this one listed it, or is running, is skipped (synced / syncing elsewhere).
    """
    base = command_settings(store=store_url, concurrency=concurrency)
    refuse_read_only(base, "sync carriers")
    if not (dots or all_ or failed or due):
        raise Abort("say which companies: DOT numbers, --all, --failed or --due AGE")
    with contextlib.ExitStack() as stack:
        settings = fmcsa_settings(stack, base, fmcsa)
        chosen = [Source(name) for name in sources] or list(Source)
        outcome = run_command(_sync(settings, _Selection(dots, all_, failed, due), chosen))
    sys.exit(outcome)


def fmcsa_settings(stack: contextlib.ExitStack, base: Settings, fmcsa: str | None) -> Settings:
    """The settings with --fmcsa applied; `sandbox` starts one in-process for `stack`."""
    if fmcsa == "sandbox":
        from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer

        server = stack.enter_context(SandboxServer(SandboxConfig()))
        fmcsa = server.url
    return with_overrides(base, **fmcsa_overrides(fmcsa, base))


def ready_engine(store: CompanyStore, settings: Settings, origin: Origin) -> SyncEngine:
    """An engine with a webKey, or Abort naming the missing setting; `origin` is the
    command's, which every run's history record names."""
    engine = SyncEngine(store, settings, origin=origin)
    try:
        engine.check_ready()
    except ConfigError as error:
        raise Abort(str(error)) from None
    return engine


@dataclass(frozen=True, slots=True)
class _Selection:
    dots: tuple[str, ...]
    all_: bool
    failed: bool
    due: timedelta | None


async def _sync(settings: Settings, selection: _Selection, sources: list[Source]) -> int:
    async with opened(settings) as store:
        listed = await _listed(store, selection)
        if not listed:
            say("nothing to sync")
            return 0
        engine = ready_engine(store, settings, Origin.SYNC)
        planned = await plan_pass(store, engine.owner, listed)
        total = len(planned.targets) + len(planned.syncing_elsewhere)
        report = _SyncReport(total, sys.stdout.isatty())
        coordinator = RunCoordinator(engine, listener=report.on_notice)
        try:
            with report:
                for summary in planned.syncing_elsewhere:
                    report.skipped(summary.dot_number or "?", SYNCING_ELSEWHERE)
                await coordinator.run_all(planned.targets, sources)
        finally:
            await engine.aclose()
        return report.finish()


async def _listed(store: CompanyStore, selection: _Selection) -> list[CompanySummary]:
    """The selected companies as listed now, each once, unreadable ones left out."""
    chosen: list[CompanySummary] = []
    if selection.all_:
        chosen += await store.list_summaries()
    else:
        if selection.failed:
            chosen += await store.list_summaries(CompanyFilter(status="failed"))
        if selection.due is not None:
            chosen += await store.list_summaries(CompanyFilter(due_after=selection.due))
    chosen = [summary for summary in chosen if summary.status != "unreadable"]
    for dot in selection.dots:
        doc = await store.get_company(dot.strip())
        if doc is None:
            raise Abort(f"no company with DOT number {dot!r}: add it first with `fmcsa-tui add`")
        chosen.append(summarize(doc))
    return list({summary.id: summary for summary in chosen}.values())


class _SyncReport:
    """Progress for a headless sync: a bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int, tty: bool) -> None:
        self.total = total
        self.done = 0
        self.ended = 0  # runs over, whatever the outcome, but for those skipped
        self.ok = 0
        self.failures: Counter[str] = Counter()
        self.elsewhere: Counter[str] = Counter()  # skipped, by reason
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
            self.ended += not event.skipped
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
        elif isinstance(event, RunSkipped):
            self.skipped(dot, event.reason)
        elif isinstance(event, HistoryNotWritten):
            say(f"warning: DOT {dot}: {event.error}", err=True)
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

    def skipped(self, dot: str, reason: str) -> None:
        """A carrier another process has (see `coordinator.passes`): not a failure."""
        self.done += 1
        self.elsewhere[reason] += 1
        self._line(f"DOT {dot}: {reason} ({self.done}/{self.total})")
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done)

    def finish(self) -> int:
        ok, bad = self.ok, self.ended - self.ok
        detail = ", ".join(f"{name} {count}" for name, count in sorted(self.failures.items()))
        elsewhere = ", ".join(
            f"{count} {reason}" for reason, count in sorted(self.elsewhere.items())
        )
        elapsed = time.monotonic() - self.started
        say(
            f"synced {self.ended} companies in {elapsed:.1f}s: {ok} ok, {bad} failed"
            + (f" ({detail})" if detail else "")
            + (f"; {elsewhere}" if elsewhere else "")
        )
        return 0 if bad == 0 else 1


def _verdict(event: RunFinished) -> str:
    """How a run ended, in a few words: ok, failed (which sources), cancelled (which not)."""
    if event.cancelled:
        left = ", ".join(event.unfinished_sources)
        failed = f"; failed: {', '.join(event.failed_sources)}" if event.failed_sources else ""
        return f"cancelled ({left} not written{failed})" if left else f"cancelled{failed}"
    return "ok" if event.success else "failed: " + ", ".join(event.failed_sources)
