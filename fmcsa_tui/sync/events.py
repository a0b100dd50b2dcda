"""The engine's progress events. Plain frozen dataclasses: no Textual here.

The UI wraps each in a Message; the CLI prints them. Every event names its company
by `_id` and DOT number, so a consumer never has to look anything up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from fmcsa_tui.models import Source


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncEvent:
    company_id: str
    dot_number: str
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(SyncEvent):
    sources: tuple[Source, ...]
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRefused(SyncEvent):
    """The run did not start: another run of this company holds its lease."""

    reason: str


#: Why a pass skipped a carrier (`RunSkipped.reason`): another process ran it after the
#: pass listed it, or holds its lease now. Neither is a failure.
SYNCED_ELSEWHERE: Final = "synced elsewhere"
SYNCING_ELSEWHERE: Final = "syncing elsewhere"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSkipped(SyncEvent):
    """A pass's run did not sync the carrier, as another process has it (see `reason`);
    nothing was written."""

    reason: str  # SYNCED_ELSEWHERE or SYNCING_ELSEWHERE


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceStarted(SyncEvent):
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceProgress(SyncEvent):
    """Something a person watching would want to see: a page fetched, a retry coming."""

    source: Source
    message: str
    page: int | None = None
    attempt: int = 1
    retry_in: float | None = None  # seconds until the next attempt, when retrying


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceSucceeded(SyncEvent):
    source: Source
    attempts: int
    duration: float
    summary: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFailed(SyncEvent):
    source: Source
    error: str
    attempts: int
    duration: float
    permanent: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(SyncEvent):
    success: bool  # every source this run covered succeeded
    cancelled: bool
    duration: float
    failed_sources: tuple[Source, ...] = ()
    unfinished_sources: tuple[Source, ...] = ()  # not written when the run was cancelled


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryNotWritten(SyncEvent):
    """The run's history record could not be stored; the run itself is unaffected."""

    error: str  # one line, scrubbed


RunEvent = (
    RunStarted
    | RunRefused
    | RunSkipped
    | SourceStarted
    | SourceProgress
    | SourceSucceeded
    | SourceFailed
    | RunFinished
    | HistoryNotWritten
)
