"""The dashboard in read-only mode, through Pilot on a real store opened read-only: no
key, palette entry or help row writes; the header says READ-ONLY; the store is
untouched whatever is pressed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import json_util
from textual.command import CommandList, CommandPalette
from textual.widgets import RichLog, Static

from fmcsa_tui.models import Source
from fmcsa_tui.sandbox.server import SandboxServer
from fmcsa_tui.store import CompanyStore, MongoStore
from fmcsa_tui.ui.actions import APP_BINDINGS, WRITE_ACTIONS
from fmcsa_tui.ui.app import FmcsaApp
from fmcsa_tui.ui.screens import ConfirmScreen, HelpScreen
from fmcsa_tui.ui.widgets import StatusHeader
from tests.conftest import StoreMaker
from tests.support.mongo_wire import MongoWireServer
from tests.support.sandboxes import served_sandbox
from tests.ui.test_dashboard import SIZE, company, failed, loaded, settings_for, wait_for

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

#: The keys of every write action, as bound by default.
WRITE_KEYS = [
    binding.key for binding in APP_BINDINGS if binding.action.split("(")[0] in WRITE_ACTIONS
]
#: What the write actions say, in the help and the palette.
WRITE_TEXTS = [
    binding.tooltip for binding in APP_BINDINGS if binding.action.split("(")[0] in WRITE_ACTIONS
]


sandbox = served_sandbox()


@pytest.fixture
async def reader(store: CompanyStore, store_maker: StoreMaker) -> AsyncIterator[CompanyStore]:
    """Three carriers (never synced, ok, failed), opened read-only as --read-only does."""
    await store.insert_documents([
        company("1000101", "Never Seen"),
        company("1000102", "Fresh", synced=NOW - timedelta(hours=1)),
        failed("1000103", "Broken", Source.CSA_SCORES, NOW - timedelta(hours=1)),
    ])  # fmt: skip
    opened = store_maker(read_only=True)
    await opened.open()
    yield opened
    await opened.close()


async def snapshot(store: CompanyStore) -> str:
    summaries = await store.list_summaries()
    docs = await store.get_companies([s.id for s in summaries])
    return json_util.dumps([sorted(docs.items()), sorted(await store.leased_ids())])


def read_only_app(store: CompanyStore, url: str, **settings: Any) -> FmcsaApp:
    return FmcsaApp(store, settings_for(url, **settings), clock=lambda: NOW, poll_interval=0.2)


async def test_every_write_key_does_nothing_and_the_store_is_untouched(
    store: CompanyStore, reader: CompanyStore, sandbox: SandboxServer
) -> None:
    assert set(WRITE_KEYS) >= {"r", "c", "v", "i", "R", "x", "X"}
    before = await snapshot(store)
    app = read_only_app(reader, sandbox.url)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 3)
        for _row in range(3):
            for key in WRITE_KEYS:
                await pilot.press(key)
                assert not isinstance(app.screen, ConfirmScreen), key
                assert not app.runs.busy, key  # a resync key submits at once when it acts
            await pilot.press("down")
        await pilot.pause()
        assert not app.runs.busy
        assert not app._notifications, list(app._notifications)  # no notice spam
        for key in WRITE_KEYS:
            assert key not in app.screen.active_bindings, key  # not in the footer
    assert await snapshot(store) == before


async def test_the_header_says_read_only(reader: CompanyStore, sandbox: SandboxServer) -> None:
    app = read_only_app(reader, sandbox.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, 3)
        header = app.query_one(StatusHeader)
        await wait_for(pilot, lambda: header.region.width == 80 and header.size.width > 0)
        assert "READ-ONLY" in str(header.render())  # first, so even 80 columns show it


async def test_the_setting_alone_makes_the_dashboard_read_only(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    app = read_only_app(store, sandbox.url, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        assert app.read_only and not app.runs.busy
        header = app.query_one(StatusHeader)
        await wait_for(pilot, lambda: "READ-ONLY" in str(header.render()))


async def test_the_palette_and_help_have_no_write_entries(
    reader: CompanyStore, sandbox: SandboxServer
) -> None:
    app = read_only_app(reader, sandbox.url)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 3)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        commands = app.screen.query_one(CommandList)
        await wait_for(pilot, lambda: commands.option_count > 0)
        prompts = [
            str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)
        ]
        assert any("Cycle the failed-source filter" in prompt for prompt in prompts), prompts
        for text in WRITE_TEXTS:
            assert not any(text in prompt for prompt in prompts), text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert any("READ-ONLY" in str(text.render()) for text in help_screen.query(Static))
        described = [text for _, rows in help_screen.sections for _, text, _scope in rows]
        assert "Toggle never synced only" in described
        for text in WRITE_TEXTS:
            assert text not in described, text


async def test_r_on_a_mongodb_that_refuses_writes_shows_one_line(sandbox: SandboxServer) -> None:
    """A user with only the `read` role, without --read-only: `r` is refused by the
    server (code 13) and the operator reads one line saying so, not a traceback."""
    with MongoWireServer() as server:
        url = server.url.replace("/?", "/refusing?")
        seeding = MongoStore(url)
        await seeding.open()
        await seeding.insert_documents([company("1000101", "Never Seen")])
        await seeding.close()
        server.refuse_writes = True
        store = MongoStore(url)
        app = FmcsaApp(store, settings_for(sandbox.url), clock=lambda: NOW, close_store=True)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, 1)
            await pilot.press("r")
            log = app.activity.query_one(RichLog)
            await wait_for(pilot, lambda: not app.runs.busy and bool(log.lines))
            lines = [strip.text for strip in log.lines]
            refused = [line for line in lines if "refused the write" in line]
            assert len(refused) == 1, lines
            assert "DOT  1000101" in refused[0] and "--read-only" in refused[0], lines
            assert not any("Traceback" in line for line in lines)
