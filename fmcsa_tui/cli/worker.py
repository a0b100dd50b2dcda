"""`fmcsa-tui worker`: keep every carrier fresher than an age, until stopped.

A worker lists the due carriers (never run, or no run for longer than `--every`), most
overdue first, and runs them as one pass (`coordinator.passes`) through the run
coordinator's queue, then looks again. Any number of workers on any number of machines
share one store's fleet through its leases, and no carrier runs twice per interval.
When nothing is due it sleeps until the earliest carrier becomes due (at most a minute,
to notice new carriers). SIGTERM, SIGINT and SIGHUP stop it as they stop `sync`: runs
in progress are cancelled, each source fully written or untouched, leases released.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from datetime import timedelta

import click

from fmcsa_tui.cli.common import (
    Age,
    command_settings,
    opened,
    refuse_read_only,
    run_command,
    run_options,
    say,
    store_option,
)
from fmcsa_tui.cli.sync import fmcsa_settings, ready_engine
from fmcsa_tui.coordinator import Notice, RunCoordinator, RunEnded
from fmcsa_tui.coordinator.passes import Pass, most_overdue_first, plan_pass
from fmcsa_tui.formatting import one_line
from fmcsa_tui.models import parse_dot, utcnow
from fmcsa_tui.models.runs import Origin
from fmcsa_tui.settings import Settings
from fmcsa_tui.store import CompanyFilter, CompanyStore
from fmcsa_tui.sync.engine import ALL_SOURCES, SyncEngine
from fmcsa_tui.sync.events import HistoryNotWritten, RunFinished, RunRefused, RunSkipped

__all__ = ["worker"]

#: The longest idle sleep: new carriers are noticed within it.
IDLE_AT_MOST = 60.0
#: The pause after the store failed to answer, or when every due carrier is leased.
PAUSE = 5.0


@click.command()
@click.option("--every", type=Age(), required=True, metavar="AGE",
              help="Keep every company's last run younger than AGE (6h, 90m, 1d)")  # fmt: skip
@run_options
@store_option
def worker(
    every: timedelta, concurrency: int | None, fmcsa: str | None, store_url: str | None
) -> None:
    """Sync every company due (never run, or not for AGE), most overdue first, until stopped.

    Run one per machine, or several: workers sharing a store never run a company twice
    per interval. Prints one progress line per AGE; stops cleanly on SIGTERM or Ctrl-C.
    """
    base = command_settings(store=store_url, concurrency=concurrency)
    refuse_read_only(base, "run a sync worker")
    with contextlib.ExitStack() as stack:
        settings = fmcsa_settings(stack, base, fmcsa)
        run_command(_work(settings, every))


async def _work(settings: Settings, every: timedelta) -> None:
    async with opened(settings) as store:
        engine = ready_engine(store, settings, Origin.WORKER)
        try:
            await _Worker(store, engine, every).run()
        finally:
            await engine.aclose()


class _Worker:
    def __init__(self, store: CompanyStore, engine: SyncEngine, every: timedelta) -> None:
        self.store = store
        self.engine = engine
        self.every = every
        self.coordinator = RunCoordinator(engine, listener=self._on_notice)
        self.tally: Counter[str] = Counter()  # since the last progress line
        self.due = 0
        self.next_due: float | None = None  # seconds, when nothing is due

    async def run(self) -> None:
        say(
            f"worker: keeping every company fresher than {_span(self.every.total_seconds())} "
            f"in {self.store.description} ({self.coordinator.concurrency} at once)"
        )
        reporter: asyncio.Task[None] | None = None
        try:
            while True:
                planned = await self._look()
                if reporter is None:  # the first line says what is due at start
                    reporter = asyncio.create_task(self._report())
                if planned is None:
                    await asyncio.sleep(PAUSE)
                elif not planned.targets:  # nothing due, or every due carrier leased elsewhere
                    wait = self.next_due if self.next_due is not None else PAUSE
                    await asyncio.sleep(min(wait, IDLE_AT_MOST))
                else:
                    # One listing per sweep, not per few carriers: a listing reads every
                    # due row, and the pass's check under each lease keeps a long sweep
                    # exactly-once however stale its listing gets.
                    outcomes = await self.coordinator.run_all(planned.targets, ALL_SOURCES)
                    if not any(isinstance(outcome, RunFinished) for outcome in outcomes):
                        await asyncio.sleep(PAUSE)  # all refused (the store?) or elsewhere
        finally:
            if reporter is not None:
                reporter.cancel()

    async def _look(self) -> Pass | None:
        """The due carriers as a pass, most overdue first; None when the store failed."""
        try:
            listed = await self.store.list_summaries(CompanyFilter(due_after=self.every))
            due = [
                row
                for row in listed
                if row.dot_number and parse_dot(row.dot_number) == row.dot_number
            ]
            planned = await plan_pass(self.store, self.engine.owner, most_overdue_first(due))
            self.due = len(planned.targets) + len(planned.syncing_elsewhere)
            self.next_due = None if self.due else await self._until_next_due()
        except Exception as error:  # a failover, a locked file: the worker outlives it
            say(f"worker: store unavailable: {one_line(error)}; trying again in {PAUSE:g}s")
            return None
        return planned

    async def _until_next_due(self) -> float:
        """Seconds until the earliest carrier becomes due (at most `IDLE_AT_MOST`)."""
        runs = [row.last_run for row in await self.store.list_summaries() if row.last_run]
        if not runs:
            return IDLE_AT_MOST
        left = (min(runs) + self.every - utcnow()).total_seconds()
        return min(max(left, 0.1), IDLE_AT_MOST)

    def _on_notice(self, notice: Notice) -> None:
        if isinstance(notice, RunEnded):
            if notice.error is not None:
                self.tally["failed"] += 1
                say(f"DOT {notice.dot_number}: run failed: {one_line(notice.error)}")
            return
        if isinstance(notice, HistoryNotWritten):
            say(f"warning: DOT {notice.dot_number}: {notice.error}", err=True)
        elif isinstance(notice, RunSkipped):
            self.tally[notice.reason] += 1
        elif isinstance(notice, RunRefused):
            self.tally["failed"] += 1
            say(f"DOT {notice.dot_number}: not synced: {notice.reason}")
        elif isinstance(notice, RunFinished) and not notice.cancelled:
            if notice.success:
                self.tally["synced"] += 1
            else:
                self.tally["failed"] += 1
                say(f"DOT {notice.dot_number}: failed: {', '.join(notice.failed_sources)}")

    async def _report(self) -> None:
        """What is due at start, then every `every` what the last interval did and what
        is left: the rest of the sweep, or when the next carrier becomes due."""
        say(f"worker: {self.due} due now")
        while True:
            began = time.monotonic()
            await asyncio.sleep(self.every.total_seconds())
            tally, self.tally = self.tally, Counter()
            left = self.coordinator.running + self.coordinator.queued
            if left:
                state = f"{left} left in this sweep"
            elif self.due == 0 and self.next_due is not None:
                state = f"nothing due; next due in {_span(self.next_due)}"
            else:
                state = "looking for due carriers"
            say(
                f"worker: in the last {_span(time.monotonic() - began)}: "
                f"{tally['synced']} synced, {tally['failed']} failed, "
                f"{tally['synced elsewhere']} synced elsewhere, "
                f"{tally['syncing elsewhere']} syncing elsewhere; {state}"
            )


def _span(seconds: float) -> str:
    """A duration in the units an AGE is given in: "40s", "5m", "1h30m", "2d"."""
    whole = max(round(seconds), 0)
    if whole < 60:
        return f"{whole}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts[:2])
