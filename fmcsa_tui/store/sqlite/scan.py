"""The list scan: every company as `ListColumns`, in the listing order, from the summary
columns, a batch at a time inside one read transaction (one snapshot of the file).

One statement per batch concatenates each column over the batch's rows
(`group_concat`), codes as digits and numbers as fixed-width hex: the whole aggregation
runs inside one `sqlite3_step`, which holds no GIL (the dashboard's thread runs
meanwhile), and Python splits the texts and decodes the numbers in C, with no tuple or
call per row. A value holding the separator (another program's, a hostile name) splits
into more parts than the batch has rows: that batch is read again row by row
(`LIST_ROW_COLUMNS`, the rule this one must agree with). Batches start small (the first
screen) and double (`listing.scan_batches`): few statements, and OFFSET, which walks the
index over the rows before, stays cheap (keyset paging by the DOT order's row value does
not use the index).
"""

from __future__ import annotations

import sqlite3
import sys
from array import array
from collections.abc import Callable
from itertools import compress, repeat
from operator import eq
from typing import Final

from fmcsa_tui.store.listing import (
    DOT_ORDER_SQL,
    STATUSES,
    ListColumns,
    columns_of,
    scan_batches,
)
from fmcsa_tui.store.sqlite.columns import LIST_ROW_COLUMNS, kept_sql

__all__ = ["scan_list_columns"]

#: Between the values of a text column (a value holding it: that batch row by row).
_SEP: Final = "\x1e"
_SEP_SQL: Final = "char(30)"
_TIMES: Final = ("last_run_us", "csa_us", "viol_us", "insp_us", "updated_us")

_ROWS: Final = (
    f"SELECT id, search, {kept_sql('dot')} AS kdot, {kept_sql('name')} AS kname,"
    f" {kept_sql('mc')} AS kmc, status, ifnull(success, 2) AS success, {', '.join(_TIMES)},"
    f" error_sources, error_count, problem FROM companies ORDER BY {DOT_ORDER_SQL}"
    " LIMIT ? OFFSET ?"
)
_STATUS_DIGIT: Final = " ".join(f"WHEN '{s}' THEN {code}" for code, s in enumerate(STATUSES))
_COLUMNS: Final = f"""SELECT count(*),
    group_concat(id, {_SEP_SQL}), group_concat(search, {_SEP_SQL}),
    group_concat(kdot IS NULL, ''), group_concat(kdot, {_SEP_SQL}),
    group_concat(kname IS NULL, ''), group_concat(kname, {_SEP_SQL}),
    group_concat(kmc IS NULL, ''), group_concat(kmc, {_SEP_SQL}),
    group_concat(CASE status {_STATUS_DIGIT} ELSE 'x' END, ''), group_concat(success, ''),
    {", ".join(f"group_concat(printf('%016x', {column}), '')" for column in _TIMES)},
    group_concat(printf('%016x', min(csa_us, viol_us, insp_us)), ''),
    group_concat(error_sources, {_SEP_SQL}),
    group_concat(CASE WHEN error_count BETWEEN 0 AND 2147483647
        THEN printf('%08x', error_count) ELSE 'x' END, ''),
    group_concat(problem IS NULL, ''), group_concat(problem, {_SEP_SQL})
    FROM ({_ROWS})"""
_ROW_BY_ROW: Final = (
    f"SELECT {LIST_ROW_COLUMNS} FROM companies ORDER BY {DOT_ORDER_SQL} LIMIT ? OFFSET ?"
)
_DIGITS: Final = bytes.maketrans(b"0123456789", bytes(range(10)))


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
    (ids, search, dot_nulls, dots, name_nulls, names, mc_nulls, mcs, statuses, success,
     last_run, csa, viol, insp, updated, oldest, sources, counts, problem_nulls,
     problems) = values  # fmt: skip
    parts = (
        _texts(ids, n),
        _texts(search, n),
        _nullable(dot_nulls, dots, n),
        _nullable(name_nulls, names, n),
        _nullable(mc_nulls, mcs, n),
        _codes(statuses, n, len(STATUSES)),
        _codes(success, n, 3),
        *(_numbers(text, n, "q") for text in (last_run, csa, viol, insp, updated, oldest)),
        _texts(sources, n),
        _numbers(counts, n, "i"),
        _nullable(problem_nulls, problems, n),
    )
    if any(part is None for part in parts):
        return None
    return ListColumns(*parts)  # type: ignore[arg-type]


def _texts(text: str | None, n: int) -> list[str] | None:
    parts = None if text is None else text.split(_SEP)
    return parts if parts is not None and len(parts) == n else None


def _nullable(nulls: str | None, text: str | None, n: int) -> list[str | None] | None:
    """A column that may hold NULL: `nulls` says which rows do ("1"), `text` holds the
    others' values (group_concat leaves NULLs out)."""
    if nulls is None or len(nulls) != n:
        return None
    present = nulls.count("0")
    if not present:
        return [None] * n if text is None else None
    values = _texts(text, present)
    if values is None or present == n:
        return values  # type: ignore[return-value]
    where = compress(range(n), map(eq, nulls, repeat("0")))
    return list(map(dict(zip(where, values, strict=True)).get, range(n)))


def _codes(digits: str | None, n: int, below: int) -> bytes | None:
    if digits is None or len(digits) != n:
        return None
    codes = digits.encode("ascii", "replace").translate(_DIGITS)
    return codes if max(codes) < below else None


def _numbers(hexes: str | None, n: int, typecode: str) -> array[int] | None:
    """Fixed-width big-endian hex (SQLite's printf %x: two's complement) as an array."""
    numbers = array(typecode)
    if hexes is None or len(hexes) != 2 * numbers.itemsize * n:
        return None
    try:
        numbers.frombytes(bytes.fromhex(hexes))
    except ValueError:
        return None
    if sys.byteorder == "little":
        numbers.byteswap()
    return numbers
