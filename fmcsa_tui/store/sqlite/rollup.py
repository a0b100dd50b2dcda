"""The fleet summary's rollup of the `runs` table: what `run_stats` reads instead of rows.

Summing 2.8 million runs' outcomes in SQL (`json_each` over `runs.outcomes`) took 68 s;
the rollup keeps the same counts already summed, written with each run, so that week is
read in about 0.3 s (a few hundred thousand rollup rows) and stays exact:

- `run_minutes(minute, source, outcome, error, runs)`: per started minute, how many runs
  (source, outcome and error ''), and how many times each source ended each way, failures
  under their counted error text (`models.run_stats.error_text`, applied here at write).
  Minutes, not hours: a summary starts at any moment, and the runs of the part minute
  before the first whole one are summed from their rows (`sqlite.runs.run_stats`).
- `run_failures(error, company_id, last_started)`: each carrier that failed with a text,
  and its latest such run: a carrier failed with it since a moment exactly when that
  latest run started since then; one row per pair however often it failed.

A row of `runs` is in the rollup when its `rolled` column is 1 (written with it) or its
id is at most `run_rollup.upto` (added later). Rows written without it (by an fmcsa-tui
from before the rollup, or another program) are added when a store is opened for
writing, and meanwhile summed from their rows. Added rows are not updated (marking 3
million rows rewrote the whole table: 5 minutes); the mark moves instead, and never
stays above the largest id, which SQLite's next id follows. Retention deletes the
rollup's minutes with the runs: both are cut at a whole minute, so none is left half
counted.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any, Final

from fmcsa_tui.formatting import iso_ms
from fmcsa_tui.models.run_stats import RunStats, error_text
from fmcsa_tui.models.runs import Outcome, RunRecord
from fmcsa_tui.models.values import Source
from fmcsa_tui.store.sqlite.columns import decode
from fmcsa_tui.store.sqlite.schema import write_transaction

__all__ = [
    "Tally",
    "add_missing",
    "add_row",
    "create_rollup",
    "has_rollup",
    "minute_after",
    "minute_of",
    "prune",
    "sum_up",
    "upto",
]

CREATE: Final = (
    """CREATE TABLE IF NOT EXISTS run_minutes (
        minute TEXT NOT NULL,
        source TEXT NOT NULL,
        outcome TEXT NOT NULL,
        error TEXT NOT NULL,
        runs INTEGER NOT NULL,
        PRIMARY KEY (minute, source, outcome, error)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS run_failures (
        error TEXT NOT NULL,
        company_id TEXT NOT NULL,
        last_started TEXT NOT NULL,
        PRIMARY KEY (error, company_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS run_failures_last ON run_failures (last_started)",
    """CREATE TABLE IF NOT EXISTS run_rollup (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        upto INTEGER NOT NULL
    )""",
    "INSERT OR IGNORE INTO run_rollup VALUES (1, 0)",
)
#: Rows of `runs` written without the rollup (a partial index: normally a few past `upto`).
_UNROLLED_INDEX: Final = (
    "CREATE INDEX IF NOT EXISTS runs_unrolled ON runs (id) WHERE rolled IS NULL"
)
#: The rows `sqlite.runs` sums from rows because the rollup lacks them (one parameter:
#: `upto`), through the partial index (normally a handful: the list is built whole).
UNROLLED: Final = (
    "id IN (SELECT id FROM runs INDEXED BY runs_unrolled WHERE rolled IS NULL AND id > ?)"
)
#: Rows added to the rollup per transaction when a store opens (other writers wait less).
BACKFILL_BATCH: Final = 20_000


class Tally:
    """The rollup's increments for a batch of runs, summed before they are written."""

    def __init__(self) -> None:
        self.minutes: dict[tuple[str, str, str, str], int] = {}
        self.failures: dict[tuple[str, str], str] = {}

    def add(self, company_id: str, started: str, outcomes: Iterable[tuple[str, str, Any]]) -> None:
        """One run: its carrier, its `started` column, each known source's outcome (as
        stored: `Source` and `Outcome` values) and error. Fast: 3 million rows are added
        when a file from before the rollup is first opened."""
        minute = started[:16]
        minutes, failures = self.minutes, self.failures
        key: tuple[str, str, str, str] = (minute, "", "", "")
        minutes[key] = minutes.get(key, 0) + 1
        for source, outcome, error in outcomes:
            text = error_text(error) if outcome == _FAILED else ""
            key = (minute, source, outcome, text)
            minutes[key] = minutes.get(key, 0) + 1
            if not text:
                continue
            latest = failures.get((text, company_id))
            if latest is None or started > latest:
                failures[(text, company_id)] = started

    def add_record(self, record: RunRecord, started: str) -> None:
        runs = [(run.source.value, run.outcome.value, run.error) for run in record.sources]
        self.add(record.company_id, started, runs)

    def write(self, conn: sqlite3.Connection) -> None:
        """Upsert the increments (in the caller's transaction)."""
        conn.executemany(
            "INSERT INTO run_minutes VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT DO UPDATE SET runs = runs + excluded.runs",
            [(*key, runs) for key, runs in self.minutes.items()],
        )
        conn.executemany(
            "INSERT INTO run_failures VALUES (?, ?, ?) ON CONFLICT DO UPDATE"
            " SET last_started = max(last_started, excluded.last_started)",
            [(*key, started) for key, started in self.failures.items()],
        )


def create_rollup(conn: sqlite3.Connection) -> None:
    """The tables, the `rolled` column and its index where missing (in a transaction)."""
    for statement in CREATE:
        conn.execute(statement)
    if "rolled" not in _columns(conn):
        conn.execute("ALTER TABLE runs ADD COLUMN rolled INTEGER")
    conn.execute(_UNROLLED_INDEX)


def has_rollup(conn: sqlite3.Connection) -> bool:
    """A file opened read-only may predate the rollup: then every row is summed."""
    names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    wanted = {"run_minutes", "run_failures", "run_rollup", "runs_unrolled"}
    return wanted <= names and "rolled" in _columns(conn)


def upto(conn: sqlite3.Connection) -> int:
    """The largest id of the rows added to the rollup after they were written."""
    found = conn.execute("SELECT upto FROM run_rollup").fetchone()
    return int(found[0]) if found else 0


def _keep_upto_below_next_id(conn: sqlite3.Connection) -> None:
    """After deletions: a new row's id (largest + 1) must never count as added."""
    conn.execute("UPDATE run_rollup SET upto = min(upto, (SELECT coalesce(max(id), 0) FROM runs))")


def _columns(conn: sqlite3.Connection) -> set[str]:
    return {row[1] for row in conn.execute("PRAGMA table_info(runs)")}


def add_missing(conn: sqlite3.Connection) -> int:
    """Add the rows written without the rollup to it, a batch a transaction; how many."""
    added = 0
    while True:
        with write_transaction(conn):
            _keep_upto_below_next_id(conn)
            rows = conn.execute(
                "SELECT id, company_id, started,"
                " CASE WHEN json_valid(outcomes) THEN outcomes END,"
                " CASE WHEN json_valid(outcomes) THEN NULL ELSE doc END"
                " FROM runs INDEXED BY runs_unrolled WHERE rolled IS NULL AND id > ?"
                " ORDER BY id LIMIT ?",
                (upto(conn), BACKFILL_BATCH),
            ).fetchall()
            tally = Tally()
            for _id, company_id, started, outcomes, doc in rows:
                add_row(tally, company_id, started, outcomes, doc)
            tally.write(conn)
            if rows:
                conn.execute("UPDATE run_rollup SET upto = ?", (rows[-1][0],))
        added += len(rows)
        if len(rows) < BACKFILL_BATCH:
            return added


def add_row(
    tally: Tally, company_id: str, started: str, outcomes: str | None, doc: bytes | None
) -> None:
    """A stored row as `run_stats` would sum it: its outcomes column, else its record."""
    if outcomes is not None:
        items = json.loads(outcomes)
        if isinstance(items, list):
            tally.add(company_id, started, _known_items(items))
            return
    try:
        record = RunRecord.from_doc(decode(doc or b""))
    except Exception:  # a row another program wrote that is not BSON: nothing to count
        return
    if record is not None:
        tally.add_record(record, started)


_SOURCES: Final = frozenset(source.value for source in Source)
_OUTCOMES: Final = frozenset(outcome.value for outcome in Outcome)
_FAILED: Final = Outcome.FAILED.value


def _known_items(items: list[Any]) -> list[tuple[str, str, Any]]:
    """The `outcomes` column's [source, outcome, error?] items naming a known source and
    outcome (as the rows' SQL sum counts them)."""
    return [
        (item[0], item[1], item[2] if len(item) > 2 else "")
        for item in items
        if isinstance(item, list)
        and len(item) >= 2
        and isinstance(item[0], str)
        and isinstance(item[1], str)
        and item[0] in _SOURCES
        and item[1] in _OUTCOMES
    ]


def minute_after(since: datetime) -> str:
    """The first whole minute at or after `since`, as `iso_ms` text."""
    floor = since.replace(second=0, microsecond=0)
    return iso_ms(floor if floor == since else floor + timedelta(minutes=1)) or ""


def minute_of(when: datetime) -> str:
    """`when`'s minute, as `iso_ms` text (where retention cuts)."""
    return iso_ms(when.replace(second=0, microsecond=0)) or ""


def prune(conn: sqlite3.Connection, cut: str) -> None:
    """Forget the minutes before `cut` (a whole minute), as the runs before it are."""
    conn.execute("DELETE FROM run_minutes WHERE minute < ?", (cut[:16],))
    conn.execute("DELETE FROM run_failures WHERE last_started < ?", (cut,))
    _keep_upto_below_next_id(conn)


def sum_up(conn: sqlite3.Connection, stats: RunStats, first_minute: str, since: str) -> None:
    """Add the rollup's counts from `first_minute` on, and the carriers failed since `since`."""
    for hour, source, outcome, error, runs in conn.execute(
        "SELECT substr(minute, 1, 13), source, outcome, error, sum(runs) FROM run_minutes"
        " WHERE minute >= ? GROUP BY 1, 2, 3, 4",
        (first_minute[:16],),
    ):
        if not source:
            with suppress(ValueError):  # a `started` another program wrote that is no time
                stats.count_runs(datetime.fromisoformat(f"{hour}:00:00+00:00"), runs)
            continue
        source_outcome = Source(source), Outcome(outcome)
        stats.count_source(*source_outcome, runs)
        if source_outcome[1] is Outcome.FAILED:
            stats.count_error_runs(error, runs)
    for error, company_ids in conn.execute(
        "SELECT error, json_group_array(company_id) FROM run_failures"
        " WHERE last_started >= ? GROUP BY error",
        (since,),
    ):
        stats.count_error_carriers(error, json.loads(company_ids))
