"""Every path of `SyncEngine.run` leaves exactly one history record, on every store,
with the right per-source outcomes; a history write that fails never fails the run."""

from __future__ import annotations

import asyncio
import getpass
import os
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from fmcsa_tui.coordinator import RunCoordinator
from fmcsa_tui.models import Source
from fmcsa_tui.models.runs import Origin, Outcome, RunRecord
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.store import CompanyStore, StoreError
from fmcsa_tui.sync.engine import SyncEngine, Target
from fmcsa_tui.sync.events import (
    HistoryNotWritten,
    RunEvent,
    RunFinished,
    RunRefused,
    RunSkipped,
    SourceSucceeded,
)
from tests.sync.test_engine import add, dot_for, engine_settings, synced_before


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(retry_after=1)) as server:
        yield server


def outcomes(record: RunRecord) -> dict[Source, Outcome]:
    return {run.source: run.outcome for run in record.sources}


async def only_run(store: CompanyStore, company_id: str) -> RunRecord:
    """The carrier's one record (exactly one), also seen by `runs_since`."""
    [record] = await store.runs_of(company_id)
    assert [r async for r in store.runs_since(record.started)] == [record]
    return record


async def test_a_run_records_who_ran_it_and_each_sources_outcome(
    sandbox: SandboxServer, store: CompanyStore, tmp_path: Path
) -> None:
    doc = await add(store, synced_before(dot_for(60)))  # csa_scores: 503 every time
    settings = engine_settings(sandbox.url, tmp_path / "e.db")
    async with SyncEngine(store, settings, origin=Origin.DASHBOARD) as engine:
        events: list[RunEvent] = []
        outcome = await engine.run(doc, emit=events.append)
    assert isinstance(outcome, RunFinished) and not outcome.success
    record = await only_run(store, str(doc["_id"]))
    assert outcomes(record) == {
        Source.CSA_SCORES: Outcome.FAILED,
        Source.VIOLATIONS: Outcome.OK,
        Source.INSPECTIONS: Outcome.OK,
    }
    failed = record.outcome_of(Source.CSA_SCORES)
    assert failed is not None and failed.attempts == 5 and "HTTP 503" in failed.error
    assert "\n" not in failed.error
    ok = record.outcome_of(Source.INSPECTIONS)
    summaries = {e.source: e.summary for e in events if isinstance(e, SourceSucceeded)}
    assert ok is not None and ok.summary == summaries[Source.INSPECTIONS] != ""
    assert ok.duration is not None and ok.duration >= 0
    assert record.who.origin is Origin.DASHBOARD
    assert (record.who.user, record.who.host, record.who.pid) == (
        getpass.getuser(), socket.gethostname(), os.getpid(),
    )  # fmt: skip
    assert record.dot_number == dot_for(60) and record.started <= record.ended
    assert record.started == (await store.last_run_of(str(doc["_id"])))  # the run's lastRun


async def test_a_cancelled_run_records_what_landed_and_the_rest_as_cancelled(
    store: CompanyStore, tmp_path: Path
) -> None:
    with SandboxServer(SandboxConfig(latency=0.3)) as slow:  # violations: 3 pages in turn
        settings = engine_settings(slow.url, tmp_path / "e.db", timeout=5)
        doc = await add(store, synced_before(dot_for(99)))
        async with SyncEngine(store, settings, origin=Origin.SYNC) as engine:
            landed: list[SourceSucceeded] = []
            two_landed = asyncio.Event()

            def watch(event: RunEvent) -> None:
                if isinstance(event, SourceSucceeded):
                    landed.append(event)
                    if len(landed) == 2:
                        two_landed.set()

            task = asyncio.create_task(engine.run(doc, emit=watch))
            await asyncio.wait_for(two_landed.wait(), timeout=30)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    record = await only_run(store, str(doc["_id"]))
    assert outcomes(record) == {
        Source.CSA_SCORES: Outcome.OK,
        Source.VIOLATIONS: Outcome.CANCELLED,
        Source.INSPECTIONS: Outcome.OK,
    }


async def test_a_pass_skip_is_recorded_and_a_refusal_is_not(
    sandbox: SandboxServer, store: CompanyStore, other_store: CompanyStore, tmp_path: Path
) -> None:
    doc = await add(store, synced_before(dot_for(21)))
    [listed] = await store.list_summaries()
    settings = engine_settings(sandbox.url, tmp_path / "e.db")
    async with (
        SyncEngine(store, settings, origin=Origin.WORKER) as one,
        SyncEngine(other_store, settings, origin=Origin.SYNC) as two,
    ):
        assert isinstance(await two.run(Target.in_pass(listed)), RunFinished)
        skipped = await one.run(Target.in_pass(listed))
        assert isinstance(skipped, RunSkipped)
        # outside a pass, a carrier leased elsewhere is refused: nothing ran, no record
        assert await other_store.acquire_lease(listed.id, "elsewhere", timedelta(minutes=1))
        assert isinstance(await one.run(Target.of(listed)), RunRefused)
    newest, oldest = await store.runs_of(str(doc["_id"]))
    assert oldest.who.origin is Origin.SYNC and set(outcomes(oldest).values()) == {Outcome.OK}
    assert newest.who.origin is Origin.WORKER and newest.note == "synced elsewhere"
    assert set(outcomes(newest).values()) == {Outcome.SKIPPED} and len(newest.sources) == 3


class RefusesHistory:
    """TEST-ONLY wrapper over a real store whose history write fails, as a full disk
    or a missing privilege would; everything else is the real store."""

    def __init__(self, real: CompanyStore) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def record_run(self, record: RunRecord) -> None:
        raise StoreError("fmcsa_tui_runs: not authorized to insert (test)")


async def test_a_history_write_that_fails_does_not_fail_the_run_and_says_so(
    sandbox: SandboxServer, store: CompanyStore, tmp_path: Path
) -> None:
    docs = [await add(store, synced_before(dot_for(b))) for b in (1, 2)]
    settings = engine_settings(sandbox.url, tmp_path / "e.db")
    notices: list[Any] = []
    async with SyncEngine(RefusesHistory(store), settings, origin=Origin.SYNC) as engine:  # type: ignore[arg-type]
        ran = await RunCoordinator(engine, listener=notices.append).run_all(docs)
    assert all(isinstance(o, RunFinished) and o.success for o in ran)
    warned = [n for n in notices if isinstance(n, HistoryNotWritten)]
    assert sorted(w.dot_number for w in warned) == [dot_for(1), dot_for(2)]
    assert "run history not written" in warned[0].error and "not authorized" in warned[0].error
    for doc in docs:  # the sources were written all the same
        assert (await store.last_run_of(str(doc["_id"]))) is not None
        assert await store.runs_of(str(doc["_id"])) == []
    assert await store.leased_ids() == set()


async def test_a_run_refused_for_its_dot_is_not_recorded(
    sandbox: SandboxServer, store: CompanyStore, tmp_path: Path
) -> None:
    doc = await add(store, {"_id": ObjectId(), "name": "Bad", "dotNumber": "12ab"})
    async with SyncEngine(
        store, engine_settings(sandbox.url, tmp_path / "e.db"), origin=Origin.SYNC
    ) as engine:
        assert isinstance(await engine.run(doc), RunRefused)
    assert await store.runs_of(str(doc["_id"])) == []
