"""Fleet sync as processes: two `sync --all` on one store run each carrier once, `sync
--due` picks the due carriers, and `worker` keeps the fleet fresh and stops cleanly.

Real parts throughout: `fmcsa-tui` processes, the store on a SQLite file or the MongoDB
wire test server, and the sandbox over HTTP in this test process, whose own request
counts say how often each carrier was fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId

import fmcsa_tui.sandbox.server as sandbox_server
from fmcsa_tui.models import CompanySummary, Source
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.store import CompanyStore, MongoStore, NewCompany, SqliteStore, StoreError
from tests.support.cli import Cli, assert_one_line_error
from tests.support.mongo_wire import MongoWireServer
from tests.support.sandboxes import served_sandbox
from tests.support.waiting import eventually

#: Healthy carriers in the sandbox's plan: last two digits 00-59.
HEALTHY = [str(1_000_000 + n) for n in range(60)]
CONCURRENCY = 4
QC_PATH = re.compile(r"/carriers/(\d+)")


class HoldUntilTwoProcesses:
    """Test-only ASGI wrapper around the sandbox app: every request waits until QCMobile
    requests for more than `CONCURRENCY` DOTs have come, more than one process has in
    flight, so both processes have listed their pass before either writes anything.
    Without it, one process could finish carriers before the other even lists them,
    and those would rightly be synced again by the later pass."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state  # SandboxServer reads its request counts there
        self.dots: set[str] = set()
        self.opened: asyncio.Event | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if self.opened is None:
                self.opened = asyncio.Event()
            found = QC_PATH.search(scope["path"])
            if found:
                self.dots.add(found.group(1))
            if len(self.dots) > CONCURRENCY:
                self.opened.set()
            # past 30 s, the test fails on what the processes did, not here
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.opened.wait(), 30)
        await self.app(scope, receive, send)


@pytest.fixture
def held_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    create_app = sandbox_server.create_app
    monkeypatch.setattr(
        sandbox_server, "create_app", lambda config: HoldUntilTwoProcesses(create_app(config))
    )
    with SandboxServer(SandboxConfig(latency=0.05)) as server:
        yield server


def store_url(store: CompanyStore) -> str:
    """The URL a `fmcsa-tui` process opens `store` with."""
    if isinstance(store, SqliteStore):
        return f"sqlite:///{store.path}"
    return str(store._url)  # type: ignore[attr-defined]  # MongoStore keeps its URL


async def add_carriers(store: CompanyStore, dots: list[str]) -> None:
    companies = [NewCompany(dot, f"Carrier {dot}", extra={"ownerId": ObjectId()}) for dot in dots]
    await store.add_companies(companies)


async def start(store: CompanyStore, env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    """`fmcsa-tui --store URL ARGS...` as a process, its output piped."""
    return await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "fmcsa_tui", "--store", store_url(store), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def finished(process: asyncio.subprocess.Process) -> tuple[str, str]:
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return out.decode(), err.decode()


def ok_dots(stdout: str) -> set[str]:
    return set(re.findall(r"^DOT (\d+): ok \(", stdout, re.MULTILINE))


def by_dot(rows: list[CompanySummary]) -> dict[str, CompanySummary]:
    return {row.dot_number or "": row for row in rows}


async def test_two_syncs_of_all_on_one_store_run_each_carrier_once(
    store: CompanyStore, env: dict[str, str], held_sandbox: SandboxServer
) -> None:
    await add_carriers(store, HEALTHY)
    began = datetime.now(UTC)
    args = ("sync", "--all", "--concurrency", str(CONCURRENCY), "--fmcsa", held_sandbox.url)
    processes = [await start(store, env, *args) for _ in range(2)]
    (out_a, err_a), (out_b, err_b) = [await finished(process) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], (out_a, err_a, out_b, err_b)
    # each DOT run by exactly one process, the other told it was done elsewhere
    ran_a, ran_b = ok_dots(out_a), ok_dots(out_b)
    assert ran_a and ran_b, (out_a, out_b)  # both took part
    assert ran_a.isdisjoint(ran_b) and ran_a | ran_b == set(HEALTHY)
    for out, other in ((out_a, ran_b), (out_b, ran_a)):
        skipped = set(re.findall(r"^DOT (\d+): sync(?:ed|ing) elsewhere", out, re.MULTILINE))
        assert skipped == other, out
        ran = len(set(HEALTHY) - other)
        assert re.search(rf"^synced {ran} companies in .*: {ran} ok, 0 failed; ", out, re.M), out
    # the sandbox saw each carrier's two QCMobile requests once, and DataHub for each
    counts = held_sandbox.requests()["dots"]
    assert set(counts) == set(HEALTHY)
    assert {dot: per_api["qcmobile"] for dot, per_api in counts.items()} == dict.fromkeys(
        HEALTHY, 2
    )
    assert all(per_api["datahub"] >= 1 for per_api in counts.values()), counts
    # every carrier synced, once, by this test's processes
    rows = by_dot(await store.list_summaries())
    for dot in HEALTHY:
        assert rows[dot].status == "ok" and rows[dot].last_run is not None, rows[dot]
        assert rows[dot].last_run >= began - timedelta(milliseconds=1), rows[dot]
    assert await store.leased_ids() == set()


# --- sync --due -------------------------------------------------------------------------

FRESH, OLD, NEVER, BROKEN = "1000001", "1000002", "1000003", "1000004"


async def seed_ages(store: CompanyStore) -> dict[str, datetime | None]:
    """A carrier run a minute ago, one two hours ago, one never, one unreadable: the
    lastRun each had."""
    now = datetime.now(UTC).replace(microsecond=0)

    def run_at(dot: str, when: datetime) -> dict[str, Any]:
        stamps = {"csaScoresLastSync": when, "violationsLastSync": when}
        status = {"lastRun": when, "success": True, "errors": [], **stamps}
        return {
            "_id": ObjectId(),
            "name": f"Carrier {dot}",
            "dotNumber": dot,
            "ownerId": ObjectId(),
            "fmcsaData": {"syncStatus": {**status, "inspectionsLastSync": when}},
        }

    fresh, old = now - timedelta(minutes=1), now - timedelta(hours=2)
    broken = {"_id": ObjectId(), "name": "Broken", "dotNumber": BROKEN, "fmcsaData": "x"}
    await store.insert_documents([run_at(FRESH, fresh), run_at(OLD, old), broken])
    await add_carriers(store, [NEVER])
    return {FRESH: fresh, OLD: old, NEVER: None, BROKEN: None}


sandbox = served_sandbox(scope="function")


async def test_sync_due_picks_exactly_the_never_run_and_the_long_unrun(
    store: CompanyStore, env: dict[str, str], sandbox: SandboxServer
) -> None:
    before = await seed_ages(store)
    out, err = await finished(
        await start(store, env, "sync", "--due", "1h", "--fmcsa", sandbox.url)
    )

    assert ok_dots(out) == {OLD, NEVER}, (out, err)
    assert "synced 2 companies in" in out and ": 2 ok, 0 failed" in out, out
    assert set(sandbox.requests()["dots"]) == {OLD, NEVER}
    rows = by_dot(await store.list_summaries())
    assert rows[FRESH].last_run == before[FRESH]  # untouched
    assert rows[BROKEN].status == "unreadable"
    for dot in (OLD, NEVER):
        assert rows[dot].status == "ok" and rows[dot].last_run != before[dot], rows[dot]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("sync", "--due", "soon"), "'soon' is not an age"),
        (("sync", "--due", "0s"), "between 1s and 3650d"),
        (("worker", "--every", "-5m"), "between 1s and 3650d"),
        (("worker",), "--every"),
    ],
)
def test_a_bad_age_is_a_one_line_usage_error(cli: Cli, args: tuple[str, ...], needle: str) -> None:
    assert_one_line_error(cli(*args), needle)


# --- worker -----------------------------------------------------------------------------


async def read_lines(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode().rstrip("\n"))


async def test_a_worker_syncs_the_due_carriers_once_leaves_the_fresh_and_stops_on_sigterm(
    store: CompanyStore, env: dict[str, str], sandbox: SandboxServer
) -> None:
    before = await seed_ages(store)
    worker = await start(store, env, "worker", "--every", "1h", "--fmcsa", sandbox.url)
    assert worker.stdout is not None and worker.stderr is not None
    lines: list[str] = []
    reader = asyncio.create_task(read_lines(worker.stdout, lines))
    try:

        async def synced() -> bool:
            rows = by_dot(await store.list_summaries())
            return all(rows[dot].last_run != before[dot] for dot in (OLD, NEVER))

        await eventually(synced, what="the due carriers synced")
        await eventually(lambda: len(lines) >= 2, what=str(lines))
        worker.send_signal(signal.SIGTERM)
        err = (await asyncio.wait_for(worker.stderr.read(), 30)).decode()
        code = await asyncio.wait_for(worker.wait(), 30)
        await reader
    finally:
        if worker.returncode is None:
            worker.kill()
    assert code == 143, (lines, err)
    assert err.strip() == "fmcsa-tui: stopped by SIGTERM; runs in progress were cancelled cleanly"
    assert lines[0].startswith("worker: keeping every company fresher than 1h in "), lines
    assert lines[1] == "worker: 2 due now", lines
    # each due carrier fetched once (QCMobile: basics and carrier), the fresh one never
    counts = sandbox.requests()["dots"]
    assert {dot: per_api["qcmobile"] for dot, per_api in counts.items()} == {OLD: 2, NEVER: 2}
    rows = by_dot(await store.list_summaries())
    assert rows[FRESH].last_run == before[FRESH]
    assert rows[OLD].status == rows[NEVER].status == "ok"
    assert await store.leased_ids() == set()


async def test_a_worker_says_every_interval_what_it_did_and_what_is_left(
    store: CompanyStore, env: dict[str, str], sandbox: SandboxServer
) -> None:
    """`--every 1s`: carriers fall due again each second, so each line has work to tell."""
    await seed_ages(store)
    worker = await start(store, env, "worker", "--every", "1s", "--fmcsa", sandbox.url)
    assert worker.stdout is not None
    lines: list[str] = []
    reader = asyncio.create_task(read_lines(worker.stdout, lines))
    interval = re.compile(
        r"worker: in the last 1s: (\d+) synced, 0 failed, \d+ synced elsewhere, "
        r"\d+ syncing elsewhere; (\d+ left in this sweep|looking for due carriers|"
        r"nothing due; next due in \d+s)"
    )
    try:
        await eventually(
            lambda: any((m := interval.fullmatch(line)) and int(m[1]) > 0 for line in lines),
            what=str(lines),
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.wait_for(worker.wait(), 30)
        await reader
    assert all(line.startswith(("worker: ", "DOT ")) for line in lines), lines


# Every answer takes a second: runs stay in flight long enough to act on them.
slow_sandbox = served_sandbox(SandboxConfig(latency=1.0))


@pytest.fixture
def patient_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with an HTTP timeout longer than `slow_sandbox`'s answers take."""
    return {**env, "FMCSA_TUI_TIMEOUT": "10"}


async def test_sigterm_mid_run_stops_a_worker_with_nothing_half_written_and_no_lease(
    store: CompanyStore, patient_env: dict[str, str], slow_sandbox: SandboxServer
) -> None:
    dots = HEALTHY[:12]
    await add_carriers(store, dots)
    args = ("worker", "--every", "1h", "--concurrency", "4", "--fmcsa", slow_sandbox.url)
    worker = await start(store, patient_env, *args)
    try:

        async def four_in_flight() -> bool:
            return len(await store.leased_ids()) == 4

        await eventually(four_in_flight, what="four runs holding their leases, mid-request")
        worker.send_signal(signal.SIGTERM)
        out, err = await finished(worker)
    finally:
        if worker.returncode is None:
            worker.kill()
    assert worker.returncode == 143, (out, err)
    assert err.strip() == "fmcsa-tui: stopped by SIGTERM; runs in progress were cancelled cleanly"
    assert await store.leased_ids() == set()  # the next worker is not refused for minutes
    rows = by_dot(await store.list_summaries())
    for dot in dots:  # every source was mid-request: each left untouched
        row = rows[dot]
        assert (row.status, row.last_run, row.error_count) == ("never", None, 0), row
        assert all(row.last_sync(source) is None for source in Source), row


async def test_a_worker_outlives_a_store_outage_and_carries_on(
    patient_env: dict[str, str], slow_sandbox: SandboxServer
) -> None:
    """The store goes away mid-run (a MongoDB failover): one line per failed look, no
    crash, and once it is back every carrier gets synced."""
    server = MongoWireServer().start()
    url = server.url.replace("/?", "/outage?") + "&serverSelectionTimeoutMS=400"
    store = MongoStore(url)
    worker: asyncio.subprocess.Process | None = None
    try:
        await store.open()
        dots = HEALTHY[:4]
        await add_carriers(store, dots)
        args = ("worker", "--every", "1h", "--concurrency", "2", "--fmcsa", slow_sandbox.url)
        worker = await start(store, patient_env, *args)
        assert worker.stdout is not None
        lines: list[str] = []
        reader = asyncio.create_task(read_lines(worker.stdout, lines))

        async def two_in_flight() -> bool:
            return len(await store.leased_ids()) == 2

        await eventually(two_in_flight, what="two runs in flight")
        await asyncio.to_thread(server.stop)
        await eventually(
            lambda: any(line.startswith("worker: store unavailable: ") for line in lines),
            what=f"the worker saying the store is gone: {lines}",
        )
        await asyncio.to_thread(server.start)

        async def all_synced() -> bool:
            try:
                rows = by_dot(await store.list_summaries())
            except StoreError:
                return False
            return all(rows[dot].status == "ok" for dot in dots)

        await eventually(all_synced, limit=60, what=f"every carrier synced after: {lines}")
        assert worker.returncode is None  # still working
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 143
        await reader
    finally:
        if worker is not None and worker.returncode is None:
            worker.kill()
        await store.close()
        server.stop()
    assert "Traceback" not in "\n".join(lines)
    looks = [line for line in lines if line.startswith("worker: store unavailable")]
    assert looks and all(line.endswith("; trying again in 5s") for line in looks), looks
