"""A store opened read-only (`--read-only`), on every backend: every write is refused
in one line and the data is unchanged; reads work as usual. SQLite's file is opened
read-only by SQLite too; a refused write from a MongoDB server is one line as well."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId, json_util

from fmcsa_tui.models import Source, utcnow
from fmcsa_tui.models.runs import Origin, Outcome, RunRecord, RunWho, SourceRun
from fmcsa_tui.store import (
    CompanyStore,
    MongoStore,
    NewCompany,
    ReadOnlyStore,
    SourceData,
    SqliteStore,
    StoreRefused,
    StoreUnavailable,
)
from fmcsa_tui.store.sqlite import SCHEMA_VERSION
from tests.conftest import StoreMaker
from tests.support.mongo_wire import MongoWireServer

RUN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
AT = RUN + timedelta(seconds=5)
TTL = timedelta(seconds=60)

Write = Callable[[CompanyStore, str], Awaitable[Any]]

#: Every write of the protocol, each asked of a read-only store (given a company id).
WRITES: dict[str, Write] = {
    "add_companies": lambda s, _id: s.add_companies([NewCompany("1234567", "New")]),
    "insert_documents": lambda s, _id: s.insert_documents([{"dotNumber": "1234568"}]),
    "record_success": lambda s, cid: s.record_success(
        cid, RUN, SourceData(Source.CSA_SCORES, {"smsBasics.unsafeDriving": 1.0}), AT
    ),
    "record_failure": lambda s, cid: s.record_failure(cid, RUN, Source.VIOLATIONS, "boom", AT),
    "acquire_lease": lambda s, cid: s.acquire_lease(cid, "reader", TTL),
    "renew_lease": lambda s, cid: s.renew_lease(cid, "writer", TTL),
    "release_lease": lambda s, cid: s.release_lease(cid, "writer"),
    "record_run": lambda s, cid: s.record_run(a_run(cid)),
}


#: Recent, so no TTL index expires it.
RECENT = utcnow().replace(second=0, microsecond=0)


def a_run(company_id: str) -> RunRecord:
    who = RunWho("op", "host", 1, Origin.SYNC)
    ok = SourceRun(Source.CSA_SCORES, Outcome.OK, 1.0, 1)
    return RunRecord(company_id, "7654321", "Held", RECENT, RECENT, who, (ok,))


async def snapshot(store: CompanyStore) -> str:
    """Everything a write could change: documents, inspections, leases, as exact text."""
    summaries = await store.list_summaries()
    docs = await store.get_companies([s.id for s in summaries])
    inspections = {cid: await store.inspections_for(cid) for cid in sorted(docs)}
    runs = {cid: [r.to_doc() for r in await store.runs_of(cid)] for cid in sorted(docs)}
    leased = sorted(await store.leased_ids())
    return json_util.dumps([sorted(docs.items()), inspections, leased, runs])


@pytest.fixture
async def written(store: CompanyStore) -> str:
    """A company with data, an inspection and a live lease held by "writer"; its id."""
    company_id = str(ObjectId())
    await store.insert_documents(
        [{"_id": ObjectId(company_id), "name": "Held", "dotNumber": "7654321"}]
    )
    data = SourceData(
        Source.VIOLATIONS, {"fmcsaData.lastViolationSync": RUN},
        inspections=[{"reportNumber": "R1", "inspectionDate": RUN}],
    )  # fmt: skip
    await store.record_success(company_id, RUN, data, AT)
    assert await store.acquire_lease(company_id, "writer", TTL)
    await store.record_run(a_run(company_id))
    return company_id


@pytest.fixture
async def reader(store_maker: StoreMaker, written: str) -> AsyncIterator[CompanyStore]:
    """The same data, opened read-only (as another process would)."""
    opened = store_maker(read_only=True)
    await opened.open()
    yield opened
    await opened.close()


@pytest.mark.parametrize("write", WRITES)
async def test_every_write_of_a_read_only_store_is_refused_in_one_line(
    store: CompanyStore, reader: CompanyStore, written: str, write: str
) -> None:
    before = await snapshot(store)
    with pytest.raises(ReadOnlyStore) as refused:
        await WRITES[write](reader, written)
    text = str(refused.value)
    assert text.startswith("the store is open read-only (--read-only): cannot ")
    assert "\n" not in text
    assert isinstance(refused.value, StoreRefused)
    assert await snapshot(store) == before
    assert await store.leased_ids() == {written}  # the writer's lease is still its own


async def test_a_read_only_store_reads_as_usual(
    store: CompanyStore, reader: CompanyStore, written: str
) -> None:
    assert reader.read_only and not store.read_only
    assert [s.id for s in await reader.list_summaries()] == [written]
    assert (await reader.get_company("7654321") or {})["name"] == "Held"
    assert [i["reportNumber"] for i in await reader.inspections_for(written)] == ["R1"]
    assert await reader.leased_ids() == {written}
    assert await reader.last_run_of(written) == RUN
    assert await reader.runs_of(written) == [a_run(written)]
    assert [r async for r in reader.runs_since(RECENT)] == [a_run(written)]
    await store.record_failure(written, RUN + TTL, Source.CSA_SCORES, "HTTP 503", AT + TTL)
    changed = await reader.changed_since(AT + TTL)
    assert [s.id for s in changed] == [written]  # what the dashboard's live refresh reads


# --- SQLite: the file itself is opened read-only ---------------------------------------


async def test_sqlite_read_only_open_of_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "x.db"
    with pytest.raises(StoreUnavailable, match=r"^no store at .*x\.db") as refused:
        await SqliteStore(path, read_only=True).open()
    assert "\n" not in str(refused.value)
    assert not path.parent.exists()


async def test_sqlite_read_only_file_refuses_a_write_a_bug_would_send(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    writable = SqliteStore(path)
    await writable.open()
    await writable.insert_documents([{"name": "Kept", "dotNumber": "1234567"}])
    await writable.close()
    reader = SqliteStore(path, read_only=True)
    await reader.open()
    try:

        def sneak(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE companies SET name = 'changed'")

        with pytest.raises(Exception, match="readonly"):  # SQLite's own refusal
            await reader._call(sneak)
    finally:
        await reader.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM companies").fetchall() == [("Kept",)]


async def test_sqlite_read_only_opens_a_file_it_may_not_write(tmp_path: Path) -> None:
    """An operator's account may only read the file (chmod 444)."""
    path = tmp_path / "x.db"
    writable = SqliteStore(path)
    await writable.open()
    await writable.insert_documents([{"name": "Kept", "dotNumber": "1234567"}])
    await writable.close()
    path.chmod(0o444)
    reader = SqliteStore(path, read_only=True)
    await reader.open()
    try:
        assert [s.name for s in await reader.list_summaries()] == ["Kept"]
    finally:
        await reader.close()


async def test_sqlite_read_only_leaves_an_old_schema_unmigrated(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    writable = SqliteStore(path)
    await writable.open()
    await writable.close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION - 1),)
        )
    with pytest.raises(StoreUnavailable, match="without --read-only") as refused:
        await SqliteStore(path, read_only=True).open()
    assert "\n" not in str(refused.value)
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION - 1),)


# --- MongoDB: read-only creates no index; a server that refuses writes -----------------


async def test_a_read_only_user_browses_and_its_refused_writes_are_one_line() -> None:
    """A server refusing every write with code 13 (Unauthorized), as MongoDB answers a
    user with only the `read` role: a read-only open sends no write and browses; a
    writable store's writes are refused in one line that says what to do."""
    with MongoWireServer(refuse_writes=True) as server:
        url = server.url.replace("/?", "/refusing?")
        reader = MongoStore(url, read_only=True)
        writer = MongoStore(url)  # its index creation is refused too, and skipped
        await reader.open()
        await writer.open()
        refusals: list[StoreRefused] = []
        try:
            assert await reader.list_summaries() == []
            assert await reader.leased_ids() == set()
            for write in ("acquire_lease", "release_lease", "insert_documents"):
                with pytest.raises(StoreRefused) as refused:
                    await WRITES[write](writer, "c1")
                refusals.append(refused.value)
        finally:
            await reader.close()
            await writer.close()
    for refusal in refusals:
        text = str(refusal)
        assert not isinstance(refusal, ReadOnlyStore)
        assert "refused the write" in text and "--read-only" in text, text
        assert "\n" not in text and "execute command" not in text, text  # no command dump
