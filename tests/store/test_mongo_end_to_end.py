"""fmcsa-tui on the backend's MongoDB, end to end: the CLI as a process over a real socket,
documents as Mongoose writes them, and a server that cannot be reached.

The server is the suite's wire-protocol MongoDB (tests/support/mongo_wire/); the driver and
the socket are real.
"""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
import pymongo
import pytest
from bson import ObjectId

from fmcsa_tui.coordinator import RunCoordinator
from fmcsa_tui.models import Company, Source
from fmcsa_tui.models.runs import Origin
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.settings import Settings
from fmcsa_tui.store import MongoStore
from fmcsa_tui.sync.engine import SyncEngine
from fmcsa_tui.sync.events import RunEvent, RunFinished, SourceStarted
from tests.support.mongo_wire import MongoWireServer

EARLIER = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
OWNER = ObjectId("5f1d7e3c9b1e8a0012345678")

#: Paths a sync may write (README's "How a sync works"); everything else stays byte for byte.
SYNC_OWNED = ("smsBasics", "fmcsaData", "updatedAt", "__v")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(hang_seconds=2.0)) as server:
        yield server


@pytest.fixture
def wire() -> Iterator[MongoWireServer]:
    with MongoWireServer() as server:
        yield server


def mongoose_doc(dot: str, **extra: Any) -> dict[str, Any]:
    """A company as the Node backend leaves it: Mongoose ids, versions and extras."""
    return {
        "_id": ObjectId(),
        "name": f"Backend Carrier {dot}",
        "dotNumber": dot,
        "mcNumber": "MC-778899",
        "ownerId": OWNER,
        "address": {"street": "1 Main St", "city": "Omaha", "state": "NE"},
        "drivers": [ObjectId(), ObjectId()],
        "settings": {"alerts": True, "threshold": 65},
        "smsBasics": {"unsafeDriving": 42, "unsafeDrivingMeasure": 1.5, "lastUpdated": EARLIER,
                      "backendNote": "kept"},
        "fmcsaData": {
            "inspections": {"driverInspections": 3, "lastSync": EARLIER, "custom": [1, 2]},
            "complianceScore": 88,
            "syncStatus": {
                "lastRun": EARLIER,
                "success": False,
                "errors": [{"_id": ObjectId(), "source": "entity_linking",
                            "error": "Driver not found", "timestamp": EARLIER}],
                "csaScoresLastSync": EARLIER,
                "violationsLastSync": EARLIER,
                "inspectionsLastSync": EARLIER,
                "linkingLastRun": EARLIER,
            },
        },
        "createdAt": EARLIER,
        "updatedAt": EARLIER,
        "__v": 4,
        **extra,
    }  # fmt: skip


def mongo_url(wire: MongoWireServer, db: str) -> str:
    return (
        f"mongodb://127.0.0.1:{wire.port}/{db}?directConnection=true&serverSelectionTimeoutMS=2000"
    )


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fmcsa_tui", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def without(doc: dict[str, Any], fields: tuple[str, ...]) -> bytes:
    return bson.encode({k: v for k, v in doc.items() if k not in fields})


def test_status_sync_and_show_on_documents_mongoose_wrote(
    wire: MongoWireServer, sandbox: SandboxServer, env: dict[str, str]
) -> None:
    url = mongo_url(wire, "backend")
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(url, tz_aware=True)
    docs = [
        mongoose_doc("1000005"),
        mongoose_doc("1000060"),  # csa_scores always fails in the sandbox
        {**mongoose_doc("1000012"), "dotNumber": 1000012},  # stored as a number
        {"_id": ObjectId(), "name": "Never Synced", "dotNumber": "1000024", "ownerId": OWNER,
         "createdAt": "2025-01-01T00:00:00.000Z", "__v": 0},  # dates as strings
    ]  # fmt: skip
    client.backend.companies.insert_many(copy.deepcopy(docs))

    status = cli(env, "status", "--json", "--store", url)
    assert status.returncode == 0, status.stderr
    records = {r["dotNumber"]: r for r in json.loads(status.stdout)}
    assert set(records) == {"1000005", "1000060", "1000012", "1000024"}
    assert records["1000024"]["status"] == "never"
    assert records["1000005"]["status"] == "failed"  # the backend's entity_linking error
    assert records["1000005"]["errors"][0]["source"] == "entity_linking"

    synced = cli(env, "sync", "1000005", "1000060", "1000012", "--fmcsa", sandbox.url,
                 "--store", url)  # fmt: skip
    assert synced.returncode == 1, synced.stdout + synced.stderr  # 1000060 fails by plan
    after = {str(d["dotNumber"]): d for d in client.backend.companies.find()}
    for before in docs[:3]:
        now = after[str(before["dotNumber"])]
        # every field fmcsa-tui does not own is byte-identical
        assert without(now, SYNC_OWNED) == without(before, SYNC_OWNED)
        assert now["smsBasics"]["backendNote"] == "kept"
        assert now["fmcsaData"]["inspections"]["custom"] == [1, 2]
        assert now["fmcsaData"]["complianceScore"] == 88
        assert now["fmcsaData"]["syncStatus"]["linkingLastRun"] == EARLIER
        assert now["updatedAt"] > EARLIER
        errors = now["fmcsaData"]["syncStatus"]["errors"]
        assert all(isinstance(error["_id"], ObjectId) for error in errors)
        assert "entity_linking" in {error["source"] for error in errors}  # kept
    failing = Company.model_validate(after["1000060"]).sync_status
    assert {e.source for e in failing.errors} == {"entity_linking", "csa_scores"}
    assert failing.csa_scores_last_sync == EARLIER  # untouched
    assert after["1000060"]["__v"] == 5  # the errors array changed once
    inspections = list(client.backend.fmcsainspections.find({"companyId": docs[2]["_id"]}))
    assert inspections and all("reportNumber" in i for i in inspections)

    shown = cli(env, "show", "1000012", "--json", "--store", url)
    assert shown.returncode == 0 and json.loads(shown.stdout)["address"]["city"] == "Omaha"
    client.close()


def test_add_and_seed_write_only_backend_valid_documents(
    wire: MongoWireServer, env: dict[str, str]
) -> None:
    url = mongo_url(wire, "adding")
    refused = cli(env, "add", "1234567", "--store", url)
    assert refused.returncode == 2 and "--owner" in refused.stderr
    assert "Traceback" not in refused.stderr
    added = cli(env, "add", "1234567", "--name", "Real Co", "--owner", str(OWNER), "--store", url)
    assert added.returncode == 0, added.stderr
    seeded = cli(env, "seed-demo", "--companies", "30", "--store", url)
    assert seeded.returncode == 0, seeded.stderr
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(url, tz_aware=True)
    docs = list(client.adding.companies.find())
    assert len(docs) == 31
    for doc in docs:  # what the backend's Mongoose schema requires
        assert isinstance(doc["name"], str) and doc["name"]
        assert isinstance(doc["dotNumber"], str) and 5 <= len(doc["dotNumber"]) <= 8
        assert isinstance(doc["ownerId"], ObjectId)
        assert doc["__v"] == 0 and isinstance(doc["createdAt"], datetime)
    client.close()


def test_unreachable_server_is_one_line_and_exit_2(env: dict[str, str]) -> None:
    with MongoWireServer() as gone:
        port = gone.port
    url = f"mongodb://ops:hunter2@127.0.0.1:{port}/x?directConnection=true&serverSelectionTimeoutMS=500"
    result = cli(env, "status", "--store", url)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert f"127.0.0.1:{port}" in result.stderr and "hunter2" not in result.stderr


async def test_server_restart_in_the_middle_of_a_bulk_sync(
    wire: MongoWireServer,
) -> None:
    """The server goes away mid-run and comes back: nothing is half-written, and a
    second run (after the orphaned leases expire) brings every company up to date.

    Three seconds down is longer than the test URL's 2 s server selection, so writes
    fail meanwhile; lease keepers stopped mid-selection used to wedge the driver.
    """
    with SandboxServer(SandboxConfig(latency=0.5)) as slow:
        store = MongoStore(mongo_url(wire, "restart"))
        await store.open()
        docs = [mongoose_doc(str(2_000_000 + 100 * n + 5)) for n in range(24)]
        await store.insert_documents(copy.deepcopy(docs))
        settings = Settings(
            store="mongodb://unused", qc_base_url=f"{slow.url}/qc/services",
            hub_base_url=slow.url, webkey="k", qc_rate_limit=0, hub_rate_limit=0, timeout=5,
            backoff_base=0.01, backoff_max=0.05, concurrency=4, lease_seconds=1.5,
        )  # fmt: skip
        finished: list[RunFinished] = []
        fetching = asyncio.Event()  # four runs done and a later one mid-request

        def watch(event: RunEvent) -> None:
            if isinstance(event, RunFinished):
                finished.append(event)
            elif isinstance(event, SourceStarted) and len(finished) >= 4:
                fetching.set()  # its answer takes 0.5 s: its write meets the outage

        async with SyncEngine(store, settings, origin=Origin.SYNC) as engine:
            run = asyncio.create_task(RunCoordinator(engine, listener=watch).run_all(docs))
            await asyncio.wait_for(fetching.wait(), timeout=60)
            await asyncio.to_thread(wire.stop)
            await asyncio.sleep(3.0)  # longer than the driver's 2 s server selection
            await asyncio.to_thread(wire.start)
            outcomes = await run
            assert len(outcomes) == len(docs)
            hurt = [o for o in outcomes if not (isinstance(o, RunFinished) and o.success)]
            assert hurt  # the outage was felt: refused or failed runs, not a crash

            failed_sources = {
                o.company_id: set(o.failed_sources) for o in outcomes if isinstance(o, RunFinished)
            }
            assert any(failed_sources.values())  # some sources could not be written
            for doc in docs:  # consistent: each source wholly written or wholly untouched
                raw = await store.get_company(str(doc["_id"]))
                assert raw is not None
                status = Company.model_validate(raw).sync_status
                assert status.success is (not status.errors)
                sources = [e.source for e in status.errors]
                assert len(sources) == len(set(sources))
                for source in failed_sources.get(str(doc["_id"]), ()):
                    assert status.last_sync(source) == EARLIER  # never a half-done success
                assert without(raw, SYNC_OWNED) == without(doc, SYNC_OWNED)

            await asyncio.sleep(settings.lease_seconds + 0.2)  # orphaned leases expire
            again = await RunCoordinator(engine).run_all(docs)
        assert all(isinstance(o, RunFinished) and o.success for o in again)
        for doc in docs:
            raw = await store.get_company(str(doc["_id"]))
            assert raw is not None
            status = Company.model_validate(raw).sync_status
            assert [e.source for e in status.errors] == ["entity_linking"]
            for source in Source:
                stamp = status.last_sync(source)
                assert stamp is not None and stamp > EARLIER + timedelta(days=1)
        await store.close()
