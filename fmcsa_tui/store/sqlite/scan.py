"""The list scan: every company as `ListColumns`, in the listing order, from the summary
columns, a batch at a time inside one read transaction (one snapshot of the file).

One statement per batch concatenates each column over the batch's rows
(`group_concat`): the texts, which display fields the list keeps (`list_kept`) and the
numbers as one fixed-width hex record per row (`list_hex`, `columns.LIST_RECORD`), all
written with the row. The whole aggregation runs inside one `sqlite3_step`, which holds
no GIL (the dashboard's thread runs meanwhile), and Python splits the texts and decodes
the records in C, with no tuple or call per row. A value holding the separator (another
program's, a hostile name) splits into more parts than the batch has rows, and an odd
record has another length: that batch is read again row by row (`LIST_ROW_COLUMNS`,
the same rule). Batches start small (the first screen) and double
(`listing.scan_batches`): few statements, and OFFSET, which walks the index over the
rows before, stays cheap (keyset paging by the DOT order's row value does not use the
index). 300,000 rows: 0.62-0.71 s of SQLite against 1.3 s computing the same per row.
"""

from __future__ import annotations

import sqlite3
import sys
from array import array
from collections.abc import Callable
from itertools import compress, repeat
from operator import and_, not_
from typing import Any, Final

from fmcsa_tui.store.listing import DOT_ORDER_SQL, STATUSES, ListColumns, columns_of, scan_batches
from fmcsa_tui.store.sqlite.columns import (
    KEPT_DOT,
    KEPT_MC,
    KEPT_NAME,
    LIST_RECORD,
    LIST_ROW_COLUMNS,
)

__all__ = ["scan_list_columns"]

#: Between the values of a text column (a value holding it: that batch row by row).
_SEP: Final = "\x1e"
_SEP_SQL: Final = "char(30)"
_COLUMNS: Final = f"""SELECT count(*),
    group_concat(id, {_SEP_SQL}), group_concat(search, {_SEP_SQL}), group_concat(list_kept, ''),
    group_concat(CASE WHEN list_kept & {KEPT_DOT} THEN dot END, {_SEP_SQL}),
    group_concat(CASE WHEN list_kept & {KEPT_NAME} THEN name END, {_SEP_SQL}),
    group_concat(CASE WHEN list_kept & {KEPT_MC} THEN mc END, {_SEP_SQL}),
    group_concat(list_hex, ''), group_concat(error_sources, {_SEP_SQL}),
    group_concat(problem IS NULL, ''), group_concat(problem, {_SEP_SQL})
    FROM (SELECT id, search, list_kept, dot, name, mc, list_hex, error_sources, problem
        FROM companies ORDER BY {DOT_ORDER_SQL} LIMIT ? OFFSET ?)"""
_ROW_BY_ROW: Final = (
    f"SELECT {LIST_ROW_COLUMNS} FROM companies ORDER BY {DOT_ORDER_SQL} LIMIT ? OFFSET ?"
)
_DIGITS: Final = bytes.maketrans(b"0123456789", bytes(range(10)))
_KEPT_ANY: Final = KEPT_DOT | KEPT_NAME | KEPT_MC
_FIELDS: Final = 7  # 8-byte fields of a record: six times, then count, success, status
_RECORD: Final = LIST_RECORD.size


def scan_list_columns(
    conn: sqlite3.Connection, first: int, deliver: Callable[[ListColumns], bool]
) -> None:
    """Every company, handed to `deliver` a batch at a time (`scan_batches(first)` rows)
    until it returns False; all in one read transaction."""
    conn.execute("BEGIN")  # deferred: the snapshot is taken by the first read
    try:
        offset = 0
        for size in scan_batches(first):
            columns = _batch(conn, size, offset)
            if len(columns) and not deliver(columns):
                return
            if len(columns) < size:
                return
            offset += size
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")  # it only read


def _batch(conn: sqlite3.Connection, size: int, offset: int) -> ListColumns:
    count, *values = conn.execute(_COLUMNS, (size, offset)).fetchone()
    if not count:
        return columns_of([])
    columns = _decoded(count, values)
    if columns is None:  # some value holds the separator: this batch row by row
        return columns_of(conn.execute(_ROW_BY_ROW, (size, offset)).fetchall())
    return columns


def _decoded(n: int, values: list[str | None]) -> ListColumns | None:
    """The batch's columns from the aggregates, or None when one does not split into `n`
    values (a value holding the separator, or another program's odd value)."""
    ids, search, kept, dots, names, mcs, records, sources, problem_nulls, problems = values
    flags = _codes(kept, n, _KEPT_ANY + 1)
    nulls = _codes(problem_nulls, n, 2)
    numbers = _records(records, n)
    if flags is None or nulls is None or numbers is None:
        return None
    ids_, search_, sources_ = _texts(ids, n), _texts(search, n), _texts(sources, n)
    dots_ = _kept(list(map(and_, flags, repeat(KEPT_DOT))), dots)
    names_ = _kept(list(map(and_, flags, repeat(KEPT_NAME))), names)
    mcs_ = _kept(list(map(and_, flags, repeat(KEPT_MC))), mcs)
    problems_ = _kept(list(map(not_, nulls)), problems)
    if (
        ids_ is None or search_ is None or sources_ is None or dots_ is None
        or names_ is None or mcs_ is None or problems_ is None
    ):  # fmt: skip
        return None
    statuses, success, counts, (last_run, csa, viol, insp, updated) = numbers
    return ListColumns(
        ids_, search_, dots_, names_, mcs_, statuses, success,
        last_run, csa, viol, insp, updated, sources_, counts, problems_,
    )  # fmt: skip


_Times = tuple["array[int]", "array[int]", "array[int]", "array[int]", "array[int]"]


def _records(text: str | None, n: int) -> tuple[bytes, bytes, array[int], _Times] | None:
    """Statuses, success codes, error counts and five time columns (the record's sixth,
    the oldest success, the list computes when a filter asks), from the records: each
    column a strided slice of the decoded bytes (in C)."""
    if text is None or len(text) != 2 * _RECORD * n:
        return None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return None
    statuses, success = raw[_RECORD - 1 :: _RECORD], raw[_RECORD - 2 :: _RECORD]
    if max(statuses) >= len(STATUSES) or max(success) > 2:
        return None
    counts = bytearray(4 * n)  # the first 4 bytes of the seventh field, in native order
    for byte in range(4):
        at = byte if sys.byteorder == "big" else 3 - byte
        counts[at::4] = raw[48 + byte :: _RECORD]
    times = array("q", raw)
    if sys.byteorder == "little":
        times.byteswap()
    last_run, csa, viol, insp, updated = (times[k::_FIELDS] for k in range(5))
    return statuses, success, array("i", counts), (last_run, csa, viol, insp, updated)


def _texts(text: str | None, n: int) -> list[str] | None:
    parts = None if text is None else text.split(_SEP)
    return parts if parts is not None and len(parts) == n else None


def _kept(has: list[Any], text: str | None) -> list[str | None] | None:
    """A column that may hold NULL, which group_concat leaves out: `text` holds the
    values of the rows that `has` (truthy) one."""
    n = len(has)
    present = n - has.count(0)  # False counts as 0
    if not present:
        return [None] * n if text is None else None
    values: list[str | None] | None = _texts(text, present)  # type: ignore[assignment]
    if values is None or present == n:
        return values
    return list(map(dict(zip(compress(range(n), has), values, strict=True)).get, range(n)))


def _codes(digits: str | None, n: int, below: int) -> bytes | None:
    if digits is None or len(digits) != n:
        return None
    codes = digits.encode("ascii", "replace").translate(_DIGITS)
    return codes if max(codes) < below else None
