"""Requests per carrier of a healthy bulk run, by DataHub batch window, size and concurrency.

    python -m benchmarks.hub_batching                      # 1,000 carriers, a small grid
    python -m benchmarks.hub_batching --smoke              # 100 carriers, defaults only
    python -m benchmarks.hub_batching --windows 0 0.05 --concurrency 8 32 --sizes 50

Each cell is one bulk sync (`RunCoordinator.run_all`, as `sync --all`) of N healthy
carriers (the fault plan's healthy buckets, bucket 99's 2,500-row carriers included)
into a fresh SQLite store, against the sandbox in its own process with a fixed latency.
Requests are the sandbox's own counts (``GET /sandbox/requests``), never the client's.
Figures are printed, never judged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.bench import healthy_dot, sandbox_process
from fmcsa_tui.coordinator import RunCoordinator
from fmcsa_tui.settings import Settings
from fmcsa_tui.store.seed import demo_documents
from fmcsa_tui.store.sqlite import SqliteStore
from fmcsa_tui.sync.engine import SyncEngine


async def one_run(
    url: str, carriers: int, concurrency: int, size: int, window: float, workdir: Path
) -> tuple[float, dict[str, int], int]:
    """(wall seconds, requests per API, failed carriers) of one bulk sync."""
    path = workdir / f"batching-{time.monotonic_ns()}.db"
    settings = Settings(
        store=f"sqlite:///{path}",
        qc_base_url=f"{url}/qc/services",
        hub_base_url=url,
        webkey="bench",
        concurrency=concurrency,
        qc_rate_limit=0,
        hub_rate_limit=0,
        timeout=30,
        hub_batch_size=size,
        hub_batch_window=window,
    )
    store = SqliteStore(path)
    await store.open()
    try:
        docs = demo_documents(carriers)
        for index, doc in enumerate(docs):
            doc["dotNumber"] = healthy_dot(index)
        await store.insert_documents(docs)
        targets = await store.list_summaries()
        async with httpx.AsyncClient() as client:
            (await client.delete(f"{url}/sandbox/requests")).raise_for_status()
            async with SyncEngine(store, settings) as engine:
                started = time.perf_counter()
                outcomes = await RunCoordinator(engine).run_all(targets)
                wall = time.perf_counter() - started
            counts = (await client.get(f"{url}/sandbox/requests")).json()
        failed = sum(1 for outcome in outcomes if not getattr(outcome, "success", False))
        return wall, counts["apis"], failed
    finally:
        await store.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{path}{suffix}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="100 carriers, defaults only")
    parser.add_argument("--carriers", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32])
    parser.add_argument("--sizes", type=int, nargs="+", default=[Settings().hub_batch_size])
    parser.add_argument("--windows", type=float, nargs="+", default=[Settings().hub_batch_window])
    args = parser.parse_args()
    if args.smoke:
        args.carriers = min(args.carriers, 100)
    print(f"hub batching: {args.carriers} healthy carriers, sandbox latency "
          f"{args.latency * 1000:.0f} ms; requests counted by the sandbox")  # fmt: skip
    print(f"  {'concurrency':>11} {'size':>5} {'window s':>9} {'QCMobile':>9} {'DataHub':>8} "
          f"{'req/carrier':>12} {'DataHub/carrier':>16} {'wall s':>7} {'failed':>6}")  # fmt: skip
    with sandbox_process(args.latency) as url, tempfile.TemporaryDirectory() as tmp:
        for concurrency in args.concurrency:
            for size in args.sizes:
                for window in args.windows:
                    wall, apis, failed = asyncio.run(
                        one_run(url, args.carriers, concurrency, size, window, Path(tmp))
                    )
                    qc, hub = apis["qcmobile"], apis["datahub"]
                    print(f"  {concurrency:>11} {size:>5} {window:>9g} {qc:>9} {hub:>8} "
                          f"{(qc + hub) / args.carriers:>12.3f} {hub / args.carriers:>16.3f} "
                          f"{wall:>7.2f} {failed:>6}")  # fmt: skip


if __name__ == "__main__":
    main()
