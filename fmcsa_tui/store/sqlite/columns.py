"""How a company is kept in a row, and read back as a list row.

The row holds the raw document as BSON (ObjectIds, dates, 64-bit ints and unknown
fields survive exactly, as in MongoDB; pymongo's C codec is about ten times cheaper than
Extended JSON) and the columns `models.summarize` derives from it, so listings never
parse a document: `row_values` writes them, `summary_of_row` reads a list row back.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any, Final

import bson
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.errors import InvalidDocument

from fmcsa_tui.models import CompanySummary, summarize
from fmcsa_tui.store.base import StoreError
from fmcsa_tui.store.listing import (
    STATUSES,
    list_row,
    micros,
    search_text,
    sources_of,
    sources_text,
)
from fmcsa_tui.store.updates import as_utc

__all__ = [
    "INSERT_COMPANY",
    "KEPT_DOT",
    "KEPT_MC",
    "KEPT_NAME",
    "LIST_COLUMNS",
    "LIST_RECORD",
    "LIST_ROW_COLUMNS",
    "RESUMMARIZE",
    "SUMMARY_COLUMNS",
    "TIME_COLUMNS",
    "UPDATE_COMPANY",
    "decode",
    "derived_values",
    "encode",
    "iso",
    "kept_sql",
    "list_values",
    "row_values",
    "summary_of_row",
]

#: As the MongoDB store reads: aware UTC dates, far-off dates kept rather than refused.
_READ_OPTIONS: Final[CodecOptions[dict[str, Any]]] = CodecOptions(
    tz_aware=True, tzinfo=UTC, datetime_conversion=DatetimeConversion.DATETIME_AUTO
)

SUMMARY_COLUMNS = (
    "id, dot, name, mc, status, last_run, success, csa_last_sync, viol_last_sync,"
    " insp_last_sync, error_sources, error_count, updated_at, problem"
)
#: The times again as integers (`listing.micros`), which the list scan reads (schema 4).
TIME_COLUMNS: Final = ("last_run_us", "csa_us", "viol_us", "insp_us", "updated_us")
#: What the list scan reads besides the texts (schema 5), from `listing.list_row`:
#: `list_kept`, which display fields the list keeps (`KEPT_*` bits: `kept_text` is not
#: None), and `list_hex`, the row's numbers as one fixed-width hex text (`LIST_RECORD`),
#: which the scan concatenates and decodes without a call per row or per number.
LIST_COLUMNS: Final = ("list_kept", "list_hex")
KEPT_DOT: Final = 1
KEPT_NAME: Final = 2
KEPT_MC: Final = 4
#: Big-endian: last run, CSA, violations, inspections, updated at, the oldest success
#: (the min of the three, `micros`), error count, two zero bytes, success (0, 1, 2 for
#: none), status (`listing.STATUSES` code): seven 8-byte fields.
LIST_RECORD: Final = struct.Struct(">6qi2xBB")
_DERIVED = (
    "id, dot, name, mc, search, status, last_run, success, csa_last_sync, viol_last_sync,"
    " insp_last_sync, error_sources, error_count, updated_at, problem,"
    f" {', '.join(TIME_COLUMNS)}, {', '.join(LIST_COLUMNS)}"
)
ROW_COLUMNS = f"{_DERIVED}, doc"
INSERT_COMPANY = (
    f"INSERT INTO companies ({ROW_COLUMNS}) VALUES ({', '.join('?' * (_DERIVED.count(',') + 2))})"
)
DERIVED_SET = ", ".join(f"{column.strip()} = ?" for column in _DERIVED.split(","))


def kept_sql(column: str) -> str:
    """`listing.kept_text` in SQL, for ASCII text (SQLite's upper() knows no other): the
    column, or NULL when it is upper case ASCII without a separator. Other text is
    kept, which `shown_fields` reads back just as well."""
    return (
        f"CASE WHEN {column} != '' AND {column} = upper({column})"
        f" AND NOT {column} GLOB '*[^ -~]*' THEN NULL ELSE {column} END"
    )


#: A `listing.ListRow` straight from the columns: no document decoded, no object made.
LIST_ROW_COLUMNS: Final = (
    f"id, search, CASE WHEN list_kept & {KEPT_DOT} THEN dot END,"
    f" CASE WHEN list_kept & {KEPT_NAME} THEN name END,"
    f" CASE WHEN list_kept & {KEPT_MC} THEN mc END, status,"
    " ifnull(success, 2), last_run_us, csa_us, viol_us, insp_us, error_sources, error_count,"
    " updated_us, problem"
)
UPDATE_COMPANY = f"UPDATE companies SET {DERIVED_SET}, doc = ? WHERE id = ?"
RESUMMARIZE = f"UPDATE companies SET {DERIVED_SET} WHERE rowid = ?"


def iso(moment: datetime | None) -> str | None:
    """Fixed-width UTC ISO text with microseconds, so string order is time order."""
    if moment is None:
        return None
    return as_utc(moment).isoformat(timespec="microseconds")


def encode(doc: dict[str, Any]) -> bytes:
    """BSON, as MongoDB would keep it: a document it would refuse is refused here too."""
    try:
        return bson.encode(doc)
    except (InvalidDocument, TypeError, ValueError, OverflowError) as error:
        raise StoreError(f"document cannot be stored: {error}") from error


def decode(data: bytes) -> dict[str, Any]:
    return bson.decode(data, codec_options=_READ_OPTIONS)


def row_values(doc: dict[str, Any]) -> tuple[Any, ...]:
    """The stored BSON and its derived columns, in `ROW_COLUMNS` order.

    The columns are derived from the document as it reads back (dates cut to
    milliseconds, tuples as arrays), so they always agree with it; decoding with the C
    codec is cheaper than copying the document by hand.
    """
    data = encode(doc)
    return (*derived_values(decode(data)), data)


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
        sources_text(summary.error_sources),
        summary.error_count,
        iso(summary.updated_at),
        summary.problem,
        micros(summary.last_run),
        micros(summary.csa_scores_last_sync),
        micros(summary.violations_last_sync),
        micros(summary.inspections_last_sync),
        micros(summary.updated_at),
        *list_values(summary),
    )


def list_values(summary: CompanySummary) -> tuple[int, str]:
    """`list_kept` and `list_hex`, from the summary's `list_row` (the one rule)."""
    (_, _, dot, name, mc, status, success, last_run, csa, viol, insp, _, count, updated, _) = (
        list_row(summary)
    )
    kept = (
        (dot is not None) * KEPT_DOT | (name is not None) * KEPT_NAME | (mc is not None) * KEPT_MC
    )
    oldest = min(csa, viol, insp)
    code = STATUSES.index(status)
    try:
        record = LIST_RECORD.pack(last_run, csa, viol, insp, updated, oldest, count, success, code)
    except struct.error:  # a count beyond 32 bits: the scan reads its batch row by row
        return kept, ""
    return kept, record.hex()


def summary_of_row(row: tuple[Any, ...]) -> CompanySummary:
    """A list row straight from the summary columns, in `SUMMARY_COLUMNS` order.

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
        sources_of(sources),
        count,
        updated and parse(updated),
        problem,
    )
