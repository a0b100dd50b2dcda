"""Keys typed faster than the screen follows: after `/`, they are the search's, never actions.

A terminal hands a burst of keys (a paste, a fast typist) to the app all at once: every
key is queued before the app has handled the first. `type_ahead` posts keys the same way,
back to back, where `pilot.press` waits for the app to go idle after each key.
"""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from fmcsa_tui.models import CompanySummary
from fmcsa_tui.sandbox.server import SandboxServer
from fmcsa_tui.settings import Settings
from fmcsa_tui.store import CompanyStore
from fmcsa_tui.ui.app import FmcsaApp
from tests.support.sandboxes import served_sandbox
from tests.support.waiting import eventually

#: Characters whose key has a name in Textual (a letter's key is the letter itself).
KEY_NAMES = {"/": "slash", " ": "space", "?": "question_mark", "\r": "enter"}

CARRIERS = {
    "1000005": "Alpha Freight",  # first in the list: highlighted, the one a resync would hit
    "1000012": "Big Sky Hauling",
    "1000019": "Victory Lines",
    "1000026": "Atari Scale Co",
    "1000033": "Vicksburg Big Rigs",
}


sandbox = served_sandbox()


def settings_for(url: str) -> Settings:
    return Settings(
        store="sqlite:///unused.db",
        qc_base_url=f"{url}/qc/services",
        hub_base_url=url,
        webkey="type-ahead-test",  # a resync key would really sync
        qc_rate_limit=0,
        hub_rate_limit=0,
    )


def type_ahead(pilot: Pilot[None], text: str) -> None:
    """Queue one key event per character, back to back, as a terminal delivers a burst."""
    app = pilot.app
    for char in text:
        key = events.Key(KEY_NAMES.get(char, char), char)
        key.set_sender(app)
        app.post_message(key)


def visible_names(app: FmcsaApp) -> list[str]:
    return sorted(str(summary.name) for summary in app.companies.visible_summaries())


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("/Big", ["Big Sky Hauling", "Vicksburg Big Rigs"]),
        ("/vic", ["Vicksburg Big Rigs", "Victory Lines"]),  # v, i, c: three resync keys
        ("/ri sc", ["Atari Scale Co"]),  # r, i, s (stale), c
        ("/XRcvi?qf", []),  # every other key of the dashboard, quit and help included
    ],
)
async def test_keys_typed_right_after_slash_land_in_the_search_and_start_nothing(
    store: CompanyStore, sandbox: SandboxServer, typed: str, expected: list[str]
) -> None:
    docs: list[dict[str, Any]] = [
        {"_id": ObjectId(), "name": name, "dotNumber": dot} for dot, name in CARRIERS.items()
    ]
    await store.insert_documents([dict(doc) for doc in docs])
    sandbox.reset_requests()
    app = FmcsaApp(store, settings_for(sandbox.url), poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        await eventually(lambda: app.companies.total_count == len(docs), pause=pilot.pause)
        search = app.query_one("#search", Input)
        type_ahead(pilot, typed)
        await eventually(
            lambda: search.value == typed[1:],
            limit=5,
            pause=pilot.pause,
            what=f"the search holds {search.value!r}, not {typed[1:]!r}",
        )
        await pilot.pause()
        assert app.focused is search and app.screen is app.screen_stack[0]
        assert visible_names(app) == expected
        assert app.companies.filter.text == typed[1:]
        assert app.companies.filter.stale_after is None and app.companies.filter.status is None
        assert not app.runs.busy  # no run started, none queued
    # A run started meanwhile would have written by now, or been busy above.
    for doc in docs:
        assert await store.get_company(str(doc["_id"])) == doc
    assert sandbox.requests()["total"] == 0


async def test_enter_gives_the_next_key_typed_back_to_the_list_at_once(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    """`/big`, enter, `r` in one burst: enter leaves the search (its text kept) before
    `r` is read, so `r` resyncs the highlighted carrier instead of landing in the search."""
    docs: list[dict[str, Any]] = [
        {"_id": ObjectId(), "name": name, "dotNumber": dot} for dot, name in CARRIERS.items()
    ]
    await store.insert_documents([dict(doc) for doc in docs])
    big_sky = next(doc for doc in docs if doc["name"] == "Big Sky Hauling")  # first with "big"
    sandbox.reset_requests()
    app = FmcsaApp(store, settings_for(sandbox.url), poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        await eventually(lambda: app.companies.total_count == len(docs), pause=pilot.pause)
        type_ahead(pilot, "/big\rr")

        async def written() -> bool:
            stored = await store.get_company(str(big_sky["_id"]))
            return stored is not None and "fmcsaData" in stored

        await eventually(written, limit=10, pause=pilot.pause, what="r never resynced Big Sky")
        await eventually(lambda: not app.runs.busy, limit=10, pause=pilot.pause)
        assert app.query_one("#search", Input).value == "big"
        assert app.focused is app.companies
        assert visible_names(app) == ["Big Sky Hauling", "Vicksburg Big Rigs"]
    assert set(sandbox.requests()["dots"]) == {big_sky["dotNumber"]}
    for doc in docs:  # the others untouched
        if doc is not big_sky:
            assert await store.get_company(str(doc["_id"])) == doc


async def test_a_search_that_leaves_the_highlighted_carrier_out_puts_the_cursor_first(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    """The cursor on Atari (fourth), then `/vic`, enter, `r`: Atari is not in the view, so
    the cursor goes to the first row shown, Victory Lines, and `r` resyncs that one (at the
    old index it would sit on whatever carrier took that place: Vicksburg, the last)."""
    docs: list[dict[str, Any]] = [
        {"_id": ObjectId(), "name": name, "dotNumber": dot} for dot, name in CARRIERS.items()
    ]
    await store.insert_documents([dict(doc) for doc in docs])
    victory = next(doc for doc in docs if doc["name"] == "Victory Lines")
    sandbox.reset_requests()
    app = FmcsaApp(store, settings_for(sandbox.url), poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        await eventually(lambda: app.companies.total_count == len(docs), pause=pilot.pause)
        app.companies.focus()
        await pilot.press("down", "down", "down")
        highlighted = app.companies.highlighted
        assert highlighted is not None and highlighted.name == "Atari Scale Co"
        type_ahead(pilot, "/vic\rr")

        async def written() -> bool:
            stored = await store.get_company(str(victory["_id"]))
            return stored is not None and "fmcsaData" in stored

        await eventually(written, limit=10, pause=pilot.pause, what="r never resynced Victory")
        await eventually(lambda: not app.runs.busy, limit=10, pause=pilot.pause)
        assert app.companies.cursor_row == 0
    assert set(sandbox.requests()["dots"]) == {victory["dotNumber"]}


async def test_a_search_of_a_large_list_says_it_is_counting_until_it_is_done(
    store: CompanyStore, sandbox: SandboxServer
) -> None:
    """At 100,000 carriers the first screen of a search shows at once and the rest are
    found between frames: the filter bar says "counting…" until the count is whole."""
    words = ("prairie", "freight", "summit", "lines", "hauling", "tank")
    rows = [
        CompanySummary(
            **dict.fromkeys(CompanySummary.__dataclass_fields__)
            | {"id": f"c{n}", "dot_number": str(1_000_000 + n), "status": "ok"}
            | {"name": f"{words[n % 6]} {words[n // 6 % 6]}", "error_sources": frozenset()}
            | {"error_count": 0}
        )
        for n in range(100_000)
    ]
    await store.insert_documents([{"_id": ObjectId(), "name": "Loaded", "dotNumber": "7"}])
    app = FmcsaApp(store, settings_for(sandbox.url), poll_interval=3600)
    async with app.run_test(size=(100, 30)) as pilot:
        await eventually(lambda: app.companies.total_count == 1, pause=pilot.pause)
        app.companies.set_rows(rows)  # a large list without filling a store
        described: list[str] = []
        app.watch(app, "filter_text", lambda text: described.append(text))
        await pilot.press("slash", "p")
        await eventually(lambda: not app.companies.counting, pause=pilot.pause)
        await pilot.pause()
        assert described[-2:] == ["search “p” · counting…", "search “p”"]
        assert app.shown == sum(1 for row in rows if "p" in str(row.name)) == 30_557
