"""The flow every store shares, written once; a backend supplies only its primitives.

`StoreFlow` is the backend-neutral half of a `CompanyStore`: it builds a source's
`SourceUpdate` and refuses bad inspections before anything is written, gives inserted
documents their `_id`s, trims a reference and looks it up by DOT number, then by `_id`,
checks the DOT numbers of new companies and plans which are new, and puts inspections
in their order. A backend implements the abstract primitives (read, write a planned
change atomically, insert, list rows) and what is its own alone (leases, the change
feed, opening). The messages both stores give for the same refusal are here too.

A store opened read-only is refused every write here, once for every backend, before
anything reaches a primitive: the public write methods (leases included) check first.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from bson import ObjectId

from fmcsa_tui.models import CompanySummary, Source, parse_when, utcnow
from fmcsa_tui.models.run_stats import RunStats
from fmcsa_tui.models.runs import RunRecord
from fmcsa_tui.store.base import AddResult, NewCompany, ReadOnlyStore, SourceData, StoreError
from fmcsa_tui.store.listing import (
    CompanyFilter,
    Condition,
    ListColumns,
    changed_since,
    columns_of,
    list_row,
    scan_batches,
)
from fmcsa_tui.store.updates import (
    SourceUpdate,
    as_utc,
    checked_dot,
    failure_update,
    report_number,
    success_update,
)

__all__ = [
    "StoreFlow",
    "cannot_insert",
    "dot_taken",
    "id_taken",
    "newest_first",
    "no_company",
    "plan_additions",
    "with_ids",
]

Doc = dict[str, Any]
#: Run records read per call while streaming `runs_since`.
RUNS_PAGE: Final = 1000
#: A page of run records: each with the backend's opaque key for paging on from it
#: (None for a document that is not a record).
RunsPage = list[tuple[Any, RunRecord | None]]
#: New companies with their checked DOT numbers, in the order they were given.
Wanted = list[tuple[str, NewCompany]]


class StoreFlow(ABC):
    """The shared half of a store: each public call in terms of the primitives."""

    #: Set by the backend's constructor; see `CompanyStore.read_only`.
    _read_only: bool = False

    @property
    def read_only(self) -> bool:
        return self._read_only

    def _writable(self, what: str) -> None:
        """Refuse the write `what` (words after "cannot") of a read-only store."""
        if self._read_only:
            raise ReadOnlyStore(what)

    # --- primitives

    @abstractmethod
    async def _list(
        self, conditions: Sequence[Condition], limit: int | None
    ) -> list[CompanySummary]:
        """Rows the conditions all hold for, in DOT order, the first `limit` of them."""

    @abstractmethod
    async def _company_with_dot(self, dot: str) -> Doc | None:
        """The raw document whose DOT number is `dot` (trimmed), or None."""

    @abstractmethod
    async def _company_with_id(self, company_id: str) -> Doc | None:
        """The raw document whose `_id` is `company_id` (trimmed), or None."""

    @abstractmethod
    async def _inspections(self, company_id: str) -> list[Doc]:
        """The company's inspection documents, in any order."""

    @abstractmethod
    async def _add(self, wanted: Wanted, now: datetime) -> AddResult:
        """Add the companies not present yet (see `plan_additions`), all or nothing."""

    @abstractmethod
    async def _insert(self, docs: list[Doc]) -> None:
        """Insert documents that all have an `_id`, all or nothing; refuse a DOT or
        `_id` already taken (`dot_taken`, `id_taken`)."""

    @abstractmethod
    async def _record(self, company_id: str, update: SourceUpdate, inspections: list[Doc]) -> None:
        """Apply one source's update to the company as it is when written (never over a
        concurrent change of its errors), and upsert its inspections; raise
        `no_company` when there is none."""

    @abstractmethod
    async def _record_runs(self, records: Sequence[RunRecord]) -> None:
        """Store run records, in one write."""

    @abstractmethod
    async def _runs_of(self, company_id: str, limit: int) -> list[RunRecord | None]:
        """The company's last `limit` run documents, newest first, read by `from_doc`."""

    @abstractmethod
    async def _runs_page(
        self, since: datetime, company_ids: list[str] | None, after: Any, limit: int
    ) -> RunsPage:
        """Up to `limit` runs started at or after `since`, newest first, continuing
        after the key `after` (None: from the newest)."""

    @abstractmethod
    async def _acquire_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool:
        """Take the lease unless another live owner holds it."""

    @abstractmethod
    async def _renew_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool:
        """Extend the owner's lease; False when it is no longer the owner's."""

    @abstractmethod
    async def _release_lease(self, company_id: str, owner: str) -> None:
        """Give the owner's lease back (nothing when it holds none)."""

    # --- reading

    async def list_summaries(
        self, flt: CompanyFilter | None = None, limit: int | None = None
    ) -> list[CompanySummary]:
        conditions = () if flt is None else flt.conditions(utcnow())
        return await self._list(conditions, limit)

    def read_ahead(self, first: int) -> None:
        """Nothing here: a store that can read its list before it is opened does (the
        SQLite store, on a thread of its own)."""
        return

    async def scan_rows(self, batch: int) -> AsyncGenerator[ListColumns]:
        """Every row as `list_row` makes it, from `_list`; a backend may read its own
        columns instead (the SQLite store does)."""
        rows = await self._list((), None)
        start = 0
        for size in scan_batches(batch):
            if start >= len(rows):
                return
            yield columns_of([list_row(summary) for summary in rows[start : start + size]])
            start += size

    async def count_companies(self) -> int:
        return len(await self._list((), None))

    async def changed_since(self, since: datetime) -> list[CompanySummary]:
        return await self._list((changed_since(as_utc(since)),), None)

    async def get_company(self, ref: str) -> Doc | None:
        """By DOT number first, then by `_id`; surrounding spaces do not count."""
        ref = ref.strip()
        if not ref:
            return None
        found = await self._company_with_dot(ref)
        return found if found is not None else await self._company_with_id(ref)

    async def inspections_for(self, company_id: str) -> list[Doc]:
        return newest_first(await self._inspections(company_id))

    async def runs_of(self, company_id: str, limit: int = 30) -> list[RunRecord]:
        found = await self._runs_of(company_id.strip(), max(0, limit)) if limit > 0 else []
        return [record for record in found if record is not None]

    async def runs_since(
        self, since: datetime, company_ids: Collection[str] | None = None
    ) -> AsyncGenerator[RunRecord]:
        ids = None if company_ids is None else list(dict.fromkeys(company_ids))
        if ids is not None and not ids:
            return
        after: Any = None
        while True:
            page = await self._runs_page(as_utc(since), ids, after, RUNS_PAGE)
            for _key, record in page:
                if record is not None:
                    yield record
            if len(page) < RUNS_PAGE:
                return
            after = page[-1][0]

    async def run_stats(self, since: datetime) -> RunStats:
        """`runs_since` folded page by page; a backend that can sum up itself overrides
        it (SQLite, in SQL) and must give the same."""
        stats = RunStats()
        async for record in self.runs_since(since):
            stats.add(record)
        return stats

    # --- adding

    async def add_companies(self, companies: Iterable[NewCompany]) -> AddResult:
        """Every DOT number is checked before anything is looked up or written."""
        self._writable("add carriers")
        wanted = [(checked_dot(company.dot_number), company) for company in companies]
        return await self._add(wanted, utcnow())

    async def insert_documents(self, docs: Sequence[Doc]) -> int:
        self._writable("insert documents")
        stored = with_ids(docs)
        await self._insert(stored)
        return len(stored)

    # --- writing

    async def record_success(
        self, company_id: str, run_started: datetime, data: SourceData, at: datetime
    ) -> None:
        self._writable(f"write {data.source}")
        inspections = list(data.inspections or ())
        for inspection in inspections:
            report_number(inspection)  # refuse a bad one before writing anything
        await self._record(company_id, success_update(run_started, data, at), inspections)

    async def record_failure(
        self, company_id: str, run_started: datetime, source: Source, error: str, at: datetime
    ) -> None:
        self._writable(f"write {source}'s failure")
        await self._record(company_id, failure_update(run_started, source, error, at), [])

    async def record_run(self, record: RunRecord) -> None:
        self._writable("record a run")
        await self._record_runs((record,))

    async def record_runs(self, records: Sequence[RunRecord]) -> None:
        self._writable("record runs")
        if records:
            await self._record_runs(records)

    # --- leases

    async def acquire_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool:
        self._writable("take a run lease")
        return await self._acquire_lease(company_id, owner, ttl)

    async def renew_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool:
        self._writable("renew a run lease")
        return await self._renew_lease(company_id, owner, ttl)

    async def release_lease(self, company_id: str, owner: str) -> None:
        self._writable("release a run lease")
        await self._release_lease(company_id, owner)


# --- shared steps ---------------------------------------------------------------------


def with_ids(docs: Iterable[Doc]) -> list[Doc]:
    """Copies to insert, each with an `_id` (a new ObjectId for a missing or null one);
    the caller's documents keep no `_id` they did not have."""
    stored = []
    for doc in docs:
        copy = dict(doc)
        if copy.get("_id") is None:
            copy["_id"] = ObjectId()
        stored.append(copy)
    return stored


def plan_additions(
    wanted: Wanted,
    present: set[str],
    new_document: Callable[[NewCompany, datetime], Doc],
    now: datetime,
) -> tuple[list[Doc], AddResult]:
    """The documents to insert for the companies whose DOT is not `present` (nor given
    twice), and what the caller is told; a company already there is left untouched."""
    seen = set(present)
    docs: list[Doc] = []
    added: list[str] = []
    existing: list[str] = []
    for dot, company in wanted:
        if dot in seen:
            existing.append(dot)
            continue
        seen.add(dot)
        docs.append(new_document(company, now))
        added.append(dot)
    return docs, AddResult(added=added, existing=existing)


def _report_text(inspection: Doc) -> str:
    value = inspection.get("reportNumber")
    return "" if value is None or isinstance(value, bool | dict | list) else str(value).strip()


def newest_first(inspections: list[Doc]) -> list[Doc]:
    """Inspections newest first, undated last; one date's by report number, highest first."""
    ordered = sorted(inspections, key=_report_text, reverse=True)
    dates = {id(doc): parse_when(doc.get("inspectionDate")) for doc in ordered}
    ordered.sort(key=lambda doc: _newest_first_key(dates[id(doc)]))
    return ordered


def _newest_first_key(when: datetime | None) -> tuple[bool, float]:
    return (when is None, 0.0 if when is None else -when.timestamp())


# --- messages both stores give --------------------------------------------------------


def dot_taken(dot: object) -> StoreError:
    return StoreError(f"DOT number {dot} is already in the store")


def id_taken(company_id: object) -> StoreError:
    return StoreError(f"a company with _id {company_id} is already in the store")


def cannot_insert(reason: object) -> StoreError:
    return StoreError(f"cannot insert company: {reason}")


def no_company(company_id: str) -> StoreError:
    return StoreError(f"no company with id {company_id}")
