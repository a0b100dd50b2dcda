"""The run coordinator without any UI: queueing, withdrawal, cancellation and counts.

Most tests drive a FAKE engine (`GatedEngine`, defined here and used nowhere else) whose
runs wait on a gate the test opens, so every state in between can be looked at without
timing. tests/sync/test_coordinator_real_engine.py runs the real engine against the
sandbox and a SQLite file.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fmcsa_tui.coordinator import QueueChanged, RunCoordinator, RunEnded, Submitted
from fmcsa_tui.models import CompanySummary, Source, summarize
from fmcsa_tui.settings import Settings
from fmcsa_tui.sync.engine import RunOutcome, Target
from fmcsa_tui.sync.events import (
    RunFinished,
    RunStarted,
    SourceProgress,
    SourceStarted,
    SourceSucceeded,
)


class GatedEngine:
    """FAKE engine for these tests: each run emits RunStarted, then waits for its gate."""

    def __init__(self, concurrency: int = 2) -> None:
        self.settings = Settings(concurrency=concurrency, webkey="fake")
        self.gates: dict[str, asyncio.Event] = {}
        self.running: set[str] = set()
        self.most_at_once = 0
        self.fail_with: dict[str, BaseException] = {}
        self.batched: dict[str, bool] = {}  # how each run was asked for

    def gate(self, company_id: str) -> asyncio.Event:
        return self.gates.setdefault(company_id, asyncio.Event())

    async def run(
        self, target: Target, sources: Any, emit: Any, *, batched: bool = False
    ) -> RunOutcome:
        key = target.company_id
        self.batched[key] = batched
        self.running.add(key)
        self.most_at_once = max(self.most_at_once, len(self.running))
        try:
            if key in self.fail_with:
                raise self.fail_with[key]
            ids = {"company_id": key, "dot_number": target.dot_number}
            emit(RunStarted(**ids, sources=tuple(sources), at=_NOW))
            emit(SourceStarted(**ids, source=Source.CSA_SCORES))
            emit(SourceProgress(**ids, source=Source.CSA_SCORES, message="retry 1 after 503",
                                retry_in=0.5))  # fmt: skip
            await self.gate(key).wait()
            emit(SourceSucceeded(**ids, source=Source.CSA_SCORES, attempts=1, duration=0.1))
            finished = RunFinished(**ids, success=True, cancelled=False, duration=0.1)
            emit(finished)
            return finished
        finally:
            self.running.discard(key)


_NOW = summarize({"lastRun": None}).last_run  # None: the fake never needs a real time


def summary(n: int, status: str = "never") -> CompanySummary:
    return CompanySummary(
        id=f"id{n}", dot_number=str(1000000 + n), name=f"C{n}", mc_number=None,
        status=status, last_run=None, success=None, csa_scores_last_sync=None,  # type: ignore[arg-type]
        violations_last_sync=None, inspections_last_sync=None, error_sources=frozenset(),
        error_count=0, updated_at=None,
    )  # fmt: skip


async def settle() -> None:
    """Let every task that can run, run (the fake's runs block only on their gates)."""
    for _ in range(10):
        await asyncio.sleep(0)


@pytest.fixture
def notices() -> list[Any]:
    return []


async def test_runs_start_up_to_the_limit_and_the_rest_queue_in_order(notices: list[Any]) -> None:
    engine = GatedEngine(concurrency=2)
    coordinator = RunCoordinator(engine, listener=notices.append)  # type: ignore[arg-type]
    assert coordinator.submit_many([summary(n) for n in range(5)], [Source.CSA_SCORES]) == 5
    await settle()
    assert engine.running == {"id0", "id1"}
    assert (coordinator.running, coordinator.queued, coordinator.bulk.total) == (2, 3, 5)
    assert coordinator.syncing_ids() == {"id0", "id1"}
    assert coordinator.states("id4") == {Source.CSA_SCORES: "queued"}
    assert coordinator.states("id0") == {Source.CSA_SCORES: "retry 1 after 503 (next in 0.5s)"}
    engine.gate("id0").set()
    await settle()
    assert engine.running == {"id1", "id2"}  # the first in line took the free slot
    for n in range(5):
        engine.gate(f"id{n}").set()
    await coordinator.wait_idle()
    assert engine.most_at_once == 2
    assert (coordinator.bulk.done, coordinator.bulk.failed, coordinator.busy) == (5, 0, False)
    ended = [notice.company_id for notice in notices if isinstance(notice, RunEnded)]
    assert sorted(ended) == [f"id{n}" for n in range(5)] and len(ended) == 5


async def test_a_carrier_is_never_run_twice_and_refusals_say_why() -> None:
    engine = GatedEngine(concurrency=1)
    coordinator = RunCoordinator(engine)  # type: ignore[arg-type]
    assert coordinator.submit(summary(1)) is Submitted.QUEUED
    assert coordinator.submit(summary(2)) is Submitted.QUEUED
    await settle()
    assert coordinator.submit(summary(1)) is Submitted.ALREADY_RUNNING
    assert coordinator.submit(summary(2)) is Submitted.ALREADY_QUEUED
    assert coordinator.submit(summary(3, status="unreadable")) is Submitted.UNREADABLE
    coordinator.elsewhere = frozenset({"id4"})
    assert coordinator.submit(summary(4)) is Submitted.ELSEWHERE
    assert "id4" in coordinator.syncing_ids()
    assert coordinator.submit_many([summary(1), summary(2), summary(5)], [Source.VIOLATIONS]) == 1
    await coordinator.shutdown()


async def test_withdrawing_queued_runs_never_starts_them(notices: list[Any]) -> None:
    engine = GatedEngine(concurrency=1)
    coordinator = RunCoordinator(engine, listener=notices.append)  # type: ignore[arg-type]
    coordinator.submit_many([summary(n) for n in range(4)], [Source.CSA_SCORES])
    await settle()
    assert coordinator.withdraw(["id0", "id2", "id3", "nope"]) == ["id2", "id3"]  # id0 runs
    assert QueueChanged(("id2", "id3")) in notices
    assert (coordinator.running, coordinator.queued, coordinator.bulk.total) == (1, 1, 2)
    assert coordinator.cancel("id1")  # queued: withdrawn, not cancelled
    assert coordinator.bulk.total == 1
    engine.gate("id0").set()
    await coordinator.wait_idle()
    assert engine.most_at_once == 1 and set(engine.gates) == {"id0"}  # nothing else ran


async def test_cancelling_a_running_run_reports_it_cancelled_once(notices: list[Any]) -> None:
    engine = GatedEngine(concurrency=2)
    coordinator = RunCoordinator(engine, listener=notices.append)  # type: ignore[arg-type]
    coordinator.submit(summary(7))
    await settle()
    assert engine.running == {"id7"}  # it really started before being cancelled
    assert coordinator.cancel("id7")
    await coordinator.wait_idle()
    [ended] = [notice for notice in notices if isinstance(notice, RunEnded)]
    assert (ended.company_id, ended.cancelled, ended.outcome, ended.error) == (
        "id7", True, None, None
    )  # fmt: skip
    assert not coordinator.cancel("id7")  # no run of ours any more


async def test_an_unforeseen_error_ends_that_run_only(notices: list[Any]) -> None:
    engine = GatedEngine(concurrency=2)
    engine.fail_with["id1"] = RuntimeError("boom")
    coordinator = RunCoordinator(engine, listener=notices.append)  # type: ignore[arg-type]
    coordinator.submit_many([summary(1), summary(2)], [Source.CSA_SCORES])
    engine.gate("id2").set()
    await coordinator.wait_idle()
    by_id = {notice.company_id: notice for notice in notices if isinstance(notice, RunEnded)}
    assert str(by_id["id1"].error) == "boom" and not by_id["id1"].success
    assert by_id["id2"].success
    assert (coordinator.bulk.done, coordinator.bulk.failed) == (2, 1)


async def test_shutdown_withdraws_the_queue_and_cancels_every_run() -> None:
    engine = GatedEngine(concurrency=2)
    coordinator = RunCoordinator(engine)  # type: ignore[arg-type]
    coordinator.submit_many([summary(n) for n in range(10)], [Source.CSA_SCORES])
    await settle()
    await coordinator.shutdown()
    assert not coordinator.busy and engine.running == set()
    assert set(engine.gates) == {"id0", "id1"}  # the queued eight never started


async def test_run_all_cancelled_cancels_every_run_and_waits_for_them() -> None:
    engine = GatedEngine(concurrency=3)
    coordinator = RunCoordinator(engine)  # type: ignore[arg-type]
    task = asyncio.ensure_future(coordinator.run_all([summary(n) for n in range(6)], []))
    await settle()
    assert len(engine.running) == 3
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert engine.running == set() and not coordinator.busy


async def test_bulk_runs_are_batched_and_single_runs_are_not() -> None:
    engine = GatedEngine(concurrency=4)
    coordinator = RunCoordinator(engine)  # type: ignore[arg-type]
    coordinator.submit(summary(1))  # the dashboard's `r`: asks DataHub alone, at once
    coordinator.submit_many([summary(2), summary(3)], [Source.VIOLATIONS])
    await settle()
    assert engine.batched == {"id1": False, "id2": True, "id3": True}
    await coordinator.shutdown()
