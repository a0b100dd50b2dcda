"""The file's tables and their version, and the write transaction every write uses.

The derived columns are a cache of the status rule: a file whose schema version is
older than this code's is re-summarized when opened (every row, in the transaction that
raises the version), so a change of the rule never leaves old rows listed by the old
one; a file from before version 3 has its documents converted from Extended JSON text
to BSON in the same transaction. Writes are ``BEGIN IMMEDIATE`` transactions, which
makes a document's read-modify-write atomic across threads and processes sharing the
file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any, Final, cast
from urllib.parse import quote

from bson import json_util
from bson.json_util import JSONOptions

from fmcsa_tui.store.base import StoreUnavailable
from fmcsa_tui.store.listing import DOT_ORDER_SQL, NO_TIME, STATUSES
from fmcsa_tui.store.sqlite.columns import (
    KEPT_DOT,
    KEPT_MC,
    KEPT_NAME,
    RESUMMARIZE,
    TIME_COLUMNS,
    decode,
    derived_values,
    encode,
    kept_sql,
)

__all__ = [
    "SCHEMA_VERSION",
    "check_schema",
    "create_schema",
    "is_store",
    "process_write_lock",
    "read_only_connection",
    "write_transaction",
]

#: 2: the status rule reads documents field by field (a null syncStatus or a BASIC
#: stored as text no longer makes a document unreadable): rows written by 1 are redone.
#: 3: documents are BSON, not Extended JSON text, and each inspection keeps the digest
#: of the fields its last upsert set (`written`): older files are converted.
#: 4: the times again as integer microseconds (`TIME_COLUMNS`), which the list scan reads
#: without parsing a date: older files gain the columns, filled by the re-summarizing.
#: 5: the list scan's `LIST_COLUMNS` (which display fields the list keeps, the numbers as
#: one hex text): a version 4 file gains them, filled from its columns in one UPDATE.
SCHEMA_VERSION: Final = 5
#: How versions 1 and 2 read their documents' text.
_TEXT_OPTIONS: Final = JSONOptions(tz_aware=True, tzinfo=UTC)
_RESUMMARIZE_BATCH: Final = 1000  # documents decoded at a time while re-summarizing

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS companies (
        id TEXT NOT NULL UNIQUE,
        dot TEXT UNIQUE,
        name TEXT,
        mc TEXT,
        search TEXT NOT NULL,
        status TEXT NOT NULL,
        last_run TEXT,
        success INTEGER,
        csa_last_sync TEXT,
        viol_last_sync TEXT,
        insp_last_sync TEXT,
        error_sources TEXT NOT NULL,
        error_count INTEGER NOT NULL,
        updated_at TEXT,
        problem TEXT,
        doc BLOB NOT NULL,
        last_run_us INTEGER NOT NULL DEFAULT (-9223372036854775808),
        csa_us INTEGER NOT NULL DEFAULT (-9223372036854775808),
        viol_us INTEGER NOT NULL DEFAULT (-9223372036854775808),
        insp_us INTEGER NOT NULL DEFAULT (-9223372036854775808),
        updated_us INTEGER NOT NULL DEFAULT (-9223372036854775808),
        list_kept INTEGER NOT NULL DEFAULT 0,
        list_hex TEXT NOT NULL DEFAULT ''
    )""",
    f"CREATE INDEX IF NOT EXISTS companies_dot_order ON companies ({DOT_ORDER_SQL})",
    "CREATE INDEX IF NOT EXISTS companies_status ON companies (status)",
    "CREATE INDEX IF NOT EXISTS companies_updated_at ON companies (updated_at)",
    """CREATE TABLE IF NOT EXISTS fmcsainspections (
        company_id TEXT NOT NULL,
        report_number TEXT NOT NULL,
        doc BLOB NOT NULL,
        inspection_date TEXT,
        written BLOB,
        UNIQUE (company_id, report_number)
    )""",
    "CREATE INDEX IF NOT EXISTS fmcsainspections_date"
    " ON fmcsainspections (company_id, inspection_date)",
    """CREATE TABLE IF NOT EXISTS leases (
        company_id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
)


#: Writers of this process (each store's writer thread, and opening) queue here rather
#: than in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) and made
#: two writers slow each other down. Other processes still meet at the file lock,
#: under busy_timeout.
process_write_lock = threading.Lock()


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the file's write lock up front (no upgrade race)."""
    with process_write_lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (disk full…)
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    with write_transaction(conn):
        for statement in _SCHEMA:
            conn.execute(statement)
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        elif int(row[0]) > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"schema version {row[0]} is newer than this fmcsa-tui understands"
            )
        elif int(row[0]) < SCHEMA_VERSION:
            if int(row[0]) < 3:
                _to_bson(conn)
            _add_columns(conn)
            if int(row[0]) < 4:
                _resummarize(conn)
            else:
                _fill_list_columns(conn)
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )


def _add_columns(conn: sqlite3.Connection) -> None:
    """Version 4's integer times and version 5's list columns, for a file from before
    them (filled by `_resummarize` or `_fill_list_columns`)."""
    columns = {name for _, name, *_ in conn.execute("PRAGMA table_info(companies)")}
    wanted = {
        **{column: f"INTEGER NOT NULL DEFAULT ({NO_TIME})" for column in TIME_COLUMNS},
        "list_kept": "INTEGER NOT NULL DEFAULT 0",
        "list_hex": "TEXT NOT NULL DEFAULT ''",
    }
    for column, kind in wanted.items():
        if column not in columns:
            conn.execute(f"ALTER TABLE companies ADD COLUMN {column} {kind}")


_STATUS_CODE_SQL: Final = " ".join(f"WHEN '{s}' THEN {code}" for code, s in enumerate(STATUSES))
#: `columns.list_values` in SQL over a version 4 row (`kept_sql` for `kept_text`: other
#: text than ASCII is kept, which reads back just as well). A value out of its field's
#: range (an odd status, a count beyond 32 bits) makes a text of another length, which
#: the scan reads row by row.
_FILL_LIST_COLUMNS: Final = f"""UPDATE companies SET
    list_kept = ({kept_sql("dot")} IS NOT NULL) * {KEPT_DOT}
        | ({kept_sql("name")} IS NOT NULL) * {KEPT_NAME}
        | ({kept_sql("mc")} IS NOT NULL) * {KEPT_MC},
    list_hex = printf('%016x%016x%016x%016x%016x%016x%08x0000%02x%02x', last_run_us, csa_us,
        viol_us, insp_us, updated_us, min(csa_us, viol_us, insp_us), error_count,
        ifnull(success, 2), CASE status {_STATUS_CODE_SQL} ELSE 255 END)"""


def _fill_list_columns(conn: sqlite3.Connection) -> None:
    """Version 5's list columns for a version 4 file, from its own columns (no document
    decoded: 1,000,000 rows in seconds)."""
    conn.execute(_FILL_LIST_COLUMNS)


def _resummarize(conn: sqlite3.Connection) -> None:
    """Derive every row's columns again from its document, by today's `summarize`.

    In batches by rowid (never updating the table a running SELECT still reads), inside
    the caller's transaction: another process sees the old rows or the new ones.
    """
    last = 0
    while True:
        rows = conn.execute(
            "SELECT rowid, doc FROM companies WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (last, _RESUMMARIZE_BATCH),
        ).fetchall()
        if not rows:
            return
        conn.executemany(
            RESUMMARIZE, [(*derived_values(decode(text)), rowid) for rowid, text in rows]
        )
        last = rows[-1][0]


def _to_bson(conn: sqlite3.Connection) -> None:
    """Version 3's documents: every Extended JSON text as BSON, and the inspections'
    `written` digest column (empty: their next upsert merges as before and fills it)."""
    columns = {name for _, name, *_ in conn.execute("PRAGMA table_info(fmcsainspections)")}
    if "written" not in columns:
        conn.execute("ALTER TABLE fmcsainspections ADD COLUMN written BLOB")
    for table in ("companies", "fmcsainspections"):
        last = 0
        while True:
            rows = conn.execute(
                f"SELECT rowid, doc FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, _RESUMMARIZE_BATCH),
            ).fetchall()
            if not rows:
                break
            conn.executemany(
                f"UPDATE {table} SET doc = ? WHERE rowid = ?",
                [(_text_as_bson(doc), rowid) for rowid, doc in rows],
            )
            last = rows[-1][0]


def _text_as_bson(doc: str | bytes) -> bytes:
    if isinstance(doc, bytes):
        return doc
    return encode(cast(dict[str, Any], json_util.loads(doc, json_options=_TEXT_OPTIONS)))


def read_only_connection(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection SQLite itself keeps from writing (``mode=ro``), for any thread."""
    return sqlite3.connect(
        f"file:{quote(str(path.absolute()))}?mode=ro",
        uri=True,
        isolation_level=None,
        check_same_thread=False,
        timeout=timeout,
    )


def check_schema(conn: sqlite3.Connection) -> None:
    """For a read-only open, which may change nothing: the file must be a store of this
    code's schema version (an older one needs the upgrade a writable open does)."""
    if not is_store(conn):
        raise StoreUnavailable("not an fmcsa-tui store")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = int(row[0]) if row is not None else 0
    if version > SCHEMA_VERSION:
        raise StoreUnavailable(f"schema version {version} is newer than this fmcsa-tui understands")
    if version < SCHEMA_VERSION:
        raise StoreUnavailable(
            f"schema version {version} needs an upgrade, which read-only cannot do;"
            " open it once without --read-only"
        )


def is_store(conn: sqlite3.Connection) -> bool:
    """Whether the file already holds an fmcsa-tui store (its companies table)."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'companies'"
    ).fetchone()
    return found is not None
