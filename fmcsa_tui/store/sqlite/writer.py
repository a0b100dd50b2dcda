"""The store's writes, grouped: one thread, one transaction and one wake-up of the
event loop per batch of queued writes.

A bulk run queues thousands of small writes a second (a source's outcome, a lease).
Each in its own transaction on a pool thread cost a ``BEGIN``/``COMMIT`` and a wake-up
of the event loop apiece; here whatever is queued when the writer thread is free goes
in one ``BEGIN IMMEDIATE`` transaction, each write in its own savepoint so a failing
write fails only its own caller, and the callers learn their outcomes in one call on
their loop. A write either commits whole or not at all, as before: a caller cancelled
while its write waits in the queue still has it written whole (or, if the transaction
fails, not at all), never half.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from fmcsa_tui.store.sqlite.schema import process_write_lock

__all__ = ["WriteQueue"]

#: Most writes in one transaction, so another process waiting for the file is not
#: kept out for long.
MAX_BATCH: Final = 128


@dataclass(slots=True)
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    result: Any = None
    error: BaseException | None = None


class WriteQueue:
    """A writer thread with its own connection; `submit` from the event loop."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        as_store_error: Callable[[Exception], Exception],
    ) -> None:
        self._connect = connect
        self._as_store_error = as_store_error
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="fmcsa-sqlite-writer", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Queue `fn(conn, *args)`, to run inside the writer's transaction."""
        future = asyncio.get_running_loop().create_future()
        self._jobs.put(_Job(fn, args, future))
        return future

    async def stop(self) -> None:
        """Write what is queued, then end the thread."""
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._jobs.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                batch.append(job)
            self._write(batch)
            _settle(batch)

    def _write(self, batch: list[_Job]) -> None:
        """Every job in one transaction, each in a savepoint; a failure of the
        transaction itself (the file locked too long, the disk full) fails them all."""
        try:
            conn = self._connect()
            with process_write_lock:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for job in batch:
                        self._one(conn, job)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise
        except Exception as error:
            for job in batch:
                job.result, job.error = None, self._as_store_error(error)

    def _one(self, conn: sqlite3.Connection, job: _Job) -> None:
        conn.execute("SAVEPOINT job")
        try:
            job.result = job.fn(conn, *job.args)
        except Exception as error:
            if not conn.in_transaction:  # SQLite rolled everything back: the batch fails
                raise
            conn.execute("ROLLBACK TO job")
            job.error = self._as_store_error(error)
        conn.execute("RELEASE job")


def _settle(batch: list[_Job]) -> None:
    """Tell each caller its outcome: one call per event loop for the whole batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
    for job in batch:
        by_loop.setdefault(job.future.get_loop(), []).append(job)
    for loop, jobs in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
            loop.call_soon_threadsafe(_resolve, jobs)


def _resolve(jobs: list[_Job]) -> None:
    for job in jobs:
        if job.future.done():  # its caller was cancelled; the write stands
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.result)
