"""The footer: `? Help` stays on screen at 80 columns however busy the dashboard is, and
`R` says which set it resyncs."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.store import CompanyStore
from fmcsa_tui.ui.app import FmcsaApp
from fmcsa_tui.ui.keys_in_play import KeysFooter
from tests.support.sandboxes import served_sandbox
from tests.ui.test_dashboard import company, loaded, settings_for, wait_for

slow_sandbox = served_sandbox(SandboxConfig(latency=6.0))


def labels(app: FmcsaApp) -> dict[str, str]:
    """Each footer entry's label, by action."""
    return {key.action: key.description for key in app.query(FooterKey)}


def whole_on_screen(app: FmcsaApp) -> set[str]:
    """The actions whose footer entry is drawn whole: inside the footer and left of the
    palette's entry, which is docked at its right end."""
    footer = app.query_one(Footer)
    keys = list(app.query(FooterKey))
    right = min(
        [key.region.x for key in keys if key.has_class("-command-palette")],
        default=footer.region.right,
    )
    return {
        key.action
        for key in keys
        if not key.has_class("-command-palette") and key.region.width > 0
        if key.region.right <= right
    }


async def test_R_says_resync_marked_with_marks_and_resync_view_without(
    store: CompanyStore, slow_sandbox: SandboxServer
) -> None:
    await store.insert_documents([company(str(1000900 + n), f"Label {n}") for n in range(3)])
    app = FmcsaApp(store, settings_for(slow_sandbox.url), poll_interval=0.2)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, 3)
        await wait_for(pilot, lambda: labels(app).get("resync_view") == "Resync view")
        await pilot.press("space")
        await wait_for(pilot, lambda: labels(app).get("resync_view") == "Resync marked")
        await pilot.press("escape")  # one mark: cleared without asking
        await wait_for(pilot, lambda: labels(app).get("resync_view") == "Resync view")
        assert not app.runs.busy


async def busiest(pilot: Pilot[None], app: FmcsaApp) -> None:
    """Marks, the highlighted carrier running and another queued, a filter on: every
    conditional footer entry shown."""
    await pilot.press("space", "up", "r", "down", "r", "up")
    await wait_for(pilot, lambda: (app.runs.running, app.runs.queued) == (1, 1))
    await pilot.press("s", "s")  # toggled twice: the filter bar moves, the view stays
    await wait_for(pilot, lambda: {"cancel", "cancel_all", "clear_filters"} <= set(labels(app)))


@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=["80x24", "100x30"])
async def test_help_and_quit_stay_on_screen_however_busy(
    store: CompanyStore, slow_sandbox: SandboxServer, size: tuple[int, int]
) -> None:
    await store.insert_documents([company(str(1000950 + n), f"Busy {n}") for n in range(3)])
    app = FmcsaApp(store, settings_for(slow_sandbox.url, concurrency=1), poll_interval=0.2)
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, 3)
        await busiest(pilot, app)
        await pilot.pause()
        assert labels(app)["resync_view"] == "Resync marked"
        shown = whole_on_screen(app)
        assert {"help", "quit", "search", "resync", "resync_view", "cancel"} <= shown, shown
        await pilot.press("X")
        await wait_for(pilot, lambda: not app.runs.busy)


async def test_the_footer_is_recomposed_once_for_a_burst_and_not_for_no_change(
    store: CompanyStore, slow_sandbox: SandboxServer
) -> None:
    """Each recompose rebuilds every entry (12-20 ms, more on a loaded machine): the start
    refreshes the bindings several times in a row, and each recompose once more."""
    await store.insert_documents([company(str(1000980 + n), f"Burst {n}") for n in range(3)])
    app = FmcsaApp(store, settings_for(slow_sandbox.url), poll_interval=0.2)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, 3)
        await wait_for(pilot, lambda: labels(app).get("resync_view") == "Resync view")
        footer = app.query_one(KeysFooter)
        recomposed = 0
        real_recompose = footer.recompose

        async def counted() -> None:
            nonlocal recomposed
            recomposed += 1
            await real_recompose()

        async def settled() -> None:  # the recomposes queued after the next refresh ran
            for _ in range(3):
                await pilot.pause()

        def keys() -> dict[str, str]:
            return {key.action: key.key for key in app.query(FooterKey)}

        footer.recompose = counted  # type: ignore[method-assign]
        for _ in range(5):  # nothing changed
            app.refresh_bindings()
        await settled()
        assert recomposed == 0
        assert keys()["resync"] == "r"
        app.set_keymap({"app.resync": "ctrl+r"})  # a change, then four more refreshes
        for _ in range(4):
            app.refresh_bindings()
        await settled()
        assert recomposed == 1
        assert keys()["resync"] == "ctrl+r"
