"""The run coordinator with the real engine, against the sandbox and a SQLite file.

Queueing, withdrawal and cancellation are tested with a fake engine, without a sandbox
or a store, in tests/unit/test_coordinator.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from fmcsa_tui.coordinator import RunCoordinator, RunEnded
from fmcsa_tui.models import Source
from fmcsa_tui.models.runs import Origin
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.settings import Settings
from fmcsa_tui.store import SqliteStore
from fmcsa_tui.sync.engine import SyncEngine
from fmcsa_tui.sync.events import RunEvent, RunFinished


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig()) as server:
        yield server


async def test_run_all_with_the_real_engine_writes_every_carrier(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    store = SqliteStore(tmp_path / "fleet.db")
    await store.open()
    docs = [{"_id": ObjectId(), "name": f"Real {n}", "dotNumber": str(1000005 + 100 * n)}
            for n in range(6)]  # fmt: skip
    await store.insert_documents(docs)
    settings = Settings(
        qc_base_url=f"{sandbox.url}/qc/services", hub_base_url=sandbox.url, webkey="k",
        qc_rate_limit=0, hub_rate_limit=0, concurrency=2,
    )  # fmt: skip
    events: list[RunEvent | Any] = []
    engine = SyncEngine(store, settings, origin=Origin.SYNC)
    try:
        coordinator = RunCoordinator(engine, listener=events.append)
        outcomes = await coordinator.run_all(await store.list_summaries(), list(Source))
    finally:
        await engine.aclose()
    assert [outcome.dot_number for outcome in outcomes] == [doc["dotNumber"] for doc in docs]
    assert all(isinstance(outcome, RunFinished) and outcome.success for outcome in outcomes)
    assert sum(isinstance(event, RunEnded) for event in events) == 6
    for summary_ in await store.list_summaries():
        assert summary_.status == "ok" and summary_.error_count == 0
    assert await store.leased_ids() == set()
    await store.close()
