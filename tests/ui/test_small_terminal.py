"""The dashboard on a laptop's default terminal, 80x24: the list keeps its rows, `d`
shows the detail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId
from textual.containers import VerticalScroll

from fmcsa_tui.models import Source
from fmcsa_tui.settings import Settings
from fmcsa_tui.store import CompanyStore
from fmcsa_tui.ui.app import SIDE_BY_SIDE_FROM, FmcsaApp
from fmcsa_tui.ui.company_list import CompanyList
from tests.support.waiting import eventually

DOTS = [str(1_000_000 + 7 * n) for n in range(30)]


def rows_on_screen(companies: CompanyList) -> list[str]:
    """The DOTs of the rows the list draws (line 0 is its header)."""
    lines = [companies.render_line(y).text for y in range(1, companies.size.height)]
    return [line.split()[0] for line in lines if line.split() and line.split()[0] in DOTS]


async def test_at_80x24_the_list_shows_ten_rows_and_d_shows_the_detail(
    store: CompanyStore,
) -> None:
    docs: list[dict[str, Any]] = [
        {"_id": ObjectId(), "name": f"Carrier {dot}", "dotNumber": dot} for dot in DOTS
    ]
    await store.insert_documents(docs)
    app = FmcsaApp(store, Settings(store="sqlite:///unused.db"))
    async with app.run_test(size=(80, 24)) as pilot:
        await eventually(lambda: app.companies.total_count == len(DOTS), pause=pilot.pause)
        await pilot.pause()
        companies = app.companies
        assert len(rows_on_screen(companies)) >= 10, rows_on_screen(companies)
        assert app.detail.region.height == 0  # hidden: the list has the height

        await pilot.press("down", "d")
        await eventually(lambda: app.detail.region.height >= 6, pause=pilot.pause)
        await eventually(lambda: app.detail.document is not None, pause=pilot.pause)
        assert app.detail.document is not None and app.detail.document["dotNumber"] == DOTS[1]
        assert DOTS[1] in rows_on_screen(companies)  # the highlighted row stays in sight
        assert app.focused is companies  # up and down still move through the list

        await pilot.press("d")
        await eventually(lambda: app.detail.region.height == 0, pause=pilot.pause)
        assert len(rows_on_screen(companies)) >= 10


async def test_d_hides_the_detail_on_a_large_terminal_too(store: CompanyStore) -> None:
    await store.insert_documents([{"_id": ObjectId(), "name": "Solo", "dotNumber": DOTS[0]}])
    app = FmcsaApp(store, Settings(store="sqlite:///unused.db"))
    async with app.run_test(size=(160, 45)) as pilot:
        await eventually(lambda: app.companies.total_count == 1, pause=pilot.pause)
        assert app.detail.region.width > 0
        await pilot.press("d")
        await eventually(lambda: app.detail.region.width == 0, pause=pilot.pause)
        assert app.companies.region.width == 160


async def test_at_80x24_d_shows_the_source_table_and_every_error_without_scrolling(
    store: CompanyStore,
) -> None:
    """Two errors, as the snapshots' Gulf Coast Carriers has: all of the Sync tab in
    sight, and still four rows of the list."""
    when = datetime(2026, 11, 28, 11, tzinfo=UTC)
    status: dict[str, Any] = {
        "lastRun": when,
        "success": False,
        **{source.last_sync_field: when for source in Source},
        "errors": [
            {"_id": ObjectId(), "source": "csa_scores", "timestamp": when,
             "error": "HTTP 503 from QCMobile (basics) after 5 attempts"},
            {"_id": ObjectId(), "source": "entity_linking", "timestamp": when,
             "error": "Driver record not found"},
        ],
    }  # fmt: skip
    docs: list[dict[str, Any]] = [
        {"_id": ObjectId(), "name": f"Carrier {dot}", "dotNumber": dot} for dot in DOTS
    ]
    docs[0].update(mcNumber="MC-400004", fmcsaData={"syncStatus": status})
    await store.insert_documents(docs)
    app = FmcsaApp(store, Settings(store="sqlite:///unused.db"), clock=lambda: when)
    async with app.run_test(size=(80, 24)) as pilot:
        await eventually(lambda: app.companies.total_count == len(DOTS), pause=pilot.pause)
        await pilot.press("d")
        await eventually(lambda: app.detail.document is not None, pause=pilot.pause)
        await pilot.pause()
        body = app.detail.query_one("#sync-body")
        assert body.region.height >= 15  # title to the second error's text
        scroll = body.parent
        assert isinstance(scroll, VerticalScroll)
        assert scroll.max_scroll_y == 0, "the errors need scrolling to be seen"
        assert len(rows_on_screen(app.companies)) >= 4, rows_on_screen(app.companies)
        assert DOTS[0] in rows_on_screen(app.companies)


@pytest.mark.parametrize(
    "width", [SIDE_BY_SIDE_FROM - 6, SIDE_BY_SIDE_FROM - 1, SIDE_BY_SIDE_FROM, 160]
)
async def test_every_column_fits_whether_the_detail_is_beside_or_under_the_list(
    store: CompanyStore, width: int
) -> None:
    """Between 140 and 149 columns the pane used to sit beside the list and push its
    Inspections column behind a horizontal scrollbar."""
    docs: list[dict[str, Any]] = [
        {"_id": ObjectId(), "name": f"Carrier {dot}", "dotNumber": dot} for dot in DOTS
    ]
    await store.insert_documents(docs)
    app = FmcsaApp(store, Settings(store="sqlite:///unused.db"))
    async with app.run_test(size=(width, 40)) as pilot:
        await eventually(lambda: app.companies.total_count == len(DOTS), pause=pilot.pause)
        await pilot.pause()
        assert app.screen.has_class("-wide") == (width >= SIDE_BY_SIDE_FROM)
        assert app.companies.max_scroll_x == 0, f"the list's columns are cut at {width}"
