"""The status rule in code (the rule itself is written out in `fmcsa_tui.models`) and the
list row it decides, `CompanySummary`, built by `summarize` straight from the stored
dictionary, field by field: it runs 100,000 times on a load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fmcsa_tui.formatting import stored_text
from fmcsa_tui.models.values import (
    Source,
    Status,
    _bool_or_none,
    _id_text,
    _source_text,
    _text_or_none,
    parse_when,
    utcnow,
)

ERRORS_FIELD = "fmcsaData.syncStatus.errors"


class Unreadable(ValueError):
    """A status field that cannot be interpreted at all: the document is `unreadable`."""


_BSON_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "a boolean"),
    ((int, float), "a number"),
    (str, "a string"),
    ((list, tuple), "an array"),
    (datetime, "a date"),
)


def _kind(value: Any) -> str:
    """What a stored value is, in the words of MongoDB's types, for a problem line."""
    for types, words in _BSON_KINDS:
        if isinstance(value, types):
            return words
    name = type(value).__name__  # ObjectId, Decimal128, Binary…
    return f"{'an' if name[:1] in 'AEIOU' else 'a'} {name}"


def status_container(value: Any, path: str) -> dict[str, Any]:
    """`fmcsaData` or `syncStatus`: a document, ``{}`` when absent, else Unreadable."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise Unreadable(f"{path} is {_kind(value)}, not a document")


def error_rows(value: Any) -> list[dict[str, Any]]:
    """The error rows of an `errors` value, as the rule counts them (see the module).

    Every element of an array is a row: one that is not a document becomes an
    ``unknown`` row holding its text, so it is still shown and still counts.
    """
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [
            item if isinstance(item, dict) else {"source": "unknown", "error": stored_text(item)}
            for item in value
        ]
    raise Unreadable(f"{ERRORS_FIELD} is {_kind(value)}, not a list of error rows")


def status_of(last_run: datetime | None, success: bool | None, errors: int) -> Status:
    """The status rule for a readable document (see the module docstring), from its
    `lastRun` and `success` as read and its number of error rows."""
    if last_run is None:
        return "never"
    if errors or success is False:
        return "failed"
    return "ok"


@dataclass(slots=True, frozen=True)
class CompanySummary:
    """What a list row needs, small enough to hold 100,000 of them in memory.

    A slotted dataclass rather than a pydantic model: built from trusted store
    columns, it needs no validation, and a pydantic instance costs several times more.
    """

    id: str
    dot_number: str | None
    name: str | None
    mc_number: str | None
    status: Status
    last_run: datetime | None
    success: bool | None
    csa_scores_last_sync: datetime | None
    violations_last_sync: datetime | None
    inspections_last_sync: datetime | None
    error_sources: frozenset[str]
    error_count: int
    updated_at: datetime | None
    problem: str | None = None  # why the document could not be read, when status is unreadable

    def last_sync(self, source: Source) -> datetime | None:
        when: datetime | None = getattr(self, source.last_sync_attribute)
        return when

    @property
    def oldest_success(self) -> datetime | None:
        """The oldest last success of the three sources; None while one has never had one.

        Staleness is judged by it alone: some source has gone without success for longer
        than an age exactly when this is None or older than that age.
        """
        csa = self.csa_scores_last_sync
        violations = self.violations_last_sync
        inspections = self.inspections_last_sync
        if csa is None or violations is None or inspections is None:
            return None
        return min(csa, violations, inspections)

    def is_stale(self, max_age: timedelta, now: datetime | None = None) -> bool:
        """True when some source has had no success for longer than `max_age`."""
        oldest = self.oldest_success
        return oldest is None or oldest < (now or utcnow()) - max_age


def summarize(doc: dict[str, Any]) -> CompanySummary:
    """The list row of a raw document, by the status rule; an unreadable one says why.

    Reads only the fields a row shows, straight from the dict: it runs 100,000 times
    per listing, and validating whole documents would cost several times more.
    """
    try:
        fmcsa_data = status_container(doc.get("fmcsaData"), "fmcsaData")
        sync = status_container(fmcsa_data.get("syncStatus"), "fmcsaData.syncStatus")
        rows = error_rows(sync.get("errors"))
    except Unreadable as problem:
        return _unreadable(doc, str(problem))
    last_run = parse_when(sync.get("lastRun"))
    success = _bool_or_none(sync.get("success"))
    return CompanySummary(
        id=_id_text(doc.get("_id")) or "?",
        dot_number=_text_or_none(doc.get("dotNumber")),
        name=_text_or_none(doc.get("name")),
        mc_number=_text_or_none(doc.get("mcNumber")),
        status=status_of(last_run, success, len(rows)),
        last_run=last_run,
        success=success,
        csa_scores_last_sync=parse_when(sync.get("csaScoresLastSync")),
        violations_last_sync=parse_when(sync.get("violationsLastSync")),
        inspections_last_sync=parse_when(sync.get("inspectionsLastSync")),
        error_sources=frozenset(_source_text(row.get("source")) for row in rows),
        error_count=len(rows),
        updated_at=parse_when(doc.get("updatedAt")),
    )


def _unreadable(doc: dict[str, Any], problem: str) -> CompanySummary:
    """An unreadable document's row: its display fields, and no status fields at all."""
    return CompanySummary(
        id=_id_text(doc.get("_id")) or "?",
        dot_number=_text_or_none(doc.get("dotNumber")),
        name=_text_or_none(doc.get("name")),
        mc_number=_text_or_none(doc.get("mcNumber")),
        status="unreadable",
        last_run=None,
        success=None,
        csa_scores_last_sync=None,
        violations_last_sync=None,
        inspections_last_sync=None,
        error_sources=frozenset(),
        error_count=0,
        updated_at=parse_when(doc.get("updatedAt")),
        problem=problem,
    )
