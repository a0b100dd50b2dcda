"""The engine against the sandbox over real loopback HTTP, checking the store after every run.

DOT numbers are chosen by their last two digits, which pick the sandbox's fault
(see fmcsa_tui/sandbox/plan.py): 1000060 always fails csa_scores with 503, and so on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from fmcsa_tui.coordinator import RunCoordinator
from fmcsa_tui.models import Company, Source
from fmcsa_tui.models.runs import Origin
from fmcsa_tui.sandbox.plan import MANY_PAGES_VIOLATIONS
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.settings import ConfigError, Settings
from fmcsa_tui.store import CompanyStore, SqliteStore
from fmcsa_tui.sync.engine import RunOutcome, SyncEngine, Target
from fmcsa_tui.sync.events import (
    RunEvent,
    RunFinished,
    RunRefused,
    RunSkipped,
    RunStarted,
    SourceFailed,
    SourceProgress,
    SourceStarted,
    SourceSucceeded,
)
from tests.support import real_documents
from tests.support.hostile import HostileServer

EARLIER = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SECRET_KEY = "sekrit-webkey-4242"
SECRET_TOKEN = "app-token-7777"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(hang_seconds=2.0, retry_after=1)) as server:
        yield server


def engine_settings(url: str, store: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "store": f"sqlite:///{store}",
        "qc_base_url": f"{url}/qc/services",
        "hub_base_url": url,
        "webkey": SECRET_KEY,
        "app_token": SECRET_TOKEN,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "timeout": 0.5,
        "max_attempts": 5,
        "qc_rate_limit": 0,
        "hub_rate_limit": 0,
        "concurrency": 8,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def engine(
    sandbox: SandboxServer, store: CompanyStore, tmp_path: Path
) -> AsyncIterator[SyncEngine]:
    async with SyncEngine(
        store, engine_settings(sandbox.url, tmp_path / "engine.db"), origin=Origin.SYNC
    ) as engine:
        yield engine


def dot_for(bucket: int, offset: int = 1_000_000) -> str:
    """A DOT number whose sandbox fault bucket is `bucket` (its last two digits)."""
    return str(offset + bucket)


def synced_before(dot: str, **extra: Any) -> dict[str, Any]:
    """A document as the backend leaves it after an earlier, successful sync."""
    return {
        "_id": ObjectId(),
        "name": f"Carrier {dot}",
        "dotNumber": dot,
        "ownerId": ObjectId(),
        "customField": {"keep": ["me", 1]},
        "smsBasics": {"unsafeDriving": 42, "unsafeDrivingMeasure": 3.5, "lastUpdated": EARLIER},
        "fmcsaData": {
            "inspections": {"driverInspections": 7, "lastSync": EARLIER, "backendNote": "x"},
            "syncStatus": {
                "lastRun": EARLIER,
                "success": True,
                "errors": [],
                "csaScoresLastSync": EARLIER,
                "violationsLastSync": EARLIER,
                "inspectionsLastSync": EARLIER,
            },
        },
        "createdAt": EARLIER,
        "updatedAt": EARLIER,
        "__v": 3,
    }


async def add(store: CompanyStore, doc: dict[str, Any]) -> dict[str, Any]:
    await store.insert_documents([doc])
    stored = await store.get_company(str(doc["_id"]))
    assert stored is not None
    return stored


async def run(
    engine: SyncEngine, doc: dict[str, Any], sources: tuple[Source, ...] = tuple(Source)
) -> tuple[list[RunEvent], RunFinished | RunRefused]:
    events: list[RunEvent] = []
    outcome = await engine.run(doc, sources, events.append)
    return events, outcome


async def run_target(engine: SyncEngine, target: Target) -> tuple[list[RunEvent], RunOutcome]:
    events: list[RunEvent] = []
    outcome = await engine.run(target, emit=events.append)
    return events, outcome


async def reread(store: CompanyStore, doc: dict[str, Any]) -> tuple[dict[str, Any], Company]:
    raw = await store.get_company(str(doc["_id"]))
    assert raw is not None
    return raw, Company.model_validate(raw)


def of_type(events: list[RunEvent], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


# --- the happy path and the write rules -----------------------------------------------


async def test_healthy_run_writes_every_source_and_keeps_unknown_fields(
    engine: SyncEngine, store: CompanyStore
) -> None:
    doc = await add(store, synced_before(dot_for(5)))
    events, outcome = await run(engine, doc)

    assert isinstance(outcome, RunFinished) and outcome.success and not outcome.cancelled
    assert isinstance(events[0], RunStarted) and events[-1] == outcome
    assert {e.source for e in of_type(events, SourceStarted)} == set(Source)
    assert {e.source for e in of_type(events, SourceSucceeded)} == set(Source)
    started = events[0].at

    raw, company = await reread(store, doc)
    status = company.sync_status
    assert status.last_run == started
    assert status.success is True and status.errors == []
    for source in Source:
        stamp = status.last_sync(source)
        assert stamp is not None and stamp > EARLIER
    assert company.updated_at is not None and company.updated_at >= started
    # fields the engine does not own survive untouched, beside and inside its own
    assert raw["customField"] == {"keep": ["me", 1]}
    assert raw["ownerId"] == doc["ownerId"]
    assert raw["fmcsaData"]["inspections"]["backendNote"] == "x"
    assert raw["name"] == f"Carrier {dot_for(5)}"  # a name already there is never replaced
    assert raw["smsBasics"]["lastUpdated"] > EARLIER
    assert isinstance(raw["fmcsaData"]["inspections"]["driverInspections"], int)
    assert raw["fmcsaData"]["inspections"]["carrier"]["dotNumber"] == dot_for(5)
    assert raw["fmcsaData"]["lastViolationSync"] > EARLIER
    inspections = await store.inspections_for(str(doc["_id"]))
    succeeded = {e.source: e for e in of_type(events, SourceSucceeded)}
    assert f"{len(inspections)} inspections" in succeeded[Source.VIOLATIONS].summary


async def test_a_never_synced_carrier_gets_its_name_from_fmcsa(
    engine: SyncEngine, store: CompanyStore
) -> None:
    doc = await add(store, {"_id": ObjectId(), "name": "", "dotNumber": dot_for(12)})
    _, outcome = await run(engine, doc)
    assert isinstance(outcome, RunFinished) and outcome.success
    raw, company = await reread(store, doc)
    assert company.name and company.name == raw["fmcsaData"]["inspections"]["carrier"]["legalName"]


async def test_persistent_503_keeps_previous_data_and_timestamp(
    engine: SyncEngine, store: CompanyStore
) -> None:
    doc = await add(store, synced_before(dot_for(60)))
    events, outcome = await run(engine, doc)

    assert isinstance(outcome, RunFinished) and not outcome.success
    assert outcome.failed_sources == (Source.CSA_SCORES,)
    [failure] = of_type(events, SourceFailed)
    assert failure.source is Source.CSA_SCORES and not failure.permanent
    assert failure.attempts == 5
    retries = [e for e in of_type(events, SourceProgress) if e.retry_in is not None]
    assert [e.attempt for e in retries] == [2, 3, 4, 5]

    raw, company = await reread(store, doc)
    status = company.sync_status
    assert status.success is False and status.status == "failed"
    [error] = status.errors
    assert error.source == "csa_scores"
    assert "HTTP 503" in error.error and "after 5 attempts" in error.error
    assert error.id is not None and error.timestamp is not None
    assert status.csa_scores_last_sync == EARLIER  # untouched
    assert raw["smsBasics"]["unsafeDriving"] == 42  # previous data kept
    assert status.violations_last_sync > EARLIER and status.inspections_last_sync > EARLIER


async def test_the_documents_a_real_backend_wrote_resync_by_the_status_rule(
    engine: SyncEngine, store: CompanyStore
) -> None:
    """Issue 8: a null syncStatus and a "Not Public" percentile sync like any other."""
    null_status = await add(store, real_documents.null_sync_status(dot_for(5)))
    text_basic = await add(store, real_documents.not_public(dot_for(60)))  # csa: 503
    for doc in (null_status, text_basic):
        _events, outcome = await run(engine, doc)
        assert isinstance(outcome, RunFinished)

    raw, company = await reread(store, null_status)
    assert company.sync_status.status == "ok" and raw["fmcsaData"]["syncStatus"]["success"]
    raw, company = await reread(store, text_basic)
    assert company.sync_status.status == "failed"
    assert company.sync_status.error_sources == {"csa_scores"}
    assert raw["smsBasics"]["unsafeDriving"] == "Not Public"  # a failed source keeps its data
    listed = {row.dot_number: row.status for row in await store.list_summaries()}
    assert listed == {dot_for(5): "ok", dot_for(60): "failed"}


async def test_maintenance_page_is_retried_then_recorded(
    engine: SyncEngine, store: CompanyStore
) -> None:
    doc = await add(store, synced_before(dot_for(64)))
    events, _ = await run(engine, doc)
    [failure] = of_type(events, SourceFailed)
    assert failure.source is Source.INSPECTIONS and failure.attempts == 5
    _, company = await reread(store, doc)
    [error] = company.sync_status.errors
    assert error.source == "inspections" and "maintenance" in error.error
    assert company.sync_status.inspections_last_sync == EARLIER


async def test_unknown_carrier_fails_permanently_without_retrying(
    engine: SyncEngine, store: CompanyStore
) -> None:
    doc = await add(store, synced_before(dot_for(67)))
    events, _ = await run(engine, doc)
    [failure] = of_type(events, SourceFailed)
    assert failure.source is Source.INSPECTIONS
    assert failure.permanent and failure.attempts == 1
    assert not [e for e in of_type(events, SourceProgress) if e.retry_in is not None]
    _, company = await reread(store, doc)
    [error] = company.sync_status.errors
    # No DOT in the text (the row is the carrier's): the fleet screen counts every
    # unknown carrier under this one text.
    assert error.error == "carrier not found: FMCSA has no record of this DOT number"


@pytest.mark.parametrize(
    ("bucket", "source", "attempts", "reasons"),
    [
        (70, Source.CSA_SCORES, 3, ["HTTP 503", "HTTP 502"]),
        (71, Source.VIOLATIONS, 3, ["HTTP 503", "HTTP 502"]),
        (75, Source.INSPECTIONS, 2, ["timed out"]),
        (77, Source.VIOLATIONS, 2, ["HTTP 429"]),
    ],
)
async def test_transient_faults_are_ridden_through(
    engine: SyncEngine,
    store: CompanyStore,
    bucket: int,
    source: Source,
    attempts: int,
    reasons: list[str],
) -> None:
    doc = await add(store, synced_before(dot_for(bucket)))
    events, outcome = await run(engine, doc)
    assert isinstance(outcome, RunFinished) and outcome.success
    succeeded = {e.source: e for e in of_type(events, SourceSucceeded)}
    assert succeeded[source].attempts == attempts
    retries = [e for e in of_type(events, SourceProgress) if e.retry_in is not None]
    assert len(retries) == len(reasons)
    for event, reason in zip(retries, reasons, strict=True):
        assert event.source is source and reason in event.message
    _, company = await reread(store, doc)
    assert company.sync_status.errors == [] and company.sync_status.success is True


async def test_retry_after_is_honoured(engine: SyncEngine, store: CompanyStore) -> None:
    doc = await add(store, synced_before(dot_for(76)))
    events, outcome = await run(engine, doc)
    assert isinstance(outcome, RunFinished) and outcome.success
    [retry] = [e for e in of_type(events, SourceProgress) if e.retry_in is not None]
    assert retry.source is Source.CSA_SCORES
    assert retry.retry_in == 1.0  # the sandbox's Retry-After, not our 10 ms backoff


async def test_an_outage_fails_one_run_and_a_later_run_succeeds(
    store: CompanyStore, tmp_path: Path
) -> None:
    # a sandbox of its own: an outage is counted per DOT for the sandbox's lifetime
    with SandboxServer(SandboxConfig()) as fresh:
        settings = engine_settings(fresh.url, tmp_path / "engine.db")
        async with SyncEngine(store, settings, origin=Origin.SYNC) as engine:
            await _outage_then_recovery(engine, store)


async def _outage_then_recovery(engine: SyncEngine, store: CompanyStore) -> None:
    doc = await add(store, synced_before(dot_for(81)))
    _, first = await run(engine, doc)
    assert isinstance(first, RunFinished) and first.failed_sources == (Source.INSPECTIONS,)
    _, company = await reread(store, doc)
    assert [e.source for e in company.sync_status.errors] == ["inspections"]

    _, second = await run(engine, doc)
    assert isinstance(second, RunFinished) and second.success
    _, company = await reread(store, doc)
    assert company.sync_status.errors == [] and company.sync_status.success is True
    assert company.sync_status.inspections_last_sync > EARLIER


async def test_violations_spanning_several_pages(engine: SyncEngine, store: CompanyStore) -> None:
    doc = await add(store, synced_before(dot_for(99)))
    events, outcome = await run(engine, doc, (Source.VIOLATIONS,))
    assert isinstance(outcome, RunFinished) and outcome.success
    pages = [
        e.page
        for e in of_type(events, SourceProgress)
        if e.message.startswith("fetching violations")
    ]
    assert pages == [1, 2, 3]
    inspections = await store.inspections_for(str(doc["_id"]))
    assert sum(len(i["violations"]) for i in inspections) == MANY_PAGES_VIOLATIONS
    assert len({i["reportNumber"] for i in inspections}) == len(inspections)

    # a second run upserts: same documents, no duplicates
    await run(engine, doc, (Source.VIOLATIONS,))
    assert len(await store.inspections_for(str(doc["_id"]))) == len(inspections)


async def test_errors_of_other_sources_are_kept_and_covered_ones_replaced(
    engine: SyncEngine, store: CompanyStore
) -> None:
    doc = synced_before(dot_for(60))
    doc["fmcsaData"]["syncStatus"]["success"] = False
    doc["fmcsaData"]["syncStatus"]["errors"] = [
        {"_id": ObjectId(), "source": "csa_scores", "error": "old csa", "timestamp": EARLIER},
        {"_id": ObjectId(), "source": "violations", "error": "old viol", "timestamp": EARLIER},
        {"_id": ObjectId(), "source": "entity_linking", "error": "linker", "timestamp": EARLIER},
        {"_id": ObjectId(), "source": "violation_scanner", "error": "scan", "timestamp": EARLIER},
    ]
    doc = await add(store, doc)
    # this run covers csa_scores (which fails again) and violations (which succeeds)
    await run(engine, doc, (Source.CSA_SCORES, Source.VIOLATIONS))
    _, company = await reread(store, doc)
    errors = {e.source: e.error for e in company.sync_status.errors}
    assert set(errors) == {"csa_scores", "entity_linking", "violation_scanner"}
    assert errors["csa_scores"] != "old csa" and "HTTP 503" in errors["csa_scores"]
    assert errors["entity_linking"] == "linker"
    assert company.sync_status.success is False
    assert company.sync_status.inspections_last_sync == EARLIER  # not covered by this run


async def test_success_needs_no_errors_left_even_from_other_sources(
    engine: SyncEngine, store: CompanyStore
) -> None:
    doc = synced_before(dot_for(3))
    doc["fmcsaData"]["syncStatus"]["errors"] = [
        {"source": "dataq_analysis", "error": "x", "timestamp": "2026-01-01T00:00:00Z"}
    ]
    doc = await add(store, doc)
    _, outcome = await run(engine, doc)
    assert isinstance(outcome, RunFinished) and outcome.success  # every covered source ok
    _, company = await reread(store, doc)
    assert company.sync_status.success is False  # but an error row is left
    assert [e.source for e in company.sync_status.errors] == ["dataq_analysis"]


# --- credentials and secrets ----------------------------------------------------------


async def test_a_rejected_webkey_fails_qcmobile_sources_permanently_without_leaking_it(
    store: CompanyStore, tmp_path: Path
) -> None:
    with SandboxServer(SandboxConfig(webkey="the-right-key")) as strict:
        settings = engine_settings(strict.url, tmp_path / "engine.db")
        doc = await add(store, synced_before(dot_for(8)))
        async with SyncEngine(store, settings, origin=Origin.SYNC) as engine:
            events, outcome = await run(engine, doc)
    assert isinstance(outcome, RunFinished)
    assert set(outcome.failed_sources) == {Source.CSA_SCORES, Source.INSPECTIONS}
    failures = of_type(events, SourceFailed)
    assert all(f.permanent and f.attempts == 1 for f in failures)
    assert all("Webkey not found" in f.error for f in failures)
    raw, _ = await reread(store, doc)
    everything = repr(events) + repr(raw)
    assert SECRET_KEY not in everything and SECRET_TOKEN not in everything


def test_a_missing_webkey_is_a_config_error_naming_the_setting(tmp_path: Path) -> None:
    settings = Settings(store=f"sqlite:///{tmp_path / 'x.db'}", webkey=None)
    engine = SyncEngine(SqliteStore(tmp_path / "x.db"), settings, origin=Origin.SYNC)
    with pytest.raises(ConfigError, match="FMCSA_TUI_WEBKEY"):
        engine.check_ready()


# --- concurrency, leases and cancellation ---------------------------------------------


async def test_two_concurrent_runs_of_one_company_one_is_refused(
    sandbox: SandboxServer, store: CompanyStore, other_store: CompanyStore, tmp_path: Path
) -> None:
    doc = await add(store, synced_before(dot_for(20)))
    settings = engine_settings(sandbox.url, tmp_path / "engine.db")
    # `other_store` is a second handle on the same data: another process, as it were
    async with (
        SyncEngine(store, settings, origin=Origin.SYNC) as one,
        SyncEngine(other_store, settings, origin=Origin.SYNC) as two,
    ):
        outcomes = await asyncio.gather(one.run(doc), two.run(doc))
    refused = [o for o in outcomes if isinstance(o, RunRefused)]
    finished = [o for o in outcomes if isinstance(o, RunFinished)]
    assert len(refused) == 1 and len(finished) == 1
    assert refused[0].reason == "already syncing"
    assert finished[0].success
    # the lease is released: a third run goes ahead
    async with SyncEngine(store, settings, origin=Origin.SYNC) as three:
        assert isinstance(await three.run(doc), RunFinished)


async def test_a_pass_skips_a_carrier_run_elsewhere_since_it_was_listed(
    sandbox: SandboxServer, store: CompanyStore, other_store: CompanyStore, tmp_path: Path
) -> None:
    doc = await add(store, synced_before(dot_for(21)))
    [listed] = await store.list_summaries()
    settings = engine_settings(sandbox.url, tmp_path / "engine.db")
    async with (
        SyncEngine(store, settings, origin=Origin.SYNC) as one,
        SyncEngine(other_store, settings, origin=Origin.SYNC) as two,
    ):
        assert isinstance(await two.run(Target.in_pass(listed)), RunFinished)  # elsewhere
        ran_elsewhere, _ = await reread(store, doc)
        events, outcome = await run_target(one, Target.in_pass(listed))
        assert outcome == RunSkipped(
            company_id=listed.id, dot_number=listed.dot_number or "", name=listed.name or "",
            reason="synced elsewhere",
        )  # fmt: skip
        assert events == [outcome]  # no source started
        assert (await reread(store, doc))[0] == ran_elsewhere  # nothing written
        assert await store.leased_ids() == set()
        # listed again, it is ours to run; outside a pass (the dashboard's `r`) it always runs
        [relisted] = await store.list_summaries()
        assert isinstance(await one.run(Target.in_pass(relisted)), RunFinished)
        assert isinstance(await one.run(Target.of(listed)), RunFinished)


async def test_a_pass_skips_a_carrier_another_process_is_syncing_without_failing(
    sandbox: SandboxServer, store: CompanyStore, other_store: CompanyStore, tmp_path: Path
) -> None:
    doc = await add(store, synced_before(dot_for(22)))
    [listed] = await store.list_summaries()
    assert await other_store.acquire_lease(listed.id, "another process", timedelta(minutes=1))
    async with SyncEngine(
        store, engine_settings(sandbox.url, tmp_path / "e.db"), origin=Origin.SYNC
    ) as engine:
        _, in_pass = await run_target(engine, Target.in_pass(listed))
        _, outside = await run_target(engine, Target.of(listed))
    assert isinstance(in_pass, RunSkipped) and in_pass.reason == "syncing elsewhere"
    assert isinstance(outside, RunRefused) and outside.reason == "already syncing"
    assert (await reread(store, doc))[0] == doc  # nothing written
    assert await store.leased_ids() == {listed.id}  # theirs, untouched


async def test_cancelling_mid_run_leaves_no_half_written_source(
    store: CompanyStore, tmp_path: Path
) -> None:
    # latency 0.3 s: csa_scores and inspections need one request, violations needs 3
    # sequential pages (and rbkj-cgst in parallel), so cancel after the first two land
    with SandboxServer(SandboxConfig(latency=0.3)) as slow:
        settings = engine_settings(slow.url, tmp_path / "engine.db", timeout=5)
        doc = await add(store, synced_before(dot_for(99)))
        async with SyncEngine(store, settings, origin=Origin.SYNC) as engine:
            events: list[RunEvent] = []
            two_landed = asyncio.Event()

            def watch(event: RunEvent) -> None:
                events.append(event)
                if len(of_type(events, SourceSucceeded)) == 2:
                    two_landed.set()

            task = asyncio.create_task(engine.run(doc, emit=watch))
            await asyncio.wait_for(two_landed.wait(), timeout=30)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert isinstance(events[-1], RunFinished) and events[-1].cancelled
            raw, company = await reread(store, doc)
            status = company.sync_status
            assert status.csa_scores_last_sync > EARLIER
            assert status.inspections_last_sync > EARLIER
            assert status.violations_last_sync == EARLIER
            assert "lastViolationSync" not in raw["fmcsaData"]
            assert await store.inspections_for(str(doc["_id"])) == []
            assert status.errors == []
            # the lease went with the cancelled run
            assert str(doc["_id"]) not in await store.leased_ids()


async def test_cancelling_before_any_source_lands_changes_nothing(
    store: CompanyStore, tmp_path: Path
) -> None:
    with SandboxServer(SandboxConfig(latency=0.5)) as slow:
        settings = engine_settings(slow.url, tmp_path / "engine.db", timeout=5)
        doc = await add(store, {"_id": ObjectId(), "name": "Never", "dotNumber": dot_for(30)})
        before = await store.get_company(str(doc["_id"]))
        started = asyncio.Event()

        def watch(event: RunEvent) -> None:
            if isinstance(event, SourceStarted):  # requests in flight, none answered yet
                started.set()

        async with SyncEngine(store, settings, origin=Origin.SYNC) as engine:
            task = asyncio.create_task(engine.run(doc, emit=watch))
            await asyncio.wait_for(started.wait(), timeout=10)
            assert str(doc["_id"]) in await store.leased_ids()  # the run really began
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert await store.get_company(str(doc["_id"])) == before
        assert await store.leased_ids() == set()


async def test_many_companies_run_concurrently_up_to_the_limit(
    store: CompanyStore, tmp_path: Path
) -> None:
    with SandboxServer(SandboxConfig(latency=0.05)) as slow:
        settings = engine_settings(slow.url, tmp_path / "engine.db")
        docs = [synced_before(dot_for(bucket, 2_000_000 + 100 * n)) for n, bucket in
                enumerate([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])]  # fmt: skip
        await store.insert_documents(docs)
        running = peak = 0

        def watch(event: RunEvent) -> None:
            nonlocal running, peak
            if isinstance(event, RunStarted):
                running += 1
                peak = max(peak, running)
            elif isinstance(event, RunFinished):
                running -= 1

        async with SyncEngine(store, settings, origin=Origin.SYNC) as engine:
            coordinator = RunCoordinator(engine, concurrency=4, listener=watch)
            outcomes = await coordinator.run_all(docs)
    assert peak == 4
    assert all(isinstance(o, RunFinished) and o.success for o in outcomes)
    for doc in docs:
        _, company = await reread(store, doc)
        assert company.sync_status.success is True


async def test_sync_iterates_events_and_closing_early_cancels_the_run(
    store: CompanyStore, tmp_path: Path
) -> None:
    with SandboxServer(SandboxConfig(latency=0.3)) as slow:
        settings = engine_settings(slow.url, tmp_path / "engine.db", timeout=5)
        doc = await add(store, {"_id": ObjectId(), "name": "Iter", "dotNumber": dot_for(40)})
        async with SyncEngine(store, settings, origin=Origin.SYNC) as engine:
            stream = engine.sync(doc)
            first = await anext(stream)
            assert isinstance(first, RunStarted)
            await stream.aclose()  # the operator moved on
            assert await store.leased_ids() == set()
            events = [event async for event in engine.sync(doc)]
    assert isinstance(events[-1], RunFinished) and events[-1].success
    assert isinstance(events[0], RunStarted)


async def test_an_invalid_dot_is_refused_before_any_request(
    engine: SyncEngine, store: CompanyStore
) -> None:
    doc = await add(store, {"_id": ObjectId(), "name": "No DOT", "dotNumber": "n/a"})
    events, outcome = await run(engine, doc)
    assert isinstance(outcome, RunRefused) and "DOT" in outcome.reason
    assert events == [outcome]
    _, company = await reread(store, doc)
    assert company.sync_status.last_run is None


class BrokenWrites:
    """TEST FAKE: the real store, except that writing a success raises what a failing
    driver might (not a StoreError)."""

    def __init__(self, real: CompanyStore) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def record_success(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionResetError("connection reset by peer (test)")


async def test_an_unexpected_store_error_fails_that_source_and_the_bulk_run_goes_on(
    sandbox: SandboxServer, store: CompanyStore, tmp_path: Path
) -> None:
    docs = [synced_before(dot_for(bucket, 3_000_000)) for bucket in (1, 2, 3)]
    await store.insert_documents(docs)
    settings = engine_settings(sandbox.url, tmp_path / "engine.db")
    events: list[RunEvent] = []
    async with SyncEngine(BrokenWrites(store), settings, origin=Origin.SYNC) as engine:  # type: ignore[arg-type]
        outcomes = await RunCoordinator(engine, listener=events.append).run_all(docs)
    assert len(outcomes) == 3
    assert all(isinstance(o, RunFinished) and not o.success for o in outcomes)
    failures = of_type(events, SourceFailed)
    assert len(failures) == 9
    assert all("could not write to the store: connection reset" in f.error for f in failures)
    assert await store.leased_ids() == set()


# --- promises the README makes about a run ---------------------------------------------


async def test_each_api_has_its_own_rate_limit(store: CompanyStore, tmp_path: Path) -> None:
    """`qc_rate_limit` 5 a second (a bucket of 5 that drains 5 a second): any T seconds
    see at most 5 + 5T QCMobile requests, so its 10 span at least 1 s. DataHub, with no
    limit of its own, is not held by QCMobile's budget although both share one host here:
    every DataHub request arrives before the last QCMobile one. Lower bounds and order
    only: a slow machine makes them longer. Every other test runs with the limits off."""
    with HostileServer() as server:
        docs = [
            {"_id": ObjectId(), "name": f"Paced {n}", "dotNumber": dot_for(5, 1_000_000 + 100 * n)}
            for n in range(5)
        ]
        for doc in docs:
            await add(store, doc)
        settings = engine_settings(
            server.url, tmp_path / "engine.db", qc_rate_limit=5, hub_rate_limit=0,
            page_size=1000, concurrency=5, hub_batch_size=1,
        )  # fmt: skip
        async with SyncEngine(store, settings, origin=Origin.SYNC) as engine:
            outcomes = await RunCoordinator(engine).run_all(docs)
        assert all(isinstance(o, RunFinished) and o.success for o in outcomes)
        qc = sorted(r.arrived for r in server.requests if "/carriers/" in r.path)
        hub = sorted(r.arrived for r in server.requests if "/carriers/" not in r.path)
    assert (len(qc), len(hub)) == (10, 10)  # 2 of each a carrier
    # The 10th QCMobile request leaves at least 1 s after the first; arrivals can bunch by
    # a connection's set-up, so the bound keeps a margin (unlimited, all 10 come in ms).
    assert qc[-1] - qc[0] >= 0.6, "more than 5 + 5T QCMobile requests in T seconds"
    assert hub[-1] < qc[-1], "DataHub waited for QCMobile's budget"


async def test_a_long_run_keeps_renewing_its_lease(store: CompanyStore, tmp_path: Path) -> None:
    """A lease lasts `lease_seconds` between renewals: a run that takes several times
    that still holds it throughout, so nobody else starts the carrier meanwhile."""
    with SandboxServer(SandboxConfig(latency=1.5)) as slow:
        settings = engine_settings(slow.url, tmp_path / "engine.db", lease_seconds=0.4, timeout=5)
        doc = await add(store, {"_id": ObjectId(), "name": "Long", "dotNumber": dot_for(5)})
        started = asyncio.Event()

        def watch(event: RunEvent) -> None:
            if isinstance(event, RunStarted):
                started.set()

        async with SyncEngine(store, settings, origin=Origin.SYNC) as engine:
            run_task = asyncio.create_task(engine.run(doc, emit=watch))
            await asyncio.wait_for(started.wait(), timeout=10)
            for _ in range(3):  # well past the lease's 0.4 s, three times
                await asyncio.sleep(0.4)
                assert not run_task.done()
                other = await store.acquire_lease(str(doc["_id"]), "other", timedelta(seconds=30))
                assert not other, "the lease lapsed while the run went on"
            outcome = await run_task
    assert isinstance(outcome, RunFinished) and outcome.success
    assert await store.leased_ids() == set()


class _GrantsThenStalls:
    """A store (test-only wrapper over a real one) whose lease grant lands in the store
    but whose answer waits for `answer`: a cancel arriving in between is the race."""

    def __init__(self, store: CompanyStore) -> None:
        self._store = store
        self.granted = asyncio.Event()
        self.answer = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def acquire_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool:
        taken = await self._store.acquire_lease(company_id, owner, ttl)
        self.granted.set()
        await self.answer.wait()
        return taken


async def test_a_run_cancelled_while_its_lease_is_granted_gives_the_lease_back(
    store: CompanyStore, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Stopping a worker (SIGTERM) may cancel a run whose lease the store has granted
    but whose answer has not arrived: the lease is given back, not left to refuse every
    other process for `lease_seconds`."""
    doc = await add(store, {"_id": ObjectId(), "name": "Racy", "dotNumber": dot_for(5)})
    stalling = _GrantsThenStalls(store)
    settings = engine_settings(sandbox.url, tmp_path / "engine.db")
    async with SyncEngine(stalling, settings, origin=Origin.SYNC) as engine:  # type: ignore[arg-type]
        run = asyncio.create_task(engine.run(doc))
        await stalling.granted.wait()
        assert await store.leased_ids() == {str(doc["_id"])}
        run.cancel()
        await asyncio.sleep(0)  # the cancel reaches the run while the answer is pending
        stalling.answer.set()
        with pytest.raises(asyncio.CancelledError):
            await run
    assert await store.leased_ids() == set()
    assert (await store.get_company(str(doc["_id"])) or {}).get("fmcsaData") is None
