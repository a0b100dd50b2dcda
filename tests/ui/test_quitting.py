"""ctrl+q quits from any screen, a dialog included, the way `q` does on the list: at once
when nothing runs, else after the quit question; ctrl+q on the quit question itself is
harmless (it stays, waiting for y or n)."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.store import CompanyStore
from fmcsa_tui.ui.app import FmcsaApp
from fmcsa_tui.ui.screens import ConfirmScreen, HelpScreen
from tests.support.sandboxes import served_sandbox
from tests.ui.test_dashboard import SIZE, company, loaded, settings_for, stored, wait_for

slow_sandbox = served_sandbox(SandboxConfig(latency=6.0))


async def open_help(pilot: Pilot[None]) -> None:
    await pilot.press("question_mark")


async def open_confirmation(pilot: Pilot[None]) -> None:
    await pilot.press("R")


async def open_typed_count(pilot: Pilot[None]) -> None:
    await pilot.press("R", "1")  # the count's input has focus and holds a digit


DIALOGS = {"help": open_help, "confirmation": open_confirmation, "typed count": open_typed_count}


@pytest.mark.parametrize("dialog", DIALOGS)
async def test_ctrl_q_quits_from_a_dialog_without_runs(
    store: CompanyStore, slow_sandbox: SandboxServer, dialog: str
) -> None:
    docs = [company(str(1000700 + n), f"Quit {n}") for n in range(3)]
    await store.insert_documents(docs)
    settings = settings_for(slow_sandbox.url, confirm_typed_over=2)
    app = FmcsaApp(store, settings, poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 3)
        await DIALOGS[dialog](pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen | ConfirmScreen))
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, limit=5)
    assert not app.runs.busy
    for doc in docs:  # quitting from the question answered nothing: no run started
        assert (await stored(store, doc)).sync_status.last_run is None


async def test_ctrl_q_over_a_dialog_with_runs_asks_and_ctrl_q_again_keeps_asking(
    store: CompanyStore, slow_sandbox: SandboxServer
) -> None:
    docs = [company("1000805", "Busy One"), company("1000812", "Busy Two")]
    await store.insert_documents(docs)
    app = FmcsaApp(store, settings_for(slow_sandbox.url, concurrency=1), poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.runs.running == 1)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))

        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = app.screen
        assert isinstance(question, ConfirmScreen)
        assert "1 run in progress. Cancel it and quit?" in question.question

        await pilot.press("ctrl+q")  # harmless: the question stays, the runs go on
        await pilot.pause()
        assert app.screen is question and app.is_running and app.runs.running == 1

        await pilot.press("n")  # back to the dialog it was asked over
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert app.runs.running == 1

        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, limit=10)
    assert await store.leased_ids() == set()
    for doc in docs:  # the run was cancelled cleanly: nothing half-written
        assert (await stored(store, doc)).sync_status.last_run is None
