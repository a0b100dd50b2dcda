"""Bulk-sync benchmark: figures against the budgets in docs/ARCHITECTURE.md; fails only on errors.

    python3 dev.py bench                 # full size: 1,000 companies
    python3 dev.py bench --smoke         # small, as CI runs it
    python3 dev.py bench --companies 500 --concurrency 16 --latency 0.05 --repeat 5

Bulk sync: N companies against the sandbox (a separate process, real HTTP on
loopback, fixed latency; DOT numbers from the fault plan's healthy buckets), K at a
time, into a fresh SQLite store.
The ideal time is the sum of every company's critical path (its longest chain of
sequential requests x latency) divided by K; efficiency = ideal / wall. The event-loop
lag is how late a 10 ms ticker wakes up while the sync runs (p99).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from fmcsa_tui.coordinator import RunCoordinator
from fmcsa_tui.sandbox.data import inspection_rows, violation_rows
from fmcsa_tui.settings import Settings
from fmcsa_tui.store.seed import demo_documents
from fmcsa_tui.store.sqlite import SqliteStore
from fmcsa_tui.sync.engine import SyncEngine

BUDGET_EFFICIENCY = 0.85
BUDGET_LAG_P99_MS = 50.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def sandbox_process(latency: float) -> Iterator[str]:
    """`fmcsa-tui sandbox` in its own process, so it does not share our event loop."""
    port = _free_port()
    command = [sys.executable, "-m", "fmcsa_tui", "sandbox", "--port", str(port),
               "--latency", str(latency)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode() if process.stderr else ""
                    raise SystemExit(f"sandbox did not start: {err.strip()}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


HEALTHY_BUCKETS = [*range(0, 60), *range(82, 100)]  # see fmcsa_tui/sandbox/plan.py


def healthy_dot(index: int) -> str:
    """DOT numbers the sandbox never faults (bucket 99 still pages: that is data)."""
    return str(3_000_000 + index // len(HEALTHY_BUCKETS) * 100
               + HEALTHY_BUCKETS[index % len(HEALTHY_BUCKETS)])  # fmt: skip


def critical_path_requests(dot: str, page_size: int) -> int:
    """The longest chain of sequential requests a company's run makes."""
    violation_pages = len(violation_rows(dot)) // page_size + 1
    inspection_pages = len(inspection_rows(dot)) // page_size + 1
    return max(1, violation_pages, inspection_pages)


class LagMonitor:
    """How late a ticker wakes up: the event loop's responsiveness, in ms."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.lags.append((time.perf_counter() - before - self.interval) * 1000)

    def __enter__(self) -> LagMonitor:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    def percentile(self, fraction: float) -> float:
        if not self.lags:
            return 0.0
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


async def bulk_sync_once(
    url: str, companies: int, concurrency: int, latency: float, workdir: Path
) -> tuple[float, float, float]:
    """One bulk sync into a fresh store: (wall seconds, ideal seconds, lag p99 ms)."""
    path = workdir / f"bench-{time.monotonic_ns()}.db"
    settings = Settings(
        store=f"sqlite:///{path}",
        qc_base_url=f"{url}/qc/services",
        hub_base_url=url,
        webkey="bench",
        concurrency=concurrency,
        qc_rate_limit=0,
        hub_rate_limit=0,
        timeout=30,
    )
    store = SqliteStore(path)
    await store.open()
    try:
        docs = demo_documents(companies)
        for index, doc in enumerate(docs):
            doc["dotNumber"] = healthy_dot(index)
        await store.insert_documents(docs)
        targets = await store.list_summaries()
        ideal = (
            sum(critical_path_requests(t.dot_number or "0", settings.page_size) for t in targets)
            * latency
            / concurrency
        )
        async with SyncEngine(store, settings) as engine:
            with LagMonitor() as lag:
                started = time.perf_counter()
                outcomes = await RunCoordinator(engine).run_all(targets)
                wall = time.perf_counter() - started
        failed = [o for o in outcomes if not getattr(o, "success", False)]
        if failed:
            raise SystemExit(f"benchmark run had {len(failed)} failed companies: {failed[0]}")
        return wall, ideal, lag.percentile(0.99)
    finally:
        await store.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{path}{suffix}")


def bench_bulk_sync(companies: int, concurrency: int, latency: float, repeat: int) -> None:
    print(f"bulk sync: {companies} companies, concurrency {concurrency}, "
          f"sandbox latency {latency * 1000:.0f} ms, {repeat} runs")  # fmt: skip
    walls, ideals, lags = [], [], []
    with sandbox_process(latency) as url, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bulk_sync_once(url, min(companies, 50), concurrency, latency, Path(tmp)))
        for run in range(1, repeat + 1):
            wall, ideal, lag = asyncio.run(
                bulk_sync_once(url, companies, concurrency, latency, Path(tmp))
            )
            walls.append(wall)
            ideals.append(ideal)
            lags.append(lag)
            print(f"  run {run}: wall {wall:.3f} s, ideal {ideal:.3f} s, "
                  f"efficiency {ideal / wall:.1%}, loop lag p99 {lag:.1f} ms")  # fmt: skip
    wall, ideal, lag = statistics.median(walls), statistics.median(ideals), statistics.median(lags)
    efficiency = ideal / wall
    print(f"  median: wall {wall:.3f} s, ideal {ideal:.3f} s, "
          f"throughput {companies / wall:.0f} companies/s")  # fmt: skip
    print(f"  efficiency {efficiency:.1%} (budget >= {BUDGET_EFFICIENCY:.0%}: "
          f"{'met' if efficiency >= BUDGET_EFFICIENCY else 'MISSED'})")  # fmt: skip
    print(f"  event-loop lag p99 {lag:.1f} ms (budget <= {BUDGET_LAG_P99_MS:.0f} ms: "
          f"{'met' if lag <= BUDGET_LAG_P99_MS else 'MISSED'})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, one run (CI)")
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.smoke:
        args.companies, args.repeat = min(args.companies, 100), 1
    bench_bulk_sync(args.companies, args.concurrency, args.latency, args.repeat)


if __name__ == "__main__":
    main()
