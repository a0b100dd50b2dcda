"""`read_ahead`: the SQLite store begins its list scan before it is opened (the
dashboard does this before it builds its screen), and its first `scan_rows` hands over
exactly what a scan after opening would; the change feed then starts from before the
read-ahead's snapshot, so a write made meanwhile is not lost; a file the read-ahead
cannot read (none yet, or not a store) changes nothing but the speed."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from fmcsa_tui.models import CompanySummary, utcnow
from fmcsa_tui.store import SqliteStore, StoreUnavailable
from fmcsa_tui.store.listing import ListColumns


def carriers(count: int) -> list[dict[str, Any]]:
    return [
        {"_id": ObjectId(), "name": f"Co {n}", "dotNumber": str(1000 + n)} for n in range(count)
    ]


async def scanned(store: SqliteStore) -> list[Any]:
    return [row async for batch in store.scan_rows(2) for row in batch.rows()]


async def filled(path: Path, count: int) -> list[Any]:
    """A store file holding `count` carriers; what a plain scan of it gives."""
    store = SqliteStore(path)
    await store.open()
    await store.insert_documents(carriers(count))
    rows = await scanned(store)
    await store.close()
    return rows


async def test_a_read_ahead_hands_over_every_row_a_scan_would(tmp_path: Path) -> None:
    path = tmp_path / "fmcsa.db"
    expected = await filled(path, 9)
    store = SqliteStore(path)
    store.read_ahead(2)
    await store.open()
    batches: list[ListColumns] = [batch async for batch in store.scan_rows(2)]
    assert [len(batch) for batch in batches] == [2, 4, 3]  # its batches, as a scan's grow
    assert [row for batch in batches for row in batch.rows()] == expected
    assert await scanned(store) == expected  # the next scan reads the file again
    await store.close()


class LooksNoted(SqliteStore):
    """TEST SPY: the real store, noting from when each look of its change feed asks."""

    looks: list[datetime]

    async def changed_since(self, since: datetime) -> list[CompanySummary]:
        self.looks.append(since)
        return await super().changed_since(since)


async def test_the_change_feed_after_a_read_ahead_starts_before_its_snapshot(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fmcsa.db"
    await filled(path, 3)
    store = LooksNoted(path)
    store.looks = []
    store.read_ahead(2)
    asked = utcnow()  # the read-ahead began before this
    await store.open()
    assert len(await scanned(store)) == 3  # read from the read-ahead's snapshot
    late = {"_id": ObjectId(), "name": "Meanwhile", "dotNumber": "2000", "updatedAt": utcnow()}
    await store.insert_documents([late])
    # The caller's own start (the dashboard's feed) comes after the read-ahead began,
    # here long after: its first look still goes back to before the snapshot.
    feed = store.changes(utcnow() + timedelta(seconds=5), interval=0.01)
    changes = await asyncio.wait_for(anext(feed), timeout=10)
    await feed.aclose()
    assert store.looks[0] < asked
    assert [summary.id for summary in changes.summaries] == [str(late["_id"])]
    await store.close()


async def test_a_read_ahead_of_no_file_yet_leaves_the_store_to_create_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "new" / "fmcsa.db"
    store = SqliteStore(path)
    store.read_ahead(2)
    await store.open()
    await store.insert_documents(carriers(3))
    assert len(await scanned(store)) == 3
    await store.close()


async def test_a_read_ahead_of_a_file_that_is_no_store_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 100)
    store = SqliteStore(path)
    store.read_ahead(2)
    with pytest.raises(StoreUnavailable, match=r"cannot open store .*notes\.txt"):
        await store.open()
    assert path.read_text() == "not a database\n" * 100
