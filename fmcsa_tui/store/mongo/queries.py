"""What MongoDB is asked when reading: filters as narrowing queries, and list rows.

A listing's query only narrows what comes over the wire; `Condition.holds` (the filter
rule, `fmcsa_tui.store.listing`) decides every row after `models.summarize`. So each
query here must be a superset of what its condition holds for: on messy documents (a
text where a date belongs, an array, a number for a DOT) it errs on the side of sending
a document. Rows come from a light projection, except for documents it would misjudge
(`SUSPECT`), which are read whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import bson
from bson import ObjectId
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.raw_bson import RawBSONDocument

from fmcsa_tui.models import CompanySummary, Source, summarize
from fmcsa_tui.store.listing import Condition, all_hold, first_rows, in_dot_order
from fmcsa_tui.store.updates import ERRORS_PATH, SYNC_STATUS

__all__ = [
    "ERROR_SOURCE",
    "LAST_RUN",
    "SUMMARY_FIELDS",
    "dot_text",
    "dot_values",
    "id_values",
    "light_and_whole",
    "narrowing_query",
    "row_of",
    "rows",
]

Doc = dict[str, Any]

LAST_RUN: Final = f"{SYNC_STATUS}.lastRun"
ERROR_SOURCE: Final = f"{ERRORS_PATH}.source"
_SUCCESS: Final = f"{SYNC_STATUS}.success"
_LAST_SYNCS: Final = tuple(f"{SYNC_STATUS}.{source.last_sync_field}" for source in Source)
#: Every character `str.strip()` removes, as literal characters (the same in PCRE and re).
_SPACE_CLASS: Final = (
    "[\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
_NON_ASCII: Final = "[^\\x00-\\x7f]"
_INT64: Final = 2**63

#: What a list row needs; everything heavy (inspections, smsBasics…) stays on the server.
SUMMARY_FIELDS: Final = {
    "name": 1,
    "dotNumber": 1,
    "mcNumber": 1,
    f"{SYNC_STATUS}": 1,
    "updatedAt": 1,
}
#: Listings decode off the event loop, tolerating undecodable text and far-off dates.
_LIST_CODEC: Final[CodecOptions[Doc]] = CodecOptions(
    tz_aware=True,
    tzinfo=UTC,
    unicode_decode_error_handler="replace",
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
)

#: Documents the light projection would misjudge, read whole: a `fmcsaData` that is not
#: a document (projecting ``fmcsaData.syncStatus`` through a string or a number drops it,
#: which would list the company as `never`; through an array it keeps only the array's
#: documents). Every other status field is inside the projection, and nothing outside
#: it can make a document unreadable (see the status rule in `fmcsa_tui.models`), so
#: these list exactly as in the embedded store. Listings split every query into these
#: and the rest, so no document is read twice.
_SUSPECT_CLAUSES: Final = (
    {"fmcsaData": {"$exists": True, "$ne": None, "$not": {"$type": "object"}}},
    {"fmcsaData": {"$type": "array"}},
)
_SUSPECT: Final = {"$or": list(_SUSPECT_CLAUSES)}
_NOT_SUSPECT: Final = {"$nor": list(_SUSPECT_CLAUSES)}


def light_and_whole(query: Doc) -> tuple[Doc, Doc]:
    """`query` split into the documents read through `SUMMARY_FIELDS` and those read
    whole (the suspects)."""
    if not query:
        return _NOT_SUSPECT, _SUSPECT
    return {"$and": [query, _NOT_SUSPECT]}, {"$and": [query, _SUSPECT]}


def rows(
    light: list[RawBSONDocument],
    whole: list[RawBSONDocument],
    conditions: Sequence[Condition],
    limit: int | None,
) -> list[CompanySummary]:
    """Summaries of the light documents and of the whole ones that the conditions
    hold for, in DOT order."""
    found = [
        summary
        for summary in map(summarize, map(_decode, [*light, *whole]))
        if all_hold(conditions, summary)
    ]
    return first_rows(in_dot_order(found), limit)


def row_of(raw: RawBSONDocument) -> CompanySummary:
    """One (projected) document's list row, decoded as listings decode it."""
    return summarize(_decode(raw))


def _decode(raw: RawBSONDocument) -> Doc:
    return bson.decode(raw.raw, codec_options=_LIST_CODEC)


# --- references -----------------------------------------------------------------------


def id_values(text: str) -> list[Any]:
    """An `_id` as text: the ObjectId it spells, if it spells one, and the text itself."""
    values: list[Any] = [text]
    if len(text) == 24 and ObjectId.is_valid(text):
        values.insert(0, ObjectId(text))
    return values


def dot_values(dots: Iterable[str]) -> list[Any]:
    """DOT numbers as stored: text, or a number (which also matches a double)."""
    values: list[Any] = []
    for dot in dots:
        values.append(dot)
        if dot.isascii() and dot.isdigit() and len(dot) <= 18:
            values.append(int(dot))
    return values


def dot_text(value: Any) -> str | None:
    """A stored dotNumber as the text it lists as (a number becomes its digits)."""
    return summarize({"dotNumber": value}).dot_number


# --- the filter rule's conditions as queries ------------------------------------------


def narrowing_query(conditions: Sequence[Condition]) -> Doc:
    """The conditions as a query that narrows without ever dropping a match."""
    clauses = [clause for clause in map(_narrowing, conditions) if clause is not None]
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _narrowing(condition: Condition) -> Doc | None:
    """A query for a superset of the documents the condition holds for, or None when
    nothing narrows it (`Condition.holds` decides every row in the end)."""
    value = condition.value
    match (condition.fact, condition.test):
        case ("search", "has_text"):
            return _text_clause(value)
        case ("status", "is") if value in _STATUS_CLAUSES:
            return _STATUS_CLAUSES[value]()
        case ("error_sources", "has"):
            return _source_clause(value)
        case ("oldest_success", "missing_or_before"):
            return _stale_clause(value)
        case ("last_run", "missing_or_before"):
            return _due_clause(value)
        case ("updated_at", "at_or_after"):
            return _changed_clause(value)
    return None


def _text_clause(text: str) -> Doc | None:
    """A superset of the companies whose DOT, name or MC casefolds to contain `text`.

    For an ASCII needle: a case-insensitive regex, plus every document where one of the
    three fields is not a string or holds a non-ASCII character (ß casefolds to ss, and
    a regex cannot know that). Other needles are left to Python alone.
    """
    needle = text.casefold()
    if not needle.isascii():
        return None
    pattern = {"$regex": re.escape(needle), "$options": "i"}
    clauses: list[Doc] = []
    for field in ("dotNumber", "name", "mcNumber"):
        clauses += [
            {field: pattern},
            {field: {"$regex": _NON_ASCII}},
            {field: {"$exists": True, "$not": {"$type": "string"}}},
        ]
    return {"$or": clauses}


def _failed_clause() -> Doc:
    """A superset of `failed`: a lastRun, and errors or a success that is not true."""
    return {
        LAST_RUN: {"$ne": None},
        "$or": [
            {_SUCCESS: {"$ne": True}},
            {f"{ERRORS_PATH}.0": {"$exists": True}},
            {ERRORS_PATH: {"$type": "object"}},
        ],
    }


def _source_clause(source: str) -> Doc | None:
    """A superset of the companies with an error row of `source` (after stripping)."""
    if source == "unknown":  # also rows without a source, or not documents at all
        return None
    values: list[Any] = [source]
    try:
        number = float(source)
    except ValueError:
        pass
    else:  # a source stored as a number; BSON has no integer beyond 64 bits
        whole = number.is_integer() and abs(number) < _INT64
        values.append(int(number) if whole else number)
    padded = f"^{_SPACE_CLASS}|{_SPACE_CLASS}$"
    return {"$or": [{ERROR_SOURCE: {"$in": values}}, {ERROR_SOURCE: {"$regex": padded}}]}


#: Documents without a syncStatus document (null, missing or another type): no lastRun
#: and no success dates. MongoDB's path queries find them too ("not a date" holds for a
#: path through a null), but not every implementation looks through a null (the test
#: server's mongomock does not), so the `never` and stale queries name them outright.
_NO_SYNC_STATUS: Final = (
    {"fmcsaData": {"$not": {"$type": "object"}}},
    {SYNC_STATUS: {"$not": {"$type": "object"}}},
)


def _no_date(path: str) -> list[Doc]:
    """A superset of the documents whose `path` reads as no date: not a date, or an array
    (which `$type` looks inside: ``[date]`` has the type date, yet is no date)."""
    return [{path: {"$not": {"$type": "date"}}}, {path: {"$type": "array"}}]


def _never_clause() -> Doc:
    return {"$or": [*_no_date(LAST_RUN), *_NO_SYNC_STATUS]}


def _ok_clause() -> Doc:
    return {LAST_RUN: {"$ne": None}, f"{ERRORS_PATH}.0": {"$exists": False}}


def _stale_clause(cutoff: datetime) -> Doc:
    """A superset of the documents with a source whose last success is none or older."""
    dated = [
        clause for path in _LAST_SYNCS for clause in (*_no_date(path), {path: {"$lt": cutoff}})
    ]
    return {"$or": [*dated, *_NO_SYNC_STATUS]}


def _due_clause(cutoff: datetime) -> Doc:
    """A superset of the documents whose lastRun is none or older than `cutoff`."""
    return {"$or": [*_no_date(LAST_RUN), {LAST_RUN: {"$lt": cutoff}}, *_NO_SYNC_STATUS]}


def _changed_clause(since: datetime) -> Doc:
    """A superset of the documents written at or after `since` (text dates included)."""
    return {
        "$or": [
            {"updatedAt": {"$gte": since}},
            {"updatedAt": {"$exists": True, "$ne": None, "$not": {"$type": "date"}}},
        ]
    }


_STATUS_CLAUSES: Final[dict[str, Callable[[], Doc]]] = {
    "never": _never_clause,
    "ok": _ok_clause,
    "failed": _failed_clause,
}
