"""The company list: what an operator sees, and that it keeps up with 100,000 rows."""

from __future__ import annotations

import random
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.strip import Strip

from fmcsa_tui.formatting import safe_line, short_ago
from fmcsa_tui.models import CompanySummary, Source, Status
from fmcsa_tui.store.base import CompanyFilter
from fmcsa_tui.store.listing import columns_of, list_row
from fmcsa_tui.ui.company_list import SPINNER_FRAMES, CompanyList
from fmcsa_tui.ui.rows import SORT_COLUMNS, CompanyRows, column_widths, sort_key
from fmcsa_tui.ui.text import fit, truncate
from tests.support.waiting import eventually

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SIZE = (120, 24)


def summary(
    n: int,
    name: str | None = "Acme Trucking",
    *,
    dot: str | None = None,
    mc: str | None = None,
    status: Status = "ok",
    last_run: datetime | None = NOW - timedelta(minutes=5),
    csa: datetime | None = NOW - timedelta(hours=3),
    violations: datetime | None = NOW - timedelta(hours=3),
    inspections: datetime | None = NOW - timedelta(hours=3),
    errors: frozenset[str] = frozenset(),
    problem: str | None = None,
) -> CompanySummary:
    return CompanySummary(
        id=f"c{n}",
        dot_number=str(1_000_000 + n) if dot is None else dot,
        name=name,
        mc_number=mc,
        status=status,
        last_run=last_run,
        success=status == "ok",
        csa_scores_last_sync=csa,
        violations_last_sync=violations,
        inspections_last_sync=inspections,
        error_sources=errors,
        error_count=len(errors),
        updated_at=None,
        problem=problem,
    )


class ListApp(App[None]):
    def __init__(self, rows: list[CompanySummary] | None = None) -> None:
        super().__init__()
        self.rows = rows or []
        self.highlighted: list[CompanySummary | None] = []
        self.selected: list[CompanySummary] = []

    def compose(self) -> ComposeResult:
        yield CompanyList(clock=lambda: NOW, id="list")

    def on_mount(self) -> None:
        self.query_one(CompanyList).set_rows(self.rows)

    def on_company_list_highlighted(self, message: CompanyList.Highlighted) -> None:
        self.highlighted.append(message.summary)

    def on_company_list_selected(self, message: CompanyList.Selected) -> None:
        self.selected.append(message.summary)


def strips(widget: CompanyList) -> list[Strip]:
    return [widget.render_line(y) for y in range(widget.scrollable_content_region.height)]


def lines(widget: CompanyList) -> list[str]:
    return [strip.text for strip in strips(widget)]


def ids(summaries: list[CompanySummary]) -> list[str]:
    return [s.id for s in summaries]


def screen_lines(app: App[None]) -> list[str]:
    """The text the compositor would put on the terminal now (from the render caches)."""
    update = app.screen._compositor.render_full_update()
    return ["".join(segment.text for segment in strip) for strip in update.strips]


def column_x(widget: CompanyList, title: str) -> int:
    header = lines(widget)[0]  # the titles are ASCII: index == cell offset
    return header.index(title)


# -- text helpers ------------------------------------------------------------------------


def test_safe_line_makes_controls_visible_and_keeps_the_rest() -> None:
    assert safe_line(None) == ""
    assert safe_line("[bold red]X[/]") == "[bold red]X[/]"
    assert safe_line("東京運輸") == "東京運輸"
    assert safe_line("\x1b[31mred\x1b[0m") == "␛[31mred␛[0m"
    assert safe_line("a\tb\x07c\nd\x7f") == "a␉b␇c␊d␡"
    assert safe_line("evil\u202eesrever\u200b") == "evil\\u202eesrever\\u200b"
    assert safe_line("next\x85line\u2028") == "next\\x85line\\u2028"


def test_truncate_and_fit_count_cells() -> None:
    assert truncate("東京運輸株式会社", 7) == "東京運…"
    assert cell_len(truncate("東京運輸株式会社", 6)) == 6  # a split wide char is padded
    assert fit("abc", 5, "right") == "  abc"
    assert fit("abcdef", 4) == "abc…"
    assert fit("", 0) == ""


def test_short_ago() -> None:
    assert short_ago(None, NOW) == "never"
    assert short_ago(NOW + timedelta(seconds=30), NOW) == "now"
    assert short_ago(NOW - timedelta(seconds=59), NOW) == "now"
    assert short_ago(NOW - timedelta(minutes=5), NOW) == "5m ago"
    assert short_ago(NOW - timedelta(hours=3, minutes=59), NOW) == "3h ago"
    assert short_ago(NOW - timedelta(days=2, hours=5), NOW) == "2d ago"
    assert short_ago(NOW - timedelta(days=800), NOW) == "2y ago"


# -- rendering ---------------------------------------------------------------------------


async def test_rows_render_with_header_ages_and_error_marks() -> None:
    rows = [
        summary(1, "Acme Trucking"),
        summary(
            2,
            "Beta Freight",
            status="failed",
            violations=None,
            errors=frozenset({"violations", "entity_linking"}),
        ),
        summary(
            3,
            "Gamma Haulers",
            status="never",
            last_run=None,
            csa=None,
            violations=None,
            inspections=None,
        ),
        summary(4, None, dot="12", status="unreadable", last_run=None, problem="name: bad"),
    ]
    app = ListApp(rows)
    async with app.run_test(size=SIZE):
        widget = app.query_one(CompanyList)
        header, *body = lines(widget)
        for title in ("DOT ▲", "Name", "Status", "Last run", "CSA", "Violations", "Inspections"):
            assert title in header
        assert "1000001 Acme Trucking" in body[1]  # DOT "12" sorts first
        assert body[1].split()[-9:] == ["ok", "5m", "ago"] + ["3h", "ago"] * 3
        assert "failed" in body[2] and "✗ never" in body[2]
        assert body[3].split()[-5:] == ["never"] * 5
        assert body[0].lstrip().startswith("12 unreadable: name: bad")
        assert body[4].strip() == ""
        assert widget.total_count == widget.visible_count == 4


async def test_styles_mark_status_stale_sources_and_errors() -> None:
    rows = [
        summary(1, csa=NOW - timedelta(days=3)),
        summary(2, status="failed", errors=frozenset({"inspections"})),
        summary(3, status="failed", errors=frozenset({"inspections"})),
    ]
    app = ListApp(rows)
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(CompanyList)
        widget.cursor_row = 2  # the cursor style off the rows measured
        await pilot.pause()

        def style_of(strip: Strip, text: str) -> Any:
            return next(seg.style for seg in strip if seg.text.strip() == text)

        row_ok, row_failed = strips(widget)[1:3]
        stale = widget.get_component_rich_style("company-list--stale", partial=True)
        ok = widget.get_component_rich_style("company-list--ok", partial=True)
        failed = widget.get_component_rich_style("company-list--failed", partial=True)
        mark = widget.get_component_rich_style("company-list--error-mark", partial=True)
        assert style_of(row_ok, "3d ago").color == stale.color
        assert style_of(row_ok, "3h ago").color != stale.color
        assert style_of(row_ok, "ok").color == ok.color
        assert style_of(row_failed, "✗").color == mark.color
        assert style_of(row_failed, "failed").color is not None
        assert style_of(row_failed, "failed").color != ok.color
        assert failed.color is not None
        # Under the cursor a status takes the cursor's colour, legible on its background.
        cursor = widget.get_component_rich_style("company-list--cursor")
        row_cursor = strips(widget)[3]
        assert style_of(row_cursor, "failed").color == cursor.color
        assert style_of(row_cursor, "✗").color == cursor.color != mark.color


AWKWARD_NAMES = [
    "[bold red]X[/]",
    "[link=https://evil.example]click[/link]",
    "\x1b[31mRED\x1b[0m trucking",
    "tab\there\x07bell\x00nul\r\n",
    "東京運輸株式会社",
    "東" * 300,
    "x" * 300,
    "e\u0301\u0301\u0301 combining",
    "\u202eevil\u200bzero",
    "",
    None,
    "🚚 emoji 👨‍👩‍👧 family",
]


async def test_awkward_names_keep_columns_aligned_and_literal() -> None:
    rows = [summary(n, name) for n, name in enumerate(AWKWARD_NAMES)]
    app = ListApp(rows)
    async with app.run_test(size=SIZE):
        widget = app.query_one(CompanyList)
        width = widget.scrollable_content_region.width
        status_x = column_x(widget, "Status")
        run_x = column_x(widget, "Last run")
        all_strips = strips(widget)
        for strip in all_strips[1 : len(rows) + 1]:
            assert strip.cell_length == width
            assert cell_len(strip.crop(0, status_x).text) == status_x
            assert strip.crop(status_x, status_x + 10).text == "ok        "
            assert strip.crop(run_x, run_x + 8).text == "5m ago  "
        texts = "\n".join(s.text for s in all_strips)
        assert "[bold red]X[/]" in texts
        assert "[link=https://evil.example]click[/link]" in texts
        assert "␛[31mRED␛[0m trucking" in texts
        assert "tab␉here␇bell␀nul␍␊" in texts
        assert "東京運輸株式会社" in texts
        assert "\\u202eevil\\u200bzero" in texts
        for char in texts.replace("\n", ""):
            assert unicodedata.category(char) not in {"Cc", "Cf", "Zl", "Zp"}
        # The screen the compositor builds shows the same literal text.
        screen_text = "\n".join(screen_lines(app))
        assert "[bold red]X[/]" in screen_text
        assert "\x1b" not in screen_text


# -- filtering ---------------------------------------------------------------------------

SOURCES_SEEN = ["csa_scores", "violations", "inspections", "entity_linking", "orchestrator"]


def random_rows(count: int, seed: int = 7) -> list[CompanySummary]:
    rng = random.Random(seed)
    words = ["Straße", "STRASSE", "Trucking", "freight", "Ωmega", "東京", "mc", "Acme", "x\x1fy"]

    def stamp() -> datetime | None:
        return None if rng.random() < 0.15 else NOW - timedelta(hours=rng.random() * 72)

    rows = []
    for n in range(count):
        status: Status = rng.choice(["ok", "failed", "never", "unreadable"])
        errors = (
            frozenset(rng.sample(SOURCES_SEEN, rng.randint(1, 2)))
            if status == "failed"
            else frozenset()
        )
        rows.append(
            summary(
                n,
                None if rng.random() < 0.1 else " ".join(rng.sample(words, 2)),
                dot=rng.choice([str(rng.randint(10_000, 99_999_999)), "ABC12", None]),
                mc=rng.choice([None, f"MC{rng.randint(1, 999_999)}"]),
                status=status,
                last_run=stamp(),
                csa=stamp(),
                violations=stamp(),
                inspections=stamp(),
                errors=errors,
            )
        )
    return rows


FILTERS = [
    CompanyFilter(),
    *(CompanyFilter(text=t) for t in ["s", "st", "str", "stra", "straß", "strasse", "ss", "ß"]),
    *(CompanyFilter(text=t) for t in ["tr", "tru", "truc", "tru", "tr", "tra", "Tra", "trac"]),
    *(
        CompanyFilter(text=t)
        for t in ["mc", "MC1", "1", "12", "ωMEGA", "東", "x\x1fy", "\x1f", " "]
    ),
    *(CompanyFilter(status=s) for s in ("ok", "failed", "never")),
    *(CompanyFilter(failed_source=s) for s in ("any", *SOURCES_SEEN, "nothing")),
    CompanyFilter(stale_after=timedelta(hours=24)),
    CompanyFilter(stale_after=timedelta(hours=60)),
    CompanyFilter(text="tr", status="failed", failed_source="violations"),
    CompanyFilter(text="a", stale_after=timedelta(hours=30), status="ok"),
]


def test_model_filter_agrees_with_company_filter_matches() -> None:
    rows = random_rows(600)
    model = CompanyRows()
    model.set_rows(rows)
    for column in ("name", "status"):
        model.set_sort(column, reverse=False)
        for flt in FILTERS:  # in sequence, so growing texts use the narrowing path
            model.set_filter(flt, NOW)
            expected = {s.id for s in rows if flt.matches(s, NOW)}
            assert {s.id for s in model.visible_summaries()} == expected, flt
            assert len(model.view) == len(expected), flt


def test_live_updates_keep_every_filter_and_order_right() -> None:
    """Rows replaced in place (the fast path: same order) and rows whose sort key moves
    (a re-sort) give the view a fresh full build would give, filters included."""
    rows = random_rows(400)
    chance = random.Random(11)
    for column in ("dot", "name", "status", "last_run"):
        model = CompanyRows()
        model.set_rows(rows)
        model.set_sort(column, reverse=column == "last_run")
        current = {s.id: s for s in rows}
        for step, flt in enumerate(FILTERS * 2):
            model.set_filter(flt, NOW)
            changed = []
            for n in chance.sample(range(400), 5):
                old = current[f"c{n}"]
                renamed = step % 2 == 0  # names change (same sort key unless by name)...
                changed.append(summary(
                    n, name=f"Renamed {chance.randrange(50)} Freight" if renamed else old.name,
                    dot=old.dot_number, status=chance.choice(["ok", "failed", "never"]),
                ))  # fmt: skip
            model.upsert(changed)
            current.update((s.id, s) for s in changed)
            fresh = CompanyRows()
            fresh.set_rows(list(current.values()))
            fresh.set_sort(column, reverse=column == "last_run")
            fresh.set_filter(flt, NOW)
            expected = {s.id for s in current.values() if flt.matches(s, NOW)}
            assert {s.id for s in model.visible_summaries()} == expected, (column, flt)
            # ties may fall either way, the order of the sort keys may not
            keys = [sort_key(column, s) for s in model.visible_summaries()]
            assert keys == [sort_key(column, s) for s in fresh.visible_summaries()], column
            if column == "dot":  # unique keys: the order is fully determined
                assert model.visible_summaries() == fresh.visible_summaries()


async def test_widget_filter_shows_what_matches_in_sort_order() -> None:
    rows = random_rows(300)
    app = ListApp(rows)
    async with app.run_test(size=SIZE):
        widget = app.query_one(CompanyList)
        all_in_order = widget.visible_summaries()
        for flt in FILTERS:
            widget.set_filter(flt)
            assert widget.filter == flt
            expected = [s for s in all_in_order if flt.matches(s, NOW)]
            assert ids(widget.visible_summaries()) == ids(expected), flt
            assert widget.visible_count == len(expected)
            assert widget.total_count == len(rows)


# -- sorting -----------------------------------------------------------------------------


def sort_value(column: str, s: CompanySummary) -> Any:
    if column == "dot":  # the stores' DOT order: shorter first, then by character
        return None if s.dot_number is None else (len(s.dot_number), s.dot_number)
    if column == "name":
        return s.name.casefold() if s.name else None
    if column == "status":
        return ["failed", "unreadable", "never", "ok"].index(s.status)
    if column == "last_run":
        return s.last_run
    return s.last_sync(Source(column))


async def test_sort_by_every_column_both_ways() -> None:
    rows = random_rows(200, seed=3)
    app = ListApp(rows)
    async with app.run_test(size=SIZE):
        widget = app.query_one(CompanyList)
        for column in SORT_COLUMNS:
            for reverse in (False, True):
                widget.sort_by(column, reverse)
                assert (widget.sort_column, widget.sort_reverse) == (column, reverse)
                values = [sort_value(column, s) for s in widget.visible_summaries()]
                present = [v for v in values if v is not None]
                missing_count = len(values) - len(present)
                assert present == sorted(present, reverse=reverse), column
                if column in {"dot", "name", "last_run"}:  # missing values last, both ways
                    assert values[len(present) :] == [None] * missing_count
                elif column in {s.value for s in Source}:  # never = the oldest
                    nones = values[:missing_count] if not reverse else values[len(present) :]
                    assert nones == [None] * missing_count
                arrow = "▼" if reverse else "▲"
                assert arrow in lines(widget)[0]


def test_sort_is_stable() -> None:
    statuses: list[Status] = ["ok", "failed"]
    rows = [summary(n, name=f"n{n % 3}", status=statuses[n % 2]) for n in range(30)]
    model = CompanyRows()
    model.set_rows(rows)
    model.set_sort("name", False)
    by_name = ids(model.visible_summaries())
    model.set_sort("status", False)
    by_status = model.visible_summaries()
    # Within one status, companies keep their name order.
    for status in ("failed", "ok"):
        group = [s.id for s in by_status if s.status == status]
        assert group == [i for i in by_name if i in set(group)]
    model.set_sort("status", True)
    for status in ("failed", "ok"):
        group = [s.id for s in model.visible_summaries() if s.status == status]
        assert group == [i for i in by_name if i in set(group)]


async def test_header_click_and_keys_sort() -> None:
    rows = [summary(n, name=f"Company {chr(ord('Z') - n)}") for n in range(5)]
    app = ListApp(rows)
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(CompanyList)
        name_x = column_x(widget, "Name")
        await pilot.click(CompanyList, offset=(name_x + 1, 0))
        assert (widget.sort_column, widget.sort_reverse) == ("name", False)
        assert "Name ▲" in lines(widget)[0]
        assert widget.visible_summaries()[0].name == "Company V"
        await pilot.click(CompanyList, offset=(name_x + 1, 0))
        assert (widget.sort_column, widget.sort_reverse) == ("name", True)
        assert "Name ▼" in lines(widget)[0]
        assert widget.visible_summaries()[0].name == "Company Z"
        await pilot.click(CompanyList, offset=(column_x(widget, "Inspections"), 0))
        assert widget.sort_column == "inspections"

        widget.focus()
        await pilot.press("o")
        assert (widget.sort_column, widget.sort_reverse) == ("dot", False)
        await pilot.press("o")
        assert widget.sort_column == "name"
        await pilot.press("O")
        assert (widget.sort_column, widget.sort_reverse) == ("name", True)
        bindings = {b.id for b in CompanyList.BINDINGS if not isinstance(b, tuple | str)}
        assert {"list.cycle_sort", "list.reverse_sort", "list.cursor_up"} <= bindings


# -- cursor ------------------------------------------------------------------------------


async def test_cursor_keys_and_messages() -> None:
    rows = [summary(n, name=f"Company {n:03}") for n in range(100)]
    app = ListApp(rows)
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(CompanyList)
        widget.focus()
        await pilot.pause()
        assert widget.highlighted == rows[0]
        await pilot.press("down", "down")
        assert widget.highlighted == rows[2]
        await pilot.press("up")
        assert widget.highlighted == rows[1]
        page = widget.scrollable_content_region.height - 1
        await pilot.press("pagedown")
        assert widget.highlighted == rows[1 + page]
        await pilot.press("end")
        assert widget.highlighted == rows[-1]
        assert "Company 099" in lines(widget)[-1]  # scrolled to keep the cursor on screen
        await pilot.press("down")
        assert widget.highlighted == rows[-1]
        await pilot.press("pageup")
        assert widget.highlighted == rows[-1 - page]
        await pilot.press("home")
        assert widget.highlighted == rows[0]
        assert "Company 000" in lines(widget)[1]
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == [rows[0]]
        assert app.highlighted == [
            rows[0],
            rows[1],
            rows[2],
            rows[1],
            rows[1 + page],
            rows[-1],
            rows[-1 - page],
            rows[0],
        ]
        # A click selects a row; a double click opens it.
        await pilot.click(CompanyList, offset=(3, 3))
        assert widget.highlighted == rows[2]
        await pilot.click(CompanyList, offset=(3, 4), times=2)
        await pilot.pause()
        assert app.selected[-1] == rows[3]


async def test_cursor_follows_its_company() -> None:
    statuses: list[Status] = ["ok", "failed"]
    rows = [summary(n, name=f"Company {n:03}", status=statuses[n % 2]) for n in range(50)]
    app = ListApp(rows)
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(CompanyList)
        widget.move_to("c10")
        assert widget.highlighted == rows[10]
        widget.sort_by("name", reverse=True)
        assert widget.highlighted == rows[10]
        assert widget.cursor_row == 39
        widget.set_filter(CompanyFilter(status="ok"))
        assert widget.highlighted == rows[10]
        assert widget.cursor_row == 19  # even numbers 48, 46, ... 10
        # Upserts: new rows land in sort order, the cursor stays on its company.
        widget.upsert([summary(200, name="Company 999"), summary(201, name="AAA")])
        assert widget.visible_summaries()[0].name == "Company 999"
        assert widget.visible_summaries()[-1].name == "AAA"
        assert widget.highlighted == rows[10]
        # Its data changes: Highlighted is posted again with the new summary.
        updated = summary(10, name="Company 010", last_run=NOW)
        widget.upsert([updated])
        await pilot.pause()
        assert widget.highlighted == updated  # rebuilt from the packed columns
        assert app.highlighted[-1] == updated
        # Filtered out: the cursor stays at its index, on the next company.
        position = widget.cursor_row
        widget.upsert([summary(10, name="Company 010", status="failed")])
        assert widget.cursor_row == position
        assert widget.highlighted == widget.visible_summaries()[position]
        widget.remove([widget.visible_summaries()[position].id])
        assert widget.cursor_row == position
        widget.set_filter(CompanyFilter(text="no such company"))
        assert widget.highlighted is None
        await pilot.pause()
        assert app.highlighted[-1] is None
        widget.set_filter(CompanyFilter())
        assert widget.get("c10") is not None and widget.get("nope") is None


# -- syncing -----------------------------------------------------------------------------


async def test_syncing_rows_show_a_spinner() -> None:
    rows = [summary(n) for n in range(3)]
    app = ListApp(rows)
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(CompanyList)
        status_x = column_x(widget, "Status")

        def status_on_screen(row: int) -> str:
            return screen_lines(app)[row + 1][status_x : status_x + 10]

        widget.set_syncing({"c1"})
        await pilot.pause()
        first = status_on_screen(1)
        assert first[0] in SPINNER_FRAMES and first[1:] == " syncing "
        assert status_on_screen(0) == "ok        "
        deadline = time.monotonic() + 5
        while (second := status_on_screen(1)) == first:  # the spinner's timer turns it
            assert time.monotonic() < deadline, "the spinner never turned"
            await pilot.pause(0.05)
        assert second[0] in SPINNER_FRAMES
        widget.set_syncing(set())
        await pilot.pause()
        assert status_on_screen(1) == "ok        "


async def test_resize_reflows_the_name_column_and_remove_still_removes_the_widget() -> None:
    app = ListApp([summary(1, "N" * 200)])
    async with app.run_test(size=(100, 10)) as pilot:
        widget = app.query_one(CompanyList)
        narrow = column_x(widget, "Status")
        await pilot.resize_terminal(140, 10)
        await pilot.pause()
        assert column_x(widget, "Status") == narrow + 40
        assert widget.render_line(1).cell_length == widget.scrollable_content_region.width
        assert widget.virtual_size.width == widget.scrollable_content_region.width
        await pilot.resize_terminal(60, 10)  # narrower than the columns: scrolls sideways
        await pilot.pause()
        assert widget.virtual_size.width > widget.scrollable_content_region.width
        await widget.remove()
        assert not app.query(CompanyList)


# -- scale -------------------------------------------------------------------------------


def big_rows(count: int) -> list[CompanySummary]:
    rng = random.Random(100)
    words = ["alpha", "beta", "gamma", "delta", "trucking", "freight", "logistics"]
    words += ["express", "transport", "inc", "llc"]
    statuses: list[Status] = ["ok", "ok", "failed", "never"]
    rows = []
    for n in range(count):
        status = statuses[n % 4]
        rows.append(
            summary(
                n,
                " ".join(rng.sample(words, 3)).title(),
                dot=str(rng.randint(10_000, 99_999_999)),
                mc=f"MC{rng.randint(1, 999_999)}" if n % 3 else None,
                status=status,
                last_run=NOW - timedelta(minutes=n % 5000),
                csa=NOW - timedelta(minutes=n % 3000),
                errors=frozenset({"violations"}) if status == "failed" else frozenset(),
            )
        )
    return rows


async def test_100k_rows_filter_and_sort_timings(capsys: pytest.CaptureFixture[str]) -> None:
    rows = big_rows(100_000)
    app = ListApp()
    timings: list[str] = []

    def timed(label: str, action: Any) -> None:
        start = time.perf_counter()
        action()
        timings.append(f"{label}: {(time.perf_counter() - start) * 1000:.1f} ms")

    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(CompanyList)
        timed("set_rows 100k", lambda: widget.set_rows(rows))
        for text in ("t", "tr", "tru", "truc", "truck", "trucking", "truckin", ""):
            timed(f"filter {text!r}", lambda t=text: widget.set_filter(CompanyFilter(text=t)))
            timed("  paint", lambda: strips(widget))
        timed(
            "filter failed+stale",
            lambda: widget.set_filter(
                CompanyFilter(status="failed", stale_after=timedelta(hours=24))
            ),
        )
        widget.set_filter(CompanyFilter())
        timed("sort name", lambda: widget.sort_by("name"))
        timed("sort name desc", lambda: widget.sort_by("name", True))
        timed("sort csa_scores", lambda: widget.sort_by("csa_scores"))
        timed("upsert 10", lambda: widget.upsert(rows[:10]))
        await pilot.pause()
        assert widget.total_count == 100_000
        widget.set_filter(CompanyFilter(text="trucking"))
        expected = sum(1 for s in rows if CompanyFilter(text="trucking").matches(s, NOW))
        await eventually(lambda: not widget.counting, pause=pilot.pause)
        assert widget.visible_count == expected
    with capsys.disabled():
        print("\ncompany list at 100k rows:\n  " + "\n  ".join(timings))


def test_column_widths_fill_the_line() -> None:
    widths = column_widths(120)
    assert sum(widths) + len(widths) - 1 == 120
    assert column_widths(40)[1] == 16  # the name keeps its minimum; the line scrolls


def screen_text(app: App[Any]) -> str:
    """What the terminal shows now, as Textual exports it."""
    return app.export_screenshot()


async def test_rows_loaded_in_batches_show_where_the_operator_looks() -> None:
    """A load comes in batches (a store scan's); the list is usable from the first. Rows
    of a later batch appear on screen when they belong there (a short filtered view),
    scrolling reaches them, and the rows already shown stay put."""
    rows = [summary(n, name=f"Co{n:03}") for n in range(200)]
    scanned = columns_of([list_row(row) for row in rows])
    app = ListApp()
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(CompanyList)
        widget.focus()
        widget.load_rows(scanned.part(0, 50), fresh=True, complete=False)
        await pilot.pause()
        assert "Co000" in screen_text(app)
        widget.load_rows(scanned.part(50, 100), fresh=False, complete=False)  # below the screen
        await pilot.pause()
        assert widget.total_count == 100
        assert "Co000" in screen_text(app) and widget.highlighted == rows[0]
        await pilot.press("end")
        assert widget.highlighted == rows[99]
        assert "Co099" in screen_text(app)
        widget.set_filter(CompanyFilter(text="co1"))  # Co100..Co199 are still to come
        await pilot.pause()
        assert widget.visible_count == 0
        widget.load_rows(scanned.part(100, 150), fresh=False, complete=False)  # on screen now
        await pilot.pause()
        assert widget.visible_count == 50
        assert "Co100" in screen_text(app) and "Co110" in screen_text(app)
        widget.load_rows(scanned.part(150, len(scanned)), fresh=False, complete=True)
        await pilot.pause()
        assert widget.visible_count == 100
        await pilot.press("end")
        assert widget.highlighted == rows[199]
        assert "Co199" in screen_text(app)


async def test_a_load_sorted_by_name_is_in_name_order_once_complete() -> None:
    """Sorted by name while a load comes in parts: parts may wait unsorted at the end
    (each part sorting 1,000,000 rows took 400 ms), every row is in its place once the
    load is complete."""
    rows = [summary(n, name=f"Co{199 - n:03}") for n in range(200)]  # DOT order: names down
    scanned = columns_of([list_row(row) for row in rows])
    app = ListApp()
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(CompanyList)
        widget.sort_by("name")
        for start in range(0, 200, 40):
            widget.load_rows(
                scanned.part(start, start + 40), fresh=start == 0, complete=False
            )  # fmt: skip
            assert widget.loaded_count == start + 40
        widget.load_rows(scanned.part(0, 0), fresh=False, complete=True)
        await pilot.pause()
        assert [s.name for s in widget.visible_summaries()] == sorted(r.name for r in rows)


async def test_the_operator_filtering_the_highlighted_company_out_puts_the_cursor_first() -> None:
    """A filter or search the operator sets that leaves the highlighted company out: the
    cursor goes to the first row; a live update taking it out keeps the index."""
    statuses: list[Status] = ["ok", "failed"]
    rows = [summary(n, name=f"Company {n:03}", status=statuses[n % 2]) for n in range(50)]
    app = ListApp(rows)
    async with app.run_test(size=SIZE):
        widget = app.query_one(CompanyList)
        widget.move_to("c11")  # failed
        position = widget.cursor_row
        assert position == 11
        widget.set_filter(CompanyFilter(status="ok"))
        assert widget.cursor_row == 0
        assert widget.highlighted == rows[0]
        widget.move_to("c24")  # the 13th of 25
        widget.narrow(text="company 01")  # 010, 012, ..., 018: the cursor at 12 would be 018
        assert widget.cursor_row == 0 and widget.highlighted == rows[10]
        widget.move_to("c16")
        widget.narrow(text="company 01", status=None)  # 010-019: 016 stays, the cursor too
        assert widget.highlighted == rows[16]
        # A live update that takes the highlighted company out keeps the index.
        widget.set_filter(CompanyFilter(status="ok"))
        widget.move_to("c20")
        position = widget.cursor_row
        widget.upsert([summary(20, name="Company 020", status="failed")])
        assert widget.cursor_row == position
        assert widget.highlighted == rows[22]


async def test_a_reload_keeps_every_row_on_screen_until_it_is_complete() -> None:
    """The store came back: its rows come again batch by batch. The list keeps showing
    all it had (sorted, filtered, the cursor where it was) until the last batch, then
    shows the store's rows: a carrier gone from the store goes (with its mark), live
    updates meanwhile are kept, the sort and filter of the moment apply."""
    rows = [summary(n, name=f"Co{n:03}") for n in range(200)]
    app = ListApp()
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(CompanyList)
        widget.load_rows(columns_of([list_row(row) for row in rows]), fresh=True, complete=True)
        widget.sort_by("name", reverse=True)
        widget.move_to("c150")
        widget.move_to("c7")
        widget.toggle_mark()  # c7, then the cursor moves down to c6
        assert widget.highlighted == rows[6] and widget.is_marked("c7")
        store = [row for row in rows if row.id != "c7"]  # c7 deleted meanwhile
        scanned = columns_of([list_row(row) for row in store])
        widget.load_rows(scanned.part(0, 50), fresh=True, complete=False)
        await pilot.pause()
        assert widget.total_count == 200 and widget.loaded_count == 50
        assert widget.visible_summaries()[0] == rows[199] and widget.highlighted == rows[6]
        assert "Co006" in screen_text(app) and "Co008" in screen_text(app)
        # Live updates during the reload: one the scan has passed, one it has not.
        passed = summary(3, name="Co003", status="failed")
        new = summary(999, name="New", dot="1")  # its place passed: the scan misses it
        widget.upsert([passed, new])
        assert widget.total_count == 201
        widget.load_rows(scanned.part(50, 150), fresh=False, complete=False)
        assert widget.total_count == 201 and widget.loaded_count == 150
        widget.load_rows(scanned.part(150, len(scanned)), fresh=False, complete=True)
        await pilot.pause()
        assert widget.total_count == widget.loaded_count == 200  # 199 from the scan, New
        assert widget.get("c7") is None and not widget.is_marked("c7")
        assert widget.get("c3") == passed and widget.get("c999") == new
        assert widget.sort_column == "name" and widget.sort_reverse
        assert [s.name for s in widget.visible_summaries()[:2]] == ["New", "Co199"]
        assert widget.highlighted == rows[6]


async def test_a_search_of_many_rows_shows_its_first_screen_then_counts_the_rest() -> None:
    """At 100,000 rows the operator's search paints its first matches before it has
    tested every row (the list says so: `counting`), then finds the rest between frames:
    the same rows, in order, as a search done at once."""
    rows = big_rows(100_000)
    app = ListApp()
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(CompanyList)
        widget.set_rows(rows)
        at_once = CompanyRows()
        at_once.set_rows(rows)
        at_once.set_filter(CompanyFilter(text="t"), NOW)
        wanted = [at_once.at(n) for n in range(len(at_once.view))]
        widget.set_filter(CompanyFilter(text="t"))
        assert widget.counting and widget.visible_count < len(wanted)
        on_screen = [strip.text for strip in strips(widget)[1:]]
        assert all(str(wanted[n].dot_number) in line for n, line in enumerate(on_screen))
        await eventually(lambda: not widget.counting, pause=pilot.pause)
        assert [s.id for s in widget.visible_summaries()] == [s.id for s in wanted]
