"""Run history in the store, on every backend: a record comes back exactly as written,
a carrier's runs newest first, the fleet's since a moment streamed page by page, old
records deleted (SQLite at open and hourly, MongoDB by its TTL index)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from pymongo import MongoClient

from fmcsa_tui.formatting import iso_ms
from fmcsa_tui.models import Source, utcnow
from fmcsa_tui.models.runs import Origin, Outcome, RunRecord, RunWho, SourceRun
from fmcsa_tui.store import CompanyStore, MongoStore, SqliteStore, open_store
from fmcsa_tui.store import flow as store_flow
from fmcsa_tui.store.sqlite import store as sqlite_store
from tests.support.mongo_wire import MongoWireServer

#: Recent: MongoDB's TTL index (and the wire server's) would expire an older record.
T0 = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=123000)
WHO = RunWho("operator", "ops-1", 4242, Origin.WORKER)


def run(company: str, minutes: float, *outcomes: Outcome, dot: str = "1000001") -> RunRecord:
    started = T0 + timedelta(minutes=minutes)
    sources = tuple(
        SourceRun(source, outcome, 1.25, 2, "HTTP 503" if outcome is Outcome.FAILED else "",
                  "5 BASICs" if outcome is Outcome.OK else "")
        for source, outcome in zip(Source, outcomes or (Outcome.OK,) * 3, strict=False)
    )  # fmt: skip
    return RunRecord(company, dot, "Acme «Hauling»", started, started + timedelta(seconds=3),
                     WHO, sources)  # fmt: skip


async def test_a_record_comes_back_exactly_and_a_carriers_runs_newest_first(
    store: CompanyStore,
) -> None:
    older = run("c1", 0, Outcome.OK, Outcome.FAILED, Outcome.CANCELLED)
    newer = run("c1", 10)
    other = run("c2", 5, dot="1000002")
    for record in (older, other, newer):
        await store.record_run(record)
    assert await store.runs_of("c1") == [newer, older]
    assert await store.runs_of("c1", limit=1) == [newer]
    assert await store.runs_of("c2") == [other]
    assert await store.runs_of("nobody") == []
    [back] = await store.runs_of("c2")
    assert back.started == T0 + timedelta(minutes=5)  # UTC, to the millisecond
    assert back.who == WHO and back.name == "Acme «Hauling»"
    assert older.outcome_of(Source.VIOLATIONS) == SourceRun(
        Source.VIOLATIONS, Outcome.FAILED, 1.25, 2, "HTTP 503"
    )


async def test_runs_since_streams_newest_first_across_pages_and_filters_carriers(
    store: CompanyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_flow, "RUNS_PAGE", 3)  # pages of 3: ties across a page edge
    records = [run(f"c{i % 4}", i // 2) for i in range(11)]  # two runs start per minute
    for record in records:
        await store.record_run(record)
    since = T0 + timedelta(minutes=1)
    seen = [record async for record in store.runs_since(since)]
    expected = [r for r in records if r.started >= since]
    assert sorted(seen, key=lambda r: (r.started, r.company_id)) == sorted(
        expected, key=lambda r: (r.started, r.company_id)
    )  # each exactly once, none before `since`
    assert [r.started for r in seen] == sorted((r.started for r in expected), reverse=True)
    only = [r async for r in store.runs_since(T0, company_ids=["c1", "c3"])]
    assert sorted(r.company_id for r in only) == sorted(
        r.company_id for r in records if r.company_id in {"c1", "c3"}
    )
    assert [r async for r in store.runs_since(T0, company_ids=[])] == []


async def test_sqlite_deletes_runs_past_retention_at_open_and_then_hourly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "h.db"
    now = utcnow()  # to the millisecond, as stored
    ancient = replace(run("c1", 0), started=now - timedelta(days=40))
    store = SqliteStore(path)
    await store.open()
    await store.record_run(ancient)
    assert len(await store.runs_of("c1")) == 1
    await store.close()

    store = SqliteStore(path, history_retention=timedelta(days=30))
    await store.open()
    assert await store.runs_of("c1") == []  # gone at open
    await store.record_run(ancient)
    await store.record_run(ancient)  # not an hour since the last pruning: both kept
    assert len(await store.runs_of("c1")) == 2
    monkeypatch.setattr(sqlite_store, "PRUNE_EVERY", 0.0)
    fresh = replace(run("c1", 0), started=now)
    await store.record_run(fresh)  # an hour since: pruned with this write
    assert await store.runs_of("c1") == [fresh]
    await store.close()


async def test_sqlite_read_only_reads_no_history_from_a_file_without_the_table(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE runs")  # a file written by an fmcsa-tui before history
    reader = SqliteStore(path, read_only=True)
    await reader.open()
    try:
        assert await reader.runs_of("c1") == []
        assert [r async for r in reader.runs_since(T0)] == []
    finally:
        await reader.close()
    with sqlite3.connect(path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "runs" not in tables  # read-only created nothing


async def test_a_stored_document_that_is_not_a_record_is_left_out(
    store: CompanyStore,
) -> None:
    """Another program's document in the history: skipped, never an error."""
    await store.record_run(run("c1", 0))
    junk = {"companyId": "c1", "startedAt": T0 + timedelta(minutes=5), "who": "me"}
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as conn:
            conn.execute(
                "INSERT INTO runs (company_id, dot, started, ended, doc) VALUES (?,?,?,?,?)",
                ("c1", "1", iso_ms(T0 + timedelta(minutes=5)), "", b"not bson"),
            )
    else:
        assert isinstance(store, MongoStore)
        client: MongoClient[dict[str, object]] = MongoClient(store._url)
        try:
            client.get_database(store._database)["fmcsa_tui_runs"].insert_one(junk)
        finally:
            client.close()
    assert await store.runs_of("c1") == [run("c1", 0)]
    assert [r async for r in store.runs_since(T0)] == [run("c1", 0)]


# --- MongoDB: the TTL index -------------------------------------------------------------


def _runs_indexes(url: str, database: str) -> dict[str, dict[str, object]]:
    client: MongoClient[dict[str, object]] = MongoClient(url)
    try:
        return dict(client.get_database(database)["fmcsa_tui_runs"].index_information())
    finally:
        client.close()


async def test_mongodb_runs_have_a_ttl_index_of_the_retention_and_their_query_indexes(
    mongo_wire: MongoWireServer,
) -> None:
    url = mongo_wire.url.replace("/?", "/ttl_history?")
    store = open_store(url, history_retention=timedelta(days=30))
    await store.open()
    await store.close()
    indexes = {tuple(info["key"]): info for info in _runs_indexes(url, "ttl_history").values()}  # type: ignore[call-overload]
    assert indexes[(("endedAt", 1),)]["expireAfterSeconds"] == 30 * 86400
    assert (("companyId", 1), ("startedAt", -1)) in indexes
    assert (("startedAt", -1),) in indexes


async def test_mongodb_ttl_index_of_another_retention_is_left_and_said_in_one_line(
    mongo_wire: MongoWireServer,
) -> None:
    url = mongo_wire.url.replace("/?", "/ttl_other?")
    first = MongoStore(url, history_retention=timedelta(days=7))
    await first.open()
    await first.close()
    second = MongoStore(url, history_retention=timedelta(days=90))
    await second.open()  # not a failure
    await second.close()
    [note] = second.index_notes
    assert "\n" not in note and "604800s" in note and "7776000s" in note
    indexes = {tuple(info["key"]): info for info in _runs_indexes(url, "ttl_other").values()}  # type: ignore[call-overload]
    assert indexes[(("endedAt", 1),)]["expireAfterSeconds"] == 7 * 86400
