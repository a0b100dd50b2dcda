"""`SqliteStore`: the primitives of `StoreFlow` and the leases: reads on a pool of two
threads, writes grouped by one writer thread (`writer`), one SQLite connection each
(see `operations`)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

from fmcsa_tui.models import CompanySummary, utcnow
from fmcsa_tui.models.run_stats import RunStats
from fmcsa_tui.models.runs import RunRecord
from fmcsa_tui.settings import DEFAULT_HISTORY_RETENTION
from fmcsa_tui.store.base import (
    AddResult,
    Changes,
    LiveRefresh,
    ReadOnlyStore,
    StoreError,
    StoreUnavailable,
    poll_changes,
)
from fmcsa_tui.store.flow import RunsPage, StoreFlow, Wanted
from fmcsa_tui.store.listing import Condition, ListColumns
from fmcsa_tui.store.sqlite import operations as ops
from fmcsa_tui.store.sqlite import runs
from fmcsa_tui.store.sqlite.read_ahead import ReadAhead
from fmcsa_tui.store.sqlite.scan import scan_list_columns
from fmcsa_tui.store.sqlite.schema import (
    check_schema,
    create_schema,
    is_store,
    read_only_connection,
)
from fmcsa_tui.store.sqlite.writer import WriteQueue
from fmcsa_tui.store.updates import SourceUpdate, as_utc

__all__ = ["SqliteStore"]

Doc = dict[str, Any]
P = ParamSpec("P")
T = TypeVar("T")

BUSY_TIMEOUT_MS: Final = 10_000
#: Seconds between two deletions of run records past retention (at most hourly).
PRUNE_EVERY: Final = 3600.0
_SCAN_AHEAD: Final = 3  # batches a list scan reads ahead of its caller


class SqliteStore(StoreFlow):
    """`CompanyStore` on a SQLite file; safe to share the file between processes.

    `read_only` opens the file with SQLite's ``mode=ro`` and starts no writer: besides
    `StoreFlow`'s refusals, SQLite itself would refuse a write a bug let through.
    Run records older than `history_retention` are deleted (see `sqlite.runs`).
    """

    def __init__(
        self,
        path: Path,
        *,
        read_only: bool = False,
        history_retention: timedelta = DEFAULT_HISTORY_RETENTION,
    ) -> None:
        self._path = Path(path)
        self._read_only = read_only
        self._retention = history_retention
        self._pruned = time.monotonic()  # when run records were last pruned
        self._executor: ThreadPoolExecutor | None = None
        self._writer: WriteQueue | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._read_ahead: ReadAhead | None = None
        self._changes_floor: datetime | None = None  # a read-ahead's: its snapshot is older

    @property
    def description(self) -> str:
        return str(self._path)

    @property
    def live_refresh(self) -> LiveRefresh:
        return LiveRefresh.POLLING

    def changes(self, since: datetime, interval: float) -> AsyncGenerator[Changes]:
        """Changes since `since`, or since a read-ahead the last scan took its rows from
        began, if earlier (writes between its snapshot and `since` are not lost)."""
        floor, self._changes_floor = self._changes_floor, None
        return poll_changes(self, since if floor is None else min(since, floor), interval)

    def read_ahead(self, first: int) -> None:
        """Begin the list scan now, before the store is opened (`read_ahead`): the
        dashboard calls this before it builds its screen, and its first `scan_rows`
        takes the rows read meanwhile."""
        if self._read_ahead is None and self._executor is None:
            timeout = BUSY_TIMEOUT_MS / 1000
            self._read_ahead = ReadAhead(self._path, first, busy_timeout=timeout)

    @property
    def path(self) -> Path:
        return self._path

    # --- lifecycle

    async def open(self, *, create: bool = True) -> None:
        if self._executor is not None:
            return
        if (self._read_only or not create) and not self._path.exists():
            raise StoreUnavailable(f"no store at {self._path} (nothing has been added there yet)")
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fmcsa-sqlite")
        try:
            if self._read_only:
                try:
                    await self._call(check_schema)
                except StoreUnavailable as error:
                    raise StoreUnavailable(f"{self._path}: {error}") from None
                return
            if not create and not await self._call(is_store):
                raise StoreUnavailable(f"{self._path} is not an fmcsa-tui store")
            await self._call(create_schema)
            await self._call(runs.create_runs, utcnow() - self._retention)
            self._pruned = time.monotonic()
            self._writer = WriteQueue(self._connection, self._store_error)
        except StoreUnavailable:
            await self.close()
            raise
        except StoreError as error:
            await self.close()
            reason = error.__cause__ or error  # the SQLite or OS error, without the path
            raise StoreUnavailable(f"cannot open store {self._path}: {reason}") from error

    async def close(self) -> None:
        ahead, self._read_ahead = self._read_ahead, None
        if ahead is not None:
            ahead.stop()
        executor, self._executor = self._executor, None
        if executor is None:
            return
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.stop()
        await asyncio.to_thread(executor.shutdown, wait=True)
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        """This pool thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._read_only:
                conn = read_only_connection(self._path, timeout=10)
            else:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self._path, isolation_level=None, check_same_thread=False, timeout=10
                )
            with self._lock:
                self._connections.append(conn)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def _guarded(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run on a pool thread; SQLite and OS errors become one-line StoreErrors."""
        with self._store_errors():
            return fn(self._connection(), *args, **kwargs)

    @contextlib.contextmanager
    def _store_errors(self) -> Iterator[None]:
        """SQLite and OS errors raised inside as one-line StoreErrors (`_store_error`)."""
        try:
            yield
        except Exception as error:
            failure = self._store_error(error)
            if failure is error:
                raise
            raise failure from error

    def _store_error(self, error: Exception) -> Exception:
        """SQLite and OS errors as one-line StoreErrors; anything else as it is."""
        if isinstance(error, StoreError) or not isinstance(error, sqlite3.Error | OSError):
            return error
        failure = StoreError(f"{self._path}: {error}")
        failure.__cause__ = error  # what `open` reports, without the path
        return failure

    async def _call(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        executor = self._executor
        if executor is None:
            raise StoreError(f"store {self._path} is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, partial(self._guarded, fn, *args, **kwargs))

    async def _write(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Queue a write for the writer thread; its outcome, once its batch is written."""
        if self._read_only:  # `StoreFlow` refuses first; this is the backstop
            raise ReadOnlyStore("write")
        writer = self._writer
        if writer is None:
            raise StoreError(f"store {self._path} is not open")
        result: T = await writer.submit(partial(fn, **kwargs) if kwargs else fn, *args)
        return result

    # --- the primitives of `StoreFlow`

    async def _list(
        self, conditions: Sequence[Condition], limit: int | None
    ) -> list[CompanySummary]:
        return await self._call(ops.list_rows, conditions, limit)

    async def _company_with_dot(self, dot: str) -> Doc | None:
        return await self._call(ops.get_company, "dot", dot)

    async def _company_with_id(self, company_id: str) -> Doc | None:
        return await self._call(ops.get_company, "id", company_id)

    async def _inspections(self, company_id: str) -> list[Doc]:
        return await self._call(ops.inspections, company_id)

    async def _add(self, wanted: Wanted, now: datetime) -> AddResult:
        return await self._write(ops.add_new, wanted, now)

    async def _insert(self, docs: list[Doc]) -> None:
        await self._write(ops.insert_all, docs)

    async def _record(self, company_id: str, update: SourceUpdate, inspections: list[Doc]) -> None:
        await self._write(ops.record, company_id, update, inspections)

    async def _record_runs(self, records: Sequence[RunRecord]) -> None:
        prune_before = None
        if time.monotonic() - self._pruned >= PRUNE_EVERY:
            self._pruned = time.monotonic()
            prune_before = utcnow() - self._retention
        rows = [runs.row_of(record) for record in records]
        await self._write(runs.record_runs, rows, runs.tally_of(rows), prune_before)

    async def _runs_of(self, company_id: str, limit: int) -> list[RunRecord | None]:
        return await self._call(runs.runs_of, company_id, limit)

    async def run_stats(self, since: datetime) -> RunStats:
        """Read from the rollup (`runs.run_stats`), not folded over the stream."""
        return await self._call(runs.run_stats, as_utc(since))

    async def _runs_page(
        self, since: datetime, company_ids: list[str] | None, after: Any, limit: int
    ) -> RunsPage:
        return await self._call(runs.runs_page, since, company_ids, after, limit)

    # --- reading

    async def scan_rows(self, batch: int) -> AsyncGenerator[ListColumns]:
        """The summary columns by column (`scan`), read on a pool thread that runs ahead
        of the caller by at most `_SCAN_AHEAD` batches (so a slow caller never piles the
        file up); or, the first time, what a `read_ahead` began reading."""
        ahead, self._read_ahead = self._read_ahead, None
        if ahead is not None:
            try:
                first = await ahead.first()
                if isinstance(first, ListColumns):  # else it gave up: scan as usual
                    self._changes_floor = ahead.began
                    async for columns in self._rest_read_ahead(ahead, first):
                        yield columns
                    return
            finally:
                ahead.stop()
        loop = asyncio.get_running_loop()
        batches: asyncio.Queue[ListColumns | None] = asyncio.Queue()
        room = threading.Semaphore(_SCAN_AHEAD)
        stop = threading.Event()

        def deliver(rows: ListColumns) -> bool:
            while not room.acquire(timeout=0.5):
                if stop.is_set():
                    return False
            loop.call_soon_threadsafe(batches.put_nowait, rows)
            return not stop.is_set()

        scan = asyncio.ensure_future(self._call(scan_list_columns, batch, deliver))
        scan.add_done_callback(lambda _: batches.put_nowait(None))
        try:
            while (rows := await batches.get()) is not None:
                room.release()
                yield rows
            await scan  # its error, if it failed
        finally:
            stop.set()

    async def _rest_read_ahead(
        self, ahead: ReadAhead, first: ListColumns
    ) -> AsyncGenerator[ListColumns]:
        """A read-ahead's batches from its first; its failure as the store's error."""
        yield first
        with self._store_errors():
            async for columns in ahead.rest():
                yield columns

    async def count_companies(self) -> int:
        return await self._call(ops.count_companies)

    async def get_companies(self, ids: Sequence[str]) -> dict[str, Doc]:
        return await self._call(ops.get_many, list(ids))

    # --- leases

    async def _acquire_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool:
        return await self._write(ops.acquire_lease, company_id, owner, ttl)

    async def last_run_of(self, company_id: str) -> datetime | None:
        return await self._call(ops.last_run, company_id)

    async def _renew_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool:
        return await self._write(ops.renew_lease, company_id, owner, ttl)

    async def _release_lease(self, company_id: str, owner: str) -> None:
        await self._write(ops.release_lease, company_id, owner)

    async def leased_ids(self, exclude_owner: str | None = None) -> set[str]:
        return await self._call(ops.leased, exclude_owner)
