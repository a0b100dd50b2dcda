"""Sample carriers for the demo and benchmarks: deterministic, varied, some never synced;
and sample run history for them (`seed_runs`).

DOT numbers step by 19 from 1,000,000, so their last two digits walk through every
bucket of the sandbox's fault plan within any 100 consecutive companies.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from fmcsa_tui.models import CompanySummary, Source, utcnow
from fmcsa_tui.models.runs import Origin, Outcome, RunRecord, RunWho, SourceRun
from fmcsa_tui.store.base import CompanyStore

FIRST_DOT = 1_000_000
DOT_STEP = 19
#: The owner of every sample carrier: the backend's schema requires an ownerId.
DEMO_OWNER = ObjectId("64f0c0ffee00000000000001")

_PLACES = [
    "Blue Ridge", "Prairie", "Cascade", "Gulf Coast", "Great Lakes", "Red River", "Sierra",
    "Ozark", "Piedmont", "Badlands", "Mesa", "Tidewater", "Heartland", "Iron Range",
    "Sandhills", "Bayou", "Keystone", "Lone Star", "Big Sky", "Magnolia",
]  # fmt: skip
_TRADES = [
    "Freight", "Transport", "Logistics", "Hauling", "Carriers", "Express", "Trucking",
    "Lines", "Cartage", "Motor Freight", "Van Lines", "Tank Lines", "Flatbed",
]  # fmt: skip
_FORMS = ["LLC", "Inc", "Co", "Corp", "Ltd", "& Sons", "LLC", "Inc"]

#: Names real documents carry that a careless UI mangles; they appear among the first.
AWKWARD_NAMES = [
    "[bold red]Bracket Hauling[/] LLC",
    "[link=https://example.com]Click Me Freight[/link]",
    "\x1b[31mRed Escape Transport\x1b[0m Inc",
    "Tab\tand\x07Bell Carriers",
    "東京運輸株式会社 Tokyo Unyu",
    "Łódź Spedycja Sp. z o.o.",
    "Long Name " + "Logistics Holdings " * 15 + "LLC",
]


def demo_dot(index: int) -> str:
    return str(FIRST_DOT + index * DOT_STEP)


def demo_documents(count: int, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """`count` company documents shaped as Mongoose writes them, valid for its schema."""
    now = now or utcnow()
    rng = random.Random(20261128)
    docs = []
    for index in range(count):
        awkward = index % 10 == 7 and index // 10 < len(AWKWARD_NAMES)
        name = (
            AWKWARD_NAMES[index // 10]
            if awkward
            else f"{rng.choice(_PLACES)} {rng.choice(_TRADES)} {rng.choice(_FORMS)}"
        )
        created = now - timedelta(days=rng.randint(30, 900))
        doc: dict[str, Any] = {
            "_id": ObjectId(),
            "name": name,
            "dotNumber": demo_dot(index),
            "mcNumber": f"MC-{rng.randint(100000, 999999)}" if rng.random() < 0.7 else None,
            "ownerId": DEMO_OWNER,
            "createdAt": created,
            "updatedAt": created,
            "__v": 0,
        }
        if rng.random() < 0.65:  # synced before, successfully, some of it long ago
            last = now - timedelta(hours=rng.choice([2, 5, 20, 30, 72, 200]))
            doc["fmcsaData"] = {
                "syncStatus": {
                    "lastRun": last,
                    "success": True,
                    "errors": [],
                    **{source.last_sync_field: last for source in Source},
                }
            }
            doc["updatedAt"] = last
        docs.append(doc)
    return docs


# --- run history ------------------------------------------------------------------------

_SAMPLE_ERRORS = [
    "HTTP 503 from QCMobile (basics) after 5 attempts",
    "timed out after 15s reading DataHub (violations)",
    "HTTP 429 from DataHub: Retry-After 300s is longer than retry_after_max",
]
_SAMPLE_WHO = [
    RunWho("ops", "worker-1", 4100, Origin.WORKER),
    RunWho("ops", "worker-2", 4200, Origin.WORKER),
    RunWho("dispatch", "laptop-7", 9300, Origin.DASHBOARD),
    RunWho("cron", "batch-1", 7700, Origin.SYNC),
]


#: How far apart a carrier's sample runs start, unless spread over a window.
RUNS_APART = timedelta(hours=6)


def demo_runs(
    carriers: Sequence[CompanySummary],
    per_carrier: int,
    *,
    now: datetime | None = None,
    over: timedelta | None = None,
) -> Iterator[RunRecord]:
    """`per_carrier` runs of each carrier back from `now`, `RUNS_APART` (or spread evenly
    `over` a window, such as the history's retention), about one source in twelve
    failing with one of a few error texts (deterministic)."""
    now = now or utcnow()
    apart = RUNS_APART if over is None else over / max(1, per_carrier)
    jitter = int(min(apart, RUNS_APART).total_seconds() // 60 * 5 // 6)  # 300 min at 6 h
    rng = random.Random(20261129)
    for carrier in carriers:
        for index in range(per_carrier):
            started = now - apart * index - timedelta(minutes=rng.randint(0, jitter))
            sources = []
            for source in Source:
                if rng.random() < 1 / 12:
                    error = rng.choice(_SAMPLE_ERRORS)
                    sources.append(SourceRun(source, Outcome.FAILED, 12.5, 5, error))
                else:
                    sources.append(SourceRun(source, Outcome.OK, 0.4, 1, summary="5 BASICs"))
            yield RunRecord(
                carrier.id, carrier.dot_number or "", carrier.name or "", started,
                started + timedelta(seconds=13), rng.choice(_SAMPLE_WHO), tuple(sources),
            )  # fmt: skip


async def seed_runs(
    store: CompanyStore, per_carrier: int, *, chunk: int = 20_000, over: timedelta | None = None
) -> int:
    """Give every carrier in `store` `per_carrier` sample runs (`demo_runs`: 6 h apart,
    or spread `over` a window), `chunk` records a write; how many were added (the
    benchmark's history: 100,000 carriers x 30 runs)."""
    carriers = await store.list_summaries()
    added = 0
    batch: list[RunRecord] = []
    for record in demo_runs(carriers, per_carrier, over=over):
        batch.append(record)
        if len(batch) == chunk:
            await store.record_runs(batch)
            added, batch = added + len(batch), []
    await store.record_runs(batch)
    return added + len(batch)
