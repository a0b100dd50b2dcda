"""The embedded store: one SQLite file, documents kept whole as Extended JSON.

Each company row holds the raw document (so unknown fields, ObjectIds, real dates and
dates-as-strings all survive) plus columns derived from it by `models.summarize` at
every write, so listings never parse a document. The derived columns are a cache of
that rule: a file whose schema version is older than this code's is re-summarized
when opened (every row, in the transaction that raises the version), so a change of
the rule never leaves old rows listed by the old one. SQLite calls run on a two-thread pool
with one connection per thread; writes are ``BEGIN IMMEDIATE`` transactions, which makes
a document's read-modify-write atomic across threads and processes sharing the file.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar, cast

from bson import ObjectId, json_util
from bson.json_util import RELAXED_JSON_OPTIONS, JSONOptions

from fmcsa_tui.models import CompanySummary, parse_when, summarize, utcnow
from fmcsa_tui.store.base import (
    AddResult,
    Changes,
    LiveRefresh,
    StoreError,
    StoreUnavailable,
    poll_changes,
)
from fmcsa_tui.store.flow import (
    StoreFlow,
    Wanted,
    cannot_insert,
    dot_taken,
    id_taken,
    no_company,
    plan_additions,
)
from fmcsa_tui.store.listing import (
    DOT_ORDER_SQL,
    SEARCH_SEPARATOR,
    Condition,
    Fact,
    all_hold,
    first_rows,
    joined_search_decides,
    search_text,
)
from fmcsa_tui.store.updates import (
    SourceUpdate,
    apply_update,
    as_utc,
    new_company_doc,
    report_number,
)

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

Doc = dict[str, Any]
P = ParamSpec("P")
T = TypeVar("T")

#: 2: the status rule reads documents field by field (a null syncStatus or a BASIC
#: stored as text no longer makes a document unreadable): rows written by 1 are redone.
SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 10_000
_READ_OPTIONS = JSONOptions(tz_aware=True, tzinfo=UTC)

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
        doc TEXT NOT NULL
    )""",
    f"CREATE INDEX IF NOT EXISTS companies_dot_order ON companies ({DOT_ORDER_SQL})",
    "CREATE INDEX IF NOT EXISTS companies_status ON companies (status)",
    "CREATE INDEX IF NOT EXISTS companies_updated_at ON companies (updated_at)",
    """CREATE TABLE IF NOT EXISTS fmcsainspections (
        company_id TEXT NOT NULL,
        report_number TEXT NOT NULL,
        doc TEXT NOT NULL,
        inspection_date TEXT,
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

_SUMMARY_COLUMNS = (
    "id, dot, name, mc, status, last_run, success, csa_last_sync, viol_last_sync,"
    " insp_last_sync, error_sources, error_count, updated_at, problem"
)
_ROW_COLUMNS = (
    "id, dot, name, mc, search, status, last_run, success, csa_last_sync, viol_last_sync,"
    " insp_last_sync, error_sources, error_count, updated_at, problem, doc"
)
_INSERT_COMPANY = f"INSERT INTO companies ({_ROW_COLUMNS}) VALUES ({', '.join('?' * 16)})"
_DERIVED_SET = (
    "id = ?, dot = ?, name = ?, mc = ?, search = ?, status = ?,"
    " last_run = ?, success = ?, csa_last_sync = ?, viol_last_sync = ?, insp_last_sync = ?,"
    " error_sources = ?, error_count = ?, updated_at = ?, problem = ?"
)
_UPDATE_COMPANY = f"UPDATE companies SET {_DERIVED_SET}, doc = ? WHERE id = ?"
_RESUMMARIZE = f"UPDATE companies SET {_DERIVED_SET} WHERE rowid = ?"
_RESUMMARIZE_BATCH = 1000  # documents decoded at a time while re-summarizing
_UPSERT_INSPECTION = (
    "INSERT INTO fmcsainspections (company_id, report_number, doc, inspection_date)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (company_id, report_number)"
    " DO UPDATE SET doc = excluded.doc, inspection_date = excluded.inspection_date"
)
_ACQUIRE_LEASE = (
    "INSERT INTO leases (company_id, owner, expires_at) VALUES (?, ?, ?)"
    " ON CONFLICT (company_id) DO UPDATE SET owner = excluded.owner,"
    " expires_at = excluded.expires_at"
    " WHERE leases.owner = excluded.owner OR leases.expires_at <= ?"
)


# --- encoding -------------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    """Fixed-width UTC ISO text with microseconds, so string order is time order."""
    if moment is None:
        return None
    return as_utc(moment).isoformat(timespec="microseconds")


def encode(doc: dict[str, Any]) -> str:
    """Relaxed Extended JSON: ObjectIds and dates keep their BSON types."""
    try:
        return json_util.dumps(doc, json_options=RELAXED_JSON_OPTIONS)
    except (TypeError, ValueError) as error:
        raise StoreError(f"document cannot be stored: {error}") from error


def decode(text: str) -> dict[str, Any]:
    return cast(dict[str, Any], json_util.loads(text, json_options=_READ_OPTIONS))


def _error_sources_text(sources: frozenset[str]) -> str:
    """``|a|b|``: a source matches as ``|name|`` whatever its name."""
    return f"|{'|'.join(sorted(sources))}|" if sources else ""


def as_stored(value: Any) -> Any:
    """A copy as it will read back: BSON dates are UTC milliseconds, tuples are arrays.

    Summarizing this copy keeps the derived columns in step with the stored document,
    for a fraction of the cost of decoding the encoded text again.
    """
    if isinstance(value, dict):
        return {key: as_stored(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_stored(item) for item in value]
    if isinstance(value, datetime):
        value = as_utc(value)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value


def row_values(doc: dict[str, Any]) -> tuple[Any, ...]:
    """The stored text and its derived columns, in `_ROW_COLUMNS` order."""
    stored = as_stored(doc)
    return (*derived_values(stored), encode(stored))


def derived_values(stored: dict[str, Any]) -> tuple[Any, ...]:
    """The columns `summarize` derives from a document as stored (all but `doc`)."""
    summary = summarize(stored)
    return (
        summary.id,
        summary.dot_number,
        summary.name,
        summary.mc_number,
        search_text(summary),
        summary.status,
        iso(summary.last_run),
        None if summary.success is None else int(summary.success),
        iso(summary.csa_scores_last_sync),
        iso(summary.violations_last_sync),
        iso(summary.inspections_last_sync),
        _error_sources_text(summary.error_sources),
        summary.error_count,
        iso(summary.updated_at),
        summary.problem,
    )


_SOURCES_CACHE: dict[str, frozenset[str]] = {}


def _sources(text: str) -> frozenset[str]:
    """Parsed once per distinct combination: 100,000 rows share a handful."""
    found = _SOURCES_CACHE.get(text)
    if found is None:
        found = frozenset(part for part in text.split("|") if part)
        _SOURCES_CACHE[text] = found
    return found


def _summary(row: tuple[Any, ...]) -> CompanySummary:
    """A list row straight from the summary columns, in `_SUMMARY_COLUMNS` order.

    Runs 100,000 times per listing, hence the inlined date parsing.
    """
    parse = datetime.fromisoformat
    (id_, dot, name, mc, status, last_run, success, csa, viol, insp, sources, count, updated, problem) = row  # fmt: skip  # noqa: E501
    return CompanySummary(
        id_,
        dot,
        name,
        mc,
        status,
        last_run and parse(last_run),
        None if success is None else success == 1,
        csa and parse(csa),
        viol and parse(viol),
        insp and parse(insp),
        _sources(sources),
        count,
        updated and parse(updated),
        problem,
    )


#: Where each fact of the filter rule is, as SQL over the derived columns.
_FACT_SQL: dict[Fact, str] = {
    "search": "search",
    "status": "status",
    "error_sources": "error_sources",
    # min() of several values is NULL when one is: no success yet, as `oldest_success`
    "oldest_success": "min(csa_last_sync, viol_last_sync, insp_last_sync)",
    "updated_at": "updated_at",
}


def _where(conditions: Sequence[Condition]) -> tuple[str, list[Any], bool]:
    """The conditions as a WHERE clause, its parameters, and whether it decides them
    exactly (otherwise it only narrows, and `Condition.holds` decides)."""
    clauses: list[str] = []
    params: list[Any] = []
    exact = True
    for condition in conditions:
        sql, values, decides = _condition_sql(condition)
        clauses.append(sql)
        params.extend(values)
        exact = exact and decides
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params, exact


def _condition_sql(condition: Condition) -> tuple[str, list[Any], bool]:
    """One condition as SQL: the clause, its parameters, and whether it is exact."""
    column, value = _FACT_SQL[condition.fact], condition.value
    if isinstance(value, datetime):
        value = iso(value)
    match condition.test:
        case "has_text":  # instr(), not LIKE: no wildcards, and Unicode-aware casefolding
            if joined_search_decides(value):
                return f"instr({column}, ?) > 0", [value], True
            pieces = [piece for piece in value.split(SEARCH_SEPARATOR) if piece]
            return (
                " AND ".join([f"instr({column}, ?) > 0" for piece in pieces] or ["1"]),
                pieces,
                False,
            )
        case "has":  # error sources are stored as |a|b|
            return f"instr({column}, ?) > 0", [f"|{value}|"], "|" not in value
        case "is":
            return f"{column} = ?", [value], True
        case "is_not":
            return f"{column} != ?", [value], True
        case "missing_or_before":
            return f"({column} IS NULL OR {column} < ?)", [value], True
        case "at_or_after":
            return f"{column} >= ?", [value], True


# --- work done on the pool threads ----------------------------------------------------


#: Writers of this process queue here rather than in SQLite's busy handler, which sleeps
#: in growing steps (up to 100 ms) and made two store threads slow each other down.
#: Other processes still meet at the file lock, under busy_timeout.
_WRITE_QUEUE = threading.Lock()


@contextmanager
def _write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the file's write lock up front (no upgrade race)."""
    with _WRITE_QUEUE:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (disk full…)
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    with _write_transaction(conn):
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
            _resummarize(conn)
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )


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
            _RESUMMARIZE, [(*derived_values(decode(text)), rowid) for rowid, text in rows]
        )
        last = rows[-1][0]


def _is_store(conn: sqlite3.Connection) -> bool:
    """Whether the file already holds an fmcsa-tui store (its companies table)."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'companies'"
    ).fetchone()
    return found is not None


def _list(
    conn: sqlite3.Connection, conditions: Sequence[Condition], limit: int | None
) -> list[CompanySummary]:
    where, params, exact = _where(conditions)
    sql = f"SELECT {_SUMMARY_COLUMNS} FROM companies {where} ORDER BY {DOT_ORDER_SQL}"
    if limit is not None and exact:
        sql += f" LIMIT {int(limit)}"
    rows = [_summary(row) for row in conn.execute(sql, params)]
    if exact:
        return rows
    return first_rows([row for row in rows if all_hold(conditions, row)], limit)


def _get(conn: sqlite3.Connection, column: Literal["dot", "id"], ref: str) -> Doc | None:
    row = conn.execute(f"SELECT doc FROM companies WHERE {column} = ?", (ref,)).fetchone()
    return None if row is None else decode(row[0])


_BATCH = 500  # ids per query, under SQLite's bound-parameter limit


def _get_many(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _BATCH):
        chunk = list(ids[start : start + _BATCH])
        marks = ",".join("?" * len(chunk))
        for company_id, text in conn.execute(
            f"SELECT id, doc FROM companies WHERE id IN ({marks})", chunk
        ):
            found[company_id] = decode(text)
    return found


def _insert(conn: sqlite3.Connection, doc: dict[str, Any]) -> None:
    values = row_values(doc)
    try:
        conn.execute(_INSERT_COMPANY, values)
    except sqlite3.IntegrityError as error:
        raise _collision(error, values) from error


def _collision(error: sqlite3.IntegrityError, values: tuple[Any, ...]) -> StoreError:
    if "companies.dot" in str(error):
        return dot_taken(values[1])
    if "companies.id" in str(error):
        return id_taken(values[0])
    return cannot_insert(error)


def _add(conn: sqlite3.Connection, wanted: Wanted, now: datetime) -> AddResult:
    """Look for the DOTs and insert the new companies in one transaction."""
    with _write_transaction(conn):
        present = set[str]()
        dots = [dot for dot, _ in wanted]
        for start in range(0, len(dots), _BATCH):
            chunk = dots[start : start + _BATCH]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(f"SELECT dot FROM companies WHERE dot IN ({marks})", chunk)
            present.update(dot for (dot,) in rows)
        docs, result = plan_additions(wanted, present, new_company_doc, now)
        for doc in docs:
            _insert(conn, doc)
    return result


def _insert_all(conn: sqlite3.Connection, docs: list[Doc]) -> None:
    with _write_transaction(conn):
        for doc in docs:
            _insert(conn, doc)


def _record(
    conn: sqlite3.Connection, company_id: str, update: SourceUpdate, inspections: list[Doc]
) -> None:
    """Read, apply and write back the document, and its inspections, in one transaction."""
    with _write_transaction(conn):
        row = conn.execute("SELECT doc FROM companies WHERE id = ?", (company_id,)).fetchone()
        if row is None:
            raise no_company(company_id)
        doc = decode(row[0])
        apply_update(doc, update)
        values = row_values(doc)
        try:
            conn.execute(_UPDATE_COMPANY, (*values, company_id))
        except sqlite3.IntegrityError as error:
            raise _collision(error, values) from error
        for inspection in inspections:
            _upsert_inspection(conn, company_id, doc["_id"], inspection)


def _upsert_inspection(
    conn: sqlite3.Connection, company_id: str, company_oid: Any, inspection: dict[str, Any]
) -> None:
    """Upsert on (companyId, reportNumber) like a `$set` upsert: `_id` and extras stay."""
    number = report_number(inspection)
    row = conn.execute(
        "SELECT doc FROM fmcsainspections WHERE company_id = ? AND report_number = ?",
        (company_id, number),
    ).fetchone()
    doc: dict[str, Any] = decode(row[0]) if row else {"_id": ObjectId()}
    doc.update({key: value for key, value in inspection.items() if key != "_id"})
    doc["companyId"] = company_oid
    when = iso(parse_when(doc.get("inspectionDate")))
    conn.execute(_UPSERT_INSPECTION, (company_id, number, encode(doc), when))


def _inspections(conn: sqlite3.Connection, company_id: str) -> list[Doc]:
    rows = conn.execute("SELECT doc FROM fmcsainspections WHERE company_id = ?", (company_id,))
    return [decode(text) for (text,) in rows]


def _acquire(conn: sqlite3.Connection, company_id: str, owner: str, ttl: timedelta) -> bool:
    """One statement: insert, renew our own lease, or take over an expired one."""
    now = utcnow()
    with _write_transaction(conn):
        cursor = conn.execute(_ACQUIRE_LEASE, (company_id, owner, iso(now + ttl), iso(now)))
    return cursor.rowcount > 0


def _renew(conn: sqlite3.Connection, company_id: str, owner: str, ttl: timedelta) -> bool:
    with _write_transaction(conn):
        cursor = conn.execute(
            "UPDATE leases SET expires_at = ? WHERE company_id = ? AND owner = ?",
            (iso(utcnow() + ttl), company_id, owner),
        )
    return cursor.rowcount > 0


def _release(conn: sqlite3.Connection, company_id: str, owner: str) -> None:
    with _write_transaction(conn):
        conn.execute("DELETE FROM leases WHERE company_id = ? AND owner = ?", (company_id, owner))


def _leased(conn: sqlite3.Connection, exclude_owner: str | None) -> set[str]:
    rows = conn.execute(
        "SELECT company_id FROM leases WHERE expires_at > ? AND owner IS NOT ?",
        (iso(utcnow()), exclude_owner),
    )
    return {company_id for (company_id,) in rows}


# --- the store ------------------------------------------------------------------------


class SqliteStore(StoreFlow):
    """`CompanyStore` on a SQLite file; safe to share the file between processes."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return str(self._path)

    @property
    def live_refresh(self) -> LiveRefresh:
        return LiveRefresh.POLLING

    def changes(self, since: datetime, interval: float) -> AsyncGenerator[Changes]:
        return poll_changes(self, since, interval)

    @property
    def path(self) -> Path:
        return self._path

    # --- lifecycle

    async def open(self, *, create: bool = True) -> None:
        if self._executor is not None:
            return
        if not create and not self._path.exists():
            raise StoreUnavailable(f"no store at {self._path} (nothing has been added there yet)")
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fmcsa-sqlite")
        try:
            if not create and not await self._call(_is_store):
                raise StoreUnavailable(f"{self._path} is not an fmcsa-tui store")
            await self._call(_create_schema)
        except StoreUnavailable:
            await self.close()
            raise
        except StoreError as error:
            await self.close()
            reason = error.__cause__ or error  # the SQLite or OS error, without the path
            raise StoreUnavailable(f"cannot open store {self._path}: {reason}") from error

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        await asyncio.to_thread(executor.shutdown, wait=True)
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        """This pool thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=10
            )
            with self._lock:
                self._connections.append(conn)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def _guarded(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run on a pool thread; SQLite and OS errors become one-line StoreErrors."""
        try:
            return fn(self._connection(), *args, **kwargs)
        except StoreError:
            raise
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"{self._path}: {error}") from error

    async def _call(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        executor = self._executor
        if executor is None:
            raise StoreError(f"store {self._path} is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, partial(self._guarded, fn, *args, **kwargs))

    # --- the primitives of `StoreFlow`

    async def _list(
        self, conditions: Sequence[Condition], limit: int | None
    ) -> list[CompanySummary]:
        return await self._call(_list, conditions, limit)

    async def _company_with_dot(self, dot: str) -> Doc | None:
        return await self._call(_get, "dot", dot)

    async def _company_with_id(self, company_id: str) -> Doc | None:
        return await self._call(_get, "id", company_id)

    async def _inspections(self, company_id: str) -> list[Doc]:
        return await self._call(_inspections, company_id)

    async def _add(self, wanted: Wanted, now: datetime) -> AddResult:
        return await self._call(_add, wanted, now)

    async def _insert(self, docs: list[Doc]) -> None:
        await self._call(_insert_all, docs)

    async def _record(self, company_id: str, update: SourceUpdate, inspections: list[Doc]) -> None:
        await self._call(_record, company_id, update, inspections)

    # --- reading

    async def get_companies(self, ids: Sequence[str]) -> dict[str, Doc]:
        return await self._call(_get_many, list(ids))

    # --- leases

    async def acquire_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool:
        return await self._call(_acquire, company_id, owner, ttl)

    async def renew_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool:
        return await self._call(_renew, company_id, owner, ttl)

    async def release_lease(self, company_id: str, owner: str) -> None:
        await self._call(_release, company_id, owner)

    async def leased_ids(self, exclude_owner: str | None = None) -> set[str]:
        return await self._call(_leased, exclude_owner)
