"""The SQLite store's grouped writes: many queued writes share a transaction, yet each
caller gets its own outcome, a failing write leaves no trace, and a caller cancelled
while its write waits still has it written whole.

The file's write lock (`process_write_lock`) is held by the test while writes are
queued, so they are sure to wait and be written together once it is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from fmcsa_tui.models import Source
from fmcsa_tui.store import SourceData, SqliteStore, StoreError
from fmcsa_tui.store.sqlite.schema import process_write_lock
from fmcsa_tui.store.sqlite.writer import WriteQueue

AT = datetime(2024, 5, 1, 12, tzinfo=UTC)


def connector(path: Path) -> Any:
    local = threading.local()
    opened: list[sqlite3.Connection] = []

    def connect() -> sqlite3.Connection:
        if getattr(local, "conn", None) is None:
            local.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            opened.append(local.conn)
        conn: sqlite3.Connection = local.conn
        return conn

    connect.opened = opened  # type: ignore[attr-defined]
    return connect


def insert(conn: sqlite3.Connection, value: int) -> int:
    conn.execute("INSERT INTO t (x) VALUES (?)", (value,))
    return value


def insert_then_fail(conn: sqlite3.Connection, value: int) -> int:
    conn.execute("INSERT INTO t (x) VALUES (?)", (value,))
    raise StoreError(f"refused {value}")


async def test_a_failing_write_fails_only_its_own_caller(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    connect = connector(path)
    writer = WriteQueue(connect, lambda error: error)
    try:
        with process_write_lock:  # everything below queues behind it
            futures = [
                writer.submit(insert, 1),
                writer.submit(insert_then_fail, 2),
                writer.submit(insert, 3),
                writer.submit(insert, 1),  # a UNIQUE violation: SQLite's own refusal
                writer.submit(insert, 4),
            ]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
    finally:
        await writer.stop()
        for opened in connect.opened:
            opened.close()
    assert outcomes[0] == 1 and outcomes[2] == 3 and outcomes[4] == 4
    assert isinstance(outcomes[1], StoreError) and str(outcomes[1]) == "refused 2"
    assert isinstance(outcomes[3], sqlite3.IntegrityError)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert [x for (x,) in conn.execute("SELECT x FROM t ORDER BY x")] == [1, 3, 4]


def doc(dot: str) -> dict[str, Any]:
    return {"_id": ObjectId(), "name": f"Carrier {dot}", "dotNumber": dot}


async def test_concurrent_source_writes_each_land_or_fail_alone(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    await store.open()
    try:
        docs = [doc(str(100000 + index)) for index in range(20)]
        await store.insert_documents(docs)
        data = SourceData(Source.CSA_SCORES, {"smsBasics.unsafeDriving": 55.0})
        ids = [str(d["_id"]) for d in docs]
        ids.insert(10, str(ObjectId()))  # no such company
        with process_write_lock:
            tasks = [
                asyncio.ensure_future(store.record_success(company_id, AT, data, AT))
                for company_id in ids
            ]
            await asyncio.sleep(0)  # each has queued its write
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert [type(outcome) for outcome in outcomes].count(StoreError) == 1
        assert "no company with id" in str(outcomes[10])
        rows = await store.list_summaries()
        assert [row.status for row in rows] == ["ok"] * 20
        assert {row.csa_scores_last_sync for row in rows} == {AT}
    finally:
        await store.close()


async def test_a_write_whose_caller_is_cancelled_while_queued_is_written_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.db"
    store = SqliteStore(path)
    await store.open()
    company = doc("200000")
    await store.insert_documents([company])
    inspections = [{"reportNumber": f"R{n}", "state": "TX"} for n in range(5)]
    data = SourceData(Source.VIOLATIONS, {"fmcsaData.violations": []}, inspections)
    with process_write_lock:
        task = asyncio.ensure_future(store.record_success(str(company["_id"]), AT, data, AT))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await store.close()  # writes what is queued
    reopened = SqliteStore(path)
    await reopened.open()
    try:
        [row] = await reopened.list_summaries()
        assert row.violations_last_sync == AT
        assert len(await reopened.inspections_for(str(company["_id"]))) == 5
    finally:
        await reopened.close()
