"""The fleet screen (`F`) through Pilot on a real SQLite store holding recorded runs:
it opens (also read-only), `t` toggles 24 h / 7 days, picking an error closes it and
filters the list to exactly the carriers it hit, escape clears that filter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from fmcsa_tui.models import Source, utcnow
from fmcsa_tui.models.runs import Origin, Outcome, RunRecord, RunWho, SourceRun
from fmcsa_tui.store import CompanyStore, SqliteStore
from fmcsa_tui.ui.app import FmcsaApp
from fmcsa_tui.ui.fleet import FleetScreen
from tests.support.waiting import eventually
from tests.ui.test_dashboard import company, loaded, settings_for
from tests.ui.test_detail_data import text_of

SIZE = (160, 45)
URL = "http://127.0.0.1:9"  # no run starts in these tests
NOW = utcnow()  # the app's own clock: runs_since and run_stats count back from it


def fleet_run(doc: dict[str, Any], hours_ago: float, error: str = "") -> RunRecord:
    started = NOW - timedelta(hours=hours_ago)
    csa = (
        SourceRun(Source.CSA_SCORES, Outcome.FAILED, 1.0, 5, error)
        if error
        else SourceRun(Source.CSA_SCORES, Outcome.OK, 1.0, 1)
    )
    rest = tuple(SourceRun(source, Outcome.OK, 1.0, 1) for source in list(Source)[1:])
    return RunRecord(str(doc["_id"]), doc["dotNumber"], doc["name"], started,
                     started + timedelta(seconds=2), RunWho("ops", "box", 1, Origin.WORKER),
                     (csa, *rest))  # fmt: skip


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[tuple[CompanyStore, list[dict[str, Any]]]]:
    """Five carriers: two failed today with HTTP 503, one three days ago with a timeout,
    one today twice ok; one never ran."""
    store = SqliteStore(tmp_path / "fleet.db")
    await store.open()
    docs = [company(f"100000{i}", f"Carrier {i}", synced=NOW) for i in range(5)]
    await store.insert_documents(docs)
    await store.record_runs([
        fleet_run(docs[0], 1, "HTTP 503 from QCMobile"),
        fleet_run(docs[0], 2, "HTTP 503 from QCMobile"),
        fleet_run(docs[1], 3, "HTTP 503 from QCMobile"),
        fleet_run(docs[2], 72, "timed out after 30 s"),
        fleet_run(docs[3], 4),
        fleet_run(docs[3], 5),
    ])  # fmt: skip
    yield store, docs
    await store.close()


def shown(screen: FleetScreen) -> str:
    parts = [text_of(static.render(), width=150) for static in screen.query(Static)]
    errors = screen.query_one(OptionList)
    parts += [text_of(errors.get_option_at_index(i).prompt) for i in range(errors.option_count)]
    return "\n".join(parts)


async def fleet_screen(pilot: Pilot[None], app: FmcsaApp, needle: str) -> FleetScreen:
    await eventually(lambda: isinstance(app.screen, FleetScreen), pause=pilot.pause)
    screen = app.screen
    assert isinstance(screen, FleetScreen)
    await eventually(lambda: needle in shown(screen), pause=pilot.pause)
    return screen


async def test_fleet_screen_toggles_and_an_error_filters_the_list_to_its_carriers(
    fleet: tuple[CompanyStore, list[dict[str, Any]]],
) -> None:
    store, docs = fleet
    app = FmcsaApp(store, settings_for(URL))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 5)
        await pilot.press("F")
        screen = await fleet_screen(pilot, app, "last 24 h · 5 runs")
        text = shown(screen)
        assert "csa_scores    60.0% failed  (3 of 5 runs)" in text
        assert "violations     0.0% failed  (0 of 5 runs)" in text
        assert "2 carriers       3 runs  HTTP 503 from QCMobile" in text
        assert "timed out" not in text  # three days ago
        await pilot.press("t")
        await fleet_screen(pilot, app, "last 7 days · 6 runs")
        assert "1 carrier        1 run   timed out after 30 s" in shown(screen)
        await pilot.press("enter")  # the first: HTTP 503, two carriers
        await eventually(lambda: not isinstance(app.screen, FleetScreen), pause=pilot.pause)
        await eventually(lambda: app.companies.visible_count == 2, pause=pilot.pause)
        assert {row.id for row in app.companies.visible_summaries()} == {
            str(docs[0]["_id"]),
            str(docs[1]["_id"]),
        }
        assert app.filter_text == 'error: "HTTP 503 from QCMobile" (2 carriers)'
        await pilot.press("escape")
        await eventually(lambda: app.companies.visible_count == 5, pause=pilot.pause)
        assert app.filter_text == "all carriers"


async def test_fleet_screen_works_read_only_and_escape_closes_it(
    fleet: tuple[CompanyStore, list[dict[str, Any]]], tmp_path: Path
) -> None:
    _written = fleet  # the fixture wrote the runs; read them read-only
    reader = SqliteStore(tmp_path / "fleet.db", read_only=True)
    await reader.open()
    try:
        app = FmcsaApp(reader, settings_for(URL, read_only=True))
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, 5)
            await pilot.press("F")
            await fleet_screen(pilot, app, "2 carriers       3 runs")
            await pilot.press("escape")
            await eventually(lambda: not isinstance(app.screen, FleetScreen), pause=pilot.pause)
            assert app.companies.visible_count == 5 and app.filter_text == "all carriers"
    finally:
        await reader.close()


class NeverSummed:
    """TEST FAKE: the real store whose `run_stats` never answers (a summary still being
    read over a slow link), to see the screen say so and close at once."""

    def __init__(self, real: CompanyStore) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def run_stats(self, since: Any) -> Any:
        await asyncio.Event().wait()


async def test_fleet_screen_says_reading_and_closes_at_once_meanwhile(
    fleet: tuple[CompanyStore, list[dict[str, Any]]],
) -> None:
    store, _ = fleet
    app = FmcsaApp(NeverSummed(store), settings_for(URL))  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 5)
        await pilot.press("F")
        await fleet_screen(pilot, app, "last 24 h · reading…")
        await pilot.press("escape")
        await eventually(lambda: not isinstance(app.screen, FleetScreen), pause=pilot.pause)
        assert app.companies.visible_count == 5
