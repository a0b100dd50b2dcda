"""The `CompanyStore` protocol every backend implements, and the types it speaks.

Write semantics are the backend orchestrator's, applied one source at a time so that a
cancelled run never leaves a half-written source:

- a succeeding source `$set`s its data fields, advances only its own ``*LastSync``,
  and replaces that source's error rows (removes them);
- a failing source keeps its previous data, replaces that source's error rows with
  one new ``{_id, source, error, timestamp}``;
- either way ``lastRun`` is set to the run's start, ``success`` to "no errors left",
  and ``updatedAt`` to the write time. Error rows of other sources are kept.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from fmcsa_tui.models import CompanySummary, Source, utcnow
from fmcsa_tui.models.run_stats import RunStats
from fmcsa_tui.models.runs import RunRecord
from fmcsa_tui.store.listing import CompanyFilter, ListColumns

# `scheme://user:password@`: the user part stops at `/`, so paths are never touched.
_USERINFO = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/?#]*):[^@]*@")
_PASSWORD_OPTION = re.compile(r"(?i)(?P<head>[?&][^=&#]*password[^=&#]*=)[^&#]*")


def redact_url(url: str) -> str:
    """The URL safe to show: ``user:pass@`` becomes ``user:***@``, password options too."""
    url = _USERINFO.sub(r"\g<head>:***@", url)
    return _PASSWORD_OPTION.sub(r"\g<head>***", url)


class StoreError(Exception):
    """A store problem worth one line to the operator (never a traceback)."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or opened."""


class StoreRefused(StoreError):
    """The store refused a write: opened read-only here, or a server whose user may
    only read (MongoDB's `read` role). Not an outage: trying again changes nothing."""


class ReadOnlyStore(StoreRefused):
    """A write asked of a store opened read-only (`--read-only`): refused before
    anything is sent, in the one sentence every refusal uses."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the store is open read-only (--read-only): cannot {what}")


class LiveRefresh(StrEnum):
    """How a store's change feed works, in the words the dashboard's header uses."""

    POLLING = "polling"
    CHANGE_STREAM = "change stream"


@dataclass(frozen=True, slots=True)
class Changes:
    """One batch of a change feed: companies written since the last batch.

    `everything` says the feed lost its place (a change stream's resume token expired):
    changes may have been missed, so list every company again.
    """

    summaries: list[CompanySummary]
    everything: bool = False


async def poll_changes(
    store: CompanyStore, since: datetime, interval: float
) -> AsyncGenerator[Changes]:
    """The change feed of a store that cannot push: `changed_since` every `interval`.

    Each look starts one second before the last one began, so a write committed while
    a look ran is seen by the next one (a summary seen twice is harmless).
    """
    while True:
        await asyncio.sleep(interval)
        started = utcnow()
        changed = await store.changed_since(since - _OVERLAP)
        since = started
        if changed:
            yield Changes(changed)


_OVERLAP = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class NewCompany:
    """A carrier to add. `name` may be empty: the first inspections sync fills it."""

    dot_number: str
    name: str = ""
    mc_number: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more top-level fields (ownerId…)


@dataclass(frozen=True, slots=True)
class AddResult:
    added: list[str]  # DOT numbers added
    existing: list[str]  # DOT numbers already present, left untouched


@dataclass(slots=True)
class SourceData:
    """What a succeeding source writes.

    `fields` maps dotted paths of the company document to values (``$set``).
    `inspections` are `fmcsainspections` documents without `companyId`, upserted on
    ``(companyId, reportNumber)``. `legal_name` fills `name` only where it is empty.
    """

    source: Source
    fields: dict[str, Any]
    inspections: list[dict[str, Any]] | None = None
    legal_name: str | None = None
    summary: str = ""  # one line for people: "5 BASICs", "12 inspections, 30 violations"


@runtime_checkable
class CompanyStore(Protocol):
    """Where companies live. Every method is safe to call from the event loop."""

    @property
    def description(self) -> str:
        """Where this store is, for people: a path, or host/db with no password."""
        ...

    @property
    def read_only(self) -> bool:
        """Opened for browsing only: every write raises `ReadOnlyStore`, and opening
        creates or migrates nothing."""
        ...

    @property
    def live_refresh(self) -> LiveRefresh:
        """How `changes` learns of other writers' changes; known once `open` has returned."""
        ...

    def changes(self, since: datetime, interval: float) -> AsyncGenerator[Changes]:
        """Companies written at or after `since`, batch by batch, for as long as iterated.

        Polling stores look every `interval` seconds; a MongoDB replica set pushes
        changes as they happen. Raises StoreError when the store stops answering.
        """
        ...

    async def open(self, *, create: bool = True) -> None:
        """Connect and create what is missing (schema, indexes). Raise StoreUnavailable.

        ``create=False`` is for commands that only read: the store must exist already,
        and nothing (file, schema, index) is created.
        """
        ...

    async def close(self) -> None: ...

    async def list_summaries(
        self, flt: CompanyFilter | None = None, limit: int | None = None
    ) -> list[CompanySummary]:
        """Matching companies ordered by DOT number; unreadable documents included.

        `limit` gives the first rows only: what a screen shows while the rest loads.
        """
        ...

    def read_ahead(self, first: int) -> None:
        """Begin the list scan now, if this store can before it is opened (on a
        thread), so the rows are read while the caller gets ready: its next `scan_rows`
        takes them, and its next `changes` starts from before their snapshot."""
        ...

    def scan_rows(self, batch: int) -> AsyncGenerator[ListColumns]:
        """Every company, in the listing order, as `ListColumns` batches of
        `listing.scan_batches(batch)` rows (`batch` first, then more): what the
        dashboard's list loads, without an object per company."""
        ...

    async def count_companies(self) -> int:
        """How many companies there are (for "loading 340,000 of 1,000,000")."""
        ...

    async def get_company(self, ref: str) -> dict[str, Any] | None:
        """The whole raw document by DOT number or `_id`, or None."""
        ...

    async def get_companies(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Whole raw documents by `_id`, in one round trip; missing ids are left out."""
        ...

    async def add_companies(self, companies: Iterable[NewCompany]) -> AddResult: ...

    async def insert_documents(self, docs: Sequence[dict[str, Any]]) -> int:
        """Insert raw documents as given (seeding, imports, tests). Returns the count."""
        ...

    async def record_success(
        self, company_id: str, run_started: datetime, data: SourceData, at: datetime
    ) -> None: ...

    async def record_failure(
        self, company_id: str, run_started: datetime, source: Source, error: str, at: datetime
    ) -> None: ...

    async def acquire_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool:
        """Take the company's run lease unless another live owner holds it."""
        ...

    async def last_run_of(self, company_id: str) -> datetime | None:
        """The company's `lastRun` as its list row reads it (None: never run, or no such
        company), without reading the whole document: a pass compares it, under the
        lease, with the value it listed, to skip a carrier synced elsewhere since."""
        ...

    async def renew_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool: ...

    async def release_lease(self, company_id: str, owner: str) -> None: ...

    async def leased_ids(self, exclude_owner: str | None = None) -> set[str]:
        """Companies with a live lease (a run in progress anywhere), but for those of
        `exclude_owner` (a dashboard knows its own runs better than any snapshot)."""
        ...

    async def changed_since(self, since: datetime) -> list[CompanySummary]:
        """Summaries of companies written at or after `since` (for live refresh)."""
        ...

    async def inspections_for(self, company_id: str) -> list[dict[str, Any]]:
        """The company's `fmcsainspections` documents, newest first."""
        ...

    async def record_run(self, record: RunRecord) -> None:
        """Keep one run's history record (the engine writes one per run)."""
        ...

    async def record_runs(self, records: Sequence[RunRecord]) -> None:
        """Keep many records in one write (imports, seeding a benchmark)."""
        ...

    async def runs_of(self, company_id: str, limit: int = 30) -> list[RunRecord]:
        """The company's last `limit` runs, newest first (by the `_id` it runs under)."""
        ...

    def runs_since(
        self, since: datetime, company_ids: Collection[str] | None = None
    ) -> AsyncGenerator[RunRecord]:
        """Every run started at or after `since` (of `company_ids` only, when given),
        newest first, read a page at a time: a fleet's day of runs is never all in
        memory at once. Documents that are not run records are left out."""
        ...

    async def run_stats(self, since: datetime) -> RunStats:
        """The runs started at or after `since` summed up (the fleet screen): what
        `RunStats.of` over `runs_since(since)` gives, without reading every record."""
        ...
