"""The lean baseline: the engine's requests, and as little else as can be.

    python -m benchmarks.lean_baseline --url http://127.0.0.1:8765 --companies 1000

What the bulk benchmark (`benchmarks/bench.py`) sets the engine's client CPU against:
the same httpx client set-up as `FmcsaHttp` (`sync.http.new_client`: httpx over
aiohttp's transport, the same limits, headers and timeout), the same requests (two
QCMobile requests per carrier; DataHub's two datasets asked for `hub_batch_size`
carriers at a time, as the engine's batched bulk runs ask them: ``$where=dot_number
in(…)``, ``$order=dot_number,:id``, paged to a short page), each answer's JSON parsed,
and one row per carrier and source written to SQLite by a single writer thread. No
retries, limits, events, documents or status rule: the floor a client of these APIs
cannot go under in Python.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import queue
import sqlite3
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fmcsa_tui.settings import Settings
from fmcsa_tui.sync.batching import in_clause
from fmcsa_tui.sync.http import new_client
from fmcsa_tui.sync.parsing import INSPECTION_DATASET, VIOLATION_DATASET

__all__ = ["LeanResult", "lean_sync"]

Row = tuple[str, str, bytes]  # DOT, source, what is kept


@dataclass(frozen=True, slots=True)
class LeanResult:
    carriers: int
    requests: int
    rows_written: int
    wall: float


class _Writer:
    """One sqlite3 connection on one thread: whatever is queued, one transaction."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._rows: queue.SimpleQueue[Row | None] = queue.SimpleQueue()
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="lean-writer")
        self._thread.start()

    def put(self, row: Row) -> None:
        self._rows.put(row)

    def close(self) -> None:
        self._rows.put(None)
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS results (dot TEXT, source TEXT, body BLOB,"
            " PRIMARY KEY (dot, source))"
        )
        try:
            done = False
            while not done:
                batch: list[Row] = []
                first = self._rows.get()
                if first is None:
                    break
                batch.append(first)
                while True:
                    try:
                        row = self._rows.get_nowait()
                    except queue.Empty:
                        break
                    if row is None:
                        done = True
                        break
                    batch.append(row)
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", batch)
                conn.execute("COMMIT")
                self.written += len(batch)
        finally:
            conn.close()


class _Lean:
    def __init__(self, client: httpx.AsyncClient, settings: Settings, writer: _Writer) -> None:
        self.client = client
        self.settings = settings
        self.writer = writer
        self.requests = 0
        self.webkey = settings.webkey.get_secret_value() if settings.webkey else ""

    async def get(self, url: str, params: dict[str, Any]) -> tuple[Any, bytes]:
        self.requests += 1
        response = await self.client.get(url, params=params)
        response.raise_for_status()
        body = response.content
        return json.loads(body), body

    async def carrier(self, dot: str) -> None:
        base = f"{self.settings.qc_base_url}/carriers/{dot}"
        for path, source in (("/basics", "csa_scores"), ("", "inspections")):
            _payload, body = await self.get(base + path, {"webKey": self.webkey})
            self.writer.put((dot, source, body))

    async def chunk(self, dots: list[str]) -> None:
        """Both datasets for a chunk of carriers; each carrier's rows as one row."""
        found: dict[str, list[Any]] = {dot: [] for dot in dots}
        for dataset in (VIOLATION_DATASET, INSPECTION_DATASET):
            page_size, page = self.settings.page_size, 0
            while True:
                page += 1
                params: dict[str, Any] = {"dot_number": dots[0]}
                if len(dots) > 1:
                    params = {"$where": in_clause(dots)}
                params.update(
                    {
                        "$limit": page_size,
                        "$offset": (page - 1) * page_size,
                        "$order": "dot_number,:id" if len(dots) > 1 else ":id",
                    }
                )
                rows, _body = await self.get(
                    f"{self.settings.hub_base_url}/resource/{dataset}.json", params
                )
                for row in rows:
                    found.get(row.get("dot_number", dots[0]), found[dots[0]]).append(row)
                if len(rows) < page_size:
                    break
        for dot, rows in found.items():
            self.writer.put((dot, "violations", json.dumps(rows).encode()))


async def lean_sync(settings: Settings, dots: Sequence[str], path: Path) -> LeanResult:
    """Every carrier's requests, `concurrency` carriers at a time; rows into `path`."""
    started = time.perf_counter()
    writer = _Writer(path)
    size = max(1, min(settings.hub_batch_size, settings.concurrency))
    chunks = [list(dots[start : start + size]) for start in range(0, len(dots), size)]
    gate = asyncio.Semaphore(max(1, settings.concurrency // size))
    try:
        async with new_client(settings) as client:
            lean = _Lean(client, settings, writer)

            async def one_chunk(chunk: list[str]) -> None:
                async with gate, asyncio.TaskGroup() as group:
                    group.create_task(lean.chunk(chunk))
                    for dot in chunk:
                        group.create_task(lean.carrier(dot))

            async with asyncio.TaskGroup() as group:
                for chunk in chunks:
                    group.create_task(one_chunk(chunk))
    finally:
        await asyncio.to_thread(writer.close)
    return LeanResult(len(dots), lean.requests, writer.written, time.perf_counter() - started)


def main() -> None:
    from benchmarks.bench import healthy_dot  # here: bench imports this module

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the sandbox's address")
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--db", type=Path, default=None, help="default: a temporary file")
    args = parser.parse_args()
    settings = Settings(
        qc_base_url=f"{args.url}/qc/services",
        hub_base_url=args.url,
        webkey="bench",
        concurrency=args.concurrency,
    )
    dots = [healthy_dot(index) for index in range(args.companies)]
    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        result = asyncio.run(lean_sync(settings, dots, args.db or Path(tmp) / "lean.db"))
        cpu = time.process_time() - cpu
    print(
        f"{result.carriers} carriers, {result.requests} requests, {result.rows_written} rows, "
        f"wall {result.wall:.2f} s, CPU {cpu * 1000 / result.carriers:.2f} ms per carrier"
    )


if __name__ == "__main__":
    main()
