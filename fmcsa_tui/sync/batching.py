"""Batched DataHub queries for bulk runs: the DataLoader pattern across carriers.

QCMobile answers one DOT per request; DataHub (Socrata) can answer many. In a bulk run
the carriers' `violations` sources ask for the same two datasets at about the same
time, so `HubBatcher` collects those that ask for a dataset within `hub_batch_window`
seconds of the first one (at most `hub_batch_size`), asks once for all of them
(``$where=dot_number in('…','…')``, ``$order=dot_number,:id``), pages to a short page,
and hands each carrier its own rows, cut with `keep_fields` as they arrive. Each
carrier's source then parses and writes them as if it had asked alone.

The rules a carrier sees:

- a batch whose window has passed while DataHub's rate budget has no room keeps
  gathering carriers until it has (at DataHub's limit, fewer and fuller queries);
- a batch of one asks today's plain query (`all_pages`), with today's progress;
- a DOT without rows gets an empty list; a row for a DOT not asked for, or without a
  ``dot_number``, cannot be placed, so it counts as a malformed row of every carrier
  in the batch (it may have been theirs), as a malformed row of a plain query does;
- `max_rows` holds per carrier (one past it fails alone, its later rows dropped), and
  the batch stops at `max_rows` x carriers, failing those left with the same wording;
- a failure of the batch (after the retries, or at the earliest deadline of its
  carriers) fails each carrier's source with the same one-line error;
- a carrier cancelled while it waits leaves the batch to the others; a batch nobody
  waits for any more is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from fmcsa_tui.settings import Settings
from fmcsa_tui.sync.answers import SourceError
from fmcsa_tui.sync.http import FmcsaHttp
from fmcsa_tui.sync.parsing import HUB, keep_fields
from fmcsa_tui.sync.sources import SourceContext, all_pages, past_deadline

__all__ = ["HubBatcher", "in_clause"]

Rows = list[dict[str, Any]]


def in_clause(dots: list[str]) -> str:
    """SoQL's ``dot_number in('1','2')``: a text column, so each value is quoted.

    The values are validated DOT numbers (digits only); a quote is doubled all the same,
    as SoQL escapes it, so no value can end the string early.
    """
    quoted = ",".join("'" + dot.replace("'", "''") + "'" for dot in dots)
    return f"dot_number in({quoted})"


@dataclass(eq=False, slots=True)
class _Member:
    """One carrier's source waiting in a batch, and the rows it has been given so far."""

    ctx: SourceContext
    result: asyncio.Future[Rows]
    rows: Rows = field(default_factory=list)
    left: bool = False  # cancelled while waiting: its rows are dropped

    @property
    def waiting(self) -> bool:
        return not self.left and not self.result.done()

    def fail(self, error: SourceError) -> None:
        if self.waiting:
            self.result.set_exception(_copy(error))
        self.rows = []  # freed now, not when the batch ends


def _copy(error: SourceError) -> SourceError:
    """Each carrier its own error object (the engine and TaskGroups annotate them)."""
    twin = SourceError(error.message, permanent=error.permanent, retry_after=error.retry_after)
    twin.attempts, twin.final = error.attempts, error.final
    return twin


@dataclass(eq=False, slots=True)
class _Batch:
    """The carriers asking for one dataset together."""

    dataset: str
    label: str
    fields: tuple[str, ...]
    members: list[_Member] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None
    task: asyncio.Task[None] | None = None
    doing: str = "waiting for the batch"

    def waiting(self) -> list[_Member]:
        return [member for member in self.members if member.waiting]

    def progress(self, message: str, page: int | None) -> None:
        self.doing = message
        for member in self.waiting():
            member.ctx.progress(message, page)

    def on_retry(self, attempt: int, reason: str, delay: float) -> None:
        for member in self.waiting():
            member.ctx.on_retry(attempt, reason, delay)

    def fail(self, error: SourceError) -> None:
        for member in self.members:
            member.fail(error)


class HubBatcher:
    """Coalesces the DataHub queries of concurrent carriers' sources, per dataset."""

    def __init__(self, settings: Settings) -> None:
        self._size = settings.hub_batch_size
        self._window = settings.hub_batch_window
        self._source_deadline = settings.source_deadline
        #: How often a batch waiting for DataHub's budget looks again: about one token.
        rate = settings.hub_rate_limit
        self._recheck = min(1 / rate, 0.25) if rate > 0 else self._window
        self._open: dict[str, _Batch] = {}  # per dataset, the batch still collecting
        self._tasks: set[asyncio.Task[None]] = set()

    async def rows(
        self, ctx: SourceContext, dataset: str, label: str, fields: tuple[str, ...]
    ) -> Rows:
        """The carrier's rows of `dataset`, cut to `fields`, asked for with others."""
        batch = self._open.get(dataset)
        if batch is None:
            batch = self._open[dataset] = _Batch(dataset, label, fields)
            batch.timer = asyncio.get_running_loop().call_later(
                self._window, self._window_over, batch, ctx.http
            )
        member = _Member(ctx, asyncio.get_running_loop().create_future())
        batch.members.append(member)
        if len(batch.members) >= self._size:
            self._launch(batch)
        try:
            return await member.result
        except asyncio.CancelledError:
            self._leave(batch, member)
            raise

    def _leave(self, batch: _Batch, member: _Member) -> None:
        member.left, member.rows = True, []
        if batch.task is None:  # still collecting: its place goes to another carrier
            batch.members.remove(member)
        if batch.waiting():
            return
        if batch.task is None:  # still collecting: nobody left to collect for
            self._close(batch)
        else:
            batch.task.cancel()

    def _close(self, batch: _Batch) -> None:
        """No more carriers join `batch`."""
        if batch.timer is not None:
            batch.timer.cancel()
        if self._open.get(batch.dataset) is batch:
            del self._open[batch.dataset]

    def _window_over(self, batch: _Batch, http: FmcsaHttp) -> None:
        """Ask now, unless DataHub's rate budget has no room yet: then keep gathering
        (up to `hub_batch_size`) and look again a token later, so that at DataHub's
        limit each query carries every carrier that asked meanwhile instead of queueing
        small batches at the limiter."""
        if len(batch.members) < self._size and batch.waiting() and not http.has_room(HUB):
            batch.timer = asyncio.get_running_loop().call_later(
                self._recheck, self._window_over, batch, http
            )
            return
        self._launch(batch)

    def _launch(self, batch: _Batch) -> None:
        self._close(batch)
        if batch.task is not None or not batch.waiting():
            return
        batch.task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(batch.task)
        batch.task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: _Batch) -> None:
        """Fetch for the batch and settle every waiting member, whatever happens."""
        deadlines = [m.ctx.deadline for m in batch.waiting() if m.ctx.deadline is not None]
        budget = asyncio.timeout_at(min(deadlines) if deadlines else None)
        try:
            async with budget:
                await self._fetch(batch)
        except SourceError as error:
            batch.fail(error)
        except asyncio.CancelledError:
            for member in batch.members:
                member.result.cancel()
            raise
        except Exception as error:
            if isinstance(error, TimeoutError) and budget.expired():
                batch.fail(past_deadline(self._source_deadline, batch.doing))
            else:  # the engine words it for each carrier, as it does for one
                for member in batch.waiting():
                    member.result.set_exception(error)
        finally:
            for member in batch.waiting():  # a bug must not leave anyone waiting forever
                member.result.set_exception(
                    SourceError(f"{HUB} batch ended without rows", permanent=False)
                )

    async def _fetch(self, batch: _Batch) -> None:
        members = batch.waiting()
        if not members:
            return
        if len(members) == 1:  # today's plain query, as a single-carrier run asks it
            only = members[0]
            only.rows = await all_pages(only.ctx, batch.dataset, batch.label, batch.fields)
            only.result.set_result(only.rows)
            return
        await self._pages(batch, members)

    async def _pages(self, batch: _Batch, members: list[_Member]) -> None:
        first = members[0].ctx
        by_dot: dict[str, list[_Member]] = {}
        for member in members:
            by_dot.setdefault(member.ctx.dot, []).append(member)
        dots = sorted(by_dot)
        size, page_size = len(members), first.page_size
        most = first.max_rows * size  # a server that never sends a short page stops here
        headers = {"X-App-Token": first.app_token} if first.app_token else None
        deadlines = [m.ctx.deadline for m in members if m.ctx.deadline is not None]
        received = 0
        page = 0
        while batch.waiting():
            page += 1
            batch.progress(f"fetching {batch.label} page {page} (batch of {size})", page)
            fetched = await first.http.get_json(
                f"{first.hub_base_url}/resource/{batch.dataset}.json",
                {
                    "$where": in_clause(dots),
                    "$limit": page_size,
                    "$offset": (page - 1) * page_size,
                    "$order": "dot_number,:id",
                },
                api=HUB,
                what=f"{batch.dataset} page {page}",
                headers=headers,
                on_retry=batch.on_retry,
                deadline=min(deadlines) if deadlines else None,
            )
            for member in batch.waiting():
                member.ctx.note_attempts(fetched.attempts)
            answer = fetched.payload
            if not isinstance(answer, list):
                raise SourceError(
                    f"{HUB} answered an unexpected shape ({batch.dataset})", permanent=False
                )
            _share(answer, by_dot, batch.fields)
            received += len(answer)
            if len(answer) < page_size:
                for member in batch.waiting():
                    member.result.set_result(member.rows)
                return
            if received > most:
                for member in batch.waiting():
                    member.fail(member.ctx.too_many_rows())
                return

    async def aclose(self) -> None:
        """Cancel every batch, collecting or fetching, and wait for them to end."""
        for batch in list(self._open.values()):
            self._close(batch)
            for member in batch.members:
                member.result.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


def _share(answer: list[Any], by_dot: dict[str, list[_Member]], fields: tuple[str, ...]) -> None:
    """Give each waiting member its rows of one page; count what cannot be placed."""
    placed: dict[str, Rows] = {}
    unplaced = 0
    for row in answer:
        dot = row.get("dot_number") if isinstance(row, dict) else None
        if not isinstance(dot, str) or dot not in by_dot:
            unplaced += 1
            continue
        placed.setdefault(dot, []).append(row)
    for dot, members in by_dot.items():
        rows = placed.get(dot, [])
        kept: Rows | None = None
        for member in members:
            if not member.waiting:
                continue  # cancelled or past `max_rows`: its rows are dropped
            member.ctx.skipped += unplaced
            try:
                member.ctx.count_rows(len(rows))
            except SourceError as error:
                member.fail(error)
                continue
            if kept is None:
                kept = [keep_fields(row, fields) for row in rows]
            member.rows.extend(kept)
