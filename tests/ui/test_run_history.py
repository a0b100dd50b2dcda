"""The dashboard's runs (`r`, `R`, `x`) each leave exactly one history record with the
right per-source outcomes, on both stores; a refused history write is a line in the
activity panel, and the run is unaffected."""

from __future__ import annotations

from typing import Any

from textual.widgets import RichLog

from fmcsa_tui.models import Source
from fmcsa_tui.models.runs import Origin, Outcome, RunRecord
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.store import CompanyStore, StoreError
from fmcsa_tui.ui.app import FmcsaApp
from fmcsa_tui.ui.detail.history_tab import NO_RUNS
from fmcsa_tui.ui.screens import ConfirmScreen
from tests.support.sandboxes import served_sandbox
from tests.ui.test_dashboard import (
    SIZE,
    _fetching,
    company,
    loaded,
    settings_for,
    wait_async,
    wait_for,
)
from tests.ui.test_detail_data import text_of

sandbox = served_sandbox(SandboxConfig(retry_after=1))


slow_sandbox = served_sandbox(SandboxConfig(latency=6.0))


def outcomes(record: RunRecord) -> dict[Source, Outcome]:
    return {run.source: run.outcome for run in record.sources}


async def recorded(store: CompanyStore, doc: dict[str, Any]) -> bool:
    return bool(await store.runs_of(str(doc["_id"])))


async def test_r_records_one_run_by_the_dashboard_with_its_failed_source(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    doc = company("1000060", "Failing CSA")  # the sandbox's plan: csa_scores 503 always
    await store.insert_documents([doc])
    app = FmcsaApp(store, settings_for(sandbox.url), poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 1)
        await pilot.press("r")
        await wait_async(pilot, lambda: recorded(store, doc))
        await wait_for(pilot, lambda: not app.runs.busy)
    [record] = await store.runs_of(str(doc["_id"]))
    assert record.who.origin is Origin.DASHBOARD
    assert outcomes(record) == {
        Source.CSA_SCORES: Outcome.FAILED,
        Source.VIOLATIONS: Outcome.OK,
        Source.INSPECTIONS: Outcome.OK,
    }


async def test_R_records_one_run_per_carrier_of_the_view(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    docs = [company(str(1000300 + n), f"Bulk {n}") for n in (1, 2, 60)]
    await store.insert_documents(docs)
    app = FmcsaApp(store, settings_for(sandbox.url, concurrency=2), poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 3)
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        for doc in docs:
            await wait_async(pilot, lambda doc=doc: recorded(store, doc))  # type: ignore[misc]
        await wait_for(pilot, lambda: not app.runs.busy)
    for doc in docs:
        [record] = await store.runs_of(str(doc["_id"]))
        failing = {s for s, o in outcomes(record).items() if o is Outcome.FAILED}
        assert failing == ({Source.CSA_SCORES} if doc["dotNumber"] == "1000360" else set())
        assert record.who.origin is Origin.DASHBOARD


async def test_x_records_the_cancelled_run(
    store: CompanyStore, slow_sandbox: SandboxServer
) -> None:
    doc = company("1000405", "Slow Freight")
    await store.insert_documents([doc])
    app = FmcsaApp(store, settings_for(slow_sandbox.url), poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 1)
        await pilot.press("r")
        await wait_for(pilot, lambda: _fetching(app, str(doc["_id"])))  # requests in flight
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.runs.busy)
    [record] = await store.runs_of(str(doc["_id"]))
    assert set(outcomes(record).values()) == {Outcome.CANCELLED}


class RefusesHistory:
    """TEST-ONLY wrapper over the real store whose history write fails."""

    def __init__(self, real: CompanyStore) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def record_run(self, record: RunRecord) -> None:
        raise StoreError("fmcsa_tui_runs: disk full (test)")


async def test_a_refused_history_write_is_a_line_in_the_activity_panel(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    doc = company("1000005", "Alpha Freight")
    await store.insert_documents([doc])
    app = FmcsaApp(RefusesHistory(store), settings_for(sandbox.url), poll_interval=0.2)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 1)
        await pilot.press("r")
        await wait_for(pilot, lambda: not app.runs.busy)

        def activity() -> str:
            return "\n".join(line.text for line in app.activity.query_one(RichLog).lines)

        await wait_for(pilot, lambda: "run history not written" in activity())
        assert "DOT 1000005: run history not written: fmcsa_tui_runs: disk full" in activity()
        await wait_for(pilot, lambda: "run ok" in activity())  # the run itself: ok
    assert await store.last_run_of(str(doc["_id"])) is not None


async def test_history_tab_shows_each_new_run_as_it_ends_without_moving_the_cursor(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    first = company("1000060", "Failing CSA")  # the sandbox's plan: csa_scores 503 always
    second = company("1000061", "Second")
    await store.insert_documents([first, second])
    app = FmcsaApp(store, settings_for(sandbox.url), poll_interval=0.2)

    def history() -> str:
        return text_of(app.detail.render_tab("history"), width=120)

    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        await pilot.press("3")
        await wait_for(pilot, lambda: NO_RUNS in history())
        for count in (1, 2):
            await pilot.press("r")
            await wait_for(pilot, lambda count=count: f"newest first, {count}" in history())  # type: ignore[misc]
            await wait_for(pilot, lambda: not app.runs.busy)
        highlighted = app.companies.highlighted
        assert highlighted is not None and highlighted.dot_number == "1000060"
        assert "csa_scores   ✗✗" in history() and "violations   ✓✓" in history()
