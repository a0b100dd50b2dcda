"""Fault matrix: a real sync of N carriers against each hostile fault, each in a child process.

    python -m benchmarks.fault_matrix               # 10 carriers per fault class
    python -m benchmarks.fault_matrix --smoke       # 2 per class, as `dev.py test` runs it
    python -m benchmarks.fault_matrix --only "gzip bomb" --carriers 20

For every fault class the hostile FMCSA of the test suite (`tests.support.hostile`,
on loopback in this process) takes the fault, and a child process syncs N carriers
from a SQLite store seeded with an earlier successful sync, through the real
`SyncEngine`. A class *survived* when the child finished, every carrier got an outcome
whose every error is one printable line with no secret in it, the failures are the
ones the fault should cause, and the store is consistent: every carrier's ``lastRun``
set, an error row for exactly the failed sources, each failed source's earlier data and
``*LastSync`` kept, each other source's advanced, no lease left behind. A redirect
elsewhere also needs the other server to have received nothing.

Peak memory is the child's max RSS (its baseline, the interpreter and its imports,
included); time to fail is the median of the carriers' run times. Figures are printed,
never judged: the exit status is non-zero only when a class did not survive.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from bson import ObjectId

from fmcsa_tui.coordinator import Notice, QueueChanged, RunCoordinator, RunEnded
from fmcsa_tui.models import Company, Source
from fmcsa_tui.models.runs import Origin
from fmcsa_tui.settings import Settings
from fmcsa_tui.store.sqlite import SqliteStore
from fmcsa_tui.sync.engine import SyncEngine
from fmcsa_tui.sync.events import RunEvent, RunFinished, SourceFailed, SourceSucceeded
from tests.support.hostile import HostileServer, bomb

EARLIER = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
WEBKEY = "k3y/with+plus=eq&amp~tilde"
APP_TOKEN = "tok/en+x=y&z"
ALL = frozenset(Source)
CHILD_TIMEOUT = 600

#: Fast retries so a class of transient faults fails in seconds, not minutes.
BASE_SETTINGS: dict[str, Any] = {
    "webkey": WEBKEY,
    "app_token": APP_TOKEN,
    "timeout": 2.0,
    "max_attempts": 3,
    "backoff_base": 0.05,
    "backoff_max": 0.2,
    "qc_rate_limit": 0,
    "hub_rate_limit": 0,
    "concurrency": 8,
}


@dataclass(frozen=True)
class Fault:
    """One fault class: what the server does, where the engine is pointed, what must follow."""

    name: str
    mode: str = "healthy"
    where: str = "hostile"  # hostile | refused | dns | tls
    options: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    failing: frozenset[Source] = ALL  # the sources this fault must fail
    expect: str = ""  # what every failure's line says
    #: What a line may say instead, where the fault can honestly show another way.
    or_expect: str = ""


FAULTS = [
    Fault("gzip bomb", "gzip-bomb", expect="expands to more than 8 MiB"),
    Fault("huge body", "huge-body", expect="answered 50 MiB, more than 8 MiB"),
    Fault("endless body", "endless-body", expect="answered more than 8 MiB"),
    Fault("lying Content-Length", "lying-length", expect="broke off before its end"),
    Fault("endless pages", "endless-pages", failing=frozenset({Source.VIOLATIONS}),
          expect="(setting `max_rows`)"),
    Fault("Retry-After 999999", "retry-after", expect="asked to wait 999999s"),
    Fault("redirect off-host", "redirect-off-host", expect="redirected to another host"),
    Fault("connection refused", where="refused", expect="refused the connection"),
    # A resolver that answers "no such name" gives the first; one that does not answer
    # in time (this workplace's proxy, with dozens of lookups at once) the second.
    Fault("DNS failure", where="dns", expect="DNS name not found", or_expect="timed out"),
    Fault("TLS failure", where="tls", expect="TLS failure"),
    Fault("slow body / timeout", "slow-body", settings={"timeout": 0.5},
          expect="timed out after 0.5s"),
    Fault("HTML maintenance", "maintenance", expect="down for maintenance"),
    Fault("bad UTF-8", "bad-utf8", expect="not valid UTF-8"),
    Fault("not JSON", "not-json", expect="not JSON"),
    Fault("stacked encodings", "stacked-encoding", expect="stacked content-encodings"),
    Fault("NaN/Infinity numbers", "non-finite", failing=frozenset()),
    Fault("malformed elements", "malformed-elements", failing=frozenset()),
    Fault("escape sequences", "escape-error", expect="␛[2J"),
    Fault("secret echoed encoded", "echo-secret", expect="***"),
]  # fmt: skip


def _secret_spellings() -> list[str]:
    spellings = []
    for secret in (WEBKEY, APP_TOKEN):
        upper = quote(secret, safe="")
        spellings += [secret, upper, upper.lower(), quote(secret), quote_plus(secret)]
    return spellings


def carrier_dots(count: int) -> list[str]:
    """Sandbox carriers with data in every source (bucket 20 of the fault plan)."""
    return [str(1_000_020 + 100 * index) for index in range(count)]


def prior_document(dot: str) -> dict[str, Any]:
    """A carrier as an earlier successful sync left it."""
    return {
        "_id": ObjectId(),
        "name": f"Carrier {dot}",
        "dotNumber": dot,
        "smsBasics": {"unsafeDriving": 42, "lastUpdated": EARLIER},
        "fmcsaData": {
            "inspections": {"driverInspections": 7, "lastSync": EARLIER},
            "syncStatus": {
                "lastRun": EARLIER,
                "success": True,
                "errors": [],
                "csaScoresLastSync": EARLIER,
                "violationsLastSync": EARLIER,
                "inspectionsLastSync": EARLIER,
            },
        },
    }


# --- the child: one real sync ------------------------------------------------------------


async def _child_sync(spec: dict[str, Any]) -> dict[str, Any]:
    store = SqliteStore(Path(spec["store"]))
    await store.open()
    try:
        targets = await store.list_summaries()
        events: list[RunEvent] = []

        def keep(notice: Notice) -> None:
            if not isinstance(notice, QueueChanged | RunEnded):
                events.append(notice)

        async with SyncEngine(store, Settings(**spec["settings"]), origin=Origin.SYNC) as engine:
            await RunCoordinator(engine, listener=keep).run_all(targets)
    finally:
        await store.close()
    carriers: dict[str, dict[str, Any]] = {}
    texts = []
    for event in events:
        carrier = carriers.setdefault(event.dot_number, {"failed": {}, "ok": {}})
        if isinstance(event, SourceFailed):
            carrier["failed"][event.source.value] = event.error
        elif isinstance(event, SourceSucceeded):
            carrier["ok"][event.source.value] = event.summary
        elif isinstance(event, RunFinished):
            carrier["duration"] = event.duration
        texts.append(repr(event))
    return {"carriers": carriers, "texts": texts}


def child_main() -> None:
    """Run one sync as the spec on stdin says; print what happened as one JSON line."""
    spec = json.loads(sys.stdin.read())
    result = asyncio.run(_child_sync(spec))
    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result))


# --- the parent: servers, stores, checks ---------------------------------------------------


@dataclass
class Outcome:
    fault: Fault
    tried: int
    problems: list[str]
    rss_mb: float | None = None
    median_s: float | None = None
    failed_sources: set[str] = field(default_factory=set)
    example: str = ""

    @property
    def survived(self) -> bool:
        return not self.problems


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _base_url(fault: Fault, server: HostileServer) -> str:
    if fault.where == "refused":
        return f"http://127.0.0.1:{_free_port()}"
    if fault.where == "dns":
        return "http://fmcsa-matrix.invalid"
    if fault.where == "tls":
        return f"https://127.0.0.1:{server.port}"
    return server.url


async def _seed(path: Path, dots: list[str]) -> None:
    store = SqliteStore(path)
    await store.open()
    try:
        await store.insert_documents([prior_document(dot) for dot in dots])
    finally:
        await store.close()


def _spawn_child(spec: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    command = [sys.executable, "-m", "benchmarks.fault_matrix", "--child"]
    root = Path(__file__).resolve().parents[1]
    try:
        done = subprocess.run(
            command, input=json.dumps(spec), capture_output=True, text=True,
            cwd=root, timeout=CHILD_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, f"the child did not finish within {CHILD_TIMEOUT}s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"the child exited {done.returncode}: {last}"
    try:
        return json.loads(done.stdout.strip().splitlines()[-1]), ""
    except (ValueError, IndexError):
        return None, "the child printed no result"


def _check_outcomes(fault: Fault, dots: list[str], result: dict[str, Any]) -> list[str]:
    """Every carrier an outcome; every failure one clean line, the expected one."""
    problems = []
    secrets = _secret_spellings()
    for text in result["texts"]:
        if any(secret in text for secret in secrets):
            problems.append("a secret reached an event")
            break
    for dot in dots:
        carrier = result["carriers"].get(dot)
        if carrier is None or "duration" not in carrier:
            problems.append(f"DOT {dot} got no outcome")
            continue
        failed = set(carrier["failed"])
        if failed != {s.value for s in fault.failing}:
            problems.append(f"DOT {dot}: failed {sorted(failed) or 'nothing'}")
        for source, error in carrier["failed"].items():
            if not error.isprintable() or len(error) > 300:
                problems.append(f"DOT {dot} {source}: not one printable line: {error!r}")
            if fault.expect not in error and not (fault.or_expect and fault.or_expect in error):
                problems.append(f"DOT {dot} {source}: {error}")
    return problems


def _source_kept(raw: dict[str, Any], source: Source) -> bool:
    if source is Source.CSA_SCORES:
        return bool(raw.get("smsBasics", {}).get("unsafeDriving") == 42)
    if source is Source.INSPECTIONS:
        return bool(raw["fmcsaData"].get("inspections", {}).get("driverInspections") == 7)
    return "lastViolationSync" not in raw["fmcsaData"]


async def _check_store(path: Path, result: dict[str, Any]) -> list[str]:
    """The store after the run: consistent with what each carrier was told."""
    problems = []
    store = SqliteStore(path)
    await store.open()
    try:
        for summary in await store.list_summaries():
            raw = await store.get_company(summary.id)
            assert raw is not None
            status = Company.model_validate(raw).sync_status
            dot = summary.dot_number or "?"
            failed = result["carriers"].get(dot, {}).get("failed", {})
            if status.last_run is None or status.last_run <= EARLIER:
                problems.append(f"DOT {dot}: lastRun not set")
            rows = {error.source: error.error for error in status.errors}
            if rows != failed:
                problems.append(
                    f"DOT {dot}: error rows {sorted(rows)} != failures {sorted(failed)}"
                )
            for source in Source:
                stamp = status.last_sync(source)
                if source.value in failed:
                    if stamp != EARLIER or not _source_kept(raw, source):
                        problems.append(f"DOT {dot} {source}: earlier data not kept")
                elif stamp is None or stamp <= EARLIER:
                    problems.append(f"DOT {dot} {source}: succeeded but *LastSync not advanced")
        if await store.leased_ids():
            problems.append("leases left behind")
    finally:
        await store.close()
    return problems


def run_fault(
    fault: Fault, carriers: int, server: HostileServer, elsewhere: HostileServer, workdir: Path
) -> Outcome:
    dots = carrier_dots(carriers)
    path = workdir / f"{fault.mode}-{fault.where}-{time.monotonic_ns()}.db"
    asyncio.run(_seed(path, dots))
    options = dict(fault.options)
    if fault.mode == "redirect-off-host":
        options["redirect_to"] = f"http://localhost:{elsewhere.port}"
    server.set(fault.mode, **options)
    elsewhere.set("healthy")
    base = _base_url(fault, server)
    settings = {
        **BASE_SETTINGS,
        **fault.settings,
        "store": f"sqlite:///{path}",
        "qc_base_url": f"{base}/qc/services",
        "hub_base_url": base,
    }
    result, failure = _spawn_child({"store": str(path), "settings": settings})
    if result is None:
        return Outcome(fault, carriers, [failure])
    problems = _check_outcomes(fault, dots, result)
    problems += asyncio.run(_check_store(path, result))
    if elsewhere.received():
        problems.append(f"the other host received {len(elsewhere.received())} requests")
    durations = [c["duration"] for c in result["carriers"].values() if "duration" in c]
    failures = [(s, e) for c in result["carriers"].values() for s, e in c["failed"].items()]
    summaries = [s for c in result["carriers"].values() for s in c["ok"].values() if ";" in s]
    example = f"{failures[0][0]}: {failures[0][1]}" if failures else (summaries or ["ok"])[0]
    return Outcome(
        fault,
        carriers,
        problems,
        rss_mb=result["maxrss_kb"] / 1024,
        median_s=statistics.median(durations) if durations else None,
        failed_sources={s for s, _ in failures},
        example=example,
    )


@contextlib.contextmanager
def servers() -> Iterator[tuple[HostileServer, HostileServer]]:
    """The hostile FMCSA and a second host a redirect may point at."""
    bomb("gzip")  # made once, up front
    with HostileServer() as server, HostileServer() as elsewhere:
        yield server, elsewhere


def print_table(outcomes: list[Outcome]) -> None:
    header = ("fault class", "tried", "survived", "peak RSS", "time to fail", "failed sources")
    rows = [header]
    order = [s.value for s in Source]
    for outcome in outcomes:
        failed = [name for name in order if name in outcome.failed_sources]
        rows.append(
            (
                outcome.fault.name,
                str(outcome.tried),
                "yes" if outcome.survived else "NO",
                f"{outcome.rss_mb:.0f} MB" if outcome.rss_mb is not None else "-",
                f"{outcome.median_s:.2f} s" if outcome.median_s is not None else "-",
                ", ".join(failed) or "none",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {1, 3, 4}
    for row in rows:
        cells = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  " + "  ".join(cells).rstrip())
    print("\n  what an operator sees (first carrier, first failure or note):")
    for outcome in outcomes:
        print(f"  - {outcome.fault.name}: {outcome.example}")
        for problem in outcome.problems[:5]:
            print(f"      PROBLEM: {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2 carriers per class (CI)")
    parser.add_argument("--carriers", type=int, default=10, help="carriers per fault class")
    parser.add_argument("--only", action="append", help="just this fault class (repeatable)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main()
        return 0
    carriers = 2 if args.smoke else args.carriers
    chosen = [f for f in FAULTS if not args.only or f.name in args.only]
    print(f"fault matrix: {carriers} carriers per class, each class a child process; "
          f"retries {BASE_SETTINGS['max_attempts']} attempts, backoff "
          f"{BASE_SETTINGS['backoff_base']}-{BASE_SETTINGS['backoff_max']} s, request "
          f"timeout {BASE_SETTINGS['timeout']:g} s, defaults otherwise", flush=True)  # fmt: skip
    started = time.perf_counter()
    outcomes = []
    with servers() as (server, elsewhere), tempfile.TemporaryDirectory() as tmp:
        for fault in chosen:
            outcomes.append(run_fault(fault, carriers, server, elsewhere, Path(tmp)))
    print_table(outcomes)
    lost = [o.fault.name for o in outcomes if not o.survived]
    print(f"\n  {len(outcomes) - len(lost)}/{len(outcomes)} fault classes survived "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    if lost:
        print(f"  did not survive: {', '.join(lost)}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
