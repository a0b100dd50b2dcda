"""A list scan begun before the dashboard is built: the file's rows are read (on a
thread of their own, mostly in SQLite without the GIL) while the process imports and
composes the screen, so the second core is not idle for the first half second.

`ReadAhead` opens its own read-only connection and runs the same scan as `scan_rows`
(`scan.scan_list_columns`), one snapshot of the file, batches queued for whoever takes
them. It reads only a file already at this code's schema version: anything else (no
file, an older schema the writable open upgrades, a lock) and it gives up before its
first batch, and the store scans as usual after opening.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from fmcsa_tui.models import utcnow
from fmcsa_tui.store.listing import ListColumns
from fmcsa_tui.store.sqlite.scan import scan_list_columns
from fmcsa_tui.store.sqlite.schema import check_schema, read_only_connection

__all__ = ["ReadAhead"]

_End = BaseException | None  # how the scan ended: an error, or None for every row read


class ReadAhead:
    """A list scan of `path` running from now; `began` is earlier than its snapshot."""

    def __init__(self, path: Path, first: int, *, busy_timeout: float) -> None:
        self.began: datetime = utcnow()
        self._path = path
        self._first = first
        self._busy_timeout = busy_timeout
        self._queue: queue.SimpleQueue[ListColumns | _End] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._scan, name="fmcsa-read-ahead", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Read no further (the store closed, or nobody wants the rows)."""
        self._stop.set()

    def _scan(self) -> None:
        try:
            conn = read_only_connection(self._path, self._busy_timeout)
            try:
                check_schema(conn)
                scan_list_columns(conn, self._first, self._deliver)
            finally:
                conn.close()
        except BaseException as error:  # handed to the reader, who decides
            self._queue.put(error)
        else:
            self._queue.put(None)

    def _deliver(self, columns: ListColumns) -> bool:
        if self._stop.is_set():
            return False
        self._queue.put(columns)
        return True

    async def first(self) -> ListColumns | _End:
        """The first batch, or how the scan ended before giving one."""
        return await asyncio.to_thread(self._queue.get)

    async def rest(self) -> AsyncIterator[ListColumns]:
        """The batches after the first; the scan's error, if it failed on the way."""
        try:
            while True:
                item = await asyncio.to_thread(self._queue.get)
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.stop()
