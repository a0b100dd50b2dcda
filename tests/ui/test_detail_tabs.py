"""The detail pane's tabs, copy, export and SAFER, through Pilot on a real store.

`1`/`2`/`3` switch the tab and the tab stays as the cursor moves; the Data tab reads the
carrier's `fmcsainspections`; the History tab reads the store's `runs_of`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Static, TabbedContent

from fmcsa_tui.models import Source
from fmcsa_tui.models.runs import Origin, Outcome, RunRecord, RunWho, SourceRun
from fmcsa_tui.store import CompanyStore, SqliteStore
from fmcsa_tui.store.base import SourceData
from fmcsa_tui.ui.app import FmcsaApp
from fmcsa_tui.ui.detail import DetailPane
from fmcsa_tui.ui.detail.history_tab import NO_RUNS
from tests.support.waiting import eventually
from tests.ui.test_dashboard import company, failed, loaded, settings_for
from tests.ui.test_detail_data import text_of

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SIZE = (160, 45)
URL = "http://127.0.0.1:9"  # no run starts in these tests


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> Iterator[CompanyStore]:
    store = SqliteStore(tmp_path / "tabs.db")
    await store.open()
    yield store
    await store.close()


def tab_text(app: FmcsaApp) -> str:
    return text_of(app.detail.render_tab(app.detail.tab), width=120)


async def until(pilot: Pilot[None], condition: Any) -> None:
    await eventually(condition, pause=pilot.pause)


async def test_tab_keys_switch_tabs_and_the_tab_stays_as_the_cursor_moves(
    store: CompanyStore,
) -> None:
    alpha = company(
        "1000005",
        "Alpha Freight",
        synced=NOW,
        smsBasics={"unsafeDriving": 70, "vehicleMaintenance": "Not Public"},
    )
    beta = company("1000012", "Beta Lines", synced=NOW, smsBasics={"unsafeDriving": 12})
    await store.insert_documents([alpha, beta])
    report = {
        "reportNumber": "TX0001",
        "inspectionDate": NOW - timedelta(days=3),
        "state": "TX",
        "inspectionLevel": 2,
        "vehicleOOS": True,
        "driverOOS": False,
        "hazmatOOS": False,
        "totalViolations": 1,
        "violations": [
            {
                "code": "393.9A",
                "description": "Lamp out",
                "basic": "Vehicle Maint.",
                "severityWeight": 6,
                "oos": True,
                "unit": "1",
            }
        ],
    }
    data = SourceData(Source.VIOLATIONS, {"fmcsaData.lastViolationSync": NOW}, inspections=[report])
    await store.record_success(str(alpha["_id"]), NOW, data, NOW)
    app = FmcsaApp(store, settings_for(URL))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        assert app.detail.tab == "sync"
        await pilot.press("2")
        assert app.detail.tab == "data"
        await until(pilot, lambda: "TX0001" in tab_text(app))
        shown = tab_text(app)
        assert "▲ unsafe driving" in shown and "Not Public" in shown
        assert "393.9A  OOS  Lamp out" in shown and "OOS vehicle" in shown
        await pilot.press("down")
        await until(pilot, lambda: "Beta Lines" in str(app.detail.document))
        assert app.detail.tab == "data"  # the tab stays
        await until(
            pilot,
            lambda: (
                "none on record" in tab_text(app) or "never synced (violations)" in tab_text(app)
            ),
        )
        assert "▲ unsafe driving" not in tab_text(app) and "TX0001" not in tab_text(app)
        await pilot.press("3")
        assert app.detail.tab == "history"
        await pilot.press("up")
        await until(pilot, lambda: "Alpha Freight" in str(app.detail.document))
        await until(pilot, lambda: NO_RUNS in tab_text(app))
        assert app.detail.tab == "history"
        await pilot.press("1")
        assert app.detail.tab == "sync" and "Alpha Freight" in tab_text(app)


def recorded_run(doc: dict[str, Any], hours_ago: int, failed: bool) -> RunRecord:
    started = NOW - timedelta(hours=hours_ago)
    csa = (
        SourceRun(Source.CSA_SCORES, Outcome.FAILED, 0.5, 5, "HTTP 503")
        if failed
        else SourceRun(Source.CSA_SCORES, Outcome.OK, 0.5, 1, summary="5 BASICs")
    )
    return RunRecord(
        str(doc["_id"]), "1000005", "Alpha Freight", started, started + timedelta(seconds=2),
        RunWho("ops", "box", 7, Origin.DASHBOARD), (csa,),
    )  # fmt: skip


async def test_history_tab_lists_the_stores_runs_of_the_highlighted_carrier(
    sqlite_store: CompanyStore,
) -> None:
    doc = failed("1000005", "Alpha Freight", Source.CSA_SCORES, NOW)
    other = company("1000012", "Beta Lines", synced=NOW)
    await sqlite_store.insert_documents([doc, other])
    await sqlite_store.record_runs([recorded_run(doc, h, failed=h == 0) for h in range(3)])
    app = FmcsaApp(sqlite_store, settings_for(URL))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        await pilot.press("3")
        await until(pilot, lambda: "HTTP 503" in tab_text(app))
        shown = tab_text(app)
        assert "csa_scores   ✓✓✗" in shown and "newest first, 3" in shown
        assert shown.index("12:00:00 UTC") < shown.index("11:00:00 UTC") < shown.index("10:00:00")
        assert "ops@box · dashboard · pid 7" in shown
        await pilot.press("down")
        await until(pilot, lambda: NO_RUNS in tab_text(app))  # Beta Lines: none recorded


def on_screen(app: FmcsaApp) -> str:
    """The History tab's body as the pane holds it (the runs listed so far)."""
    return str(app.query_one("#history-body", Static).render())


async def test_history_lists_the_runs_that_fit_then_all_of_them_as_it_is_scrolled(
    sqlite_store: CompanyStore,
) -> None:
    """30 runs: the body starts with those on screen (it opens within 100 ms at 100,000
    carriers x 30 runs, ui_bench), scrolling lists the oldest, and the next carrier's
    tab never shows the last one's runs while it reads."""
    doc = failed("1000005", "Alpha Freight", Source.CSA_SCORES, NOW)
    other = company("1000012", "Beta Lines", synced=NOW)
    await sqlite_store.insert_documents([doc, other])
    await sqlite_store.record_runs([recorded_run(doc, h, failed=False) for h in range(30)])
    app = FmcsaApp(sqlite_store, settings_for(URL))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        await pilot.press("3")
        await until(pilot, lambda: "newest first, 30" in on_screen(app))
        oldest = (NOW - timedelta(hours=29)).strftime("%Y-%m-%d %H:%M:%S UTC")
        assert "12:00:00 UTC" in on_screen(app) and oldest not in on_screen(app)
        assert oldest in tab_text(app)  # the whole tab, as a test or a copy sees it
        scroll = app.query_one("#detail-history VerticalScroll", VerticalScroll)
        for _ in range(20):
            scroll.scroll_end(animate=False)
            await pilot.pause()
        await until(pilot, lambda: oldest in on_screen(app))
        await pilot.press("down")
        await until(pilot, lambda: NO_RUNS in on_screen(app))
        assert "12:00:00 UTC" not in on_screen(app)


async def test_tab_key_shows_the_hidden_detail_at_80x24(sqlite_store: CompanyStore) -> None:
    await sqlite_store.insert_documents([company("1000005", "Alpha Freight", synced=NOW)])
    app = FmcsaApp(sqlite_store, settings_for(URL))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, 1)
        assert app.detail.region.height == 0
        await pilot.press("2")
        await until(pilot, lambda: app.detail.region.height >= 6)
        assert app.detail.tab == "data"


class PaneApp(App[None]):
    """TEST APP: the detail pane alone, given a tab and a carrier before its first frame
    (the dashboard mounts the tabs after it, to show the list's rows sooner)."""

    def __init__(self, pane: DetailPane, document: dict[str, Any]) -> None:
        super().__init__()
        self.pane, self.document = pane, document
        self.tabs_at_mount = -1

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_mount(self) -> None:
        self.tabs_at_mount = len(self.pane.query(TabbedContent))
        self.pane.show_tab("data")  # `2` pressed as the dashboard opens
        self.pane.document = self.document


async def test_a_tab_and_a_carrier_given_before_the_tabs_exist_show_once_they_do() -> None:
    doc = company("1000005", "Alpha Freight", synced=NOW, smsBasics={"unsafeDriving": 70})
    pane = DetailPane(clock=lambda: NOW)
    app = PaneApp(pane, doc)
    async with app.run_test(size=(80, 30)) as pilot:
        assert app.tabs_at_mount == 0  # the case at hand: no tabs before the first frame
        await until(pilot, lambda: len(pane.query("#data-body")) == 1)
        body = pane.query_one("#data-body", Static)
        await until(pilot, lambda: "▲ unsafe driving" in text_of(body.content))
        assert pane.tab == "data" and pane.query_one(TabbedContent).active == "detail-data"


# --- copy, export, SAFER ----------------------------------------------------------------


async def test_y_copies_the_carrier_and_its_errors_and_shift_y_only_the_dot(
    sqlite_store: CompanyStore,
) -> None:
    doc = failed("1000005", "Alpha \x1b[31mFreight", Source.VIOLATIONS, NOW)
    await sqlite_store.insert_documents([doc])
    app = FmcsaApp(sqlite_store, settings_for(URL))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 1)
        await until(pilot, lambda: app.detail.document is not None)
        await pilot.press("y")
        assert app.clipboard == (
            "DOT 1000005  Alpha ␛[31mFreight\n"
            "Status failed  last run 2026-11-28 12:00:00 UTC\n"
            "violations  2026-11-28 12:00:00 UTC  HTTP 503"
        )
        assert any(n.title == "Copied" and "1000005" in n.message for n in app._notifications)
        await pilot.press("Y")
        assert app.clipboard == "1000005"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


async def test_e_exports_the_view_as_shown_to_a_named_csv(
    sqlite_store: CompanyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    await sqlite_store.insert_documents(
        [
            failed("1000005", "=cmd|' /C calc'!A0", Source.VIOLATIONS, NOW),
            failed("1000012", "Beta Lines", Source.VIOLATIONS, NOW),
            failed("1000019", "Gamma Co", Source.CSA_SCORES, NOW),
            company("1000026", "Delta Ok", synced=NOW),
        ]
    )
    app = FmcsaApp(sqlite_store, settings_for(URL), clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 4)
        await pilot.press("f", "f", "f")  # any failure, csa_scores, violations
        await until(pilot, lambda: app.companies.visible_count == 2)
        await pilot.press("O")  # DOT descending
        await pilot.press("e")
        await until(pilot, lambda: any(n.title == "Exported" for n in app._notifications))
    [path] = list(out.iterdir())
    assert path.name == "fmcsa-failed-violations-20261128-120000.csv"
    rows = read_csv(path)
    assert [row["dotNumber"] for row in rows] == ["1000012", "1000005"]  # as shown
    assert rows[1]["name"] == "'=cmd|' /C calc'!A0" and rows[1]["failedSources"] == "violations"
    notes = [n.message for n in app._notifications if n.title == "Exported"]
    assert notes == [f"2 carriers written to {path}"]


async def test_an_export_that_cannot_be_written_says_so_in_one_line(
    sqlite_store: CompanyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    os.rmdir(gone)  # the working directory vanished: no file can be made there
    await sqlite_store.insert_documents([company("1000005", "Alpha Freight")])
    app = FmcsaApp(sqlite_store, settings_for(URL))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 1)
        await pilot.press("e")
        await until(pilot, lambda: any("Export failed" in n.message for n in app._notifications))
        [note] = [n for n in app._notifications if "Export failed" in n.message]
        assert note.severity == "error" and "\n" not in note.message


async def test_w_opens_the_carriers_safer_snapshot_and_refuses_a_bad_dot(
    sqlite_store: CompanyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sqlite_store.insert_documents(
        [
            company("1000005", "Alpha Freight"),
            {"_id": ObjectId(), "name": "No Dot Co", "dotNumber": "12-34\x1b"},
        ]
    )
    app = FmcsaApp(sqlite_store, settings_for(URL))
    opened: list[str] = []  # TEST DOUBLE: open_url records instead of starting a browser
    monkeypatch.setattr(app, "open_url", lambda url, **_: opened.append(url))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        await pilot.press("w", "down", "w")  # each carrier once, whichever lists first
        assert opened == [
            "https://safer.fmcsa.dot.gov/query.asp?searchtype=ANY&query_type=queryCarrierSnapshot"
            "&query_param=USDOT&query_string=1000005"
        ]
        [refusal] = [n for n in app._notifications if "No SAFER page" in n.message]
        assert "\x1b" not in refusal.message and "\n" not in refusal.message
