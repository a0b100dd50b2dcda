"""The sync engine: runs FMCSA sources for companies and writes the results.

One run covers one company: it takes the company's lease (one run per company across
processes), runs the requested sources concurrently, and writes each source's outcome
the moment it is known, in one store call, so a cancelled run leaves every source
either fully written or untouched. Many companies run concurrently up to a limit.

Progress is reported through an `emit` callback with the events of `sync.events`;
`sync()` wraps that as an async iterator. Many companies at once, queued and bounded,
are the run coordinator's (`fmcsa_tui.coordinator`), which the CLI and the dashboard share.

The HTTP side (`sync.http`, `sync.sources`, `sync.batching`: httpx and aiohttp, about
0.2 s to import on 2 cores) is imported with the first run, not with the engine: the
dashboard opens without it, and may never sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fmcsa_tui.formatting import one_line
from fmcsa_tui.models import CompanySummary, Source, parse_dot, summarize, utcnow
from fmcsa_tui.models.runs import Origin, RunWho
from fmcsa_tui.settings import ConfigError, Settings
from fmcsa_tui.store.base import CompanyStore, SourceData, StoreRefused
from fmcsa_tui.sync.answers import QUOTE_LIMIT, SourceError
from fmcsa_tui.sync.events import (
    SYNCED_ELSEWHERE,
    SYNCING_ELSEWHERE,
    RunEvent,
    RunFinished,
    RunRefused,
    RunSkipped,
    RunStarted,
    SourceFailed,
    SourceProgress,
    SourceStarted,
    SourceSucceeded,
)
from fmcsa_tui.sync.history import RunLog, write_history
from fmcsa_tui.sync.leases import Leases, finish_despite_cancel

if TYPE_CHECKING:
    from fmcsa_tui.sync.batching import HubBatcher
    from fmcsa_tui.sync.http import FmcsaHttp
    from fmcsa_tui.sync.sources import SourceContext

ALL_SOURCES: tuple[Source, ...] = tuple(Source)
#: Signals that cancel runs as Ctrl-C does (a service stop, a closed terminal): every
#: run releases its lease and finishes the write it is in, then the process exits.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class StopSignals:
    """SIGTERM and SIGHUP on the running loop: the first calls `stop(signum)` (which
    cancels cleanly), a second one takes the default action and ends the process."""

    def __init__(self, stop: Callable[[int], object]) -> None:
        self._stop = stop
        self.received: int | None = None

    def __enter__(self) -> StopSignals:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self._first, signum)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._remove()

    def _first(self, signum: int) -> None:
        self.received = signum
        self._remove()
        self._stop(signum)

    @staticmethod
    def _remove() -> None:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)


Emit = Callable[[RunEvent], None]
RunOutcome = RunFinished | RunRefused | RunSkipped


@dataclass(frozen=True, slots=True)
class Target:
    """The company a run is for: its `_id`, DOT number and name (for events).

    A target of a pass (`listed`: a `sync` invocation, a worker's sweep) carries the
    `last_run` its listing read. Under the lease, a run compares it with the current
    one: a different value means another process ran the carrier after the pass
    listed it, so this pass skips it (values, not clocks: skew between machines does
    not matter). Outside a pass (the dashboard's `r`) a run always runs.
    """

    company_id: str
    dot_number: str
    name: str = ""
    listed: bool = False
    last_run: datetime | None = None

    @classmethod
    def of(cls, company: CompanySummary | dict[str, Any] | Target) -> Target:
        if isinstance(company, Target):
            return company
        if isinstance(company, CompanySummary):
            return cls(company.id, company.dot_number or "", company.name or "")
        return cls.of(summarize(company))

    @classmethod
    def in_pass(cls, summary: CompanySummary) -> Target:
        """The carrier as a pass listed it (see the class docstring)."""
        return cls(summary.id, summary.dot_number or "", summary.name or "", True, summary.last_run)


def _store_trouble(error: Exception) -> str:
    """Why the store stopped a run, in one line: a refused write says so itself."""
    if isinstance(error, StoreRefused):
        return one_line(error)
    return f"store unavailable: {one_line(error)}"


def _ignore(_event: RunEvent) -> None:
    return None


def _note_written(written: set[Source], source: Source) -> Callable[[asyncio.Task[None]], None]:
    """A done-callback adding `source` to `written` unless its task was cancelled."""

    def note(task: asyncio.Task[None]) -> None:
        if not task.cancelled():
            written.add(source)

    return note


class SyncEngine:
    """Runs sources against FMCSA (or the sandbox) and writes them to a store.

    `origin` is the face running it (the dashboard, `sync`, a worker): every run's
    history record says so, with this process's user, host and pid (`models.runs`).
    """

    def __init__(
        self,
        store: CompanyStore,
        settings: Settings,
        *,
        origin: Origin,
        http: FmcsaHttp | None = None,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.who = RunWho.this_process(Origin(origin))
        self._http = http
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leases = Leases(store, self.owner, timedelta(seconds=settings.lease_seconds))
        self._batcher: HubBatcher | None = None  # made with the first batched run

    @property
    def http(self) -> FmcsaHttp:
        """The HTTP client FMCSA is asked with, made when first needed."""
        if self._http is None:
            from fmcsa_tui.sync.http import FmcsaHttp

            self._http = FmcsaHttp(self.settings)
        return self._http

    def _hub_batcher(self) -> HubBatcher | None:
        """DataHub queries of batched runs, asked together (None: `hub_batch_size` 1)."""
        if self._batcher is None and self.settings.hub_batch_size > 1:
            from fmcsa_tui.sync.batching import HubBatcher

            self._batcher = HubBatcher(self.settings)
        return self._batcher

    def check_ready(self) -> None:
        """Raise ConfigError naming the missing setting, before anything runs."""
        if self.settings.webkey is None or not self.settings.webkey.get_secret_value():
            raise ConfigError(
                "no QCMobile webKey configured: set FMCSA_TUI_WEBKEY or `webkey` in "
                "config.toml (or use --fmcsa sandbox)"
            )

    async def aclose(self) -> None:
        self.leases.stop()
        if self._batcher is not None:
            await self._batcher.aclose()
        if self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> SyncEngine:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # --- one company ----------------------------------------------------------------

    async def run(
        self,
        company: CompanySummary | dict[str, Any] | Target,
        sources: Sequence[Source] = ALL_SOURCES,
        emit: Emit = _ignore,
        *,
        batched: bool = False,
    ) -> RunOutcome:
        """Sync one company. Returns the final event, which was also emitted.

        `batched` (a bulk run's) lets its DataHub queries wait up to `hub_batch_window`
        to be asked together with other batched runs' (`sync.batching`); the data and
        events are the same either way.
        """
        self.check_ready()
        target = Target.of(company)
        ids_named: dict[str, Any] = {
            "company_id": target.company_id,
            "dot_number": target.dot_number,
            "name": target.name,
        }
        wanted = tuple(dict.fromkeys(sources)) or ALL_SOURCES
        # Every event goes through the run's log, which its history record is made of.
        log = RunLog(target.company_id, target.dot_number, target.name, wanted, emit)
        emit = log.emit
        if parse_dot(target.dot_number) != target.dot_number:
            refused = RunRefused(**ids_named, reason="no valid DOT number")
            emit(refused)
            return refused
        try:
            leased = await self.leases.take(target.company_id)
        except Exception as error:  # one company's store trouble never stops a bulk run
            refused = RunRefused(**ids_named, reason=_store_trouble(error))
            emit(refused)
            return refused
        if not leased:
            if target.listed:
                return await self._skip(log, RunSkipped(**ids_named, reason=SYNCING_ELSEWHERE))
            refused = RunRefused(**ids_named, reason="already syncing")
            emit(refused)
            return refused
        if target.listed:
            not_ours = await self._ran_elsewhere(target, ids_named)
            if isinstance(not_ours, RunSkipped):
                return await self._skip(log, not_ours)
            if not_ours is not None:
                emit(not_ours)
                return not_ours
        self.leases.hold(target.company_id)
        started, clock = utcnow(), time.monotonic()
        failed: list[Source] = []
        written: set[Source] = set()  # sources whose outcome is known (and was written)
        finished: RunFinished | None = None
        try:
            emit(RunStarted(**ids_named, sources=wanted, at=started))
            async with asyncio.TaskGroup() as group:
                for source in wanted:
                    task = group.create_task(
                        self._run_source(target, source, started, emit, failed, batched)
                    )
                    task.add_done_callback(_note_written(written, source))
            finished = RunFinished(
                **ids_named,
                success=not failed,
                cancelled=False,
                duration=time.monotonic() - clock,
                failed_sources=tuple(s for s in wanted if s in failed),
            )
        except asyncio.CancelledError:
            finished = RunFinished(
                **ids_named,
                success=False,
                cancelled=True,
                duration=time.monotonic() - clock,
                failed_sources=tuple(s for s in wanted if s in failed),
                unfinished_sources=tuple(s for s in wanted if s not in written),
            )
            raise
        finally:
            # The record and the lease's release go to the store together (one batch
            # of the SQLite writer), both to the end even when cancelled.
            history = write_history(self.store, log.record(self.who), emit, self.http.public_text)
            both = asyncio.gather(history, self.leases.give_back(target.company_id))
            await finish_despite_cancel(both)
            if finished is not None:
                emit(finished)
        return finished

    async def _skip(self, log: RunLog, skipped: RunSkipped) -> RunSkipped:
        """A pass's skip: told, and recorded (every source skipped, and why)."""
        log.emit(skipped)
        record = log.skipped(self.who, skipped.reason)
        await write_history(self.store, record, log.emit, self.http.public_text)
        return skipped

    async def _ran_elsewhere(
        self, target: Target, ids_named: dict[str, Any]
    ) -> RunSkipped | RunRefused | None:
        """For a pass's target, under its lease: None to run it; else the lease is
        released again and the run ends as synced elsewhere (another process ran it
        since the pass listed it) or refused (the store could not say)."""
        try:
            current = await self.store.last_run_of(target.company_id)
        except BaseException as error:
            await self.leases.give_back(target.company_id)
            if not isinstance(error, Exception):
                raise
            return RunRefused(**ids_named, reason=_store_trouble(error))
        if current == target.last_run:
            return None
        await self.leases.give_back(target.company_id)
        return RunSkipped(**ids_named, reason=SYNCED_ELSEWHERE)

    async def _run_source(
        self,
        target: Target,
        source: Source,
        run_started: datetime,
        emit: Emit,
        failed: list[Source],
        batched: bool = False,
    ) -> None:
        ids: dict[str, Any] = {"company_id": target.company_id, "dot_number": target.dot_number}
        emit(SourceStarted(**ids, source=source))
        clock = time.monotonic()
        doing = "starting"

        def progress(message: str, page: int | None) -> None:
            nonlocal doing
            doing = message
            emit(SourceProgress(**ids, source=source, message=message, page=page))

        def on_retry(attempt: int, reason: str, delay: float) -> None:
            emit(
                SourceProgress(
                    **ids,
                    source=source,
                    message=self.http.public_text(f"retry {attempt} after {reason}"),
                    attempt=attempt + 1,
                    retry_in=delay,
                )
            )

        deadline = asyncio.get_running_loop().time() + self.settings.source_deadline
        ctx = self._context(target.dot_number, progress, on_retry, deadline)
        if batched:
            ctx.batcher = self._hub_batcher()
        try:
            data = await self._fetch(source, ctx, lambda: doing)
        except SourceError as error:
            failed.append(source)
            await self._record_failure(target, source, run_started, error, ctx, clock, emit)
            return
        try:
            await finish_despite_cancel(
                self.store.record_success(target.company_id, run_started, data, utcnow())
            )
        except Exception as error:  # StoreError, or whatever a failing driver raised
            failed.append(source)
            emit(
                SourceFailed(
                    **ids,
                    source=source,
                    error=self.http.public_text(
                        f"could not write to the store: {one_line(error, limit=QUOTE_LIMIT)}"
                    ),
                    attempts=max(ctx.attempts, 1),
                    duration=time.monotonic() - clock,
                    permanent=False,
                )
            )
            return
        emit(
            SourceSucceeded(
                **ids,
                source=source,
                attempts=max(ctx.attempts, 1),
                duration=time.monotonic() - clock,
                summary=data.summary,
            )
        )

    async def _fetch(
        self, source: Source, ctx: SourceContext, doing: Callable[[], str]
    ) -> SourceData:
        """The source's data within its deadline, or a SourceError saying why not.

        Whatever a fetch raises becomes a SourceError here, so one source's surprise
        (a response no parser foresaw) fails that source alone, never the run.
        """
        from fmcsa_tui.sync.sources import FETCHERS, past_deadline

        budget = asyncio.timeout_at(ctx.deadline)
        try:
            async with budget:
                return await FETCHERS[source](ctx, utcnow())
        except SourceError:
            raise
        except Exception as error:
            if isinstance(error, TimeoutError) and budget.expired():
                raise past_deadline(self.settings.source_deadline, doing()) from None
            text = one_line(error, limit=QUOTE_LIMIT)  # `public_text` cuts it, once scrubbed
            raise SourceError(f"unexpected response: {text}", permanent=True) from None

    async def _record_failure(
        self,
        target: Target,
        source: Source,
        run_started: datetime,
        error: SourceError,
        ctx: SourceContext,
        clock: float,
        emit: Emit,
    ) -> None:
        text = self.http.public_text(error.message)
        with contextlib.suppress(Exception):  # the event below still tells the operator
            await finish_despite_cancel(
                self.store.record_failure(target.company_id, run_started, source, text, utcnow())
            )
        emit(
            SourceFailed(
                company_id=target.company_id,
                dot_number=target.dot_number,
                source=source,
                error=text,
                attempts=max(ctx.attempts, error.attempts),
                duration=time.monotonic() - clock,
                permanent=error.permanent,
            )
        )

    def _context(
        self,
        dot: str,
        progress: Callable[[str, int | None], None],
        on_retry: Callable[[int, str, float], None],
        deadline: float,
    ) -> SourceContext:
        from fmcsa_tui.sync.sources import SourceContext

        settings = self.settings
        return SourceContext(
            http=self.http,
            qc_base_url=settings.qc_base_url,
            hub_base_url=settings.hub_base_url,
            webkey=settings.webkey.get_secret_value() if settings.webkey else "",
            app_token=settings.app_token.get_secret_value() if settings.app_token else None,
            page_size=settings.page_size,
            dot=dot,
            progress=progress,
            on_retry=on_retry,
            max_rows=settings.max_rows,
            deadline=deadline,
        )

    async def sync(
        self,
        company: CompanySummary | dict[str, Any] | Target,
        sources: Sequence[Source] = ALL_SOURCES,
    ) -> AsyncIterator[RunEvent]:
        """`run()` as an async iterator of its events; closing it cancels the run."""
        stream = _as_events(lambda emit: self.run(company, sources, emit))
        async with contextlib.aclosing(stream):
            async for event in stream:
                yield event


async def _as_events(start: Callable[[Emit], Awaitable[object]]) -> AsyncGenerator[RunEvent]:
    """Drive `start(emit)` in a task and yield what it emits; stop it if we are closed."""
    queue: asyncio.Queue[RunEvent | None] = asyncio.Queue()
    task = asyncio.ensure_future(start(queue.put_nowait))
    task.add_done_callback(lambda _task: queue.put_nowait(None))
    try:
        while (event := await queue.get()) is not None:
            yield event
        task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
