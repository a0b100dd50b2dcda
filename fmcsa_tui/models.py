"""Pydantic models of the backend's `companies` document, read tolerantly.

The backend (Node/Mongoose) owns the document; other writers leave it messy. These
models are for *reading*: every field tolerates the shapes seen in the wild, unknown
fields are kept (``extra="allow"``), and nothing here is ever written back whole.
Writes are targeted updates built by the store from the engine's results.
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
    ValidationError,
)

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
    "parse_dot",
    "parse_when",
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
    (``Z``, offsets, date-only, a space instead of ``T``), JavaScript epoch numbers and
    Extended JSON ``{"$date": ...}``. Anything else reads as "no date".
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dict) and "$date" in value:
        inner = value["$date"]
        if isinstance(inner, dict) and "$numberLong" in inner:
            inner = int(inner["$numberLong"])
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
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
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


def _bool_or_none(value: Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "yes", "y", "1"}:
            return True
        if lowered in {"false", "no", "n", "0"}:
            return False
        return None
    if isinstance(value, int | float):
        return bool(value)
    return None


def _list_of_dicts(value: Any) -> list[Any]:
    """Errors stored as null, a single object or a list with junk in it still read."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [
            item if isinstance(item, dict) else {"source": "unknown", "error": str(item)}
            for item in value
        ]
    raise ValueError(f"expected a list of errors, found {type(value).__name__}")


When = Annotated[datetime | None, BeforeValidator(parse_when)]
Text = Annotated[str | None, BeforeValidator(_text_or_none)]
MaybeBool = Annotated[bool | None, BeforeValidator(_bool_or_none)]
DocId = Annotated[str | None, BeforeValidator(_id_text)]


class _Doc(BaseModel):
    """A sub-document: camelCase aliases as stored, unknown fields kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


class SyncError(_Doc):
    """One row of `fmcsaData.syncStatus.errors`. `source` may be outside `Source`."""

    id: DocId = Field(default=None, alias="_id")
    source: Annotated[str, BeforeValidator(lambda v: _text_or_none(v) or "unknown")] = "unknown"
    # The backend's text field is `error`; some writers used `message`.
    error: Annotated[str, BeforeValidator(lambda v: "" if v is None else str(v))] = Field(
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
    last_run: When = Field(default=None, alias="lastRun")
    success: MaybeBool = None
    errors: Annotated[list[SyncError], BeforeValidator(_list_of_dicts)] = Field(
        default_factory=list
    )
    csa_scores_last_sync: When = Field(default=None, alias="csaScoresLastSync")
    violations_last_sync: When = Field(default=None, alias="violationsLastSync")
    inspections_last_sync: When = Field(default=None, alias="inspectionsLastSync")

    @property
    def status(self) -> Status:
        """`never` without lastRun; `failed` with errors or success false; else `ok`."""
        if self.last_run is None:
            return "never"
        if self.errors or self.success is False:
            return "failed"
        return "ok"

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
    """`smsBasics`: percentile 0-100 or null per BASIC, `<basic>Measure`, lastUpdated."""

    unsafe_driving: float | None = Field(default=None, alias="unsafeDriving")
    hours_of_service: float | None = Field(default=None, alias="hoursOfService")
    driver_fitness: float | None = Field(default=None, alias="driverFitness")
    controlled_substances: float | None = Field(default=None, alias="controlledSubstances")
    vehicle_maintenance: float | None = Field(default=None, alias="vehicleMaintenance")
    crash_indicator: float | None = Field(default=None, alias="crashIndicator")
    last_updated: When = Field(default=None, alias="lastUpdated")


class FmcsaData(_Doc):
    sync_status: SyncStatus = Field(default_factory=SyncStatus, alias="syncStatus")
    inspections: dict[str, Any] | None = None
    last_violation_sync: When = Field(default=None, alias="lastViolationSync")


def _sync_status_or_empty(value: Any) -> Any:
    return {} if value is None else value


class Company(_Doc):
    """A `companies` document. Tolerant of missing sub-documents and loose types."""

    id: DocId = Field(default=None, alias="_id")
    name: Text = None
    dot_number: Text = Field(default=None, alias="dotNumber")
    mc_number: Text = Field(default=None, alias="mcNumber")
    sms_basics: SmsBasics | None = Field(default=None, alias="smsBasics")
    fmcsa_data: Annotated[FmcsaData, BeforeValidator(_sync_status_or_empty)] = Field(
        default_factory=FmcsaData, alias="fmcsaData"
    )
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

    def is_stale(self, max_age: timedelta, now: datetime | None = None) -> bool:
        """True when some source has had no success for longer than `max_age`."""
        cutoff = (now or utcnow()) - max_age
        return any(
            stamp is None or stamp < cutoff
            for stamp in (
                self.csa_scores_last_sync,
                self.violations_last_sync,
                self.inspections_last_sync,
            )
        )


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "document"
    return f"{where}: {first['msg']}"


def summarize(doc: dict[str, Any]) -> CompanySummary:
    """The list row of a raw document; an unreadable one keeps its id and says why."""
    try:
        company = Company.model_validate(doc)
    except ValidationError as error:
        raw_id = doc.get("_id")
        return CompanySummary(
            id=_id_text(raw_id) or "?",
            dot_number=_text_or_none(doc.get("dotNumber")),
            name=doc.get("name") if isinstance(doc.get("name"), str) else None,
            mc_number=None,
            status="unreadable",
            last_run=None,
            success=None,
            csa_scores_last_sync=None,
            violations_last_sync=None,
            inspections_last_sync=None,
            error_sources=frozenset(),
            error_count=0,
            updated_at=parse_when(doc.get("updatedAt")),
            problem=_first_problem(error),
        )
    return summary_of(company)


def summary_of(company: Company) -> CompanySummary:
    status = company.sync_status
    return CompanySummary(
        id=company.id or "?",
        dot_number=company.dot_number,
        name=company.name,
        mc_number=company.mc_number,
        status=status.status,
        last_run=status.last_run,
        success=status.success,
        csa_scores_last_sync=status.csa_scores_last_sync,
        violations_last_sync=status.violations_last_sync,
        inspections_last_sync=status.inspections_last_sync,
        error_sources=status.error_sources,
        error_count=len(status.errors),
        updated_at=company.updated_at,
    )
