"""The dashboard driven by keys through Textual's Pilot, against a real store and sandbox.

After every run the store itself is checked, not only the screen.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from rich.console import Console
from textual.app import App, ComposeResult
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Label, ProgressBar

from fmcsa_tui.coordinator import BulkTally
from fmcsa_tui.models import Company, CompanySummary, Source
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.settings import Settings, load_settings
from fmcsa_tui.store import CompanyStore, MongoStore, StoreError
from fmcsa_tui.store.base import Changes, poll_changes
from fmcsa_tui.ui.app import FmcsaApp
from fmcsa_tui.ui.screens import ConfirmScreen, HelpScreen
from fmcsa_tui.ui.widgets import BulkProgress, DetailPane, FilterBar, StatusHeader
from tests.support import real_documents
from tests.support.mongo_wire import MongoWireServer
from tests.support.sandboxes import served_sandbox
from tests.support.waiting import eventually

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SIZE = (160, 45)


sandbox = served_sandbox(SandboxConfig(hang_seconds=2.0, retry_after=1))


slow_sandbox = served_sandbox(SandboxConfig(latency=6.0))


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "store": "sqlite:///unused.db",
        "qc_base_url": f"{url}/qc/services",
        "hub_base_url": url,
        "webkey": "dashboard-test",
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "timeout": 5,
        "qc_rate_limit": 0,
        "hub_rate_limit": 0,
        "concurrency": 4,
    }
    values.update(overrides)
    return Settings(**values)


def company(dot: str, name: str, *, synced: datetime | None = None, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": ObjectId(), "name": name, "dotNumber": dot, **extra}
    if synced is not None:
        doc["fmcsaData"] = {
            "syncStatus": {
                "lastRun": synced,
                "success": True,
                "errors": [],
                **{source.last_sync_field: synced for source in Source},
            }
        }
    return doc


def failed(dot: str, name: str, source: Source, when: datetime) -> dict[str, Any]:
    doc = company(dot, name, synced=when)
    status = doc["fmcsaData"]["syncStatus"]
    status["success"] = False
    status["errors"] = [{"_id": ObjectId(), "source": source.value, "error": "HTTP 503",
                         "timestamp": when}]  # fmt: skip
    return doc


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], limit: float = 20) -> None:
    await eventually(condition, limit=limit, pause=pilot.pause)


async def wait_async(
    pilot: Pilot[None], condition: Callable[[], Awaitable[bool]], limit: float = 20
) -> None:
    await eventually(condition, limit=limit, pause=pilot.pause)


def visible_dots(app: FmcsaApp) -> list[str | None]:
    return [s.dot_number for s in app.companies.visible_summaries()]


async def stored(store: CompanyStore, doc: dict[str, Any]) -> Company:
    raw = await store.get_company(str(doc["_id"]))
    assert raw is not None
    return Company.model_validate(raw)


async def loaded(pilot: Pilot[None], count: int) -> None:
    app = pilot.app
    assert isinstance(app, FmcsaApp)
    await wait_for(pilot, lambda: app.companies.total_count == count)


# --- r: resync one company -------------------------------------------------------------


async def test_r_resyncs_the_highlighted_company_and_the_row_and_pane_update(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    docs = [company("1000005", "Alpha Freight"), company("1000012", "Bravo Lines")]
    await store.insert_documents(docs)
    app = FmcsaApp(store, settings_for(sandbox.url), poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        assert app.companies.highlighted is not None
        assert app.companies.highlighted.dot_number == "1000005"
        await pilot.press("r")
        await wait_async(pilot, lambda: _has_run(store, docs[0]))
        await wait_for(pilot, lambda: not app.runs.busy)
        await wait_for(pilot, lambda: _row(app, "1000005").status == "ok")
        company_now = await stored(store, docs[0])
        assert company_now.sync_status.success is True
        assert company_now.name == "Alpha Freight"
        await wait_for(pilot, lambda: "success true" in _detail_text(app))
        assert "csa_scores" in _detail_text(app)
        assert (await stored(store, docs[1])).sync_status.last_run is None  # untouched


async def _has_run(store: CompanyStore, doc: dict[str, Any]) -> bool:
    return (await stored(store, doc)).sync_status.last_run is not None


def _row(app: FmcsaApp, dot: str) -> CompanySummary:
    [summary] = [s for s in app.companies.visible_summaries() if s.dot_number == dot]
    return summary


def _detail_text(app: FmcsaApp) -> str:
    from rich.console import Console

    console = Console(width=120, record=True, color_system=None)
    console.print(app.detail.render_body())
    return console.export_text()


@pytest.mark.parametrize(
    ("key", "source"),
    [("c", Source.CSA_SCORES), ("v", Source.VIOLATIONS), ("i", Source.INSPECTIONS)],
)
async def test_single_source_resync_key_touches_only_that_source(
    store: CompanyStore, sandbox: SandboxServer, key: str, source: Source
) -> None:
    doc = company("1000033", "Charlie Co")
    await store.insert_documents([doc])
    app = FmcsaApp(store, settings_for(sandbox.url), poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 1)
        await pilot.press(key)
        await wait_async(pilot, lambda: _has_run(store, doc))
        await wait_for(pilot, lambda: not app.runs.busy)
    status = (await stored(store, doc)).sync_status
    synced = {each for each in Source if status.last_sync(each) is not None}
    assert synced == {source}


def _fetching(app: FmcsaApp, company_id: str) -> bool:
    """The carrier's run is past its lease with a request in flight."""
    run = app.runs.run_of(company_id)
    return run is not None and run.started and "fetching" in " ".join(run.states.values())


class LeaseLooks:
    """TEST WRAPPER: the real store, counting how often leases are read (the feed's
    looks), so a test can wait for the feed to have looked instead of for time."""

    def __init__(self, real: CompanyStore) -> None:
        self.real = real
        self.lease_looks = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def leased_ids(self, exclude_owner: str | None = None) -> set[str]:
        self.lease_looks += 1
        return await self.real.leased_ids(exclude_owner)


def _last_state(shown: list[str]) -> str:
    """The last live state shown before the pane went back to the stored result ("")."""
    states = [state for state in shown if state]
    assert shown[-1] == "", shown
    return states[-1] if states else ""


async def test_the_pane_follows_a_run_through_retries_to_done_and_failed(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    """DOT ...70: csa_scores answers 503, then 502, then succeeds; DOT ...60: csa_scores
    always answers 503 (the sandbox's fault plan)."""
    flaky, broken = company("1000070", "Retry Co"), company("1000160", "Down Co")
    await store.insert_documents([flaky, broken])
    app = FmcsaApp(store, settings_for(sandbox.url, max_attempts=3), poll_interval=0.2)
    shown: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        app.watch(app.detail, "live", lambda live: shown.append(live.get(Source.CSA_SCORES, "")))
        await pilot.press("c")
        await wait_for(pilot, lambda: not app.runs.busy)
        assert any(state.startswith("retry 1 after HTTP 503") for state in shown), shown
        assert any(state.startswith("retry 2 after HTTP 502") for state in shown), shown
        assert _last_state(shown) == "done", shown  # then no run: the stored result shows
        shown.clear()
        await pilot.press("down", "c")
        await wait_for(pilot, lambda: not app.runs.busy)
        assert _last_state(shown) == "failed", shown
        await wait_for(pilot, lambda: "HTTP 503 from QCMobile" in _detail_text(app))


async def test_resync_without_a_webkey_names_the_missing_setting(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    await store.insert_documents([company("1000005", "Alpha Freight")])
    app = FmcsaApp(store, settings_for(sandbox.url, webkey=None))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 1)
        await pilot.press("r")
        await pilot.pause()
        assert any("FMCSA_TUI_WEBKEY" in n.message for n in app._notifications)
        assert not app.runs.busy


# --- filters -------------------------------------------------------------------------


@pytest.fixture
async def mixed(store: CompanyStore) -> list[dict[str, Any]]:
    """Two failing sources, one never synced, one stale, two fresh and ok."""
    docs = [
        company("1000101", "Fresh One", synced=NOW - timedelta(hours=1)),
        company("1000102", "Fresh Two Prairie", synced=NOW - timedelta(hours=2)),
        company("1000103", "Stale Hauling", synced=NOW - timedelta(days=3)),
        company("1000104", "Never Seen"),
        failed("1000105", "Broken CSA Prairie", Source.CSA_SCORES, NOW - timedelta(hours=1)),
        failed("1000106", "Broken Inspections", Source.INSPECTIONS, NOW - timedelta(hours=1)),
    ]
    await store.insert_documents(docs)
    return docs


async def test_f_cycles_the_failed_source_filter(
    store: CompanyStore, mixed: list[dict[str, Any]], sandbox: SandboxServer
) -> None:
    app = FmcsaApp(store, settings_for(sandbox.url), clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 6)
        expected = [
            ("any failure", ["1000105", "1000106"]),
            ("failed csa_scores", ["1000105"]),
            ("failed violations", []),
            ("failed inspections", ["1000106"]),
            ("all carriers", [d["dotNumber"] for d in mixed]),
        ]
        for words, dots in expected:
            await pilot.press("f")
            assert sorted(visible_dots(app)) == dots  # type: ignore[type-var]
            bar = app.query_one(FilterBar)
            assert words in bar.description and bar.shown == len(dots) and bar.total == 6


async def test_s_n_search_and_escape(
    store: CompanyStore, mixed: list[dict[str, Any]], sandbox: SandboxServer
) -> None:
    app = FmcsaApp(store, settings_for(sandbox.url), clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 6)
        await pilot.press("s")
        assert sorted(visible_dots(app)) == ["1000103", "1000104"]  # type: ignore[type-var]
        await pilot.press("s", "n")
        assert visible_dots(app) == ["1000104"]
        await pilot.press("n", "slash")
        await pilot.press(*"prairie")
        assert sorted(visible_dots(app)) == ["1000102", "1000105"]  # type: ignore[type-var]
        assert "prairie" in app.query_one(FilterBar).description
        await pilot.press("enter", "f")  # filters combine
        assert visible_dots(app) == ["1000105"]
        await pilot.press("escape")
        assert len(visible_dots(app)) == 6
        assert app.query_one(FilterBar).description == "all carriers"


# --- R: bulk resync ------------------------------------------------------------------


async def test_R_asks_with_the_count_then_resyncs_the_view(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    docs = [company(str(1000200 + n), f"Bulk {n}") for n in range(6)]
    docs.append(company("1000260", "Failing CSA"))  # bucket 60: csa_scores always 503
    await store.insert_documents(docs)
    # concurrency 1: two workers at a time, the other four wait in the queue
    app = FmcsaApp(store, settings_for(sandbox.url, concurrency=1), poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 7)
        await pilot.press("slash", *"bulk", "enter")
        assert len(visible_dots(app)) == 6
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "all 6 carriers" in app.screen.question
        await pilot.press("y")
        for doc in docs[:6]:
            await wait_async(pilot, lambda doc=doc: _has_run(store, doc))  # type: ignore[misc]
        await wait_for(pilot, lambda: not app.runs.busy)
        assert (app.activity.progress.tally.done, app.activity.progress.tally.failed) == (6, 0)
        label = str(app.activity.progress.query_one(Label).content)
        assert label.startswith("6/6 done · 0 failed · ") and label.endswith("/s · finished")
    assert (await stored(store, docs[6])).sync_status.last_run is None  # not in the view


async def test_bulk_progress_shows_done_failed_rate_and_eta() -> None:
    """The activity panel's bar, from a coordinator's tally 4 of 10 in 2 s: 2 a second,
    so 3 seconds to go."""

    class ProgressApp(App[None]):
        def compose(self) -> ComposeResult:
            yield BulkProgress()

    app = ProgressApp()
    async with app.run_test() as pilot:
        progress = app.query_one(BulkProgress)
        assert not progress.has_class("-running")
        tally = BulkTally(total=10, done=4, failed=1, began=time.monotonic() - 2.0)
        progress.show(tally)
        await pilot.pause()
        label = str(progress.query_one(Label).content)
        assert label.startswith("4/10 done · 1 failed · 2.0/s · ETA 3 seconds"), label
        assert progress.has_class("-running") and progress.query_one(ProgressBar).progress == 4


async def test_R_on_a_big_view_queues_runs_and_X_withdraws_the_queue(
    store: CompanyStore, slow_sandbox: SandboxServer
) -> None:
    """A view of thousands is not thousands of workers: a few run or wait at the gate,
    the rest queue (shown as queued), and X takes the queue back before it starts."""
    docs = [company(str(1001000 + n), f"Fleet {n:02}") for n in range(40)]
    await store.insert_documents(docs)
    app = FmcsaApp(store, settings_for(slow_sandbox.url, concurrency=2), poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 40)
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: app.runs.running == 2)
        assert app.runs.queued == 38  # 2 running, the rest queued: not 40 tasks
        header = app.query_one(StatusHeader)
        assert header.queued == 38 and app.activity.progress.tally.total == 40
        await pilot.press("end")  # the last company is still queued: the pane says so
        await wait_for(pilot, lambda: set(app.detail.live.values()) == {"queued"})
        await pilot.press("r")  # already in the queue: said so, not started twice
        await pilot.pause()
        assert any("DOT 1001039 is already queued" in n.message for n in app._notifications)
        assert (app.runs.running, app.runs.queued) == (2, 38)
        await pilot.press("X")
        await wait_for(pilot, lambda: not app.runs.busy)
        assert app.activity.progress.tally.total == 2  # the 38 never started are withdrawn
        assert header.queued == 0
    assert await store.leased_ids() == set()
    for doc in docs:  # cancelled mid-request: nothing written anywhere
        assert (await stored(store, doc)).sync_status.last_run is None


async def test_R_answered_no_runs_nothing(store: CompanyStore, sandbox: SandboxServer) -> None:
    docs = [company(str(1000300 + n), f"Kept {n}") for n in range(3)]
    await store.insert_documents(docs)
    app = FmcsaApp(store, settings_for(sandbox.url))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 3)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert not app.runs.busy
    for doc in docs:
        assert (await stored(store, doc)).sync_status.last_run is None


# --- x, X and q with runs in progress --------------------------------------------------


async def test_x_cancels_the_run_and_the_store_stays_consistent(
    store: CompanyStore, slow_sandbox: SandboxServer
) -> None:
    doc = company("1000405", "Slow Freight")
    await store.insert_documents([doc])
    app = FmcsaApp(store, settings_for(slow_sandbox.url), poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 1)
        await pilot.press("r")
        company_id = _row(app, "1000405").id
        await wait_for(pilot, lambda: _fetching(app, company_id))  # requests in flight
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.runs.busy)
        assert await store.leased_ids() == set()
    assert (await stored(store, doc)).sync_status.last_run is None  # nothing half-written


async def test_q_with_runs_in_progress_asks_then_cancels_cleanly(
    store: CompanyStore, slow_sandbox: SandboxServer
) -> None:
    docs = [company("1000505", "Quit One"), company("1000512", "Quit Two")]
    await store.insert_documents(docs)
    app = FmcsaApp(store, settings_for(slow_sandbox.url, concurrency=1), poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        await pilot.press("r", "down", "r")
        await wait_for(pilot, lambda: (app.runs.running, app.runs.queued) == (1, 1))
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "1 run in progress, 1 queued. Cancel them and quit?" in app.screen.question
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, limit=10)
    assert await store.leased_ids() == set()
    for doc in docs:
        assert (await stored(store, doc)).sync_status.last_run is None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
async def test_a_stop_signal_cancels_runs_cleanly_without_asking(
    store: CompanyStore, slow_sandbox: SandboxServer, signum: int
) -> None:
    """Nobody is at the terminal to answer (a service stop, a closed ssh session)."""
    docs = [company("1000605", "Signal One"), company("1000612", "Signal Two")]
    await store.insert_documents(docs)
    app = FmcsaApp(store, settings_for(slow_sandbox.url, concurrency=1), poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        await pilot.press("r", "down", "r")
        await wait_for(pilot, lambda: (app.runs.running, app.runs.queued) == (1, 1))
        assert await store.leased_ids() != set()
        os.kill(os.getpid(), signum)
        await wait_for(pilot, lambda: not app.is_running, limit=10)
        assert not isinstance(app.screen, ConfirmScreen)
    assert app.stopped_by == signum  # the CLI exits with 128 + signum
    assert await store.leased_ids() == set()
    for doc in docs:
        assert (await stored(store, doc)).sync_status.last_run is None


async def test_q_without_runs_quits_at_once(store: CompanyStore, sandbox: SandboxServer) -> None:
    app = FmcsaApp(store, settings_for(sandbox.url))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, limit=5)


#: What the help screen must say for each key: written out here, not read from the
#: table the screen is built from, so a lost or wrong entry fails.
EXPECTED_HELP = {
    "r": "Resync the highlighted carrier",
    "c": "csa_scores only",
    "v": "violations only",
    "i": "inspections only",
    "R": "Resync the marked carriers, or without marks every carrier in the current view",
    "space": "Mark or unmark the highlighted carrier",
    "*": "Mark every carrier in the current view",
    "x": "Cancel the highlighted carrier's run",
    "X": "Cancel every run",
    "/": "Search DOT, name and MC",
    "f": "failed-source filter",
    "s": "stale only",
    "n": "never synced only",
    "esc": "Clear the marks (asking first when many), else the search and every filter",
    "?": "Show every key",
    "q": "Quit; with runs in progress, ask first",
}


async def test_help_lists_every_key(store: CompanyStore, sandbox: SandboxServer) -> None:
    app = FmcsaApp(store, settings_for(sandbox.url))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = {
            key: text
            for _, rows in app.screen.sections
            for keys, text, _scope in rows
            for key in keys.split(", ")
        }
        for key, says in EXPECTED_HELP.items():
            assert says in shown.get(key, ""), (key, shown.get(key))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


# --- live refresh, bad data, a store that goes away -------------------------------------


async def test_changes_by_others_appear_and_the_cursor_and_filter_stay(
    store: CompanyStore, other_store: CompanyStore, mixed: list[dict[str, Any]],
    sandbox: SandboxServer,
) -> None:  # fmt: skip
    from fmcsa_tui.store.base import SourceData

    app = FmcsaApp(store, settings_for(sandbox.url), clock=lambda: NOW, poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 6)
        await pilot.press("f")  # any failure: 1000105, 1000106
        await pilot.press("down")
        assert app.companies.highlighted is not None
        assert app.companies.highlighted.dot_number == "1000106"
        # another process (the backend, another operator) fixes 1000105's csa_scores
        target = str(mixed[4]["_id"])
        data = SourceData(Source.CSA_SCORES, {"smsBasics.unsafeDriving": 5})
        await other_store.record_success(target, NOW, data, datetime.now(UTC))
        await wait_for(pilot, lambda: visible_dots(app) == ["1000106"], limit=5)
        assert app.companies.highlighted is not None
        assert app.companies.highlighted.dot_number == "1000106"
        assert app.companies.filter.failed_source == "any"


async def test_unreadable_document_is_listed_and_shown_as_such(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    bad = {"_id": ObjectId(), "name": "Broken Doc", "dotNumber": "1000707", "fmcsaData": "junk"}
    await store.insert_documents([bad, company("1000708", "Fine Co")])
    app = FmcsaApp(store, settings_for(sandbox.url))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        assert app.companies.highlighted is not None
        assert app.companies.highlighted.status == "unreadable"
        await wait_for(pilot, lambda: "Unreadable document" in _detail_text(app))
        await pilot.press("r")
        await pilot.pause()
        assert not app.runs.busy


def pane_text(doc: dict[str, Any]) -> str:
    """The detail pane's text for `doc`, rendered without an app."""
    pane = DetailPane(clock=lambda: NOW)
    pane.document = doc
    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(pane.render_body())
    return console.export_text()


def test_detail_pane_shows_the_documents_a_real_backend_wrote_as_stored() -> None:
    """Issue 8: status by the rule, display values as stored, odd types included."""
    never = pane_text(real_documents.null_sync_status("3101001"))
    assert "Null Status Freight LLC" in never and "Status never" in never
    assert "BASICs unsafe driving 41 · hours of service 12 · driver fitness -" in never
    text = pane_text(real_documents.not_public("3101002"))
    assert "Status ok   success true" in text and "unsafe driving Not Public" in text
    odd = real_documents.not_public("3101003", errors=[None, {"source": 7, "error": {"a": 1}}])
    odd.update(name=["\x1b[31mA", 1], dotNumber=3101003.0, mcNumber={"n": "\u202e"})
    shown = pane_text(odd)
    assert '["\\u001b[31mA", 1]' in shown and "DOT 3101003   MC {" in shown
    assert "Status failed" in shown and "Errors (2)" in shown
    lines = [line.strip() for line in shown.splitlines()]
    at = lines.index("7  never")  # each error: its source and time, then its text
    assert lines[at + 1] == '{"a": 1}'
    assert "\x1b" not in shown and "\u202e" not in shown


class FlakyStore:
    """TEST FAKE: a real store behind a switch that makes every call fail, as an
    unreachable server would. Everything else is delegated to the real store."""

    def __init__(self, real: CompanyStore) -> None:
        self.real = real
        self.down = False

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.real, name)
        if not callable(attribute):
            return attribute
        if inspect.isasyncgenfunction(attribute):  # a scan: fails at its first batch

            async def scan(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                if self.down:
                    raise StoreError("connection refused (test)")
                async for batch in attribute(*args, **kwargs):
                    yield batch

            return scan

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise StoreError("connection refused (test)")
            return await attribute(*args, **kwargs)

        return call

    @property
    def description(self) -> str:
        return self.real.description

    def changes(self, since: datetime, interval: float) -> AsyncIterator[Changes]:
        return poll_changes(self, since, interval)  # type: ignore[arg-type]


async def test_store_going_away_shows_disconnected_keeps_data_and_recovers(
    store: CompanyStore, mixed: list[dict[str, Any]], sandbox: SandboxServer
) -> None:
    flaky = FlakyStore(store)
    app = FmcsaApp(flaky, settings_for(sandbox.url), poll_interval=0.2)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 6)
        header = app.query_one(StatusHeader)
        flaky.down = True
        await wait_for(pilot, lambda: not header.connected, limit=5)
        assert "connection refused" in header.disconnect_reason
        assert app.companies.total_count == 6  # the last data stays on screen
        flaky.down = False
        await wait_for(pilot, lambda: header.connected, limit=5)
        assert app.companies.total_count == 6


async def test_mongodb_going_away_mid_session_shows_disconnected_and_recovers(
    sandbox: SandboxServer,
) -> None:
    """The real driver against a wire server that stops: finding no server takes longer
    than the poll interval, so each poll must be left to fail rather than be replaced."""
    server = MongoWireServer().start()
    try:
        url = f"{server.url}&serverSelectionTimeoutMS=1000".replace("/?", "/dash?")
        store = MongoStore(url)
        await store.open()
        await store.insert_documents([company(f"100{n}05", f"Mongo Co {n}") for n in range(3)])
        app = FmcsaApp(store, settings_for(sandbox.url), poll_interval=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, 3)
            await wait_for(pilot, lambda: app.detail.document is not None)
            # from here on only the feed touches the store
            await wait_for(pilot, lambda: not any(w.is_running for w in app.workers
                                                 if w.group == "detail"))  # fmt: skip
            header = app.query_one(StatusHeader)
            await asyncio.to_thread(server.stop)
            await wait_for(pilot, lambda: not header.connected, limit=15)
            assert f"127.0.0.1:{server.port}" in header.disconnect_reason
            assert app.companies.total_count == 3  # the last data stays on screen
            await asyncio.to_thread(server.start)
            await wait_for(pilot, lambda: header.connected, limit=15)
            assert app.companies.total_count == 3
        await store.close()
    finally:
        server.stop()


async def test_a_replica_set_pushes_others_writes_into_the_list_without_polling(
    sandbox: SandboxServer,
) -> None:
    """On a replica set the list follows a change stream: with polling off, another
    writer's change still reaches the row and the pane, and the header says so."""
    with MongoWireServer(replica_set="rs0") as server:
        url = server.url.replace("/?", "/pushed?")
        store, backend = MongoStore(url), MongoStore(url)
        await store.open()
        await backend.open()
        doc = company("1000705", "Pushed Co", synced=NOW - timedelta(hours=1))
        await backend.insert_documents([doc])
        app = FmcsaApp(store, settings_for(sandbox.url), poll_interval=3600)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, 1)
            header = app.query_one(StatusHeader)
            await wait_for(pilot, lambda: header.refresh_mode == "change stream")
            await wait_for(pilot, lambda: len(server.streams_opened) == 1)  # it listens
            await backend.record_failure(
                str(doc["_id"]), NOW, Source.INSPECTIONS, "HTTP 503 from the backend", NOW
            )
            await wait_for(pilot, lambda: app.companies.get(str(doc["_id"])).status == "failed")
            await wait_for(pilot, lambda: "HTTP 503 from the backend" in _detail_text(app))
        await store.close()
        await backend.close()


async def test_own_runs_and_other_processes_runs_are_told_apart(
    store: CompanyStore, slow_sandbox: SandboxServer
) -> None:
    """Polls report other processes' leases only: a run of ours that just ended is not
    "syncing" and `r` starts it again at once, while a company another process is
    syncing shows as syncing and `r` says so instead of racing it."""
    mine, theirs = company("1000805", "Again Co"), company("1000812", "Busy Elsewhere Co")
    await store.insert_documents([mine, theirs])
    settings = settings_for(slow_sandbox.url, timeout=1, max_attempts=1)  # a run takes ~1 s
    counting = LeaseLooks(store)
    app = FmcsaApp(counting, settings, poll_interval=0.2)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        header = app.query_one(StatusHeader)
        mine_id, theirs_id = str(mine["_id"]), str(theirs["_id"])
        assert await store.acquire_lease(theirs_id, "backend-scheduler", timedelta(minutes=5))
        await wait_for(pilot, lambda: theirs_id in app.runs.elsewhere)
        await pilot.press("r")  # the first row: ours
        await wait_for(pilot, lambda: mine_id in app.runs.syncing_ids())
        assert mine_id in await store.leased_ids()  # our lease is live in the store...
        looks = counting.lease_looks
        await wait_for(pilot, lambda: counting.lease_looks >= looks + 2)  # ...the feed looks
        assert mine_id not in app.runs.elsewhere  # ...and does not count it as theirs
        assert header.counts[3] == 2  # ours and theirs
        await wait_for(pilot, lambda: not app.runs.busy)
        assert header.counts[3] == 1  # only theirs
        await pilot.press("r")  # ours again, at once
        await wait_for(pilot, lambda: mine_id in app.runs)
        await pilot.press("x", "down", "r")
        refused = "DOT 1000812 is being synced by another process"
        await wait_for(pilot, lambda: any(refused in n.message for n in app._notifications))
        assert theirs_id not in app.runs  # refused, not raced
        await wait_for(pilot, lambda: not app.runs.busy)


async def test_keys_can_be_remapped_by_binding_id_in_config_toml(
    store: CompanyStore,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = company("1000605", "Remapped Co")
    await store.insert_documents([doc])
    config = tmp_path / "config.toml"
    config.write_text('webkey = "from-the-file"\n[keymap]\n"app.resync" = "ctrl+r"\n')
    monkeypatch.setenv("FMCSA_TUI_CONFIG", str(config))
    settings = load_settings(
        qc_base_url=f"{sandbox.url}/qc/services",
        hub_base_url=sandbox.url,
        qc_rate_limit=0,
        hub_rate_limit=0,
    )
    assert settings.keymap == {"app.resync": "ctrl+r"}
    app = FmcsaApp(store, settings, poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 1)
        await pilot.press("r", "n")  # keys run in order: once n has filtered, r was seen
        await wait_for(pilot, lambda: app.companies.filter.status == "never")
        assert not app.runs.busy  # r no longer resyncs
        await pilot.press("n", "ctrl+r")
        await wait_async(pilot, lambda: _has_run(store, doc))
        await wait_for(pilot, lambda: not app.runs.busy)


async def test_command_palette_runs_the_same_actions(
    store: CompanyStore, mixed: list[dict[str, Any]], sandbox: SandboxServer
) -> None:
    app = FmcsaApp(store, settings_for(sandbox.url), clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 6)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"cycle the failed")
        await wait_for(pilot, lambda: app.screen.query_one(CommandList).option_count > 0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.companies.filter.failed_source == "any", limit=5)
        assert sorted(visible_dots(app)) == ["1000105", "1000106"]  # type: ignore[type-var]


async def test_store_down_at_start_shows_disconnected_then_loads(
    store: CompanyStore, mixed: list[dict[str, Any]], sandbox: SandboxServer
) -> None:
    flaky = FlakyStore(store)
    flaky.down = True
    app = FmcsaApp(flaky, settings_for(sandbox.url), poll_interval=0.2)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        header = app.query_one(StatusHeader)
        await wait_for(pilot, lambda: not header.connected, limit=5)
        assert app.companies.total_count == 0
        flaky.down = False
        await loaded(pilot, 6)
        await wait_for(pilot, lambda: header.connected)  # said once everything is loaded
