"""The store as the dashboard follows it: every row, then changes, leases and our reloads.

`StoreFeed.follow` runs for the dashboard's whole life and tells one callback what it
learns, as plain updates: a first screenful and then every row (`Loaded`), companies
written since (`Changed`), the carriers other processes are syncing (`Leases`), and the
store going away or coming back (`Connection`). When the store fails, it says so once,
keeps retrying every `interval`, and on success loads everything again, because changes
may have been missed meanwhile. No Textual here: the view posts these as messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from fmcsa_tui.formatting import one_line
from fmcsa_tui.models import CompanySummary, summarize, utcnow
from fmcsa_tui.store.base import CompanyStore, LiveRefresh
from fmcsa_tui.store.listing import ListColumns, columns_of

__all__ = ["Changed", "Connection", "FeedUpdate", "Leases", "Loaded", "StoreFeed"]

FIRST_BATCH = 4_096  # rows of a load's first batch (the first screen); the next grow
LOAD_STEP = 25_000  # rows the list takes in one step (a batch is cut in such parts)
#: Seconds between two parts: a timer, so the list takes each part in its own turn of
#: the event loop (parts posted back to back were taken in one long turn: 280 ms at 1M).
STEP_PAUSE = 0.002
FIRST_SCREEN_PAINT = 0.03  # seconds the first batch gets to paint (two frames) before the rest
RELOAD_EVERY = 0.25  # seconds between reloads of the carriers our own runs wrote
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_MMAP_THRESHOLD = 128 * 1024  # its default, kept from moving up


@dataclass(frozen=True, slots=True)
class Loaded:
    """A part of a load, as list columns in the listing order: `fresh` for the first
    (it replaces every row), `complete` once every row has come, `expected` how many
    the load brings (for "loading 340,000 of 1,000,000")."""

    rows: ListColumns
    complete: bool = True
    fresh: bool = True
    expected: int = 0


@dataclass(frozen=True, slots=True)
class Changed:
    """Companies written since the last look, by anyone."""

    summaries: list[CompanySummary]


@dataclass(frozen=True, slots=True)
class Leases:
    """Carriers another process is syncing now (their run leases)."""

    ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Connection:
    """The store answered again after failing (`connected`), or stopped answering."""

    connected: bool
    reason: str = ""
    live: LiveRefresh | None = None  # how changes arrive, once connected


FeedUpdate = Loaded | Changed | Leases | Connection
Emit = Callable[[FeedUpdate], None]


def _reason(error: BaseException) -> str:
    """One line for an error, looking inside a task group's wrapper."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return one_line(error, limit=200)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a load runs (seconds at most): a scan makes
    hundreds of thousands of row tuples, and each collection they set off walks them;
    300,000 rows load about 20% faster (1.74 -> 1.34 s, scan then list). Cycles made
    meanwhile are collected at the end, failure or not (before the dashboard freezes
    what is left: they would stay for good)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect(0)  # everything made meanwhile is still in the youngest generation


def _big_blocks_given_back() -> None:
    """Keep glibc's malloc handing blocks of 128 KiB and more back to the system when
    freed. By default it raises that threshold to the size of a big block once one is
    freed, so the scan's next big texts come from the heap, and the heap stays resident
    among the rows kept: 300,000 rows loaded held 145 MB more, 99 MB with this. Elsewhere
    (no glibc) nothing happens."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)


class StoreFeed:
    """Loads and follows a store for the dashboard; `owner` is our engine's lease owner."""

    def __init__(self, store: CompanyStore, *, owner: str, interval: float = 2.0) -> None:
        self.store = store
        self.owner = owner
        self.interval = interval
        self._stale: set[str] = set()

    def reload(self, company_ids: Iterable[str]) -> None:
        """Read these carriers again soon (our runs wrote them), batched every 0.25 s."""
        self._stale.update(company_ids)

    async def follow(self, emit: Emit) -> None:
        """Forever: open, load, follow; on failure say so once, wait, and start over."""
        down = False
        while True:
            try:
                await self._session(emit)
            except Exception as error:  # any store failure is a state to show, not a crash
                if not down:
                    emit(Connection(False, _reason(error)))
                down = True
            await asyncio.sleep(self.interval)

    async def _session(self, emit: Emit) -> None:
        started = await self._load(emit)
        emit(Connection(True, live=self.store.live_refresh))
        async with asyncio.TaskGroup() as group:
            group.create_task(self._follow_changes(emit, started))
            group.create_task(self._follow_leases(emit))
            group.create_task(self._reload_stale(emit))

    async def _load(self, emit: Emit) -> datetime:
        """Open the store, then every row batch by batch (the list is usable from the
        first), then the leases."""
        started = utcnow()
        await self.store.open()
        await self._load_rows(emit)
        emit(Leases(frozenset(await self.store.leased_ids(exclude_owner=self.owner))))
        return started

    async def _load_rows(self, emit: Emit) -> None:
        """The store's scan, each batch in parts of at most `LOAD_STEP` rows, one
        event-loop step each (a key pressed meanwhile waits for one part, not a batch)."""
        _big_blocks_given_back()
        # Counted beside the scan, not before it (100 ms at 1,000,000 rows): "loading
        # carriers…" until the count is in, then "loading N of M".
        counting = asyncio.ensure_future(self.store.count_companies())
        loaded, fresh = 0, True
        scan = self.store.scan_rows(FIRST_BATCH)
        try:
            with _cyclic_gc_paused():
                async with contextlib.aclosing(scan) as batches:
                    async for batch in batches:
                        for start in range(0, len(batch), LOAD_STEP):
                            part = (
                                batch
                                if len(batch) <= LOAD_STEP
                                else batch.part(start, start + LOAD_STEP)
                            )
                            loaded += len(part)
                            expected = max(counting.result(), loaded) if counting.done() else 0
                            emit(Loaded(part, complete=False, fresh=fresh, expected=expected))
                            await asyncio.sleep(FIRST_SCREEN_PAINT if fresh else STEP_PAUSE)
                            fresh = False
            await counting  # its failure is the load's too
        finally:
            counting.cancel()
        emit(Loaded(columns_of([]), complete=True, fresh=fresh, expected=loaded))

    async def _follow_changes(self, emit: Emit, since: datetime) -> None:
        feed = self.store.changes(since, self.interval)
        async with contextlib.aclosing(feed) as changes:
            async for batch in changes:
                if batch.everything:
                    await self._load_rows(emit)
                elif batch.summaries:
                    emit(Changed(batch.summaries))

    async def _follow_leases(self, emit: Emit) -> None:
        while True:
            await asyncio.sleep(self.interval)
            ids = await self.store.leased_ids(exclude_owner=self.owner)
            emit(Leases(frozenset(ids)))

    async def _reload_stale(self, emit: Emit) -> None:
        while True:
            await asyncio.sleep(RELOAD_EVERY)
            if not self._stale:
                continue
            ids, self._stale = list(self._stale), set()
            try:
                docs = await self.store.get_companies(ids)
            except Exception:
                self._stale.update(ids)  # read them once the store is back
                raise
            emit(Changed([summarize(doc) for doc in docs.values()]))
