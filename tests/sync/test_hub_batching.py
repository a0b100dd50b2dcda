"""Bulk runs ask DataHub for many carriers at once, and each carrier still gets its own.

Real parts: the engine and the run coordinator, a SQLite file per sync, and real HTTP on
loopback to the hostile FMCSA of `tests.support.hostile` (healthy by default: the
sandbox's data, answering both the plain and the batched query) or the sandbox. What is
checked is what an operator would see: the store after each sync, each carrier's
outcome and error line, and the requests FMCSA received. Nothing here depends on how
the window happened to group carriers unless the test pins the grouping itself
(`hub_batch_window` long, `hub_batch_size` the carriers' count).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from fmcsa_tui.coordinator import Notice, RunCoordinator, RunEnded
from fmcsa_tui.models import Source
from fmcsa_tui.models.runs import Origin
from fmcsa_tui.sandbox import SandboxConfig, SandboxServer
from fmcsa_tui.sandbox.data import inspection_rows, violation_rows
from fmcsa_tui.sandbox.plan import FaultKind, fault_for
from fmcsa_tui.settings import Settings
from fmcsa_tui.store import SqliteStore
from fmcsa_tui.sync.batching import HubBatcher
from fmcsa_tui.sync.engine import SyncEngine, Target
from fmcsa_tui.sync.events import (
    RunFinished,
    SourceFailed,
    SourceProgress,
    SourceStarted,
    SourceSucceeded,
)
from fmcsa_tui.sync.http import FmcsaHttp
from fmcsa_tui.sync.parsing import HUB, VIOLATION_DATASET, VIOLATION_FIELDS
from fmcsa_tui.sync.sources import SourceContext
from tests.support.hostile import HUB_ENDPOINTS, Endpoint, HostileServer, Received
from tests.support.waiting import eventually

#: Healthy sandbox carriers with data (bucket 2..) and one with 2,500 violation rows (99).
DATA_DOTS = [str(2_000_000 + bucket) for bucket in (2, 3, 5, 6, 10, 99)]
EMPTY_DOTS = ["2000000", "2000067"]  # no DataHub rows at all (bucket 0, unknown 67)


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def settings_for(server: HostileServer | SandboxServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "qc_base_url": f"{server.url}/qc/services",
        "hub_base_url": server.url,
        "webkey": "k3y",
        "app_token": "t0ken",
        "backoff_base": 0.01,
        "backoff_max": 0.02,
        "timeout": 5,
        "max_attempts": 2,
        "qc_rate_limit": 0,
        "hub_rate_limit": 0,
        "concurrency": 16,
    }
    values.update(overrides)
    return Settings(**values)


def grouped(count: int, **overrides: Any) -> dict[str, Any]:
    """Settings that put `count` carriers started together in one batch, whatever the
    machine's pace: the batch leaves when full, long before its window ends."""
    return {"hub_batch_size": count, "hub_batch_window": 5.0, "concurrency": count, **overrides}


@dataclass
class Fleet:
    """What one bulk sync left: per DOT, the outcome, the violations event, the store."""

    outcomes: dict[str, RunFinished] = field(default_factory=dict)
    violations: dict[str, SourceSucceeded | SourceFailed] = field(default_factory=dict)
    progress: dict[str, list[str]] = field(default_factory=dict)
    stored: dict[str, Any] = field(default_factory=dict)  # violations data, ids left out
    errors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    hub_requests: list[Received] = field(default_factory=list)  # the hostile server's
    counts: dict[str, Any] = field(default_factory=dict)  # the sandbox's own request counts


async def bulk_sync(
    server: HostileServer | SandboxServer,
    dots: list[str],
    tmp_path: Path,
    name: str,
    **overrides: Any,
) -> Fleet:
    """A bulk run (`run_all`, as `sync --all` does) of `dots` into a fresh SQLite file."""
    store = SqliteStore(tmp_path / f"{name}.db")
    await store.open()
    fleet = Fleet()
    try:
        docs = [{"_id": ObjectId(), "name": f"Carrier {dot}", "dotNumber": dot} for dot in dots]
        await store.insert_documents(docs)
        if isinstance(server, HostileServer):
            server.requests.clear()
        else:
            server.reset_requests()

        def watch(notice: Notice) -> None:
            if isinstance(notice, RunEnded) or getattr(notice, "source", None) is not (
                Source.VIOLATIONS
            ):
                return
            if isinstance(notice, SourceSucceeded | SourceFailed):
                fleet.violations[notice.dot_number] = notice
            elif isinstance(notice, SourceProgress):
                fleet.progress.setdefault(notice.dot_number, []).append(notice.message)

        async with SyncEngine(
            store, settings_for(server, **overrides), origin=Origin.SYNC
        ) as engine:
            outcomes = await RunCoordinator(engine, listener=watch).run_all(docs)
        for outcome in outcomes:
            assert isinstance(outcome, RunFinished)
            fleet.outcomes[outcome.dot_number] = outcome
        if isinstance(server, HostileServer):
            fleet.hub_requests = [r for r in server.requests if r.endpoint in HUB_ENDPOINTS]
        else:
            fleet.counts = server.requests()
        for doc in docs:
            raw = await store.get_company(str(doc["_id"]))
            assert raw is not None
            dot = doc["dotNumber"]
            fleet.errors[dot] = raw["fmcsaData"]["syncStatus"]["errors"]
            inspections = await store.inspections_for(str(doc["_id"]))
            fleet.stored[dot] = (
                raw["fmcsaData"].get("lastViolationSync") is not None,
                sorted(
                    ({k: v for k, v in i.items() if k not in {"_id", "companyId"}}
                     for i in inspections),
                    key=repr,
                ),
            )  # fmt: skip
        assert await store.leased_ids() == set()
    finally:
        await store.close()
    return fleet


# --- the same data, fewer requests ----------------------------------------------------------


async def test_a_bulk_run_writes_what_plain_runs_write_with_far_fewer_datahub_queries(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.set("healthy")
    dots = DATA_DOTS + EMPTY_DOTS
    plain = await bulk_sync(hostile, dots, tmp_path, "plain", hub_batch_size=1)
    batched = await bulk_sync(hostile, dots, tmp_path, "batched", **grouped(len(dots)))

    assert batched.stored == plain.stored  # every carrier's inspections, field for field
    assert all(stored[1] for dot, stored in plain.stored.items() if dot in DATA_DOTS)
    for dot in dots:
        ok = batched.violations[dot]
        assert isinstance(ok, SourceSucceeded), ok
        assert ok.summary == plain.violations[dot].summary  # type: ignore[union-attr]
    for dot in EMPTY_DOTS:  # no rows is an empty result, not an error
        assert batched.violations[dot].summary == "0 inspections, 0 violations"  # type: ignore[union-attr]
        assert batched.stored[dot] == (True, [])
    # one query per dataset and page: 3 violation pages (2,500 rows) and 1 inspection page
    assert len(plain.hub_requests) == 2 * len(dots) + 2
    assert len(batched.hub_requests) == 4
    for request in batched.hub_requests:
        assert request.param("$order") == "dot_number,:id"
        assert sorted(request.dots) == sorted(dots) and "dot_number" not in request.query
        assert request.headers["x-app-token"] == "t0ken"
    pages = [r.param("$offset") for r in batched.hub_requests if r.endpoint is Endpoint.VIOLATIONS]
    assert sorted(pages, key=int) == ["0", "1000", "2000"]
    assert "fetching violations page 3 (batch of 8)" in batched.progress[DATA_DOTS[0]]


async def test_a_single_carrier_bulk_run_and_a_dashboard_resync_ask_todays_plain_query(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.set("healthy")
    alone = await bulk_sync(hostile, [DATA_DOTS[0]], tmp_path, "alone", hub_batch_window=0)
    assert {r.raw_query for r in alone.hub_requests} == {
        f"dot_number={DATA_DOTS[0]}&$limit=1000&$offset=0&$order=:id"
    }
    assert alone.progress[DATA_DOTS[0]] == [
        "fetching violations page 1",
        "fetching inspections page 1",
    ]

    store = SqliteStore(tmp_path / "single.db")
    await store.open()
    try:
        docs = [{"_id": ObjectId(), "name": f"C{dot}", "dotNumber": dot} for dot in DATA_DOTS[:2]]
        await store.insert_documents(docs)
        hostile.requests.clear()
        # a window far longer than any test: a run that waited for it would show
        async with SyncEngine(
            store, settings_for(hostile, hub_batch_window=5.0), origin=Origin.SYNC
        ) as engine:
            coordinator = RunCoordinator(engine)
            for summary in await store.list_summaries():
                coordinator.submit(summary)  # the dashboard's `r`, once per carrier
            await coordinator.wait_idle()
        asked = sorted(r.param("dot_number") for r in hostile.received(Endpoint.VIOLATIONS))
        assert asked == sorted(DATA_DOTS[:2])
        for doc in docs:
            raw = await store.get_company(str(doc["_id"]))
            assert raw is not None and raw["fmcsaData"]["syncStatus"]["success"] is True
    finally:
        await store.close()


async def test_against_the_sandbox_forty_carriers_cost_a_few_shared_datahub_queries(
    tmp_path: Path,
) -> None:
    """The sandbox counts what it served: a plain bulk run asks DataHub twice per carrier
    (more for the 2,500-row one), a batched one a page per dataset for all forty."""
    dots = [str(4_000_000 + 100 * n + (99 if n == 7 else 2 + n)) for n in range(40)]
    assert fault_for(dots[7]).kind is FaultKind.MANY_PAGES
    assert all(fault_for(dot).kind is FaultKind.NONE for i, dot in enumerate(dots) if i != 7)
    with SandboxServer() as sandbox:
        plain = await bulk_sync(sandbox, dots, tmp_path, "plain", hub_batch_size=1)
        batched = await bulk_sync(sandbox, dots, tmp_path, "batched", **grouped(40))
    assert batched.stored == plain.stored
    assert all(outcome.success for outcome in batched.outcomes.values())
    pages = sum(
        len([row for dot in dots for row in rows(dot)]) // 1000 + 1
        for rows in (violation_rows, inspection_rows)
    )
    assert plain.counts["apis"] == {"qcmobile": 80, "datahub": 82}  # 2 + 2 a carrier, 2 more
    assert batched.counts["apis"] == {"qcmobile": 80, "datahub": pages}
    assert pages <= 6  # 3 + 2 here: 80 + 6 requests for 40 carriers, 2.15 each at most
    for dot in dots:  # every carrier was asked for in every batched query, and only there
        assert batched.counts["dots"][dot] == {"qcmobile": 2, "datahub": pages}


async def test_at_datahubs_rate_limit_a_batch_keeps_gathering_until_the_budget_has_room(
    tmp_path: Path,
) -> None:
    """DataHub at half a request a second, its one token spent: the first three
    carriers' batch outlives its 10 ms window, and three carriers submitted after it
    ride in the same queries (one per dataset for all six) instead of a second batch."""
    dots = [str(5_000_000 + 100 * n + 2 + n) for n in range(6)]
    settings_args = {"hub_rate_limit": 0.5, "hub_batch_window": 0.01, "concurrency": 8}
    store = SqliteStore(tmp_path / "budget.db")
    await store.open()
    try:
        docs = [{"_id": ObjectId(), "name": f"Carrier {dot}", "dotNumber": dot} for dot in dots]
        await store.insert_documents(docs)
        with SandboxServer() as sandbox:
            settings = settings_for(sandbox, **settings_args)
            async with SyncEngine(store, settings, origin=Origin.SYNC) as engine:
                await engine.http._limiter(HUB).acquire()  # type: ignore[union-attr]
                assert not engine.http.has_room(HUB)
                asked: list[str] = []

                def watch(notice: Notice) -> None:
                    if isinstance(notice, SourceStarted) and notice.source is Source.VIOLATIONS:
                        asked.append(notice.dot_number)

                coordinator = RunCoordinator(engine, listener=watch)
                coordinator.submit_many([Target.of(doc) for doc in docs[:3]], list(Source))
                await eventually(lambda: len(asked) == 3, what="the first three asking")
                await asyncio.sleep(0.05)  # well past the 10 ms window: the batch must wait
                coordinator.submit_many([Target.of(doc) for doc in docs[3:]], list(Source))
                await coordinator.wait_idle()
            counts = sandbox.requests()
        rows = {row.dot_number: row for row in await store.list_summaries()}
    finally:
        await store.close()
    assert all(rows[dot].status == "ok" for dot in dots)
    assert counts["apis"]["datahub"] == 2, counts["apis"]  # one query per dataset for all six
    assert all(counts["dots"][dot]["datahub"] == 2 for dot in dots)


async def test_a_batch_holding_an_outage_carrier_fails_while_the_outage_lasts(
    tmp_path: Path,
) -> None:
    """The sandbox's plan applies to the whole batch (the issue's rule): its first five
    violation queries answer 503, so with 3 attempts the first bulk run fails every
    carrier's violations with one line, and the next run gets through."""
    dots = ["5000080", "5000002", "5000003"]  # bucket 80: violations outage
    with SandboxServer(SandboxConfig(outage_requests=5)) as sandbox:
        first = await bulk_sync(sandbox, dots, tmp_path, "first", **grouped(3, max_attempts=3))
        second = await bulk_sync(sandbox, dots, tmp_path, "second", **grouped(3, max_attempts=3))
    [line] = {first.violations[dot].error for dot in dots}  # type: ignore[union-attr]
    assert "503" in line and "after 3 attempts" in line, line
    for dot in dots:
        assert first.outcomes[dot].failed_sources == (Source.VIOLATIONS,)
        assert [e["error"] for e in first.errors[dot]] == [line]
        assert second.outcomes[dot].success, second.violations[dot]
    assert all(second.stored[dot][1] for dot in dots[1:])


# --- failures: per batch, per carrier ----------------------------------------------------------


async def test_a_failing_batch_fails_violations_for_each_carrier_with_the_same_line(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.set("503", only={Endpoint.VIOLATIONS})
    dots = DATA_DOTS[:4]
    fleet = await bulk_sync(hostile, dots, tmp_path, "failing", **grouped(len(dots)))
    errors = {dot: fleet.violations[dot] for dot in dots}
    assert all(isinstance(error, SourceFailed) for error in errors.values())
    lines = {error.error for error in errors.values()}  # type: ignore[union-attr]
    [line] = lines
    assert "DataHub" in line and "503" in line and "after 2 attempts" in line, line
    for dot in dots:
        assert fleet.outcomes[dot].failed_sources == (Source.VIOLATIONS,)
        assert fleet.errors[dot] == [
            {**fleet.errors[dot][0], "source": "violations", "error": line}
        ]  # stored as shown
        assert fleet.stored[dot] == (False, [])  # nothing of violations written
    # one query per attempt for the batch, not one per carrier
    assert len(hostile.received(Endpoint.VIOLATIONS)) == 2


async def test_max_rows_fails_only_the_carrier_past_it_and_drops_its_rows(
    hostile: HostileServer, tmp_path: Path
) -> None:
    """`max_rows` 1,000 (100 rows a page): the bucket-99 carrier (2,500 + 825 rows) fails
    its own violations and its later rows are dropped; the others (at most 18 rows each)
    get all of theirs, as plain runs do. The batch pages on to its short page: 2,545
    rows are well under its bound of 1,000 x 6."""
    hostile.set("healthy")
    dots = DATA_DOTS
    bounds = {"max_rows": 1000, "page_size": 100}
    plain = await bulk_sync(hostile, dots, tmp_path, "plain", hub_batch_size=1, **bounds)
    batched = await bulk_sync(hostile, dots, tmp_path, "batched", **grouped(6, **bounds))
    big = "2000099"
    failed = batched.violations[big]
    assert isinstance(failed, SourceFailed)
    assert failed.error == plain.violations[big].error  # type: ignore[union-attr]
    assert failed.error == "DataHub sent more than 1000 rows for DOT 2000099 (setting `max_rows`)"
    assert batched.stored == plain.stored
    for dot in dots:
        if dot != big:
            assert isinstance(batched.violations[dot], SourceSucceeded), batched.violations[dot]


async def test_endless_pages_stop_at_max_rows_per_carrier_for_the_whole_batch(
    hostile: HostileServer, tmp_path: Path
) -> None:
    """A server that never sends a short page: the batch stops after `max_rows` x its
    carriers and each carrier fails with the plain run's wording."""
    hostile.set("endless-pages", only={Endpoint.VIOLATIONS})
    dots = DATA_DOTS[:3]
    fleet = await bulk_sync(
        hostile, dots, tmp_path, "endless", **grouped(3, max_rows=2500, page_size=1000)
    )
    for dot in dots:
        failed = fleet.violations[dot]
        assert isinstance(failed, SourceFailed)
        assert (
            failed.error == f"DataHub sent more than 2500 rows for DOT {dot} (setting `max_rows`)"
        )
    # 3 carriers x 2,500 rows, 1,000 a page: the eighth page passes the bound, no ninth
    assert len(hostile.received(Endpoint.VIOLATIONS)) == 8


async def test_rows_that_belong_to_no_carrier_asked_are_counted_as_skipped(
    hostile: HostileServer, tmp_path: Path
) -> None:
    """Junk elements in a batch's answer cannot be placed: every carrier notes them as a
    plain run notes its own, and keeps its rows."""
    hostile.set("malformed-elements", only=HUB_ENDPOINTS)
    dots = DATA_DOTS[:3]
    fleet = await bulk_sync(hostile, dots, tmp_path, "junk", **grouped(3))
    for dot in dots:
        ok = fleet.violations[dot]
        assert isinstance(ok, SourceSucceeded), ok
        assert "malformed" in ok.summary and "skipped" in ok.summary, ok.summary
        assert fleet.stored[dot][1]


# --- cancellation ----------------------------------------------------------------------------


def context(settings: Settings, http: FmcsaHttp, dot: str, deadline: float | None) -> SourceContext:
    return SourceContext(
        http=http, qc_base_url=settings.qc_base_url, hub_base_url=settings.hub_base_url,
        webkey="k3y", app_token=None, page_size=settings.page_size, dot=dot,
        progress=lambda _message, _page: None, on_retry=lambda *_args: None,
        max_rows=settings.max_rows, deadline=deadline,
    )  # fmt: skip


def ask_violations(
    batcher: HubBatcher,
    settings: Settings,
    http: FmcsaHttp,
    dot: str,
    deadline: float | None = None,
) -> asyncio.Future[Any]:
    """One carrier's violations source asking the batcher, as a future to await or cancel."""
    return asyncio.ensure_future(
        batcher.rows(
            context(settings, http, dot, deadline), VIOLATION_DATASET, "violations",
            VIOLATION_FIELDS,
        )
    )  # fmt: skip


async def test_a_carrier_cancelled_while_waiting_leaves_the_batch_to_the_others(
    hostile: HostileServer,
) -> None:
    hostile.set("healthy", delay=0.5)  # slow enough to cancel a waiter mid-request
    settings = settings_for(hostile, hub_batch_window=0.01)
    http = FmcsaHttp(settings)
    batcher = HubBatcher(settings)
    try:
        ask = [ask_violations(batcher, settings, http, dot) for dot in DATA_DOTS[:3]]
        await eventually(lambda: len(hostile.received(Endpoint.VIOLATIONS)) == 1)
        ask[0].cancel()
        kept = await asyncio.gather(ask[1], ask[2])
        assert ask[0].cancelled()
        assert [len(rows) for rows in kept] == [4, 11]  # 2000003's and 2000005's rows
        assert {row["unique_id"] for row in kept[0]}.isdisjoint(r["unique_id"] for r in kept[1])

        # nobody left waiting: the batch's request is abandoned and no task is left
        alone = [ask_violations(batcher, settings, http, dot) for dot in DATA_DOTS[:2]]
        await eventually(lambda: len(hostile.received(Endpoint.VIOLATIONS)) == 2)
        for task in alone:
            task.cancel()
        await asyncio.gather(*alone, return_exceptions=True)
        await eventually(lambda: not batcher._tasks, what="the batch was not cancelled")
    finally:
        await batcher.aclose()
        await http.aclose()


async def test_a_carrier_cancelled_before_the_batch_leaves_gives_its_place_to_another(
    hostile: HostileServer,
) -> None:
    """A batch of three (and a window far longer than the test): A and B join, A is
    cancelled, C and D join; B, C and D fill the batch and are asked for, A is not."""
    hostile.set("healthy")
    settings = settings_for(hostile, hub_batch_window=5.0, hub_batch_size=3)
    http = FmcsaHttp(settings)
    batcher = HubBatcher(settings)

    def ask(dot: str) -> asyncio.Future[Any]:
        return ask_violations(batcher, settings, http, dot)

    try:
        a, b = ask(DATA_DOTS[0]), ask(DATA_DOTS[1])
        await asyncio.sleep(0)  # both have joined the batch
        a.cancel()
        c, d = ask(DATA_DOTS[2]), ask(DATA_DOTS[3])
        rows = await asyncio.gather(b, c, d)
        assert [len(r) for r in rows] == [len(violation_rows(dot)) for dot in DATA_DOTS[1:4]]
        [request] = hostile.received(Endpoint.VIOLATIONS)
        assert sorted(request.dots) == sorted(DATA_DOTS[1:4])
    finally:
        await batcher.aclose()
        await http.aclose()


async def test_cancelling_one_carrier_of_a_bulk_run_leaves_it_untouched_and_the_rest_synced(
    hostile: HostileServer, tmp_path: Path
) -> None:
    """The operator cancels one carrier while its batch's query is in flight: that
    carrier's sources stay as they were, the others get all of their rows."""
    hostile.set("healthy", delay=0.5)
    dots = DATA_DOTS[:3]
    store = SqliteStore(tmp_path / "cancel.db")
    await store.open()
    try:
        docs = [{"_id": ObjectId(), "name": f"C{dot}", "dotNumber": dot} for dot in dots]
        await store.insert_documents(docs)
        ended: list[RunEnded] = []

        def watch(notice: Notice) -> None:
            if isinstance(notice, RunEnded):
                ended.append(notice)

        async with SyncEngine(
            store, settings_for(hostile, **grouped(3)), origin=Origin.SYNC
        ) as engine:
            coordinator = RunCoordinator(engine, listener=watch)
            coordinator.submit_many(await store.list_summaries(), list(Source))
            await eventually(lambda: len(hostile.received(Endpoint.VIOLATIONS)) == 1)
            assert coordinator.cancel(str(docs[0]["_id"]))
            await coordinator.wait_idle()
        by_dot = {notice.dot_number: notice for notice in ended}
        assert by_dot[dots[0]].cancelled
        assert all(by_dot[dot].success for dot in dots[1:])
        assert len(hostile.received(Endpoint.VIOLATIONS)) == 1  # the batch went on, once
        hostile.set("healthy")
        plain = await bulk_sync(hostile, dots, tmp_path, "plain", hub_batch_size=1)
        for doc in docs:
            raw = await store.get_company(str(doc["_id"]))
            assert raw is not None
            status = raw.get("fmcsaData", {}).get("syncStatus", {})
            kept = await store.inspections_for(str(doc["_id"]))
            if doc is docs[0]:  # untouched: nothing of any source written
                assert not kept and not status.get("violationsLastSync")
                assert not status.get("csaScoresLastSync")
            else:
                stored = sorted(
                    ({k: v for k, v in i.items() if k not in {"_id", "companyId"}}
                     for i in kept),
                    key=repr,
                )  # fmt: skip
                assert (True, stored) == plain.stored[doc["dotNumber"]]
        assert await store.leased_ids() == set()
    finally:
        await store.close()


async def test_closing_the_engine_leaves_no_batch_behind(hostile: HostileServer) -> None:
    hostile.set("healthy", delay=5)  # answers nobody waits for
    settings = settings_for(hostile, hub_batch_window=0.01)
    http = FmcsaHttp(settings)
    batcher = HubBatcher(settings)
    waiting = [ask_violations(batcher, settings, http, dot) for dot in DATA_DOTS[:2]]
    patient = HubBatcher(settings_for(hostile, hub_batch_window=5.0))
    collecting = asyncio.ensure_future(
        patient.rows(
            context(settings, http, "2000010", None), VIOLATION_DATASET, "violations",
            VIOLATION_FIELDS,
        )
    )  # fmt: skip
    await eventually(lambda: len(hostile.received(Endpoint.VIOLATIONS)) == 1)
    await batcher.aclose()  # one batch fetching
    await patient.aclose()  # one still collecting
    assert not batcher._tasks and not patient._open
    for task in [*waiting, collecting]:
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(hostile.received(Endpoint.VIOLATIONS)) == 1  # the collecting one never asked
    await http.aclose()


async def test_a_batch_gives_up_at_its_earliest_carriers_deadline(
    hostile: HostileServer,
) -> None:
    hostile.set("healthy", delay=5)
    settings = settings_for(hostile, hub_batch_window=0.01, source_deadline=30)
    http = FmcsaHttp(settings)
    batcher = HubBatcher(settings)
    now = asyncio.get_running_loop().time()
    try:
        results = await asyncio.gather(
            *(
                batcher.rows(
                    context(settings, http, dot, now + wait), VIOLATION_DATASET, "violations",
                    VIOLATION_FIELDS,
                )
                for dot, wait in zip(DATA_DOTS[:2], (0.3, 20), strict=True)
            ),
            return_exceptions=True,
        )  # fmt: skip
    finally:
        await batcher.aclose()
        await http.aclose()
    texts = {getattr(result, "message", repr(result)) for result in results}
    assert texts == {
        "gave up at the source's 30s deadline (setting `source_deadline`) while fetching "
        "violations page 1 (batch of 2)"
    }
