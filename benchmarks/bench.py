"""Bulk-sync benchmark: figures against the budgets in docs/ARCHITECTURE.md; fails only on errors.

    python3 dev.py bench                 # full size: 1,000 companies
    python3 dev.py bench --smoke         # small, as CI runs it
    python3 dev.py bench --companies 500 --concurrency 16 --repeat 5 --qc-rate 100

N healthy companies (DOT numbers from the fault plan's healthy buckets) against the
sandbox in its own process (real HTTP on loopback, fixed latency), K at a time, as
`fmcsa-tui sync --all` runs them (`RunCoordinator.run_all`: a bulk run, DataHub batched):

1. Full speed (no rate limits): the engine (resyncing a SQLite store, the fleet's
   steady state) and the lean baseline (`benchmarks/lean_baseline.py`) run alternately,
   `--repeat` times each. Printed: requests per carrier from the sandbox's own counts,
   client CPU ms per carrier (``time.process_time`` deltas in this process; the sandbox
   is another) with medians and their ratio, and the event loop's lag p99 (how late a
   10 ms ticker wakes up) during the engine's runs.
2. At the rate limits (`--qc-rate`, `--hub-rate`; the sandbox enforces them and the
   client is set to them): the floor the limits imply for the requests made (a bucket
   of ``rate`` draining ``rate`` per second, as both sides model it), the wall time,
   their ratio, and the 429s the sandbox answered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.lean_baseline import lean_sync
from fmcsa_tui.coordinator import RunCoordinator
from fmcsa_tui.models import CompanySummary
from fmcsa_tui.models.runs import Origin
from fmcsa_tui.settings import Settings
from fmcsa_tui.store.seed import demo_documents
from fmcsa_tui.store.sqlite import SqliteStore
from fmcsa_tui.sync.engine import SyncEngine

BUDGET_REQUESTS_PER_CARRIER = 2.1
BUDGET_CPU_RATIO = 1.5  # engine / lean baseline, client CPU per carrier
BUDGET_FLOOR_RATIO = 1.10  # wall time / the rate limits' floor
BUDGET_429S = 0
BUDGET_LAG_P99_MS = 50.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def sandbox_process(
    latency: float, qc_rate: float | None = None, hub_rate: float | None = None
) -> Iterator[str]:
    """`fmcsa-tui sandbox` in its own process, so it does not share our event loop."""
    port = _free_port()
    command = [sys.executable, "-m", "fmcsa_tui", "sandbox", "--port", str(port),
               "--latency", str(latency)]  # fmt: skip
    if qc_rate:
        command += ["--qc-rate", str(qc_rate)]
    if hub_rate:
        command += ["--hub-rate", str(hub_rate)]
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
        if process.poll() is not None:
            raise SystemExit(f"the sandbox ended during the benchmark (exit {process.returncode})")
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


# --- the sandbox's own request counts ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counts:
    qcmobile: int
    datahub: int
    throttled: int

    @property
    def served(self) -> int:
        return self.qcmobile + self.datahub


def reset_counts(url: str) -> None:
    httpx.delete(f"{url}/sandbox/requests", timeout=10).raise_for_status()


def read_counts(url: str) -> Counts:
    answer = httpx.get(f"{url}/sandbox/requests", timeout=10)
    answer.raise_for_status()
    counts: dict[str, Any] = answer.json()
    apis, throttled = counts["apis"], counts["throttled"]
    return Counts(apis["qcmobile"], apis["datahub"], sum(throttled.values()))


# --- one pass ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pass:
    """One pass over the fleet: client CPU, wall time and the sandbox's counts."""

    carriers: int
    cpu: float  # seconds of this process's CPU
    wall: float
    counts: Counts
    lag_p99: float = 0.0

    @property
    def cpu_ms_per_carrier(self) -> float:
        return self.cpu * 1000 / self.carriers

    @property
    def requests_per_carrier(self) -> float:
        return self.counts.served / self.carriers


def settings_for(url: str, path: Path, concurrency: int, qc: float = 0, hub: float = 0) -> Settings:
    return Settings(
        store=f"sqlite:///{path}",
        qc_base_url=f"{url}/qc/services",
        hub_base_url=url,
        webkey="bench",
        concurrency=concurrency,
        qc_rate_limit=qc,
        hub_rate_limit=hub,
        timeout=30,
    )


async def seed_store(path: Path, companies: int) -> list[CompanySummary]:
    store = SqliteStore(path)
    await store.open()
    try:
        docs = demo_documents(companies)
        for index, doc in enumerate(docs):
            doc["dotNumber"] = healthy_dot(index)
        await store.insert_documents(docs)
        return await store.list_summaries()
    finally:
        await store.close()


async def engine_pass(url: str, settings: Settings, path: Path) -> Pass:
    """`sync --all` over the store at `path`; a failed carrier ends the benchmark."""
    store = SqliteStore(path)
    await store.open()
    try:
        targets = await store.list_summaries()
        async with SyncEngine(store, settings, origin=Origin.SYNC) as engine:
            await asyncio.to_thread(reset_counts, url)
            gc.collect()
            with LagMonitor() as lag:
                cpu, started = time.process_time(), time.perf_counter()
                outcomes = await RunCoordinator(engine).run_all(targets)
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            counts = await asyncio.to_thread(read_counts, url)
        failed = [o for o in outcomes if not getattr(o, "success", False)]
        if failed or len(outcomes) != len(targets):
            raise SystemExit(f"benchmark run had {len(failed)} failed companies: {failed[:1]}")
        rows = await store.list_summaries()
        if any(row.status != "ok" for row in rows):
            raise SystemExit("benchmark run left companies not ok in the store")
        return Pass(len(targets), cpu, wall, counts, lag.percentile(0.99))
    finally:
        await store.close()


async def baseline_pass(url: str, settings: Settings, dots: Sequence[str], path: Path) -> Pass:
    await asyncio.to_thread(reset_counts, url)
    gc.collect()
    cpu = time.process_time()
    result = await lean_sync(settings, dots, path)
    cpu = time.process_time() - cpu
    counts = await asyncio.to_thread(read_counts, url)
    if result.rows_written != 3 * len(dots):
        raise SystemExit(f"lean baseline wrote {result.rows_written} rows for {len(dots)}")
    return Pass(len(dots), cpu, result.wall, counts)


# --- the report -------------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def floor_seconds(requests: int, rate: float) -> float:
    """How long `requests` take at least through a bucket of `rate` draining `rate`/s."""
    if rate <= 0:
        return 0.0
    return max(0.0, requests - max(rate, 1.0)) / rate


def full_speed(args: argparse.Namespace, workdir: Path) -> None:
    print(f"full speed: {args.companies} companies, concurrency {args.concurrency}, sandbox "
          f"latency {args.latency * 1000:.0f} ms, no rate limits, {args.repeat} runs each, "
          "alternately")  # fmt: skip
    store_path, lean_path = workdir / "engine.db", workdir / "lean.db"
    with sandbox_process(args.latency) as url:
        targets = asyncio.run(seed_store(store_path, args.companies))
        dots = [target.dot_number or "" for target in targets]
        settings = settings_for(url, store_path, args.concurrency)
        first = asyncio.run(engine_pass(url, settings, store_path))  # the first sync
        asyncio.run(baseline_pass(url, settings, dots, lean_path))  # warm-up
        print(f"  first sync (warm-up): engine {first.cpu_ms_per_carrier:.2f} ms CPU a carrier")
        engines, leans = [], []
        for run in range(1, args.repeat + 1):
            engine = asyncio.run(engine_pass(url, settings, store_path))
            lean = asyncio.run(baseline_pass(url, settings, dots, lean_path))
            engines.append(engine)
            leans.append(lean)
            print(f"  run {run}: engine {engine.cpu_ms_per_carrier:.2f} ms CPU a carrier, "
                  f"wall {engine.wall:.2f} s, loop lag p99 {engine.lag_p99:.1f} ms | lean "
                  f"{lean.cpu_ms_per_carrier:.2f} ms, wall {lean.wall:.2f} s")  # fmt: skip
    requests = statistics.median(p.requests_per_carrier for p in engines)
    lean_requests = statistics.median(p.requests_per_carrier for p in leans)
    engine_cpu = statistics.median(p.cpu_ms_per_carrier for p in engines)
    lean_cpu = statistics.median(p.cpu_ms_per_carrier for p in leans)
    ratio = engine_cpu / lean_cpu
    lag = statistics.median(p.lag_p99 for p in engines)
    counts = engines[len(engines) // 2].counts
    print(f"  requests per carrier (sandbox's counts): {requests:.3f} (QCMobile "
          f"{counts.qcmobile}, DataHub {counts.datahub}; lean baseline {lean_requests:.3f}) "
          f"(budget <= {BUDGET_REQUESTS_PER_CARRIER}: "
          f"{verdict(requests <= BUDGET_REQUESTS_PER_CARRIER)})")  # fmt: skip
    print(f"  client CPU per carrier, medians: engine {engine_cpu:.2f} ms, lean baseline "
          f"{lean_cpu:.2f} ms, ratio {ratio:.2f} (budget <= {BUDGET_CPU_RATIO}: "
          f"{verdict(ratio <= BUDGET_CPU_RATIO)})")  # fmt: skip
    print(f"  event-loop lag p99, median of runs: {lag:.1f} ms (budget <= "
          f"{BUDGET_LAG_P99_MS:.0f} ms: {verdict(lag <= BUDGET_LAG_P99_MS)})")  # fmt: skip


def at_rate_limits(args: argparse.Namespace, workdir: Path) -> None:
    qc_rate, hub_rate = args.qc_rate, args.hub_rate
    print(f"at the rate limits: {args.companies} companies, QCMobile {qc_rate:g}/s, DataHub "
          f"{hub_rate:g}/s (the sandbox enforces them; the client is set to them)")  # fmt: skip
    path = workdir / "limited.db"
    with sandbox_process(args.latency, qc_rate, hub_rate) as url:
        asyncio.run(seed_store(path, args.companies))
        settings = settings_for(url, path, args.concurrency, qc_rate, hub_rate)
        limited = asyncio.run(engine_pass(url, settings, path))
    counts = limited.counts
    floor = max(floor_seconds(counts.qcmobile, qc_rate), floor_seconds(counts.datahub, hub_rate))
    ratio = limited.wall / floor if floor > 0 else math.inf
    print(f"  requests: QCMobile {counts.qcmobile}, DataHub {counts.datahub}; floor "
          f"{floor:.2f} s, wall {limited.wall:.2f} s, wall / floor {ratio:.3f} "
          f"(budget <= {BUDGET_FLOOR_RATIO}: {verdict(ratio <= BUDGET_FLOOR_RATIO)})")  # fmt: skip
    print(f"  HTTP 429s: {counts.throttled} (budget {BUDGET_429S}: "
          f"{verdict(counts.throttled <= BUDGET_429S)})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, one run (CI)")
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--qc-rate", type=float, default=None, help="default: companies / 5")
    parser.add_argument("--hub-rate", type=float, default=None, help="default: companies / 50")
    args = parser.parse_args()
    if args.smoke:  # limits a smoke run passes in seconds
        args.companies, args.repeat = min(args.companies, 100), 1
        args.qc_rate, args.hub_rate = args.qc_rate or 100.0, args.hub_rate or 50.0
    args.qc_rate = args.qc_rate or max(1.0, args.companies / 5)
    args.hub_rate = args.hub_rate or max(1.0, args.companies / 50)
    with tempfile.TemporaryDirectory() as tmp:
        full_speed(args, Path(tmp))
        at_rate_limits(args, Path(tmp))


if __name__ == "__main__":
    main()
