"""Status colours stay legible in every built-in theme, light ones included: the list's
and the fleet screen's errors, highlighted or not.

For each theme the list's rows are rendered as the screen gets them (the app's line
filters applied: ANSI colours to the theme's palette, dim blended into the colour), and
each status's colour is measured against the background actually behind it with WCAG 2's
contrast ratio; 3:1 is WCAG's least for large text and UI parts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from rich.segment import Segment
from textual.color import Color
from textual.geometry import Region
from textual.widgets import OptionList

from fmcsa_tui.formatting import short_ago
from fmcsa_tui.models import Source
from fmcsa_tui.models.runs import Origin, Outcome, RunRecord, RunWho, SourceRun
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.settings import Settings
from fmcsa_tui.store import CompanyStore, SqliteStore
from fmcsa_tui.ui.app import FmcsaApp
from fmcsa_tui.ui.fleet import FleetScreen
from fmcsa_tui.ui.themes import contrast
from tests.support.sandboxes import served_sandbox
from tests.support.waiting import eventually

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
WCAG_UI = 3.0
STALE_HOURS = 30
STALE_AGE = short_ago(NOW - timedelta(hours=STALE_HOURS), NOW)  # each source's age


def carrier(
    n: int, name: str, hours: float | None, failing: Source | None = None
) -> dict[str, Any]:
    document: dict[str, Any] = {"_id": ObjectId(f"{n:024x}"), "name": name,
                                "dotNumber": str(1_000_000 + n)}  # fmt: skip
    if hours is not None:
        when = NOW - timedelta(hours=hours)
        stamps = {source.last_sync_field: when for source in Source}
        status: dict[str, Any] = {"lastRun": when, "success": failing is None, "errors": [],
                                  **stamps}  # fmt: skip
        if failing is not None:
            status["errors"] = [{"_id": ObjectId(), "source": failing.value,
                                 "error": "HTTP 503", "timestamp": when}]  # fmt: skip
        document["fmcsaData"] = {"syncStatus": status}
    return document


#: One carrier per status, by DOT; the cursor rests on the first, a failed one too.
CURSOR, OK, STALE, NEVER, FAILED, UNREADABLE, SYNCING = (str(1_000_000 + n) for n in range(1, 8))
CARRIERS = [
    carrier(1, "Cursor Rests Here", hours=1, failing=Source.VIOLATIONS),
    carrier(2, "Okay Freight", hours=1),
    carrier(3, "Stale Lines", hours=STALE_HOURS),
    carrier(4, "Never Hauling", hours=None),
    carrier(5, "Failing Carriers", hours=1, failing=Source.CSA_SCORES),
    {
        "_id": ObjectId(f"{6:024x}"),
        "name": "Broken",
        "dotNumber": UNREADABLE,
        "fmcsaData": {"syncStatus": "not an object"},
    },
    carrier(7, "Syncing Now", hours=1),
]


slow_sandbox = served_sandbox(SandboxConfig(latency=30.0))


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[CompanyStore]:
    """Colours do not depend on the backend: the embedded store only."""
    store = SqliteStore(tmp_path / "contrast.db")
    await store.open()
    await store.insert_documents([dict(document) for document in CARRIERS])
    yield store
    await store.close()


def painted(app: FmcsaApp, dot: str) -> list[tuple[str, Color, Color]]:
    """(text, colour, background) of each part of `dot`'s row, as the terminal gets it."""
    companies = app.companies
    row = 1 + [summary.dot_number for summary in companies.visible_summaries()].index(dot)
    segments: list[Segment] = list(companies.render_line(row))
    behind = companies.background_colors[1]
    for line_filter in app.get_line_filters():
        segments = line_filter.apply(segments, behind)
    palette = app.ansi_theme
    parts = []
    for segment in segments:
        style = segment.style
        assert style is not None and style.color is not None and style.bgcolor is not None
        background = Color(*style.bgcolor.get_truecolor(palette, foreground=False))
        colour = Color(*style.color.get_truecolor(palette, foreground=True))
        if style.dim:  # a theme of the terminal's own colours: the terminal dims it
            colour = background.blend(colour, 0.5)
        parts.append((segment.text.strip(), colour, background))
    return parts


def status_parts(app: FmcsaApp) -> dict[str, list[tuple[Color, Color]]]:
    """The colour and background of each status as the list shows it."""
    found: dict[str, list[tuple[Color, Color]]] = {}
    for status, dot, shows in [
        ("ok", OK, lambda text: text == "ok"),
        ("failed", FAILED, lambda text: text in ("failed", "✗")),
        ("failed under the cursor", CURSOR, lambda text: text in ("failed", "✗")),
        ("never", NEVER, lambda text: text == "never"),
        ("unreadable", UNREADABLE, lambda text: text.startswith("unreadable:")),
        ("syncing", SYNCING, lambda text: text.endswith(" syncing")),
        ("stale", STALE, lambda text: text == STALE_AGE),
    ]:
        found[status] = [(fg, bg) for text, fg, bg in painted(app, dot) if shows(text)]
        assert found[status], (status, [text for text, _, _ in painted(app, dot)])
    return found


async def test_every_status_is_legible_in_every_built_in_theme(
    sqlite_store: CompanyStore, slow_sandbox: SandboxServer
) -> None:
    url = slow_sandbox.url
    settings = Settings(store="sqlite:///unused.db", qc_base_url=f"{url}/qc/services",
                        hub_base_url=url, webkey="contrast", qc_rate_limit=0,
                        hub_rate_limit=0, timeout=60)  # fmt: skip
    app = FmcsaApp(sqlite_store, settings, clock=lambda: NOW)
    async with app.run_test(size=(160, 45)) as pilot:
        await eventually(lambda: app.companies.total_count == len(CARRIERS), pause=pilot.pause)
        app.companies.move_to(f"{7:024x}")
        await pilot.press("r")  # a real run, held by the slow sandbox: the row syncs
        await eventually(lambda: app.runs.running == 1, pause=pilot.pause)
        app.companies.move_to(f"{1:024x}")
        await pilot.pause()
        illegible = []
        themes = sorted(app.available_themes)
        assert {"textual-light", "solarized-light", "textual-dark"} <= set(themes)
        for theme in themes:
            app.theme = theme
            await pilot.pause()  # the theme's CSS, applied
            for status, parts in status_parts(app).items():
                worst = min(contrast(fg, bg) for fg, bg in parts)
                if worst < WCAG_UI:
                    illegible.append(f"{theme}: {status} {worst:.2f}:1")
        await app.runs.shutdown()
    assert not illegible, illegible


# --- the fleet screen's errors --------------------------------------------------------

FLEET_ERRORS = ("HTTP 503 from QCMobile", "timed out after 15s")


def painted_errors(app: FmcsaApp) -> dict[str, list[tuple[Color, Color]]]:
    """Each error text's colour and background in the fleet screen's list, by whether
    its row is the highlighted one, as the terminal gets them."""
    errors = app.screen.query_one(OptionList)
    behind = errors.background_colors[1]
    palette = app.ansi_theme
    found: dict[str, list[tuple[Color, Color]]] = {"highlighted": [], "not highlighted": []}
    for y, strip in enumerate(errors.render_lines(Region(0, 0, *errors.size))):
        segments: list[Segment] = list(strip)
        for line_filter in app.get_line_filters():
            segments = line_filter.apply(segments, behind)
        row = errors.scroll_offset.y + y - errors.gutter.top  # one line per error
        state = "highlighted" if row == errors.highlighted else "not highlighted"
        for segment in segments:
            style = segment.style
            if not any(error in segment.text for error in FLEET_ERRORS):
                continue
            assert style is not None and style.color is not None and style.bgcolor is not None
            background = Color(*style.bgcolor.get_truecolor(palette, foreground=False))
            colour = Color(*style.color.get_truecolor(palette, foreground=True))
            if style.dim:
                colour = background.blend(colour, 0.5)
            found[state].append((colour, background))
    return found


async def test_the_fleet_screens_errors_are_legible_highlighted_or_not_in_every_theme(
    sqlite_store: CompanyStore,
) -> None:
    """The error under the cursor was red on the cursor's blue (2:1 in textual-dark)."""
    now = datetime.now(UTC)
    records = []
    for index, document in enumerate(CARRIERS[:4]):
        started = now - timedelta(hours=index + 1)
        error = FLEET_ERRORS[index % 2]
        sources = (SourceRun(Source.CSA_SCORES, Outcome.FAILED, 1.0, 5, error),)
        records.append(RunRecord(str(document["_id"]), document["dotNumber"], document["name"],
                                 started, started + timedelta(seconds=2),
                                 RunWho("ops", "box", 1, Origin.WORKER), sources))  # fmt: skip
    await sqlite_store.record_runs(records)
    app = FmcsaApp(sqlite_store, Settings(store="sqlite:///unused.db", webkey="contrast"))
    async with app.run_test(size=(160, 45)) as pilot:
        await eventually(lambda: app.companies.total_count == len(CARRIERS), pause=pilot.pause)
        await pilot.press("F")
        await eventually(
            lambda: isinstance(app.screen, FleetScreen) and app.screen.errors, pause=pilot.pause
        )
        illegible = []
        for theme in sorted(app.available_themes):
            app.theme = theme
            await pilot.pause()
            for state, parts in painted_errors(app).items():
                assert parts, (theme, state)
                worst = min(contrast(fg, bg) for fg, bg in parts)
                if worst < WCAG_UI:
                    illegible.append(f"{theme}: {state} {worst:.2f}:1")
    assert not illegible, illegible
