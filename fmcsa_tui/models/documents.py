"""Pydantic models of the document, for the views that show a whole company (the detail
pane, `show`): read-only, tolerant, unknown fields kept; display sub-documents of the
wrong type read as absent here (the raw document still holds them, as stored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

from fmcsa_tui.formatting import stored_text
from fmcsa_tui.models.status import error_rows, status_container, status_of
from fmcsa_tui.models.values import (
    Source,
    Status,
    _bool_or_none,
    _id_text,
    _source_text,
    _text_or_none,
    parse_when,
)

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
        when: datetime | None = getattr(self, source.last_sync_attribute)
        return when

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
