"""The fleet's summary, `store.run_stats(since)`, on every backend: exactly what folding
`runs_since(since)` with `RunStats` gives, from any moment (a part minute too), for
another program's rows, files written before SQLite's rollup, and after retention."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from pymongo import MongoClient

from fmcsa_tui.formatting import iso_ms
from fmcsa_tui.models import Source, utcnow
from fmcsa_tui.models.run_stats import ErrorCount, RunStats
from fmcsa_tui.models.runs import Outcome, RunRecord, SourceRun
from fmcsa_tui.store import CompanyStore, MongoStore, SqliteStore
from fmcsa_tui.store.sqlite import runs as sqlite_runs
from fmcsa_tui.store.sqlite.columns import encode
from tests.store.test_run_history import T0, run

FAILED, OK, GONE, SKIPPED = Outcome.FAILED, Outcome.OK, Outcome.CANCELLED, Outcome.SKIPPED
#: Rows neither written with the rollup nor added to it since.
UNROLLED_COUNT = (
    "SELECT count(*) FROM runs WHERE rolled IS NULL AND id > (SELECT upto FROM run_rollup)"
)


def _as_compared(stats: RunStats) -> tuple[object, ...]:
    errors = stats.top_errors(limit=1000)
    return (
        stats.runs,
        +stats.per_hour,
        stats.sources(),
        errors,
        {error.text: stats.carriers_with(error.text) for error in errors},
    )


async def _assert_summed_as_folded(store: CompanyStore, since: datetime) -> RunStats:
    summed = await store.run_stats(since)
    folded = RunStats.of([r async for r in store.runs_since(since)])
    assert _as_compared(summed) == _as_compared(folded), since
    return summed


def _insert_foreign(path: Path, record: RunRecord | None, outcomes: str | None = None) -> None:
    """A row as another program (or an fmcsa-tui from before the rollup) writes it: no
    `rolled`; `outcomes` as given; a record's BSON, or bytes that are none."""
    started = iso_ms(record.started if record else T0 + timedelta(minutes=9))
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO runs (company_id, dot, started, ended, doc, outcomes)"
            " VALUES (?,?,?,?,?,?)",
            (
                record.company_id if record else "c9",
                "9",
                started,
                "",
                encode(record.to_doc()) if record else b"not bson",
                outcomes,
            ),
        )


def _failing(record: RunRecord, *errors: tuple[Source, str]) -> RunRecord:
    return replace(
        record, sources=tuple(SourceRun(source, FAILED, 0.5, 1, text) for source, text in errors)
    )


async def test_run_stats_equals_runs_since_folded_on_every_store(store: CompanyStore) -> None:
    """Across hours and carriers, every outcome, errors with and without text (and one
    longer than a record keeps), a record before `since`, runs sharing a minute with
    `since`, and another program's document that is no record (left out)."""
    records = [
        run("c1", 0, OK, FAILED, GONE),
        run("c1", 70, FAILED, FAILED, OK),
        replace(
            run("c3", 70, FAILED, OK, OK, dot="1000003"),
            started=T0 + timedelta(minutes=70, seconds=30),
        ),
        run("c2", 75, FAILED, SKIPPED, SKIPPED, dot="1000002"),
        run("c3", 130, OK, OK, OK, dot="1000003"),
        run("c4", -120, FAILED, FAILED, FAILED, dot="1000004"),  # before `since`
        _failing(run("c2", 140, dot="1000002"), (Source.INSPECTIONS, "")),
        _failing(run("c3", 200, dot="1000003"), (Source.CSA_SCORES, "HTTP 429 «slow down»")),
        _failing(run("c4", 201, dot="1000004"), (Source.VIOLATIONS, "x" * 600)),
    ]
    await store.record_runs(records[:3])  # in a batch, and one at a time
    for record in records[3:]:
        await store.record_run(record)
    await store.record_run(run("c1", 69, FAILED, OK, OK))  # after c1's later failure
    junk = {"companyId": "c9", "startedAt": T0 + timedelta(minutes=9), "who": "me"}
    if isinstance(store, SqliteStore):
        _insert_foreign(store.path, None)
    else:
        assert isinstance(store, MongoStore)
        client: MongoClient[dict[str, object]] = MongoClient(store._url)
        try:
            many = replace(run("c5", 150, dot="1000005"), sources=())
            odd = many.to_doc() | {  # 20 sources (a record keeps 16), errors of any type
                "sources": [
                    {"source": "violations", "outcome": "failed", "error": error}
                    for error in [7, None, "HTTP 503", *["odd"] * 17]
                ]
            }
            client.get_database(store._database)["fmcsa_tui_runs"].insert_many(
                [
                    junk,
                    junk | {"endedAt": T0, "sources": odd["sources"]},
                    odd | {"who": [odd["who"]]},
                    odd | {"startedAt": [T0]},
                    odd,
                ]
            )
        finally:
            client.close()
    summed = await _assert_summed_as_folded(store, T0 - timedelta(minutes=1))
    extra = 0 if isinstance(store, SqliteStore) else 1  # MongoDB's odd record
    assert summed.runs == 9 + extra  # the junk and the record before `since` left out
    assert summed.top_errors()[0] == ErrorCount("HTTP 503", 3 + extra, 6 + extra)
    assert ErrorCount("x" * 500, 1, 1) in summed.top_errors()  # cut as a record keeps it
    at_70 = records[1].started
    for since in (
        at_70,  # a run starts at `since` exactly (counted), another later that minute
        at_70 + timedelta(milliseconds=1),  # the same minute, the first run left out
        at_70.replace(second=0, microsecond=0),  # a whole minute: c1's latest failure after
        (at_70 + timedelta(minutes=1)).replace(second=0, microsecond=0),
        T0 + timedelta(minutes=200, seconds=59),
    ):
        await _assert_summed_as_folded(store, since)
    assert await store.run_stats(T0 + timedelta(days=1)) == RunStats()


async def test_sqlite_counts_another_programs_rows_and_rolls_them_up_at_open(
    tmp_path: Path,
) -> None:
    """Rows written without the rollup (an older fmcsa-tui's with `outcomes`, another
    program's with a record and none) count while the store is open, and are added to
    the rollup the next time a store opens the file for writing."""
    path = tmp_path / "h.db"
    store = SqliteStore(path)
    await store.open()
    try:
        await store.record_run(run("c1", 0, FAILED, OK, OK))
        older = run("c2", 5, OK, FAILED, OK, dot="1000002")
        _insert_foreign(path, older, sqlite_runs.row_of(older)[5])
        _insert_foreign(path, run("c3", 6, FAILED, GONE, OK, dot="1000003"), None)
        _insert_foreign(path, None)
        summed = await _assert_summed_as_folded(store, T0)
        assert summed.runs == 3 and summed.top_errors() == [ErrorCount("HTTP 503", 3, 3)]
    finally:
        await store.close()
    store = SqliteStore(path)
    await store.open()
    try:
        with sqlite3.connect(path) as conn:
            assert conn.execute(UNROLLED_COUNT).fetchone() == (0,)
            rolled_up = conn.execute("SELECT sum(runs) FROM run_minutes WHERE source = ''")
            assert rolled_up.fetchone() == (3,)  # the junk row counts no run
        assert (await _assert_summed_as_folded(store, T0)).runs == 3
    finally:
        await store.close()
    reader = SqliteStore(path, read_only=True)  # the rollup read read-only too
    await reader.open()
    try:
        assert (await _assert_summed_as_folded(reader, T0 + timedelta(seconds=30))).runs == 2
    finally:
        await reader.close()


async def test_sqlite_a_file_from_before_the_rollup_is_summed_read_only_and_rolled_up(
    tmp_path: Path,
) -> None:
    """A file the previous fmcsa-tui wrote (`runs` with `outcomes`, no rollup): read-only,
    every row is summed as before; opened for writing, the rollup is built from it."""
    path = tmp_path / "old.db"
    store = SqliteStore(path)
    await store.open()
    await store.record_runs([run("c1", 0, FAILED, OK, OK), run("c2", 61, OK, FAILED, GONE)])
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "DROP TABLE run_minutes; DROP TABLE run_failures; DROP TABLE run_rollup;"
            " DROP INDEX runs_unrolled;"
            " ALTER TABLE runs DROP COLUMN rolled;"
        )
    reader = SqliteStore(path, read_only=True)
    await reader.open()
    try:
        assert (await _assert_summed_as_folded(reader, T0)).runs == 2
    finally:
        await reader.close()
    store = SqliteStore(path)
    await store.open()
    try:
        await store.record_run(run("c3", 62, FAILED, FAILED, FAILED, dot="1000003"))
        summed = await _assert_summed_as_folded(store, T0)
        assert summed.top_errors() == [ErrorCount("HTTP 503", 3, 5)]
        with sqlite3.connect(path) as conn:
            assert conn.execute(UNROLLED_COUNT).fetchone() == (0,)
    finally:
        await store.close()


async def test_sqlite_retention_deletes_the_rollups_counts_with_the_runs(tmp_path: Path) -> None:
    """Runs past retention leave the summary with their rows, at open and when pruned
    later; a cut in the middle of a minute keeps that whole minute (runs and counts)."""
    path = tmp_path / "h.db"
    now = utcnow()
    ancient = _failing(run("c1", 0), (Source.CSA_SCORES, "long gone"))
    store = SqliteStore(path)
    await store.open()
    await store.record_run(replace(ancient, started=now - timedelta(days=40)))
    await store.close()
    store = SqliteStore(path, history_retention=timedelta(days=30))
    await store.open()
    try:
        summed = await _assert_summed_as_folded(store, now - timedelta(days=60))
        assert summed.runs == 0 and summed.top_errors() == []
        cut = T0 + timedelta(minutes=30, seconds=20)
        before_cut = replace(ancient, started=cut - timedelta(seconds=30))  # its minute before
        same_minute = replace(run("c3", 0), started=cut - timedelta(seconds=10))  # kept
        after_cut = _failing(run("c2", 0), (Source.VIOLATIONS, "still here"))
        after_cut = replace(after_cut, started=cut + timedelta(seconds=10))
        await store.record_runs([before_cut, same_minute, after_cut, run("c3", 90)])
        with sqlite3.connect(path) as conn:
            sqlite_runs.prune_runs(conn, cut)  # as the hourly pruning does, mid-minute
        for since in (T0, cut - timedelta(seconds=15), cut):
            await _assert_summed_as_folded(store, since)
        summed = await store.run_stats(T0)
        assert summed.runs == 3 and [e.text for e in summed.top_errors()] == ["still here"]
        with sqlite3.connect(path) as conn:
            minutes = conn.execute("SELECT min(minute) FROM run_minutes").fetchone()
            texts = conn.execute("SELECT error FROM run_failures").fetchall()
        assert minutes[0] == iso_ms(cut.replace(second=0))[:16] and texts == [("still here",)]
    finally:
        await store.close()


async def test_sqlite_run_stats_folds_rows_written_before_the_outcomes_column(
    tmp_path: Path,
) -> None:
    """A file from the history branch: its runs table had no `outcomes`; opened for
    writing, the column is added, and the old rows still count (decoded, folded)."""
    path = tmp_path / "old.db"
    store = SqliteStore(path)
    await store.open()
    await store.record_run(run("c1", 0, Outcome.FAILED, Outcome.OK, Outcome.OK))
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "DROP TABLE run_minutes; DROP TABLE run_failures; DROP TABLE run_rollup;"
            " DROP INDEX runs_unrolled;"
            " ALTER TABLE runs DROP COLUMN rolled; ALTER TABLE runs DROP COLUMN outcomes;"
        )
    reader = SqliteStore(path, read_only=True)  # read-only: the column stays missing
    await reader.open()
    try:
        assert (await reader.run_stats(T0)).top_errors() == [ErrorCount("HTTP 503", 1, 1)]
    finally:
        await reader.close()
    store = SqliteStore(path)
    await store.open()
    try:
        await store.record_run(run("c2", 5, Outcome.FAILED, Outcome.OK, Outcome.OK))
        with sqlite3.connect(path) as conn:
            nulls = conn.execute("SELECT count(*) FROM runs WHERE outcomes IS NULL").fetchone()
        assert nulls == (1,)  # the old row, left as it was
        stats = await _assert_summed_as_folded(store, T0)
        assert stats.top_errors() == [ErrorCount("HTTP 503", 2, 2)]
    finally:
        await store.close()


def test_outcomes_column_is_json_as_older_readers_expect() -> None:
    """The column an older fmcsa-tui sums over keeps its shape."""
    row = sqlite_runs.row_of(run("c1", 0, OK, FAILED, GONE))
    assert json.loads(row[5]) == [
        ["csa_scores", "ok"],
        ["violations", "failed", "HTTP 503"],
        ["inspections", "cancelled"],
    ]


async def test_sqlite_a_row_written_after_every_run_was_deleted_is_not_taken_as_rolled_up(
    tmp_path: Path,
) -> None:
    """SQLite gives the next row the largest id + 1: once the rows added to the rollup
    are deleted, an id they had may come back, on a row the rollup lacks."""
    path = tmp_path / "h.db"
    store = SqliteStore(path)
    await store.open()
    _insert_foreign(path, run("c1", 0, FAILED, OK, OK), None)
    await store.close()
    store = SqliteStore(path)
    await store.open()  # adds it to the rollup
    try:
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT upto FROM run_rollup").fetchone() == (1,)
            sqlite_runs.prune_runs(conn, utcnow() + timedelta(days=1))  # every run gone
        assert (await _assert_summed_as_folded(store, T0)).runs == 0
        _insert_foreign(path, run("c2", 1, OK, FAILED, OK, dot="1000002"), None)
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT max(id) FROM runs").fetchone() == (1,)  # id 1 again
        summed = await _assert_summed_as_folded(store, T0)
        assert summed.runs == 1 and summed.carriers_with("HTTP 503") == {"c2"}
    finally:
        await store.close()
