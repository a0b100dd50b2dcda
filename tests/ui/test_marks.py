"""Marks and the typed-count confirmation, through Pilot on a real store and the sandbox
over loopback: what the list and the header show, which carriers `R` runs (the sandbox's
request counts and the store say so), and that a wrong typed count starts nothing."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from fmcsa_tui.sandbox.server import SandboxServer
from fmcsa_tui.store import CompanyStore
from fmcsa_tui.ui.app import FmcsaApp
from fmcsa_tui.ui.marking import ASK_BEFORE_CLEARING
from fmcsa_tui.ui.screens import ConfirmScreen, HelpScreen
from fmcsa_tui.ui.widgets import StatusHeader
from tests.support.sandboxes import served_sandbox
from tests.ui.test_dashboard import SIZE, company, loaded, settings_for, stored, wait_for

# Its own per test: the request counts are the test's alone.
sandbox = served_sandbox(scope="function")


def dashboard(store: CompanyStore, sandbox: SandboxServer, **settings: Any) -> FmcsaApp:
    return FmcsaApp(store, settings_for(sandbox.url, **settings), poll_interval=0.2)


def header_text(app: FmcsaApp) -> str:
    return str(app.query_one(StatusHeader).render())


def gutter(app: FmcsaApp) -> list[str]:
    """The mark gutter of each row on screen, as drawn (line 0 is the column titles)."""
    companies = app.companies
    return [companies.render_line(y).text[:2] for y in range(1, companies.visible_count + 1)]


def requested_dots(sandbox: SandboxServer) -> set[str]:
    return set(sandbox.requests()["dots"])


async def ran(store: CompanyStore, doc: dict[str, Any]) -> bool:
    return (await stored(store, doc)).sync_status.last_run is not None


async def settle(pilot: Pilot[None], app: FmcsaApp) -> None:
    await wait_for(pilot, lambda: not app.runs.busy)


async def test_space_marks_moves_down_and_the_header_counts(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    await store.insert_documents([company(str(1000300 + n), f"Mark {n}") for n in range(4)])
    app = dashboard(store, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 4)
        assert gutter(app) == ["  "] * 4
        assert "marked" not in header_text(app)
        await pilot.press("space", "space")
        assert app.companies.cursor_row == 2
        assert gutter(app) == ["● ", "● ", "  ", "  "]
        await wait_for(pilot, lambda: "2 marked" in header_text(app))
        await pilot.press("up", "space")  # unmarks the second, moves on to the third
        assert gutter(app) == ["● ", "  ", "  ", "  "]
        await wait_for(pilot, lambda: "1 marked" in header_text(app))
    assert requested_dots(sandbox) == set()  # marking writes nothing


async def test_marks_survive_filter_and_sort_and_vanish_with_their_carrier(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    docs = [company("1000311", "Alpha"), company("1000312", "Bravo"), company("1000313", "Cole")]
    await store.insert_documents(docs)
    app = dashboard(store, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 3)
        await pilot.press("space", "down", "space")  # Alpha and Cole
        marked = {str(docs[0]["_id"]), str(docs[2]["_id"])}
        await pilot.press("slash", *"bravo", "enter")
        assert app.companies.visible_count == 1
        await pilot.press("O")  # reversed sort
        assert {s.id for s in app.companies.marked_summaries()} == marked
        await pilot.press("escape")  # marks first: the search stays
        assert app.companies.mark_count == 0
        assert app.companies.visible_count == 1
        await pilot.press("escape")
        assert app.companies.visible_count == 3
        await pilot.press("space")
        [gone] = app.companies.marked_summaries()
        others = [s for s in app.companies.visible_summaries() if s.id != gone.id]
        app.companies.set_rows(others)  # as the feed's reload does once it is gone
        await wait_for(pilot, lambda: "marked" not in header_text(app))
        assert app.companies.mark_count == 0


async def test_R_with_marks_resyncs_exactly_the_marked_carriers(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    docs = [company(str(1000320 + n), f"Fleet {n}") for n in range(5)]
    await store.insert_documents(docs)
    app = dashboard(store, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 5)
        await pilot.press("space", "down", "down", "space")  # 1000320 and 1000323
        await pilot.press("slash", *"fleet 4", "enter")  # neither is in the view now
        assert [s.dot_number for s in app.companies.visible_summaries()] == ["1000324"]
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question.startswith("Resync the 2 marked carriers?")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.runs.busy or requested_dots(sandbox) != set())
        await settle(pilot, app)
    assert requested_dots(sandbox) == {"1000320", "1000323"}
    assert [await ran(store, doc) for doc in docs] == [True, False, False, True, False]


async def test_star_marks_the_view_and_R_without_marks_keeps_the_view(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    docs = [company("1000331", "Keep A"), company("1000332", "Keep B"), company("1000333", "Zed")]
    await store.insert_documents(docs)
    app = dashboard(store, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 3)
        await pilot.press("slash", *"keep", "enter", "asterisk")
        assert app.companies.mark_count == 2
        await pilot.press("escape")  # clears the marks
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question.startswith("Resync all 2 carriers in this view")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.runs.busy or requested_dots(sandbox) != set())
        await settle(pilot, app)
    assert requested_dots(sandbox) == {"1000331", "1000332"}
    assert [await ran(store, doc) for doc in docs] == [True, True, False]


async def test_escape_asks_before_clearing_many_marks(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    many = ASK_BEFORE_CLEARING + 1
    await store.insert_documents([company(str(1000400 + n), f"Many {n}") for n in range(many)])
    app = dashboard(store, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, many)
        await pilot.press("asterisk", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert app.companies.mark_count == many
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.companies.mark_count == 0)
    assert requested_dots(sandbox) == set()


async def test_above_the_threshold_the_count_must_be_typed(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    docs = [company(str(1000340 + n), f"Typed {n}") for n in range(3)]
    await store.insert_documents(docs)
    app = dashboard(store, sandbox, confirm_typed_over=2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 3)

        async def ask() -> ConfirmScreen:
            await pilot.press("R")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            screen = app.screen
            assert isinstance(screen, ConfirmScreen) and screen.typed == 3
            assert isinstance(app.focused, Input)
            return screen

        async def gone() -> None:
            await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))

        await ask()
        await pilot.press("y", "enter")  # `y` is text here, and not the count
        await gone()
        assert any("Cancelled: y is not 3" in n.message for n in app._notifications)
        await ask()
        await pilot.press("2", "enter")
        await gone()
        assert any("Cancelled: 2 is not 3" in n.message for n in app._notifications)
        await ask()
        await pilot.press("tab", "y")  # on the button now: `y` still answers nothing
        assert isinstance(app.screen, ConfirmScreen)
        assert not app.runs.busy
        await pilot.press("escape")
        await gone()
        await ask()
        await pilot.press("3", "escape")
        await gone()
        assert any(n.message == "Cancelled; nothing started." for n in app._notifications)
        assert not app.runs.busy
        assert requested_dots(sandbox) == set()
        assert [await ran(store, doc) for doc in docs] == [False] * 3

        await ask()
        await pilot.press("3", "enter")
        await gone()
        await wait_for(pilot, lambda: app.runs.busy or requested_dots(sandbox) != set())
        await settle(pilot, app)
    assert requested_dots(sandbox) == {"1000340", "1000341", "1000342"}
    assert [await ran(store, doc) for doc in docs] == [True] * 3


async def test_at_the_threshold_y_is_enough(store: CompanyStore, sandbox: SandboxServer) -> None:
    docs = [company(str(1000350 + n), f"Few {n}") for n in range(2)]
    await store.insert_documents(docs)
    app = dashboard(store, sandbox, confirm_typed_over=2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, 2)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen) and app.screen.typed is None
        await pilot.press("y")
        await wait_for(pilot, lambda: app.runs.busy or requested_dots(sandbox) != set())
        await settle(pilot, app)
    assert [await ran(store, doc) for doc in docs] == [True] * 2


#: Each write key's scope in the help, written out here, not read from the table.
EXPECTED_SCOPES = {
    "r": "one carrier",
    "c": "one carrier",
    "v": "one carrier",
    "i": "one carrier",
    "x": "one carrier",
    "R": "marked, else view",
    "X": "all runs",
}


async def test_help_gives_every_write_key_its_scope(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    app = dashboard(store, sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert isinstance(app.screen, HelpScreen)
        scopes = {
            key: scope
            for _, rows in app.screen.sections
            for keys, _text, scope in rows
            for key in keys.split(", ")
        }
    assert {key: scopes.get(key) for key in EXPECTED_SCOPES} == EXPECTED_SCOPES
    assert scopes["/"] == scopes["space"] == ""  # reading and marking write nothing
