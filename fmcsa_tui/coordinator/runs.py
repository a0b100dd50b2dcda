"""The run coordinator: every run of this process, queued, bounded and watched. No Textual.

Both faces drive it: `fmcsa-tui sync` submits the chosen carriers and waits for them;
the dashboard submits on key presses and draws what it holds. It owns what a run needs
beyond the engine: the queue (a bulk run of 100,000 waits here as an entry, not as a
task), at most `concurrency` runs at once, cancelling and withdrawing, each carrier's
live per-source state, the counts and the bulk tally. Everything it knows is plain
state the view reads; every change is also told to one listener, synchronously, on the
event loop: the engine's events as they come, `QueueChanged` when runs are added,
started or withdrawn, and `RunEnded` exactly once per run that got a task.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fmcsa_tui.models import CompanySummary, Source
from fmcsa_tui.sync.engine import ALL_SOURCES, RunOutcome, SyncEngine, Target
from fmcsa_tui.sync.events import (
    RunEvent,
    RunFinished,
    RunSkipped,
    RunStarted,
    SourceFailed,
    SourceProgress,
    SourceStarted,
    SourceSucceeded,
)

__all__ = [
    "BulkTally",
    "Notice",
    "QueueChanged",
    "Run",
    "RunCoordinator",
    "RunEnded",
    "Submitted",
    "source_state",
]


class Submitted(StrEnum):
    """What became of a request to run a carrier, in words a notice can use."""

    STARTED = "started"
    QUEUED = "queued"
    ALREADY_RUNNING = "already syncing"
    ALREADY_QUEUED = "already queued"
    ELSEWHERE = "being synced by another process"
    UNREADABLE = "unreadable, so it cannot be synced"

    @property
    def accepted(self) -> bool:
        return self in {Submitted.STARTED, Submitted.QUEUED}


@dataclass(frozen=True, slots=True)
class QueueChanged:
    """Runs were added, started, or withdrawn before they started (`withdrawn` names them)."""

    withdrawn: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunEnded:
    """A run's task ended: with an outcome, cancelled, or with an error nobody foresaw."""

    company_id: str
    dot_number: str
    outcome: RunOutcome | None
    cancelled: bool = False
    error: BaseException | None = None

    @property
    def success(self) -> bool:
        return isinstance(self.outcome, RunFinished) and self.outcome.success

    @property
    def skipped(self) -> bool:
        """Another process had it (a pass's synced or syncing elsewhere): no failure."""
        return isinstance(self.outcome, RunSkipped)


Notice = RunEvent | QueueChanged | RunEnded
SourceEvent = SourceStarted | SourceProgress | SourceSucceeded | SourceFailed
Listener = Callable[[Notice], None]


@dataclass(slots=True)
class Run:
    """One carrier's run of this process: waiting in the queue, or a task."""

    target: Target
    sources: tuple[Source, ...]
    bulk: bool
    states: dict[Source, str]  # what each source is doing, for the detail pane
    started: bool = False  # past the lease (RunStarted seen): shown as syncing
    task: asyncio.Task[None] | None = None


@dataclass(slots=True)
class BulkTally:
    """done/total, failures and pace of the bulk runs since the last idle moment."""

    total: int = 0
    done: int = 0
    failed: int = 0
    began: float = field(default_factory=time.monotonic)

    @property
    def remaining(self) -> int:
        return self.total - self.done

    @property
    def rate(self) -> float:
        """Runs ended per second since the tally began."""
        elapsed = time.monotonic() - self.began
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds until the rest would end at the current rate, when there is one."""
        rate = self.rate
        return self.remaining / rate if rate > 0 and self.remaining else None


def source_state(event: RunEvent) -> str | None:
    """What a source is doing after `event`, in the words of the detail pane."""
    if isinstance(event, SourceStarted):
        return "fetching"
    if isinstance(event, SourceProgress):
        if event.retry_in is not None:
            return f"{event.message} (next in {event.retry_in:.1f}s)"
        return event.message
    if isinstance(event, SourceSucceeded):
        return "done"
    if isinstance(event, SourceFailed):
        return "failed"
    return None


def _ignore(_notice: Notice) -> None:
    return None


class RunCoordinator:
    """Runs the engine for carriers: a FIFO queue, at most `concurrency` at once."""

    def __init__(
        self,
        engine: SyncEngine,
        *,
        concurrency: int | None = None,
        listener: Listener = _ignore,
    ) -> None:
        self.engine = engine
        self.concurrency = max(1, concurrency or engine.settings.concurrency)
        self.listener = listener
        #: Carriers another process is syncing (their leases): refused, shown as syncing.
        self.elsewhere: frozenset[str] = frozenset()
        self.bulk = BulkTally()
        self._runs: dict[str, Run] = {}  # every run of ours, queued or running, in order
        self._queue: dict[str, None] = {}  # ids without a task yet, in order (O(1) removal)
        self._tasks = 0
        self._idle: asyncio.Event | None = None

    # --- what the view reads ----------------------------------------------------------

    def __contains__(self, company_id: str) -> bool:
        return company_id in self._runs

    def run_of(self, company_id: str) -> Run | None:
        return self._runs.get(company_id)

    def states(self, company_id: str) -> dict[Source, str]:
        """Each source's live state for a carrier of ours; empty when it has no run."""
        run = self._runs.get(company_id)
        return dict(run.states) if run is not None else {}

    @property
    def running(self) -> int:
        """Runs past their lease, syncing now."""
        return sum(1 for run in self._runs.values() if run.started)

    @property
    def queued(self) -> int:
        """Runs waiting: in the queue, or a task not yet past its lease."""
        return len(self._runs) - self.running

    def syncing_ids(self) -> set[str]:
        """Carriers to show as syncing: ours past the lease, and other processes'."""
        return {key for key, run in self._runs.items() if run.started} | self.elsewhere

    @property
    def busy(self) -> bool:
        return bool(self._runs)

    def is_queued(self, company_id: str) -> bool:
        return company_id in self._queue

    # --- adding runs ------------------------------------------------------------------

    def submit(
        self,
        company: CompanySummary | Target,
        sources: Sequence[Source] = ALL_SOURCES,
        *,
        bulk: bool = False,
    ) -> Submitted:
        """Start a run for `company`, or queue it when `concurrency` runs are going."""
        verdict = self._add(company, sources, bulk)
        if verdict.accepted:
            self._start_queued()
            self.listener(QueueChanged())
        return verdict

    def submit_many(
        self, companies: Iterable[CompanySummary | Target], sources: Sequence[Source]
    ) -> int:
        """Queue bulk runs for every runnable carrier (others are skipped); how many."""
        if not self._runs:
            self.bulk = BulkTally()
        added = sum(1 for company in companies if self._add(company, sources, True).accepted)
        self.bulk.total += added
        if added:
            self._start_queued()
            self.listener(QueueChanged())
        return added

    def _add(
        self, company: CompanySummary | Target, sources: Sequence[Source], bulk: bool
    ) -> Submitted:
        if isinstance(company, CompanySummary) and company.status == "unreadable":
            return Submitted.UNREADABLE
        target = Target.of(company)
        key = target.company_id
        if key in self._runs:
            return Submitted.ALREADY_QUEUED if key in self._queue else Submitted.ALREADY_RUNNING
        if key in self.elsewhere:
            return Submitted.ELSEWHERE
        wanted = tuple(dict.fromkeys(sources)) or ALL_SOURCES
        self._runs[key] = Run(target, wanted, bulk, {source: "queued" for source in wanted})
        self._queue[key] = None
        return Submitted.QUEUED

    def _start_queued(self) -> None:
        while self._queue and self._tasks < self.concurrency:
            key = next(iter(self._queue))
            del self._queue[key]
            run = self._runs[key]
            self._tasks += 1
            run.task = asyncio.ensure_future(self._drive(run))

    # --- running ----------------------------------------------------------------------

    async def _drive(self, run: Run) -> None:
        """One run's task: the engine's run, its events relayed, its end told once.

        This is the one place a run's unforeseen error lands: it becomes the `error` of
        its `RunEnded`, never an exception escaping into the event loop.
        """
        key = run.target.company_id
        ended = RunEnded(key, run.target.dot_number, None)
        try:
            outcome = await self.engine.run(run.target, run.sources, self._relay, batched=run.bulk)
            ended = RunEnded(key, run.target.dot_number, outcome)
        except asyncio.CancelledError:
            ended = RunEnded(key, run.target.dot_number, None, cancelled=True)
            raise
        except Exception as error:
            ended = RunEnded(key, run.target.dot_number, None, error=error)
        finally:
            self._tasks -= 1
            self._runs.pop(key, None)
            if run.bulk:
                self.bulk.done += 1
                self.bulk.failed += 0 if ended.success or ended.skipped else 1
            self._start_queued()
            self.listener(ended)
            if not self._runs and self._idle is not None:
                self._idle.set()

    def _relay(self, event: RunEvent) -> None:
        run = self._runs.get(event.company_id)
        if run is not None:
            if isinstance(event, RunStarted):
                run.started = True
                run.states = {source: "waiting" for source in event.sources}
            elif isinstance(event, SourceEvent):
                state = source_state(event)
                if state is not None:
                    run.states[event.source] = state
        self.listener(event)

    # --- taking runs back -------------------------------------------------------------

    def withdraw(self, company_ids: Iterable[str]) -> list[str]:
        """Take queued runs back before they start; the ids withdrawn."""
        withdrawn = [key for key in company_ids if key in self._queue]
        for key in withdrawn:
            del self._queue[key]
            run = self._runs.pop(key)
            if run.bulk:
                self.bulk.total -= 1
        if withdrawn:
            self.listener(QueueChanged(tuple(withdrawn)))
            if not self._runs and self._idle is not None:
                self._idle.set()
        return withdrawn

    def cancel(self, company_id: str) -> bool:
        """Withdraw the carrier's run if queued, else cancel its task. False: none of ours."""
        if self.withdraw([company_id]):
            return True
        run = self._runs.get(company_id)
        if run is None or run.task is None:
            return False
        run.task.cancel()
        return True

    def cancel_all(self) -> None:
        """Withdraw every queued run and cancel every running one."""
        self.withdraw(list(self._queue))
        for run in list(self._runs.values()):
            if run.task is not None:
                run.task.cancel()

    async def wait_idle(self) -> None:
        """Until no run of ours is queued or running."""
        while self._runs:
            self._idle = asyncio.Event()
            await self._idle.wait()

    async def shutdown(self) -> None:
        """Cancel everything and wait until each run has released its lease."""
        self.cancel_all()
        await self.wait_idle()

    async def run_all(
        self,
        companies: Iterable[CompanySummary | Target | dict[str, Any]],
        sources: Sequence[Source] = ALL_SOURCES,
    ) -> list[RunOutcome]:
        """Run every carrier (the headless `sync`), in submission order of outcomes.

        Cancelling the caller cancels every run and waits for them to end cleanly.
        """
        targets = [Target.of(company) for company in companies]
        # What is alive now (modules, settings, the listing) lives as long as the run:
        # frozen, it is left out of the full collections the run's garbage triggers
        # (they took 0.2-0.3 ms of CPU per carrier in a bulk run of 1,000). Garbage is
        # collected first, so none of it is frozen for good.
        gc.collect()
        gc.freeze()
        outcomes: dict[str, RunOutcome] = {}
        listener = self.listener

        def keep(notice: Notice) -> None:
            if isinstance(notice, RunEnded) and notice.outcome is not None:
                outcomes[notice.company_id] = notice.outcome
            listener(notice)

        self.listener = keep
        try:
            self.submit_many(targets, sources)
            await self.wait_idle()
        except asyncio.CancelledError:
            await asyncio.shield(self.shutdown())
            raise
        finally:
            self.listener = listener
        return [outcomes[target.company_id] for target in targets if target.company_id in outcomes]
