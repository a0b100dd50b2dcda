"""Run history in the SQLite file: the `runs` table, its writes and reads.

A table of its own, created if missing when a store is opened for writing (no schema
version: an older fmcsa-tui ignores it). One row per run: the record as BSON
(`RunRecord.to_doc`) and the columns queries need, indexed by (company_id, started)
for a carrier's last runs and by (started) for the fleet's since a moment. Timestamps
are `iso_ms` text, which sorts as time does. Records older than the retention are
deleted when the store opens and then at most hourly, with a run's own write.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from fmcsa_tui.formatting import iso_ms
from fmcsa_tui.models.runs import RunRecord
from fmcsa_tui.store.sqlite.columns import decode, encode
from fmcsa_tui.store.sqlite.schema import write_transaction

__all__ = ["create_runs", "prune_runs", "record_runs", "row_of", "runs_of", "runs_page"]

_CREATE = (
    """CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY,
        company_id TEXT NOT NULL,
        dot TEXT NOT NULL,
        started TEXT NOT NULL,
        ended TEXT NOT NULL,
        doc BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS runs_company_started ON runs (company_id, started)",
    "CREATE INDEX IF NOT EXISTS runs_started ON runs (started)",
)


def create_runs(conn: sqlite3.Connection, prune_before: datetime) -> None:
    """The table and its indexes where missing, and the records past retention gone."""
    with write_transaction(conn):
        for statement in _CREATE:
            conn.execute(statement)
        prune_runs(conn, prune_before)


def prune_runs(conn: sqlite3.Connection, before: datetime) -> None:
    """Delete the runs started before `before` (through the started index)."""
    conn.execute("DELETE FROM runs WHERE started < ?", (iso_ms(before),))


Row = tuple[str, str, str, str, bytes]


def row_of(record: RunRecord) -> Row:
    """The record's row, encoded on the caller's thread (the writer's is the bottleneck)."""
    return (
        record.company_id,
        record.dot_number,
        iso_ms(record.started) or "",
        iso_ms(record.ended) or "",
        encode(record.to_doc()),
    )


def record_runs(conn: sqlite3.Connection, rows: list[Row], prune_before: datetime | None) -> None:
    """Records' rows (on the writer thread, in its batch); pruning too when it is due."""
    conn.executemany(
        "INSERT INTO runs (company_id, dot, started, ended, doc) VALUES (?, ?, ?, ?, ?)", rows
    )
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
