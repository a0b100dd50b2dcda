"""The work done on the store's threads, one connection each: listing and reading on
the pool; inserting, recording a source's update, inspections and leases on the writer,
which runs each write inside its batch's transaction (see `writer`)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from bson import ObjectId

from fmcsa_tui.models import CompanySummary, parse_when, utcnow
from fmcsa_tui.store.base import AddResult, StoreError
from fmcsa_tui.store.flow import (
    Wanted,
    cannot_insert,
    dot_taken,
    id_taken,
    no_company,
    plan_additions,
)
from fmcsa_tui.store.listing import DOT_ORDER_SQL, Condition, all_hold, first_rows
from fmcsa_tui.store.sqlite.columns import (
    INSERT_COMPANY,
    SUMMARY_COLUMNS,
    UPDATE_COMPANY,
    decode,
    encode,
    iso,
    row_values,
    summary_of_row,
)
from fmcsa_tui.store.sqlite.where import where_clause
from fmcsa_tui.store.updates import SourceUpdate, apply_update, new_company_doc, report_number

Doc = dict[str, Any]

_BATCH: Final = 500  # values per query, under SQLite's bound-parameter limit
_UPSERT_INSPECTION = (
    "INSERT INTO fmcsainspections (company_id, report_number, doc, inspection_date, written)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (company_id, report_number)"
    " DO UPDATE SET doc = excluded.doc, inspection_date = excluded.inspection_date,"
    " written = excluded.written"
)
_ACQUIRE_LEASE = (
    "INSERT INTO leases (company_id, owner, expires_at) VALUES (?, ?, ?)"
    " ON CONFLICT (company_id) DO UPDATE SET owner = excluded.owner,"
    " expires_at = excluded.expires_at"
    " WHERE leases.owner = excluded.owner OR leases.expires_at <= ?"
)


def list_rows(
    conn: sqlite3.Connection, conditions: Sequence[Condition], limit: int | None
) -> list[CompanySummary]:
    where, params, exact = where_clause(conditions)
    sql = f"SELECT {SUMMARY_COLUMNS} FROM companies {where} ORDER BY {DOT_ORDER_SQL}"
    if limit is not None and exact:
        sql += f" LIMIT {int(limit)}"
    rows = [summary_of_row(row) for row in conn.execute(sql, params)]
    if exact:
        return rows
    return first_rows([row for row in rows if all_hold(conditions, row)], limit)


def count_companies(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM companies").fetchone()[0])


def get_company(conn: sqlite3.Connection, column: Literal["dot", "id"], ref: str) -> Doc | None:
    row = conn.execute(f"SELECT doc FROM companies WHERE {column} = ?", (ref,)).fetchone()
    return None if row is None else decode(row[0])


def get_many(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
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
        conn.execute(INSERT_COMPANY, values)
    except sqlite3.IntegrityError as error:
        raise _collision(error, values) from error


def _collision(error: sqlite3.IntegrityError, values: tuple[Any, ...]) -> StoreError:
    if "companies.dot" in str(error):
        return dot_taken(values[1])
    if "companies.id" in str(error):
        return id_taken(values[0])
    return cannot_insert(error)


def add_new(conn: sqlite3.Connection, wanted: Wanted, now: datetime) -> AddResult:
    """Look for the DOTs and insert the new companies in one transaction."""
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


def insert_all(conn: sqlite3.Connection, docs: list[Doc]) -> None:
    for doc in docs:
        _insert(conn, doc)


def record(
    conn: sqlite3.Connection, company_id: str, update: SourceUpdate, inspections: list[Doc]
) -> None:
    """Read, apply and write back the document, and its inspections, in one transaction."""
    row = conn.execute("SELECT doc FROM companies WHERE id = ?", (company_id,)).fetchone()
    if row is None:
        raise no_company(company_id)
    doc = decode(row[0])
    apply_update(doc, update)
    values = row_values(doc)
    try:
        conn.execute(UPDATE_COMPANY, (*values, company_id))
    except sqlite3.IntegrityError as error:
        raise _collision(error, values) from error
    if inspections:
        _upsert_inspections(conn, company_id, doc["_id"], inspections)


def _upsert_inspections(
    conn: sqlite3.Connection, company_id: str, company_oid: Any, inspections: list[Doc]
) -> None:
    """Upsert on (companyId, reportNumber) like a `$set` upsert: `_id` and extras stay.

    Each row keeps a digest of the fields its last upsert set (`written`); only this
    code writes the table, so an inspection whose fields have that digest would leave
    its row as it is, and a resync neither reads nor decodes it. One read of the
    company's digests replaces a read per inspection.
    """
    written = dict(
        conn.execute(
            "SELECT report_number, written FROM fmcsainspections WHERE company_id = ?",
            (company_id,),
        )
    )
    for inspection in inspections:
        number = report_number(inspection)
        fields = {key: value for key, value in inspection.items() if key != "_id"}
        fields["companyId"] = company_oid
        digest = hashlib.blake2b(encode(fields), digest_size=16).digest()
        if number not in written:
            doc: Doc = {"_id": ObjectId(), **fields}
        elif written[number] == digest:
            continue
        else:
            row = conn.execute(
                "SELECT doc FROM fmcsainspections WHERE company_id = ? AND report_number = ?",
                (company_id, number),
            ).fetchone()
            doc = decode(row[0])
            doc.update(fields)
        when = iso(parse_when(doc.get("inspectionDate")))
        conn.execute(_UPSERT_INSPECTION, (company_id, number, encode(doc), when, digest))
        written[number] = digest


def inspections(conn: sqlite3.Connection, company_id: str) -> list[Doc]:
    rows = conn.execute("SELECT doc FROM fmcsainspections WHERE company_id = ?", (company_id,))
    return [decode(text) for (text,) in rows]


def last_run(conn: sqlite3.Connection, company_id: str) -> datetime | None:
    """The summary column, parsed as a list row parses it (`summary_of_row`)."""
    row = conn.execute("SELECT last_run FROM companies WHERE id = ?", (company_id,)).fetchone()
    return datetime.fromisoformat(row[0]) if row is not None and row[0] else None


def acquire_lease(conn: sqlite3.Connection, company_id: str, owner: str, ttl: timedelta) -> bool:
    """One statement: insert, renew our own lease, or take over an expired one."""
    now = utcnow()
    cursor = conn.execute(_ACQUIRE_LEASE, (company_id, owner, iso(now + ttl), iso(now)))
    return cursor.rowcount > 0


def renew_lease(conn: sqlite3.Connection, company_id: str, owner: str, ttl: timedelta) -> bool:
    cursor = conn.execute(
        "UPDATE leases SET expires_at = ? WHERE company_id = ? AND owner = ?",
        (iso(utcnow() + ttl), company_id, owner),
    )
    return cursor.rowcount > 0


def release_lease(conn: sqlite3.Connection, company_id: str, owner: str) -> None:
    conn.execute("DELETE FROM leases WHERE company_id = ? AND owner = ?", (company_id, owner))


def leased(conn: sqlite3.Connection, exclude_owner: str | None) -> set[str]:
    rows = conn.execute(
        "SELECT company_id FROM leases WHERE expires_at > ? AND owner IS NOT ?",
        (iso(utcnow()), exclude_owner),
    )
    return {company_id for (company_id,) in rows}
