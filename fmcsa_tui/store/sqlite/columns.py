"""How a company is kept in a row, and read back as a list row.

The row holds the raw document as Relaxed Extended JSON (ObjectIds, dates and unknown
fields survive) and the columns `models.summarize` derives from it, so listings never
parse a document: `row_values` writes them, `summary_of_row` reads a list row back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, cast

from bson import json_util
from bson.json_util import RELAXED_JSON_OPTIONS, JSONOptions

from fmcsa_tui.models import CompanySummary, summarize
from fmcsa_tui.store.base import StoreError
from fmcsa_tui.store.listing import search_text
from fmcsa_tui.store.updates import as_utc

__all__ = [
    "INSERT_COMPANY",
    "RESUMMARIZE",
    "SUMMARY_COLUMNS",
    "UPDATE_COMPANY",
    "as_stored",
    "decode",
    "derived_values",
    "encode",
    "iso",
    "row_values",
    "summary_of_row",
]

_READ_OPTIONS: Final = JSONOptions(tz_aware=True, tzinfo=UTC)

SUMMARY_COLUMNS = (
    "id, dot, name, mc, status, last_run, success, csa_last_sync, viol_last_sync,"
    " insp_last_sync, error_sources, error_count, updated_at, problem"
)
ROW_COLUMNS = (
    "id, dot, name, mc, search, status, last_run, success, csa_last_sync, viol_last_sync,"
    " insp_last_sync, error_sources, error_count, updated_at, problem, doc"
)
INSERT_COMPANY = f"INSERT INTO companies ({ROW_COLUMNS}) VALUES ({', '.join('?' * 16)})"
DERIVED_SET = (
    "id = ?, dot = ?, name = ?, mc = ?, search = ?, status = ?,"
    " last_run = ?, success = ?, csa_last_sync = ?, viol_last_sync = ?, insp_last_sync = ?,"
    " error_sources = ?, error_count = ?, updated_at = ?, problem = ?"
)
UPDATE_COMPANY = f"UPDATE companies SET {DERIVED_SET}, doc = ? WHERE id = ?"
RESUMMARIZE = f"UPDATE companies SET {DERIVED_SET} WHERE rowid = ?"


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
    """The stored text and its derived columns, in `ROW_COLUMNS` order."""
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
        _sources(sources),
        count,
        updated and parse(updated),
        problem,
    )
