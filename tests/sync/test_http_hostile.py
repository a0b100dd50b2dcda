"""Trust at the edges: the real engine and a real SQLite store against a hostile FMCSA.

Every test syncs through `SyncEngine` into a `SqliteStore` file, against the raw
asyncio server of `tests.support.hostile` on loopback, and checks what an operator
sees: the one-line error (naming the cause, holding no secret), the previous data and
``*LastSync`` kept in the store, memory measured (``tracemalloc`` peak, printed), and
what was sent where. Nothing here asserts on wall-clock time.
"""

from __future__ import annotations

import contextlib
import html
import json
import shutil
import socket
import ssl
import subprocess
import sys
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from bson import ObjectId

from fmcsa_tui.models import Source
from fmcsa_tui.models.runs import Origin
from fmcsa_tui.settings import Settings
from fmcsa_tui.store import SqliteStore
from fmcsa_tui.sync import sources as sources_module
from fmcsa_tui.sync.answers import SourceError, read_body
from fmcsa_tui.sync.engine import SyncEngine
from fmcsa_tui.sync.events import (
    RunEvent,
    RunFinished,
    SourceFailed,
    SourceProgress,
    SourceSucceeded,
)
from fmcsa_tui.sync.http import same_host
from tests.support.hostile import (
    HUB_ENDPOINTS,
    QC_ENDPOINTS,
    Endpoint,
    HostileServer,
    bomb,
    hostile_process,
)

WEBKEY = "k3y/with+plus=eq&amp~tilde"
APP_TOKEN = "tok/en+x=y&z"
DOT = "1000020"  # a healthy sandbox carrier with data in every source (9 violations)
MIB = 1 << 20
MEMORY_BOUND_MIB = 100

#: Where a source's own data lives in the document: kept untouched when it fails.
OWN_FIELDS: dict[Source, tuple[tuple[str, ...], ...]] = {
    Source.CSA_SCORES: (("smsBasics",), ("fmcsaData", "syncStatus", "csaScoresLastSync")),
    Source.INSPECTIONS: (
        ("fmcsaData", "inspections"),
        ("fmcsaData", "syncStatus", "inspectionsLastSync"),
    ),
    Source.VIOLATIONS: (
        ("fmcsaData", "lastViolationSync"),
        ("fmcsaData", "syncStatus", "violationsLastSync"),
    ),
}


def secret_spellings(secret: str) -> list[str]:
    """A secret as a URL, a form, HTML or JSON may spell it."""
    upper = quote(secret, safe="")
    return [
        secret,
        upper,
        upper.lower(),
        quote(secret),
        quote_plus(secret),
        html.escape(secret),
        json.dumps(secret)[1:-1].replace("/", "\\/"),
    ]


def assert_no_secret(text: str) -> None:
    for secret in (WEBKEY, APP_TOKEN):
        for spelling in secret_spellings(secret):
            assert spelling not in text, f"{spelling!r} leaked in {text!r}"


def assert_one_safe_line(text: str) -> None:
    assert text and text.isprintable(), repr(text)  # no newline, escape or bidi control
    assert len(text) <= 300
    assert_no_secret(text)


@contextlib.contextmanager
def peak_memory(label: str) -> Iterator[list[float]]:
    """The peak of Python's allocations while the block runs, in MiB (printed)."""
    peak: list[float] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1] / MIB)
        tracemalloc.stop()
        print(f"\n{label}: peak traced memory {peak[0]:.1f} MiB")


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    bomb("gzip")  # made once, before any memory is measured
    bomb("deflate")
    with HostileServer() as server:
        yield server


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "store.db")
    await opened.open()
    yield opened
    await opened.close()


def settings_for(qc: str, hub: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "store": f"sqlite:///{tmp_path / 'store.db'}",
        "qc_base_url": qc,
        "hub_base_url": hub,
        "webkey": WEBKEY,
        "app_token": APP_TOKEN,
        "backoff_base": 0.01,
        "backoff_max": 0.02,
        "timeout": 5,
        "max_attempts": 2,
        "qc_rate_limit": 0,
        "hub_rate_limit": 0,
    }
    values.update(overrides)
    return Settings(**values)


def hostile_settings(server: HostileServer, tmp_path: Path, **overrides: Any) -> Settings:
    return settings_for(server.qc_base_url, server.url, tmp_path, **overrides)


class Run:
    """One carrier synced once healthily, then again as the test chooses."""

    def __init__(self, store: SqliteStore, doc: dict[str, Any], before: dict[str, Any]) -> None:
        self.store = store
        self.doc = doc
        self.before = before
        self.before_inspections: list[dict[str, Any]] = []
        self.events: list[RunEvent] = []
        self.outcome: Any = None

    async def sync(self, settings: Settings, sources: tuple[Source, ...] = tuple(Source)) -> Run:
        self.events = []
        async with SyncEngine(self.store, settings, origin=Origin.SYNC) as engine:
            self.outcome = await engine.run(self.doc, sources, self.events.append)
        return self

    def failure(self, source: Source) -> SourceFailed:
        [failed] = [e for e in self.events if isinstance(e, SourceFailed) and e.source is source]
        return failed

    def success(self, source: Source) -> SourceSucceeded:
        [ok] = [e for e in self.events if isinstance(e, SourceSucceeded) and e.source is source]
        return ok

    def retries(self, source: Source) -> list[SourceProgress]:
        return [
            e
            for e in self.events
            if isinstance(e, SourceProgress) and e.source is source and e.retry_in is not None
        ]

    async def raw(self) -> dict[str, Any]:
        raw = await self.store.get_company(str(self.doc["_id"]))
        assert raw is not None
        return raw

    async def assert_failed(self, source: Source, *needles: str) -> SourceFailed:
        """The operator's view of a failed source: one line naming the cause, data kept."""
        failed = self.failure(source)
        assert_one_safe_line(failed.error)
        for needle in needles:
            assert needle in failed.error, failed.error
        raw = await self.raw()
        [row] = [e for e in raw["fmcsaData"]["syncStatus"]["errors"] if e["source"] == source]
        assert row["error"] == failed.error  # what is stored is what was shown
        for path in OWN_FIELDS[source]:
            assert _dig(raw, path) == _dig(self.before, path), path  # previous data kept
        if source is Source.VIOLATIONS:
            kept = await self.store.inspections_for(str(self.doc["_id"]))
            assert _without_ids(kept) == _without_ids(self.before_inspections)
        print(f"\n{source}: {failed.error} (attempts {failed.attempts})")
        return failed


def _dig(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        doc = doc.get(key, {})
    return doc


def _without_ids(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({k: v for k, v in d.items() if k not in {"_id", "updatedAt"}} for d in docs),
        key=lambda d: str(d.get("reportNumber")),
    )


async def seeded(store: SqliteStore, hostile: HostileServer, tmp_path: Path, dot: str = DOT) -> Run:
    """A carrier with a successful sync behind it, from the hostile server's healthy mode."""
    doc = {"_id": ObjectId(), "name": f"Carrier {dot}", "dotNumber": dot, "ownerId": ObjectId()}
    await store.insert_documents([doc])
    hostile.set("healthy")
    run = Run(store, doc, {})
    await run.sync(hostile_settings(hostile, tmp_path))
    assert isinstance(run.outcome, RunFinished) and run.outcome.success, run.events
    run.before = await run.raw()
    run.before_inspections = await store.inspections_for(str(doc["_id"]))
    assert run.before_inspections and run.before["smsBasics"]["lastUpdated"]
    return run


# --- real answers still parse ---------------------------------------------------------------


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
async def test_real_fmcsa_answers_sync_through_the_bounded_reader(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path, gzip: bool
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("samples", gzip=gzip)
    await run.sync(hostile_settings(hostile, tmp_path))
    assert isinstance(run.outcome, RunFinished) and run.outcome.success, run.events
    raw = await run.raw()
    assert raw["smsBasics"]["unsafeDriving"] is None  # "Not Public"
    assert raw["smsBasics"]["unsafeDrivingMeasure"] == 10.32
    assert raw["fmcsaData"]["inspections"]["driverInspections"] == 259
    assert raw["fmcsaData"]["inspections"]["carrier"]["legalName"] == "VERIHA TRUCKING INC"
    docs = {d["reportNumber"]: d for d in await store.inspections_for(str(run.doc["_id"]))}
    assert docs["742527801"]["violations"][0]["code"] == "3922SLLS4"
    assert run.success(Source.CSA_SCORES).summary == "5 BASICs, 0 public"


# --- 1. memory is bounded ----------------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_a_compression_bomb_stops_at_the_cap_in_bounded_memory(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path, coding: str
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("gzip-bomb", coding=coding)  # 1 MB on the wire, 1 GiB expanded
    with peak_memory(f"{coding} bomb, 3 sources") as peak:
        await run.sync(hostile_settings(hostile, tmp_path))
    assert peak[0] < MEMORY_BOUND_MIB
    for source, api, what in (
        (Source.CSA_SCORES, "QCMobile", "basics"),
        (Source.INSPECTIONS, "QCMobile", "carrier"),
        (Source.VIOLATIONS, "DataHub", "page 1"),
    ):
        failed = await run.assert_failed(
            source, f"{api} answered {coding} that expands to more than 8 MiB", what,
            "setting `max_response_bytes`",
        )  # fmt: skip
        assert failed.permanent and failed.attempts == 1
    assert hostile.received()[0].headers["accept-encoding"] == "gzip, deflate"


async def test_a_huge_body_is_refused_by_its_content_length(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("huge-body")  # an honest 50 MB
    with peak_memory("50 MB body") as peak:
        await run.sync(hostile_settings(hostile, tmp_path), (Source.INSPECTIONS,))
    assert peak[0] < MEMORY_BOUND_MIB
    await run.assert_failed(
        Source.INSPECTIONS,
        "QCMobile answered 50 MiB, more than 8 MiB (carrier; setting `max_response_bytes`)",
    )


async def test_an_endless_body_without_a_length_is_cut_while_streaming(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("endless-body")
    settings = hostile_settings(hostile, tmp_path, max_response_bytes=1 * MIB)
    with peak_memory("endless chunked body, 1 MiB cap") as peak:
        await run.sync(settings, (Source.CSA_SCORES,))
    assert peak[0] < MEMORY_BOUND_MIB
    await run.assert_failed(
        Source.CSA_SCORES,
        "QCMobile answered more than 1 MiB (basics; setting `max_response_bytes`)",
    )


async def test_endless_full_pages_stop_at_max_rows_in_bounded_memory(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    # its own process: 100 pages of wide rows, and only our side's memory is measured
    with hostile_process("endless-pages") as url:
        settings = settings_for(f"{url}/qc/services", url, tmp_path)  # 1000 a page, 100,000
        with peak_memory("endless DataHub pages, 100,000 rows") as peak:
            await run.sync(settings, (Source.VIOLATIONS,))
    assert peak[0] < MEMORY_BOUND_MIB
    failed = await run.assert_failed(Source.VIOLATIONS)
    assert failed.error == f"DataHub sent more than 100000 rows for DOT {DOT} (setting `max_rows`)"
    assert failed.permanent
    pages = [e for e in run.events if isinstance(e, SourceProgress) and e.page is not None]
    assert len(pages) <= 100_000 // 1000 + 2  # both datasets share the bound


@pytest.mark.parametrize(
    ("mode", "needle"),
    [
        ("stacked-encoding", "QCMobile answered with stacked content-encodings 'gzip, gzip'"),
        ("unknown-encoding", "QCMobile answered with content-encoding 'br', which we did not"),
    ],
)
async def test_content_encodings_we_did_not_offer_fail_in_one_line(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path, mode: str, needle: str
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set(mode)
    await run.sync(hostile_settings(hostile, tmp_path), (Source.INSPECTIONS,))
    failed = await run.assert_failed(Source.INSPECTIONS, needle)
    assert failed.permanent and failed.attempts == 1


# --- 2. credentials never leave FMCSA's host ---------------------------------------------


@pytest.mark.parametrize("target", ["other-server", "unresolvable"])
async def test_a_redirect_to_another_host_is_never_followed(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path, target: str
) -> None:
    run = await seeded(store, hostile, tmp_path)
    with HostileServer() as other:
        where = f"localhost:{other.port}" if target == "other-server" else "fmcsa.invalid"
        hostile.set("redirect-off-host", redirect_to=f"http://{where}")
        await run.sync(hostile_settings(hostile, tmp_path))
        assert other.received() == []  # not one request, so no webKey, no app token
    for source in Source:
        failed = await run.assert_failed(
            source, f"redirected to another host, http://{where}; not followed"
        )
        assert failed.permanent and failed.attempts == 1
    received = hostile.received()
    assert {r.endpoint for r in received} == QC_ENDPOINTS | HUB_ENDPOINTS
    assert len(received) == 4  # one request per endpoint, no retry, no hop


async def test_a_redirect_on_the_same_host_is_followed_with_credentials(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("redirect-same-host")
    await run.sync(hostile_settings(hostile, tmp_path))
    assert isinstance(run.outcome, RunFinished) and run.outcome.success
    hub = [r for r in hostile.received() if r.endpoint in HUB_ENDPOINTS]
    assert hub and all(r.headers.get("x-app-token") == APP_TOKEN for r in hub)
    assert {r.param("hop") for r in hub} == {"", "1"}  # asked, redirected, asked again


async def test_a_redirect_loop_fails_after_a_few_hops(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("redirect-loop")
    await run.sync(hostile_settings(hostile, tmp_path), (Source.INSPECTIONS,))
    await run.assert_failed(Source.INSPECTIONS, "QCMobile redirected more than 3 times (carrier)")
    assert len(hostile.received()) == 4


@pytest.mark.parametrize(
    ("current", "target", "followed"),
    [
        ("http://h.gov/a", "http://h.gov/b", True),
        ("http://h.gov/a", "https://h.gov/a", True),  # the https upgrade
        ("http://h.gov:80/a", "https://h.gov:443/a", True),
        ("https://h.gov/a", "http://h.gov/a", False),  # a downgrade
        ("http://h.gov:8080/a", "https://h.gov:8443/a", False),
        ("http://h.gov/a", "http://h.gov:8080/a", False),
        ("http://h.gov/a", "http://evil.h.gov/a", False),
        ("http://127.0.0.1:1/a", "http://localhost:1/a", False),
    ],
)
def test_which_redirects_are_followed(current: str, target: str, followed: bool) -> None:
    assert same_host(httpx.URL(current), httpx.URL(target)) is followed


# --- 3. time: Retry-After and the source's deadline --------------------------------------


async def test_a_retry_after_longer_than_allowed_fails_at_once_saying_so(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("retry-after", retry_after=999999)
    await run.sync(hostile_settings(hostile, tmp_path, max_attempts=5))
    failed = await run.assert_failed(
        Source.VIOLATIONS,
        "DataHub throttled the request (HTTP 429, ",
        ": asked to wait 999999s, more than the 120s allowed (setting `retry_after_max`)",
    )
    assert failed.attempts == 1 and not run.retries(Source.VIOLATIONS)
    for source in (Source.CSA_SCORES, Source.INSPECTIONS):
        assert "asked to wait 999999s" in (await run.assert_failed(source)).error
    assert len(hostile.received()) == 4  # one request per endpoint: nobody waited


async def test_a_retry_after_past_the_source_deadline_fails_at_once(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("retry-after", retry_after=60)
    settings = hostile_settings(hostile, tmp_path, max_attempts=5, source_deadline=5)
    await run.sync(settings, (Source.INSPECTIONS,))
    failed = await run.assert_failed(
        Source.INSPECTIONS,
        "QCMobile throttled the request (HTTP 429, carrier): asked to wait 60s, past the "
        "source's 5s deadline (setting `source_deadline`)",
    )
    assert failed.attempts == 1 and not run.retries(Source.INSPECTIONS)


async def test_a_backoff_past_the_source_deadline_fails_at_once(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("503")
    settings = hostile_settings(
        hostile, tmp_path, max_attempts=5, backoff_base=60, backoff_max=60, source_deadline=5
    )
    await run.sync(settings, (Source.CSA_SCORES,))
    failed = await run.assert_failed(
        Source.CSA_SCORES,
        "HTTP 503 from QCMobile (basics); no time left before the source's 5s deadline",
    )
    assert failed.attempts == 1


async def test_one_attempt_allowed_makes_one_request_and_no_retry(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    """The first attempt runs outside the retry loop: with `max_attempts` 1 a transient
    failure is still worded as the loop words it, once, with no retry announced."""
    run = await seeded(store, hostile, tmp_path)
    hostile.set("503")  # and forget the requests so far
    await run.sync(hostile_settings(hostile, tmp_path, max_attempts=1), (Source.CSA_SCORES,))
    failed = await run.assert_failed(Source.CSA_SCORES)
    assert failed.error == "HTTP 503 from QCMobile (basics)"
    assert failed.attempts == 1 and not failed.permanent and not run.retries(Source.CSA_SCORES)
    assert len(hostile.received()) == 1


async def test_a_source_is_cut_at_its_deadline(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("slow-body", interval=0.05)  # a byte now and then: no request timeout fires
    settings = hostile_settings(hostile, tmp_path, timeout=60, source_deadline=0.5)
    await run.sync(settings, (Source.INSPECTIONS, Source.VIOLATIONS))
    await run.assert_failed(
        Source.INSPECTIONS,
        "gave up at the source's 0.5s deadline (setting `source_deadline`) while fetching "
        "carrier record",
    )
    await run.assert_failed(Source.VIOLATIONS, "while fetching ", " page 1")


# --- 4. errors that say what happened -----------------------------------------------------


async def test_a_refused_connection_says_refused_not_timed_out(
    store: SqliteStore, hostile: HostileServer, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    await run.sync(settings_for(f"{url}/qc/services", url, tmp_path))
    failed = await run.assert_failed(
        Source.INSPECTIONS,
        f"QCMobile refused the connection at 127.0.0.1:{port} (carrier) after 2 attempts",
    )
    assert "timed out" not in failed.error and not failed.permanent
    await run.assert_failed(
        Source.VIOLATIONS, f"DataHub refused the connection at 127.0.0.1:{port}"
    )
    [retry] = run.retries(Source.INSPECTIONS)
    assert "refused" in retry.message


async def test_a_dns_failure_says_the_name_was_not_found(
    store: SqliteStore, hostile: HostileServer, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    url = "http://fmcsa-hostile.invalid"
    await run.sync(settings_for(f"{url}/qc/services", url, tmp_path), (Source.CSA_SCORES,))
    failed = await run.assert_failed(
        Source.CSA_SCORES,
        "cannot find QCMobile: DNS name not found for fmcsa-hostile.invalid (basics) after 2",
    )
    assert "timed out" not in failed.error


async def test_a_tls_failure_says_tls(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("healthy")  # it answers a TLS handshake with plain HTTP
    url = f"https://127.0.0.1:{hostile.port}"
    await run.sync(settings_for(f"{url}/qc/services", url, tmp_path), (Source.INSPECTIONS,))
    await run.assert_failed(
        Source.INSPECTIONS,
        f"TLS failure with QCMobile at 127.0.0.1:{hostile.port}: the secure handshake failed",
    )


@pytest.fixture
def untrusted_tls(tmp_path: Path) -> ssl.SSLContext:
    """A server TLS context with a self-signed certificate nobody trusts."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


async def test_an_untrusted_certificate_is_a_permanent_tls_failure(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path, untrusted_tls: ssl.SSLContext
) -> None:
    run = await seeded(store, hostile, tmp_path)
    with HostileServer(host="localhost", tls=untrusted_tls) as secure:
        url = f"https://localhost:{secure.port}"
        await run.sync(settings_for(f"{url}/qc/services", url, tmp_path), (Source.INSPECTIONS,))
    failed = await run.assert_failed(
        Source.INSPECTIONS,
        f"TLS failure with QCMobile at localhost:{secure.port}: its certificate was not accepted",
    )
    assert failed.permanent and failed.attempts == 1


async def test_a_real_timeout_says_timed_out(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("slow-body")
    await run.sync(hostile_settings(hostile, tmp_path, timeout=0.3), (Source.CSA_SCORES,))
    failed = await run.assert_failed(
        Source.CSA_SCORES, "QCMobile timed out after 0.3s (basics) after 2 attempts"
    )
    assert not failed.permanent


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("maintenance", "QCMobile is down for maintenance (carrier) after 2 attempts"),
        ("bad-utf8", "QCMobile answered text that is not valid UTF-8 (carrier) after 2 attempts"),
        ("not-json", "QCMobile answered something that is not JSON (carrier) after 2 attempts"),
        ("wrong-shape", "QCMobile answered an unexpected shape (carrier)"),
        ("lying-length", "QCMobile's answer broke off before its end (carrier) after 2 attempts"),
    ],
)
async def test_a_malformed_answer_says_how_it_is_malformed(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path, mode: str, message: str
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set(mode)
    await run.sync(hostile_settings(hostile, tmp_path), (Source.INSPECTIONS,))
    failed = await run.assert_failed(Source.INSPECTIONS)
    assert failed.error == message


async def test_a_wrong_datahub_shape_says_so(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("wrong-shape", only={Endpoint.VIOLATIONS})
    await run.sync(hostile_settings(hostile, tmp_path), (Source.VIOLATIONS,))
    await run.assert_failed(Source.VIOLATIONS, "DataHub answered an unexpected shape (8mt8-2mdr)")


# --- 5. numbers that are not numbers, elements that are not elements ---------------------


async def test_nan_and_infinity_are_stored_as_missing_never_0_or_100(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("non-finite")
    await run.sync(hostile_settings(hostile, tmp_path))
    assert isinstance(run.outcome, RunFinished) and run.outcome.success, run.events
    raw = await run.raw()
    basics = raw["smsBasics"]
    assert basics["unsafeDriving"] is None and basics["unsafeDrivingMeasure"] is None  # NaN
    assert basics["hoursOfService"] is None and basics["hoursOfServiceMeasure"] is None  # Inf
    assert basics["driverFitness"] is None  # "NaN" as a string
    assert basics["vehicleMaintenance"] == 42 and basics["vehicleMaintenanceMeasure"] == 1.5
    inspections = raw["fmcsaData"]["inspections"]
    for key in ("driverInspections", "vehicleInspections", "driverOOSPercent"):
        assert inspections[key] is None, key
    assert inspections["crashes"]["total"] is None and inspections["crashes"]["fatal"] is None
    assert inspections["totalInspections"] is None
    docs = await store.inspections_for(str(run.doc["_id"]))
    assert docs and all(d["inspectionLevel"] is None for d in docs)
    assert all(v["severityWeight"] is None for d in docs for v in d["violations"])
    assert run.success(Source.CSA_SCORES).summary == "4 BASICs, 1 public"


async def test_malformed_elements_are_skipped_and_noted(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("malformed-elements")
    await run.sync(hostile_settings(hostile, tmp_path))
    assert isinstance(run.outcome, RunFinished) and run.outcome.success, run.events
    csa = run.success(Source.CSA_SCORES).summary
    assert csa.endswith("; 2 malformed entries skipped"), csa
    violations = run.success(Source.VIOLATIONS).summary
    assert violations.endswith("; 4 malformed rows skipped"), violations
    raw = await run.raw()
    assert raw["smsBasics"]["unsafeDriving"] is None  # its entry was the malformed one
    assert raw["fmcsaData"]["syncStatus"]["errors"] == []


# --- 6. secrets in every encoding; texts that try to drive the terminal -------------------


async def test_a_secret_echoed_in_any_encoding_reaches_neither_events_nor_store(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("echo-secret")
    await run.sync(hostile_settings(hostile, tmp_path))
    for source in Source:
        failed = await run.assert_failed(source, "***")
        assert failed.permanent
    inspections = run.failure(Source.INSPECTIONS).error
    assert "rejected the webKey: Webkey not found: webKey=***" in inspections
    raw = await run.raw()
    assert_no_secret(repr(run.events) + repr(raw))
    # the server did echo them: what it received carried both secrets
    assert any(r.headers.get("x-app-token") == APP_TOKEN for r in hostile.received())


def test_a_secret_echoed_encoded_never_reaches_sync_output(
    hostile: HostileServer, env: dict[str, str], tmp_path: Path
) -> None:
    hostile.set("echo-secret")
    env = {**env, "FMCSA_TUI_WEBKEY": WEBKEY, "FMCSA_TUI_APP_TOKEN": APP_TOKEN}
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    command = [sys.executable, "-m", "fmcsa_tui"]
    added = subprocess.run(
        [*command, "add", DOT, "--store", store], env=env, capture_output=True, text=True
    )
    assert added.returncode == 0, added.stderr
    synced = subprocess.run(
        [*command, "sync", DOT, "--fmcsa", hostile.url, "--store", store],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert synced.returncode == 1, synced.stderr
    assert "rejected the webKey" in synced.stdout and "***" in synced.stdout
    assert_no_secret(synced.stdout + synced.stderr)
    status = subprocess.run(
        [*command, "status", "--json", "--store", store], env=env, capture_output=True, text=True
    )
    assert "***" in status.stdout
    assert_no_secret(status.stdout)


async def test_escape_sequences_in_error_texts_are_made_visible(
    hostile: HostileServer, store: SqliteStore, tmp_path: Path
) -> None:
    run = await seeded(store, hostile, tmp_path)
    hostile.set("escape-error")
    await run.sync(hostile_settings(hostile, tmp_path))
    inspections = await run.assert_failed(Source.INSPECTIONS, "rejected the webKey: ␛[2J␛]0;owned␇")
    assert "Webkey not found␊second line" in inspections.error
    violations = await run.assert_failed(Source.VIOLATIONS, "query error query.soql.type-mismatch")
    assert "bad\\u202equery" in violations.error


async def test_an_unexpected_error_text_is_scrubbed_too(
    hostile: HostileServer,
    store: SqliteStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = await seeded(store, hostile, tmp_path)

    async def leaky(ctx: Any, at: Any) -> Any:
        url = httpx.URL(f"{ctx.qc_base_url}/carriers/{ctx.dot}", params={"webKey": ctx.webkey})
        raise RuntimeError(f"nobody foresaw this at {url}\nsecond line")

    monkeypatch.setitem(sources_module.FETCHERS, Source.INSPECTIONS, leaky)
    await run.sync(hostile_settings(hostile, tmp_path), (Source.INSPECTIONS,))
    failed = await run.assert_failed(Source.INSPECTIONS, "unexpected response: nobody foresaw")
    assert "webKey=***" in failed.error and "second line" not in failed.error


# --- the bounded reader on its own -------------------------------------------------------


async def _body(chunks: list[bytes], limit: int = MIB, **headers: str) -> bytes:
    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    response = httpx.Response(200, headers=headers, content=stream())
    return await read_body(response, limit, "QCMobile", "carrier")


async def test_the_reader_decodes_gzip_and_both_kinds_of_deflate_in_pieces() -> None:
    text = b'{"content": "' + b"x" * 50_000 + b'"}'
    gz = zlib.compress(text, wbits=31)
    zl = zlib.compress(text)
    raw = zlib.compress(text, wbits=-15)
    for coding, body in (("gzip", gz), ("deflate", zl), ("deflate", raw)):
        pieces = [body[i : i + 100] for i in range(0, len(body), 100)]
        assert await _body(pieces, **{"content-encoding": coding}) == text
    assert await _body([text], **{"content-encoding": "identity"}) == text


@pytest.mark.parametrize(
    ("chunks", "message"),
    [
        ([zlib.compress(b"[1, 2, 3]", wbits=31)[:-12]], "broken gzip body"),
        ([zlib.compress(b"[1]", wbits=31) + b"trailing"], "broken gzip body"),
        ([b"not gzip at all"], "broken gzip body"),
    ],
)
async def test_the_reader_refuses_broken_compressed_bodies(
    chunks: list[bytes], message: str
) -> None:
    with pytest.raises(SourceError) as caught:
        await _body(chunks, **{"content-encoding": "gzip"})
    assert message in caught.value.message and not caught.value.permanent


async def test_the_reader_counts_raw_bytes_and_trusts_no_declared_length() -> None:
    with pytest.raises(SourceError, match="answered more than 1 KiB"):
        await _body([b"x" * 600, b"x" * 600], limit=1024)
    with pytest.raises(SourceError, match="answered 2 KiB, more than 1 KiB"):
        await _body([b"x"], limit=1024, **{"content-length": "2048"})
    assert await _body([b"x" * 10], limit=1024, **{"content-length": "nonsense"}) == b"x" * 10
