"""Run history in the SQLite file: the `runs` table, its writes and reads.

A table of its own, created if missing when a store is opened for writing (no schema
version: an older fmcsa-tui ignores it). One row per run: the record as BSON
(`RunRecord.to_doc`) and the columns queries need, indexed by (company_id, started)
for a carrier's last runs and by (started) for the fleet's since a moment. Timestamps
are `iso_ms` text, which sorts as time does. Records older than the retention are
deleted when the store opens and then at most hourly, with a run's own write.

The fleet's summary (`run_stats`) reads the rollup written with every run
(`sqlite.rollup`). What the rollup cannot hold is summed from rows: the part minute
before its first whole minute, and rows not in it yet (a file opened read-only from
before it, another program's rows). Those are summed up in SQL over the `outcomes`
column, each source's [source, outcome, error] as JSON, written with the row; rows
without it (or with no valid JSON) are decoded and folded instead.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from fmcsa_tui.formatting import iso_ms
from fmcsa_tui.models.run_stats import RunStats
from fmcsa_tui.models.runs import TEXT_LIMIT, Outcome, RunRecord
from fmcsa_tui.models.values import Source
from fmcsa_tui.store.sqlite import rollup
from fmcsa_tui.store.sqlite.columns import decode, encode
from fmcsa_tui.store.sqlite.schema import write_transaction

__all__ = [
    "create_runs",
    "prune_runs",
    "record_runs",
    "row_of",
    "run_stats",
    "runs_of",
    "runs_page",
]

_CREATE = (
    """CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY,
        company_id TEXT NOT NULL,
        dot TEXT NOT NULL,
        started TEXT NOT NULL,
        ended TEXT NOT NULL,
        doc BLOB NOT NULL,
        outcomes TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS runs_company_started ON runs (company_id, started)",
    "CREATE INDEX IF NOT EXISTS runs_started ON runs (started)",
)


def create_runs(conn: sqlite3.Connection, prune_before: datetime) -> None:
    """The table and its indexes where missing, and the records past retention gone."""
    with write_transaction(conn):
        for statement in _CREATE:
            conn.execute(statement)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        if "outcomes" not in columns:  # a table from before the fleet summary
            conn.execute("ALTER TABLE runs ADD COLUMN outcomes TEXT")
        rollup.create_rollup(conn)
        prune_runs(conn, prune_before)
    rollup.add_missing(conn)


def prune_runs(conn: sqlite3.Connection, before: datetime) -> None:
    """Delete the runs started before `before`'s minute (through the started index), and
    the rollup's counts of them."""
    cut = rollup.minute_of(before)
    conn.execute("DELETE FROM runs WHERE started < ?", (cut,))
    rollup.prune(conn, cut)


Row = tuple[str, str, str, str, bytes, str]


def row_of(record: RunRecord) -> Row:
    """The record's row, encoded on the caller's thread (the writer's is the bottleneck)."""
    return (
        record.company_id,
        record.dot_number,
        iso_ms(record.started) or "",
        iso_ms(record.ended) or "",
        encode(record.to_doc()),
        _outcomes(record),
    )


def _outcomes(record: RunRecord) -> str:
    """The `outcomes` column: [source, outcome] per source, and the error when failed."""
    return json.dumps(
        [
            [run.source.value, run.outcome.value, run.error[:TEXT_LIMIT]]
            if run.outcome is Outcome.FAILED
            else [run.source.value, run.outcome.value]
            for run in record.sources
        ],
        separators=(",", ":"),
    )


def tally_of(rows: list[Row]) -> rollup.Tally:
    """The rollup's increments for these rows (their `outcomes`, as they will be stored)."""
    tally = rollup.Tally()
    for company_id, _dot, started, _ended, doc, outcomes in rows:
        rollup.add_row(tally, company_id, started, outcomes, doc)
    return tally


def record_runs(
    conn: sqlite3.Connection, rows: list[Row], tally: rollup.Tally, prune_before: datetime | None
) -> None:
    """Records' rows and their rollup (on the writer thread, in its batch, so they never
    disagree); pruning too when it is due."""
    conn.executemany(
        "INSERT INTO runs (company_id, dot, started, ended, doc, outcomes, rolled)"
        " VALUES (?, ?, ?, ?, ?, ?, 1)",
        rows,
    )
    tally.write(conn)
    if prune_before is not None:
        prune_runs(conn, prune_before)


def _has_runs(conn: sqlite3.Connection) -> bool:
    """A file opened read-only may predate the table."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'"
    ).fetchone()
    return found is not None


def _read(doc: bytes) -> RunRecord | None:
    try:
        return RunRecord.from_doc(decode(doc))
    except Exception:  # a row another program wrote that is not BSON
        return None


def runs_of(conn: sqlite3.Connection, company_id: str, limit: int) -> list[RunRecord | None]:
    if not _has_runs(conn):
        return []
    rows = conn.execute(
        "SELECT doc FROM runs WHERE company_id = ? ORDER BY started DESC, id DESC LIMIT ?",
        (company_id, limit),
    ).fetchall()
    return [_read(doc) for (doc,) in rows]


def runs_page(
    conn: sqlite3.Connection,
    since: datetime,
    company_ids: list[str] | None,
    after: tuple[str, int] | None,
    limit: int,
) -> list[tuple[Any, RunRecord | None]]:
    """Newest first by (started, id), after the key `after`; ids as one JSON parameter."""
    if not _has_runs(conn):
        return []
    where = ["started >= ?"]
    params: list[Any] = [iso_ms(since)]
    if after is not None:
        where.append("(started, id) < (?, ?)")
        params += after
    if company_ids is not None:
        where.append("company_id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(company_ids))
    rows = conn.execute(
        f"SELECT started, id, doc FROM runs WHERE {' AND '.join(where)}"
        " ORDER BY started DESC, id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [((started, rowid), _read(doc)) for started, rowid, doc in rows]


def run_stats(conn: sqlite3.Connection, since: datetime) -> RunStats:
    """`RunStats` of the runs started at or after `since`: what folding `runs_since`
    gives, read from the rollup and the rows it lacks (see the module docstring)."""
    stats = RunStats()
    if not _has_runs(conn):
        return stats
    start = iso_ms(since) or ""
    if not rollup.has_rollup(conn):  # a file opened read-only, from before the rollup
        _sum_rows(conn, stats, "started >= ?", (start,))
        return stats
    first_minute = rollup.minute_after(since)
    conn.execute("BEGIN")  # one snapshot: a run written meanwhile is in all parts or none
    try:
        _sum_rows(conn, stats, "started >= ? AND started < ?", (start, first_minute))
        unrolled = (first_minute, rollup.upto(conn))
        _sum_rows(conn, stats, f"started >= ? AND {rollup.UNROLLED}", unrolled)
        rollup.sum_up(conn, stats, first_minute, start)
    finally:
        conn.execute("COMMIT")
    return stats


def _sum_rows(
    conn: sqlite3.Connection, stats: RunStats, where: str, params: tuple[Any, ...]
) -> None:
    """Add the rows `where` selects: in SQL over their `outcomes`, else decoded."""
    if not _has_outcomes(conn):  # a file opened read-only, from before the column
        for (doc,) in conn.execute(f"SELECT doc FROM runs WHERE {where}", params):
            _fold(stats, doc)
        return
    summed = f"FROM runs WHERE {where} AND outcomes IS NOT NULL AND json_valid(outcomes)"
    for hour, runs in conn.execute(
        f"SELECT substr(started, 1, 13), count(*) {summed} GROUP BY 1", params
    ):
        stats.count_runs(datetime.fromisoformat(f"{hour}:00:00").replace(tzinfo=UTC), runs)
    each = f"FROM (SELECT company_id, outcomes {summed}) AS runs, json_each(runs.outcomes) AS o"
    for source, outcome, times in conn.execute(
        "SELECT o.value ->> 0, o.value ->> 1, count(*) " + each + " GROUP BY 1, 2", params
    ):
        known = _known(source, outcome)
        if known is not None:
            stats.count_source(*known, times)
    for text, company_id, runs in conn.execute(
        "SELECT o.value ->> 2, company_id, count(*) "
        + each
        + " WHERE o.value ->> 1 = 'failed' AND o.value ->> 0 IN (SELECT value FROM json_each(?))"
        " GROUP BY 1, 2",
        (*params, json.dumps([source.value for source in Source])),
    ):
        stats.count_error(text if isinstance(text, str) else "", company_id, runs)
    unsummed = (
        f"SELECT doc FROM runs WHERE {where} AND (outcomes IS NULL OR NOT json_valid(outcomes))"
    )
    for (doc,) in conn.execute(unsummed, params):
        _fold(stats, doc)


def _fold(stats: RunStats, doc: bytes) -> None:
    record = _read(doc)
    if record is not None:
        stats.add(record)


def _has_outcomes(conn: sqlite3.Connection) -> bool:
    """A file opened read-only may predate the column: then every row is folded."""
    return any(row[1] == "outcomes" for row in conn.execute("PRAGMA table_info(runs)"))


def _known(source: Any, outcome: Any) -> tuple[Source, Outcome] | None:
    try:
        return Source(str(source)), Outcome(str(outcome))
    except ValueError:
        return None
