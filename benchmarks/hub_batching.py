"""Requests per carrier of a healthy bulk run, by DataHub batch window, size and concurrency.

    python -m benchmarks.hub_batching                      # 1,000 carriers, a small grid
    python -m benchmarks.hub_batching --smoke              # 100 carriers, defaults only
    python -m benchmarks.hub_batching --windows 0 0.05 --concurrency 8 32 --sizes 50

Each cell is one bulk sync (`RunCoordinator.run_all`, as `sync --all`) of N healthy
carriers (the fault plan's healthy buckets, bucket 99's 2,500-row carriers included)
into a fresh SQLite store, against the sandbox in its own process with a fixed latency.
Requests are the sandbox's own counts (``GET /sandbox/requests``), never the client's.
Figures are printed, never judged; a failed carrier ends it (as in `bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks.bench import Pass, engine_pass, sandbox_process, seed_store, settings_for
from fmcsa_tui.settings import Settings


async def one_run(
    url: str, carriers: int, concurrency: int, size: int, window: float, workdir: Path
) -> Pass:
    """One bulk sync of `carriers` into a fresh store, as `bench` runs it."""
    path = workdir / f"batching-{time.monotonic_ns()}.db"
    await seed_store(path, carriers)
    settings = settings_for(url, path, concurrency).model_copy(
        update={"hub_batch_size": size, "hub_batch_window": window}
    )
    return await engine_pass(url, settings, path)


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
          f"{'req/carrier':>12} {'DataHub/carrier':>16} {'wall s':>7}")  # fmt: skip
    with sandbox_process(args.latency) as url, tempfile.TemporaryDirectory() as tmp:
        for concurrency in args.concurrency:
            for size in args.sizes:
                for window in args.windows:
                    run = asyncio.run(
                        one_run(url, args.carriers, concurrency, size, window, Path(tmp))
                    )
                    qc, hub = run.counts.qcmobile, run.counts.datahub
                    print(f"  {concurrency:>11} {size:>5} {window:>9g} {qc:>9} {hub:>8} "
                          f"{(qc + hub) / args.carriers:>12.3f} {hub / args.carriers:>16.3f} "
                          f"{run.wall:>7.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
