"""The backend's `companies` document, read tolerantly, and the one status rule.

The backend (Node/Mongoose) owns the document; other writers leave it messy. These
models are for *reading*: a document is read field by field, every field tolerates the
shapes seen in the wild, unknown fields are kept (``extra="allow"``), and nothing here
is ever written back whole. Writes are targeted updates built by the store from the
engine's results.

The status rule
---------------

Only the *status fields* decide a company's status: the containers ``fmcsaData`` and
``fmcsaData.syncStatus`` and, in the latter, ``lastRun``, ``success``, ``errors`` and
the three ``*LastSync``. Each is read on its own; a field that is missing or null is
absent (a null sub-document reads as an absent one, never as an error).

1. ``unreadable`` when a status field cannot be interpreted at all, so no honest status
   exists: ``fmcsaData`` or ``fmcsaData.syncStatus`` is present, not null and not a
   document (a string, number, boolean, array, date, ObjectId…), or ``errors`` is
   present, not null and neither an array nor a document.
2. else ``never`` when ``lastRun`` is not a readable date (see `parse_when`: a BSON date,
   an ISO 8601 string, an int, long or double as a JavaScript epoch; anything else,
   or a moment outside what a UTC datetime holds, is no date).
3. else ``failed`` when there is an error row, or ``success`` reads as false.
4. else ``ok``.

*Error rows* are the elements of an ``errors`` array, whatever each holds (a row of an
unknown source or shape still records a failure), or one document stored in place of
the array. ``success`` *reads as false* when it is ``false``, an int, long or double
equal to 0, or the text false/no/n/0 (any case, surrounding spaces ignored); anything
else (true, a Decimal128, other text, a document…), missing included, is not false.
A ``*LastSync`` that is not a readable date means "no success yet" for staleness; it
never changes the status.

Nothing else ever makes a company unreadable or changes its status: ``name``,
``dotNumber``, ``mcNumber`` of any type, ``smsBasics`` and every BASIC and measure in
it, ``fmcsaData.inspections``, ``lastViolationSync``, ``createdAt``, ``updatedAt`` and
unknown fields are display fields, shown as stored. `status_of` is the rule in code;
`summarize` and `SyncStatus.status` both apply it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

from fmcsa_tui.formatting import stored_text

__all__ = [
    "BASIC_FIELDS",
    "Company",
    "CompanySummary",
    "FmcsaData",
    "SmsBasics",
    "Source",
    "Status",
    "SyncError",
    "SyncStatus",
    "Unreadable",
    "parse_dot",
    "parse_when",
    "status_of",
    "summarize",
    "utcnow",
]


class Source(StrEnum):
    """The three FMCSA sources this engine runs, as the backend names them."""

    CSA_SCORES = "csa_scores"
    VIOLATIONS = "violations"
    INSPECTIONS = "inspections"

    @property
    def last_sync_field(self) -> str:
        """The `fmcsaData.syncStatus` field that records this source's last success."""
        return _LAST_SYNC_FIELD[self]

    @property
    def label(self) -> str:
        return _LABEL[self]


_LAST_SYNC_FIELD = {
    Source.CSA_SCORES: "csaScoresLastSync",
    Source.VIOLATIONS: "violationsLastSync",
    Source.INSPECTIONS: "inspectionsLastSync",
}
_LABEL = {
    Source.CSA_SCORES: "CSA scores",
    Source.VIOLATIONS: "violations",
    Source.INSPECTIONS: "inspections",
}

Status = Literal["never", "ok", "failed", "unreadable"]

#: The six BASIC categories of `smsBasics`, in display order.
BASIC_FIELDS = (
    "unsafeDriving",
    "hoursOfService",
    "driverFitness",
    "controlledSubstances",
    "vehicleMaintenance",
    "crashIndicator",
)


def utcnow() -> datetime:
    """Now, in UTC, at the millisecond precision a BSON date keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


#: A DOT number as FMCSA issues it: ASCII digits only (``\\d`` would also take ``١٢٣٤٥``
#: and full-width digits), at most 8 of them.
_DOT_DIGITS = re.compile(r"[0-9]{1,8}")
#: The backend's schema for a new company: ``^\\d{5,8}$`` in JavaScript, which is ASCII.
NEW_DOT_LENGTHS = range(5, 9)


def parse_dot(text: str | None, *, new: bool = False) -> str | None:
    """The one DOT rule: `text` as a DOT number, or None when it is not one.

    Surrounding spaces and a ``USDOT`` prefix are dropped. ``new=True`` applies the
    backend's rule for companies it creates (5-8 digits); otherwise any number FMCSA
    issues (1-8 digits) passes, as older documents hold short ones.
    """
    if text is None:
        return None
    candidate = text.strip()
    if candidate[:5].upper() == "USDOT":
        candidate = candidate[5:].strip()
    if not _DOT_DIGITS.fullmatch(candidate):
        return None
    if new and len(candidate) not in NEW_DOT_LENGTHS:
        return None
    return candidate


_EPOCH_MS_FLOOR = 10_000_000_000  # numbers above this are milliseconds, as JS writes them
_SPACE_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d)")


def parse_when(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from whatever a real document holds, or None.

    Accepts datetimes (naive ones are UTC, as BSON dates are), ISO 8601 strings
    (``Z``, offsets, date-only, a space instead of ``T``), ints, longs and doubles as
    JavaScript epochs (milliseconds from 10^10 up, else seconds; never booleans) and
    Extended JSON ``{"$date": ...}``.
    Anything else, and a date outside what a datetime holds in UTC, reads as "no date".
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _in_utc(value)
    if isinstance(value, dict) and "$date" in value:
        inner = value["$date"]
        if isinstance(inner, dict) and "$numberLong" in inner:
            try:
                inner = int(inner["$numberLong"])
            except (TypeError, ValueError):
                return None
        return parse_when(inner)
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _EPOCH_MS_FLOOR else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        text = _SPACE_DATETIME.sub(r"\1T\2", text)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return _in_utc(parsed)
    return None


def _in_utc(moment: datetime) -> datetime | None:
    """Naive is UTC; an offset near year 1 or 9999 can fall outside datetime's range."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def _text_or_none(value: Any) -> str | None:
    """Strings stay, numbers become their digits, empty and structured values are None."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _id_text(value: Any) -> str | None:
    """ObjectId, Extended JSON ``{"$oid": ...}`` or plain value, as its string form."""
    if isinstance(value, dict) and "$oid" in value:
        return str(value["$oid"])
    return None if value is None else str(value)


_TRUE_TEXT = frozenset({"true", "yes", "y", "1"})
_FALSE_TEXT = frozenset({"false", "no", "n", "0"})


def _bool_or_none(value: Any) -> bool | None:
    """`success` as the rule reads it: booleans, ints, longs and doubles (0 is false) and
    yes/no text; anything else (a Decimal128 included) is neither true nor false."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE_TEXT:
            return True
        if lowered in _FALSE_TEXT:
            return False
        return None
    if isinstance(value, int | float):
        return bool(value)
    return None


def _source_text(value: Any) -> str:
    """An error row's source as text; a row without a usable one is ``unknown``."""
    return _text_or_none(value) or "unknown"


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


When = Annotated[datetime | None, BeforeValidator(parse_when)]
Text = Annotated[str | None, BeforeValidator(_text_or_none)]
MaybeBool = Annotated[bool | None, BeforeValidator(_bool_or_none)]
DocId = Annotated[str | None, BeforeValidator(_id_text)]


def _display_document(value: Any) -> Any:
    """A display sub-document: one that is not a document reads as absent here (the
    raw document still holds it, and the views show it from there, as stored)."""
    return value if isinstance(value, dict) else None


class _Doc(BaseModel):
    """A sub-document: camelCase keys as stored, unknown fields kept.

    Fields are read by their stored names only: a stray ``last_run`` key is an unknown
    field, not ``lastRun``.
    """

    model_config = ConfigDict(extra="allow", frozen=True)


class SyncError(_Doc):
    """One row of `fmcsaData.syncStatus.errors`. `source` may be outside `Source`."""

    id: DocId = Field(default=None, alias="_id")
    source: Annotated[str, BeforeValidator(_source_text)] = "unknown"
    # The backend's text field is `error`; some writers used `message`.
    error: Annotated[str, BeforeValidator(lambda v: "" if v is None else stored_text(v))] = Field(
        default="", validation_alias=AliasChoices("error", "message")
    )
    timestamp: When = None

    @property
    def known_source(self) -> Source | None:
        try:
            return Source(self.source)
        except ValueError:
            return None


class SyncStatus(_Doc):
    """`fmcsaData.syncStatus`: the status fields, read as the status rule reads them."""

    last_run: When = Field(default=None, alias="lastRun")
    success: MaybeBool = None
    errors: Annotated[list[SyncError], BeforeValidator(error_rows)] = Field(default_factory=list)
    csa_scores_last_sync: When = Field(default=None, alias="csaScoresLastSync")
    violations_last_sync: When = Field(default=None, alias="violationsLastSync")
    inspections_last_sync: When = Field(default=None, alias="inspectionsLastSync")

    @property
    def status(self) -> Status:
        return status_of(self.last_run, self.success, len(self.errors))

    def last_sync(self, source: Source) -> datetime | None:
        return {
            Source.CSA_SCORES: self.csa_scores_last_sync,
            Source.VIOLATIONS: self.violations_last_sync,
            Source.INSPECTIONS: self.inspections_last_sync,
        }[source]

    @property
    def error_sources(self) -> frozenset[str]:
        return frozenset(error.source for error in self.errors)


class SmsBasics(_Doc):
    """`smsBasics`: per BASIC a percentile 0-100 or null, `<basic>Measure`, lastUpdated.

    A display sub-document: every BASIC and measure holds whatever is stored (a number,
    null, or text such as ``"Not Public"``), for display only; none is ever judged.
    """

    unsafe_driving: Any = Field(default=None, alias="unsafeDriving")
    hours_of_service: Any = Field(default=None, alias="hoursOfService")
    driver_fitness: Any = Field(default=None, alias="driverFitness")
    controlled_substances: Any = Field(default=None, alias="controlledSubstances")
    vehicle_maintenance: Any = Field(default=None, alias="vehicleMaintenance")
    crash_indicator: Any = Field(default=None, alias="crashIndicator")
    last_updated: When = Field(default=None, alias="lastUpdated")


class FmcsaData(_Doc):
    """`fmcsaData`: the status container, and display data (`inspections`) as stored."""

    sync_status: Annotated[
        SyncStatus, BeforeValidator(lambda v: status_container(v, "fmcsaData.syncStatus"))
    ] = Field(default_factory=SyncStatus, alias="syncStatus")
    inspections: Annotated[dict[str, Any] | None, BeforeValidator(_display_document)] = None
    last_violation_sync: When = Field(default=None, alias="lastViolationSync")


class Company(_Doc):
    """A `companies` document: display fields of any type read, status fields by the rule.

    Validation fails (a ValidationError carrying the `Unreadable` message) exactly when
    `summarize` lists the document as `unreadable`: both read the containers and the
    errors through `status_container` and `error_rows`.
    """

    id: DocId = Field(default=None, alias="_id")
    name: Text = None
    dot_number: Text = Field(default=None, alias="dotNumber")
    mc_number: Text = Field(default=None, alias="mcNumber")
    sms_basics: Annotated[SmsBasics | None, BeforeValidator(_display_document)] = Field(
        default=None, alias="smsBasics"
    )
    fmcsa_data: Annotated[
        FmcsaData, BeforeValidator(lambda v: status_container(v, "fmcsaData"))
    ] = Field(default_factory=FmcsaData, alias="fmcsaData")
    created_at: When = Field(default=None, alias="createdAt")
    updated_at: When = Field(default=None, alias="updatedAt")

    @property
    def sync_status(self) -> SyncStatus:
        return self.fmcsa_data.sync_status


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
        return {
            Source.CSA_SCORES: self.csa_scores_last_sync,
            Source.VIOLATIONS: self.violations_last_sync,
            Source.INSPECTIONS: self.inspections_last_sync,
        }[source]

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
