"""The three FMCSA sources: what to fetch for each, through `FmcsaHttp`.

Fetching is thin: the requests (QCMobile's two, DataHub's pages until a short page,
each row cut down to the fields the parser reads the moment it arrives, within
`max_rows`), then the pure parsers of `fmcsa_tui.sync.parsing`. In a bulk run the
DataHub pages may be asked for many carriers at once (`fmcsa_tui.sync.batching`); each
carrier's source still gets exactly its own rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fmcsa_tui.models import Source
from fmcsa_tui.store.base import SourceData
from fmcsa_tui.sync.answers import SourceError
from fmcsa_tui.sync.http import FmcsaHttp, RetryHook
from fmcsa_tui.sync.parsing import (
    HUB,
    INSPECTION_DATASET,
    INSPECTION_FIELDS,
    QC,
    VIOLATION_DATASET,
    VIOLATION_FIELDS,
    keep_fields,
    parse_basics,
    parse_carrier,
    parse_violations,
)

if TYPE_CHECKING:
    from fmcsa_tui.sync.batching import HubBatcher

# --- fetching ------------------------------------------------------------------------

#: Reports progress a person would want to see: (message, page or None).
Progress = Callable[[str, int | None], None]


@dataclass(slots=True)
class SourceContext:
    """What a fetch needs: the HTTP client, the carrier, its bounds and where to report."""

    http: FmcsaHttp
    qc_base_url: str
    hub_base_url: str
    webkey: str
    app_token: str | None
    page_size: int
    dot: str
    progress: Progress
    on_retry: RetryHook
    max_rows: int = 100_000
    deadline: float | None = None  # loop time by which the source must be done
    attempts: int = 0  # most attempts any single request of this source needed
    rows: int = 0  # DataHub rows received, across the source's datasets
    skipped: int = 0  # malformed rows left out
    #: Asks DataHub together with other carriers' sources (a bulk run); None: alone.
    batcher: HubBatcher | None = None

    def note_attempts(self, attempts: int) -> None:
        self.attempts = max(self.attempts, attempts)

    def count_rows(self, count: int) -> None:
        """Counts rows as they arrive: past `max_rows` the source fails before they pile up."""
        self.rows += count
        if self.rows > self.max_rows:
            raise self.too_many_rows()

    def too_many_rows(self) -> SourceError:
        return SourceError(
            f"{HUB} sent more than {self.max_rows} rows for DOT {self.dot} (setting `max_rows`)",
            permanent=True,
        )


def past_deadline(seconds: float, doing: str) -> SourceError:
    """The failure of a source (or a batch of them) still fetching at its deadline."""
    return SourceError(
        f"gave up at the source's {seconds:g}s deadline (setting `source_deadline`) while {doing}",
        permanent=False,
    )


async def _qc(ctx: SourceContext, path: str, what: str) -> Any:
    fetched = await ctx.http.get_json(
        f"{ctx.qc_base_url}/carriers/{ctx.dot}{path}",
        {"webKey": ctx.webkey},
        api=QC,
        what=what,
        on_retry=ctx.on_retry,
        deadline=ctx.deadline,
    )
    ctx.note_attempts(fetched.attempts)
    return fetched.payload


async def fetch_csa_scores(ctx: SourceContext, at: datetime) -> SourceData:
    ctx.progress("fetching BASICs", None)
    return parse_basics(await _qc(ctx, "/basics", "basics"), at)


async def fetch_inspections(ctx: SourceContext, at: datetime) -> SourceData:
    ctx.progress("fetching carrier record", None)
    return parse_carrier(await _qc(ctx, "", "carrier"), ctx.dot, at)


async def all_pages(
    ctx: SourceContext, dataset: str, label: str, fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Every row of a dataset for the carrier, cut to `fields` as each page arrives.

    Socrata has no count, so this pages until a short page; `max_rows` ends a server
    that never sends one.
    """
    headers = {"X-App-Token": ctx.app_token} if ctx.app_token else None
    rows: list[dict[str, Any]] = []
    page = 0
    while True:
        page += 1
        ctx.progress(f"fetching {label} page {page}", page)
        fetched = await ctx.http.get_json(
            f"{ctx.hub_base_url}/resource/{dataset}.json",
            {
                "dot_number": ctx.dot,
                "$limit": ctx.page_size,
                "$offset": (page - 1) * ctx.page_size,
                "$order": ":id",
            },
            api=HUB,
            what=f"{dataset} page {page}",
            headers=headers,
            on_retry=ctx.on_retry,
            deadline=ctx.deadline,
        )
        ctx.note_attempts(fetched.attempts)
        batch = fetched.payload
        if not isinstance(batch, list):
            raise SourceError(f"{HUB} answered an unexpected shape ({dataset})", permanent=False)
        ctx.count_rows(len(batch))
        for row in batch:
            if isinstance(row, dict):
                rows.append(keep_fields(row, fields))
            else:
                ctx.skipped += 1
        if len(batch) < ctx.page_size:
            return rows


async def fetch_violations(ctx: SourceContext, at: datetime) -> SourceData:
    """Both datasets at once; the first failure of either fails the source."""
    fetch = all_pages if ctx.batcher is None else ctx.batcher.rows
    try:
        async with asyncio.TaskGroup() as group:
            violations = group.create_task(
                fetch(ctx, VIOLATION_DATASET, "violations", VIOLATION_FIELDS)
            )
            inspections = group.create_task(
                fetch(ctx, INSPECTION_DATASET, "inspections", INSPECTION_FIELDS)
            )
    except ExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return parse_violations(violations.result(), inspections.result(), at, ctx.skipped)


FETCHERS: dict[Source, Callable[[SourceContext, datetime], Awaitable[SourceData]]] = {
    Source.CSA_SCORES: fetch_csa_scores,
    Source.VIOLATIONS: fetch_violations,
    Source.INSPECTIONS: fetch_inspections,
}
