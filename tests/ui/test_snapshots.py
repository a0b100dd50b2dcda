"""SVG snapshots of the dashboard's main states (pytest-textual-snapshot).

Everything on screen is pinned: a fixed clock, fixed documents, a store label that does
not name the temporary directory, and no animation. Update with `--snapshot-update`
after checking the new pictures in the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from textual.pilot import Pilot
from textual.widgets import Input

from fmcsa_tui.models import Source
from fmcsa_tui.models.runs import Origin, Outcome, RunRecord, RunWho, SourceRun
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.settings import Settings
from fmcsa_tui.store import CompanyStore, SqliteStore
from fmcsa_tui.store.base import SourceData
from fmcsa_tui.store.seed import AWKWARD_NAMES
from fmcsa_tui.ui.app import FmcsaApp
from fmcsa_tui.ui.fleet import FleetScreen
from fmcsa_tui.ui.screens import ConfirmScreen, HelpScreen
from tests.support.sandboxes import served_sandbox
from tests.support.waiting import eventually
from tests.ui.test_detail_data import text_of

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
WIDE, NARROW, SMALL = (160, 45), (100, 30), (80, 24)  # SMALL: a laptop's default terminal


@pytest.fixture
def fleet_store(tmp_path: Path) -> Iterator[CompanyStore]:
    """A SQLite store holding FLEET. Sync, because snap_compare runs the app's own loop."""
    store = SqliteStore(tmp_path / "fleet.db")
    asyncio.run(store.open())
    asyncio.run(store.insert_documents([dict(d) for d in FLEET]))
    yield store
    asyncio.run(store.close())


slow_sandbox = served_sandbox(SandboxConfig(latency=30.0))


class PinnedLabel:
    """TEST WRAPPER: the real store, described by a fixed label so snapshots do not
    depend on the temporary directory's name."""

    def __init__(self, real: CompanyStore) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    @property
    def description(self) -> str:
        return "/var/lib/fmcsa-tui/fleet.db"


def doc(n: int, name: str, *, hours: float | None, failing: Source | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "_id": ObjectId(f"{n:024x}"),
        "name": name,
        "dotNumber": str(1_000_000 + n * 19),
        "mcNumber": f"MC-{400000 + n}",
    }
    if hours is not None:
        when = NOW - timedelta(hours=hours)
        status: dict[str, Any] = {
            "lastRun": when,
            "success": failing is None,
            "errors": [],
            **{source.last_sync_field: when for source in Source},
        }
        if failing is not None:
            status[failing.last_sync_field] = when - timedelta(days=2)
            status["errors"] = [
                {"_id": ObjectId(f"{n + 500:024x}"), "source": failing.value,
                 "error": "HTTP 503 from QCMobile (basics) after 5 attempts", "timestamp": when},
                {"_id": ObjectId(f"{n + 900:024x}"), "source": "entity_linking",
                 "error": "Driver record not found", "timestamp": when},
            ]  # fmt: skip
        document["fmcsaData"] = {"syncStatus": status}
    return document


FLEET = [
    doc(1, "Prairie Freight LLC", hours=2),
    doc(2, "Cascade Transport Inc", hours=30),
    doc(3, "Blue Ridge Hauling Co", hours=None),
    doc(4, "Gulf Coast Carriers", hours=1, failing=Source.CSA_SCORES),
    doc(5, AWKWARD_NAMES[0], hours=5),
    doc(6, AWKWARD_NAMES[1], hours=5),
    doc(7, AWKWARD_NAMES[2], hours=5),
    doc(8, AWKWARD_NAMES[3], hours=None),
    doc(9, AWKWARD_NAMES[4], hours=3, failing=Source.INSPECTIONS),
    doc(10, AWKWARD_NAMES[6], hours=8),
    {"_id": ObjectId(f"{11:024x}"), "name": "Broken Document", "dotNumber": "1000209",
     "fmcsaData": {"syncStatus": "not an object"}},
]  # fmt: skip


def settings_for(url: str = "http://127.0.0.1:9", **overrides: Any) -> Settings:
    return Settings(
        **overrides,
        store="sqlite:///unused.db",
        qc_base_url=f"{url}/qc/services",
        hub_base_url=url,
        webkey="snapshots",
        qc_rate_limit=0,
        hub_rate_limit=0,
        timeout=60,
    )


def make_app(store: CompanyStore, url: str = "http://127.0.0.1:9", **settings: Any) -> FmcsaApp:
    app = FmcsaApp(PinnedLabel(store), settings_for(url, **settings), clock=lambda: NOW)  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


async def until(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Wait for what the screen is about to show, never for a fixed time."""
    await eventually(condition, pause=pilot.pause, what="the screen never settled")


def _detail_shows_highlighted(app: FmcsaApp) -> bool:
    highlighted, document = app.companies.highlighted, app.detail.document
    if highlighted is None or document is None:
        return False
    return str(document["_id"]) == highlighted.id


async def settle(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, FmcsaApp)
    await until(pilot, lambda: app.companies.total_count == len(FLEET) and not app.loading)
    await until(pilot, lambda: _detail_shows_highlighted(app))
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()  # the last messages, painted


def test_list(snap_compare: Any, fleet_store: CompanyStore) -> None:
    app = make_app(fleet_store)
    assert snap_compare(app, terminal_size=WIDE, run_before=settle)


def test_list_at_80x24(snap_compare: Any, fleet_store: CompanyStore) -> None:
    """The list keeps the height: every carrier of FLEET on screen, the detail hidden."""
    app = make_app(fleet_store)

    async def listed(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.companies.total_count == len(FLEET) and not app.loading)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SMALL, run_before=listed)


@pytest.mark.parametrize("size", [SMALL, NARROW, WIDE], ids=["80x24", "100x30", "160x45"])
def test_failed_company_detail_at_each_size(
    snap_compare: Any, fleet_store: CompanyStore, size: tuple[int, int]
) -> None:
    """Gulf Coast Carriers' two errors, each text at the pane's full width (at 80x24, `d`
    shows the pane)."""
    app = make_app(fleet_store)

    async def to_failed(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("down", "down", "down")
        if size == SMALL:
            await pilot.press("d")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=to_failed)


#: Gulf Coast Carriers' BASICs for the Data tab: two at or above their thresholds.
GULF_BASICS = {
    "unsafeDriving": 72,
    "unsafeDrivingMeasure": 3.1,
    "hoursOfService": "Not Public",
    "driverFitness": None,
    "controlledSubstances": 0,
    "vehicleMaintenance": 81.0,
    "vehicleMaintenanceMeasure": 6.2,
    "crashIndicator": 40,
}
GULF_INSPECTIONS = {
    "driverInspections": 14,
    "driverOOS": 1,
    "driverOOSPercent": 7.1,
    "driverNationalAvg": 5.51,
    "vehicleInspections": 9,
    "vehicleOOS": 4,
    "vehicleOOSPercent": 44.4,
    "vehicleNationalAvg": 20.72,
    "hazmatInspections": 0,
    "hazmatOOS": 0,
    "totalInspections": 14,
    "crashes": {"fatal": 0, "injury": 1, "tow": 2, "total": 3},
    "carrier": {
        "legalName": "GULF COAST CARRIERS",
        "safetyRating": "S",
        "operatingStatus": "AUTHORIZED",
    },
    "lastSync": NOW,
}
GULF_REPORT = {
    "reportNumber": "TX10042",
    "inspectionDate": NOW - timedelta(days=6),
    "state": "TX",
    "inspectionLevel": 1,
    "vehicleOOS": True,
    "driverOOS": False,
    "hazmatOOS": False,
    "totalViolations": 2,
    "violations": [
        {"code": "393.9A", "description": "Inoperable required lamp", "oos": False},
        {"code": "396.3A1BOS", "description": "Brakes out of adjustment", "oos": True},
    ],
}


def gulf_runs(company_id: str) -> list[RunRecord]:
    """Three runs of Gulf Coast Carriers, recorded in the real store: one failed (its
    error text holding an escape another program could have stored), one ok, one
    cancelled with a skipped source, by three faces on two hosts."""
    outcomes = [
        (Outcome.FAILED, Outcome.OK, Outcome.OK),
        (Outcome.OK, Outcome.OK, Outcome.OK),
        (Outcome.CANCELLED, Outcome.SKIPPED, Outcome.OK),
    ]
    origins = [Origin.SYNC, Origin.DASHBOARD, Origin.WORKER]
    records = []
    for h, (outcome, origin) in enumerate(zip(outcomes, origins, strict=True)):
        started = NOW - timedelta(hours=h)
        sources = tuple(
            SourceRun(
                source, result, 1.5, 5 if result is Outcome.FAILED else 1,
                "HTTP 503 from QCMobile (basics) \x1b[2J" if result is Outcome.FAILED else "",
                "5 BASICs, 3 public" if result is Outcome.OK else "",
            )
            for source, result in zip(Source, outcome, strict=True)
        )  # fmt: skip
        who = RunWho("ops", "ops-1" if h < 2 else "worker-7", 4242, origin)
        records.append(RunRecord(company_id, "3101004", "GULF COAST CARRIERS", started,
                                 started + timedelta(seconds=3), who, sources))  # fmt: skip
    return records


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["100x30", "160x45"])
@pytest.mark.parametrize("tab", ["data", "history", "history-empty"])
def test_detail_tabs_at_each_size(
    snap_compare: Any, fleet_store: CompanyStore, size: tuple[int, int], tab: str
) -> None:
    """Gulf Coast Carriers' Data (two BASICs over FMCSA's thresholds, an OOS inspection)
    and History (three runs recorded in the store, or none), with `2` and `3`."""
    gulf = str(FLEET[3]["_id"])
    asyncio.run(
        fleet_store.record_success(
            gulf,
            NOW,
            SourceData(
                Source.INSPECTIONS,
                {"smsBasics": GULF_BASICS, "fmcsaData.inspections": GULF_INSPECTIONS},
                inspections=[GULF_REPORT],
            ),
            NOW,
        )
    )
    if tab == "history":
        asyncio.run(fleet_store.record_runs(gulf_runs(gulf)))
    app = make_app(fleet_store)

    async def to_tab(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("down", "down", "down", "2" if tab == "data" else "3")
        await settle(pilot)
        needle = {"data": "TX10042", "history": "ops-1", "history-empty": "No runs recorded"}[tab]
        detail = app.detail
        await until(pilot, lambda: needle in text_of(detail.render_tab(detail.tab)))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=to_tab)


def test_fleet_screen(snap_compare: Any, fleet_store: CompanyStore) -> None:
    """`F` over a day of recorded runs: a failing hour, errors by carrier count."""
    records = []
    for index, doc in enumerate(FLEET[:8]):
        for run in gulf_runs(str(doc["_id"])):
            moved = timedelta(hours=index * 2, minutes=index)
            records.append(replace(run, started=run.started - moved, ended=run.ended - moved))
    records[4] = replace(records[4], sources=(
        SourceRun(Source.VIOLATIONS, Outcome.FAILED, 30.0, 3, "timed out after 30 s"),
    ))  # fmt: skip
    asyncio.run(fleet_store.record_runs(records))
    app = make_app(fleet_store)

    async def opened(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("F")
        await until(
            pilot, lambda: isinstance(app.screen, FleetScreen) and app.screen.stats is not None
        )
        await pilot.pause()

    assert snap_compare(app, terminal_size=WIDE, run_before=opened)


def test_filtered_view(snap_compare: Any, fleet_store: CompanyStore) -> None:
    app = make_app(fleet_store)

    async def filtered(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f")  # any failure
        await settle(pilot)

    assert snap_compare(app, terminal_size=WIDE, run_before=filtered)


def test_search_narrow(snap_compare: Any, fleet_store: CompanyStore) -> None:
    app = make_app(fleet_store)

    async def searched(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("slash")
        pilot.app.query_one("#search", Input).cursor_blink = False
        await pilot.press(*"freight")
        await settle(pilot)

    assert snap_compare(app, terminal_size=NARROW, run_before=searched)


def test_help_screen(snap_compare: Any, fleet_store: CompanyStore) -> None:
    app = make_app(fleet_store)

    async def helped(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=WIDE, run_before=helped)


def test_run_in_progress(
    snap_compare: Any, fleet_store: CompanyStore, slow_sandbox: SandboxServer
) -> None:
    app = make_app(fleet_store, slow_sandbox.url)

    async def running(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("r")
        company_id = f"{1:024x}"

        def fetching() -> bool:
            states = app.runs.states(company_id)
            return len(states) == 3 and all(v.startswith("fetching") for v in states.values())

        await until(pilot, lambda: fetching() and app.detail.live == app.runs.states(company_id))
        await pilot.pause()

    assert snap_compare(app, terminal_size=WIDE, run_before=running)


def test_marks_at_80x24(snap_compare: Any, fleet_store: CompanyStore) -> None:
    """Two carriers marked: the gutter's `●`, the header's count, the cursor moved on."""
    app = make_app(fleet_store)

    async def marked(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.companies.total_count == len(FLEET) and not app.loading)
        await pilot.press("space", "down", "space")
        await until(pilot, lambda: app.marked == 2)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SMALL, run_before=marked)


def test_typed_count_confirmation_at_80x24(snap_compare: Any, fleet_store: CompanyStore) -> None:
    """`R` on a view above `confirm_typed_over`: the count is typed, `y` is not enough."""
    app = make_app(fleet_store, confirm_typed_over=5)

    async def asked(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.companies.total_count == len(FLEET) and not app.loading)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        app.screen.query_one(Input).cursor_blink = False
        await pilot.press("1")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SMALL, run_before=asked)


@pytest.mark.parametrize("theme", ["textual-light", "textual-dark"])
def test_dashboard_in_a_light_and_a_dark_theme(
    snap_compare: Any, fleet_store: CompanyStore, theme: str
) -> None:
    """Every status (ok, failed, never, stale ages, unreadable) and the failed carrier's
    detail, in the `theme` setting's colours."""
    app = make_app(fleet_store, theme=theme)

    async def to_failed(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("down", "down", "down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=NARROW, run_before=to_failed)
