"""`CompanyList`: the operator's list of carriers, 100,000 rows without a stall.

A `ScrollView` on Textual's Line API: `render_line` builds only the rows on screen, from
the pure model in `fmcsa_tui.ui.rows`. Line 0 is a pinned header (clicking a title
sorts by it); the rows scroll beneath it. Names are rendered literally, made safe by
`fmcsa_tui.formatting.safe_line` and cut by cell width, so columns stay aligned whatever a
document holds. A gutter left of the DOT shows the operator's marks (`space`, `*`),
kept by company id across filtering and sorting.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar, overload

from rich.style import Style
from textual import events
from textual.await_remove import AwaitRemove
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from fmcsa_tui.models import CompanySummary, Source, utcnow
from fmcsa_tui.store.base import CompanyFilter
from fmcsa_tui.store.listing import ListColumns
from fmcsa_tui.ui.list_lines import MARK_WIDTH, SPINNER_FRAMES, header_line, row_line
from fmcsa_tui.ui.rows import COLUMNS, GAP, SORT_COLUMNS, CompanyRows, column_widths

__all__ = ["FAILED_CYCLE", "SPINNER_FRAMES", "CompanyList"]

#: What `f` steps through: every carrier, any failure, then each source's failures.
FAILED_CYCLE: list[str | None] = [None, "any", *(source.value for source in Source)]

_SPINNER_INTERVAL = 1 / 8
_AGE_REFRESH_INTERVAL = 30.0
#: How long a search under way may hold the event loop at a time, in steps of
#: `_SEARCH_STEP` texts (under 1-2 ms at 1,000,000 rows); it gives way sooner to a
#: message waiting for the app or the focused widget (a key still in the driver's
#: hands is not seen: the slice bounds its wait).
_SEARCH_SLICE_S = 0.004
_SEARCH_STEP = 4096
#: How long after the operator's last change of the search the rest is looked for: keys
#: typed in a burst each find a screen of rows, and the count waits for a pause.
_SEARCH_QUIET_S = 0.03
#: How often a search under way shows how far it got (the count and the scroll range:
#: each a new layout, 15-20 ms at 160x45), besides when it is done.
_SEARCH_SHOW_S = 0.25

_widths = lru_cache(maxsize=8)(column_widths)


class CompanyList(ScrollView, can_focus=True):
    """Carriers, one per line: DOT, name, status, last run and each source's age.

    The cursor stays on the same company (by id) across filtering, sorting and data
    updates. A company the operator's filter or search leaves out puts the cursor on the
    first row (a key typed next acts on a row the operator can see at the top); one a live
    update takes out leaves the cursor at the same index.
    """

    ALLOW_SELECT = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False, id="list.cursor_up"),
        Binding("down", "cursor_down", "Down", show=False, id="list.cursor_down"),
        Binding("pageup", "cursor_page_up", "Page up", show=False, id="list.page_up"),
        Binding("pagedown", "cursor_page_down", "Page down", show=False, id="list.page_down"),
        Binding("home", "cursor_first", "First", show=False, id="list.cursor_first"),
        Binding("end", "cursor_last", "Last", show=False, id="list.cursor_last"),
        Binding("enter", "select", "Open", show=False, id="list.select"),
        Binding("o", "cycle_sort", "Sort", show=False, id="list.cycle_sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, id="list.reverse_sort"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "company-list--header",
        "company-list--cursor",
        "company-list--ok",
        "company-list--failed",
        "company-list--never",
        "company-list--syncing",
        "company-list--unreadable",
        "company-list--stale",
        "company-list--error-mark",
        "company-list--mark",
    }

    DEFAULT_CSS = """
    CompanyList {
        background: $surface;
        color: $foreground;
        overflow-x: auto;
        overflow-y: scroll;
        & > .company-list--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .company-list--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .company-list--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .company-list--ok { color: $text-success; }
        & > .company-list--failed { color: $text-error; }
        & > .company-list--never { color: $text-warning; }
        & > .company-list--syncing { color: $text-accent; text-style: bold; }
        & > .company-list--unreadable { color: $text-secondary; }
        & > .company-list--stale { color: $text-warning; }
        & > .company-list--error-mark { color: $text-error; text-style: bold; }
        & > .company-list--mark { color: $text-accent; text-style: bold; }
    }
    """

    class Highlighted(Message):
        """The highlighted company changed, or its data did. None: the list is empty."""

        def __init__(self, company_list: CompanyList, summary: CompanySummary | None) -> None:
            self.company_list = company_list
            self.summary = summary
            super().__init__()

        @property
        def control(self) -> CompanyList:
            return self.company_list

    class _Changed(Message):
        """Something about the list as a whole changed (its `control` is the list)."""

        def __init__(self, company_list: CompanyList) -> None:
            self.company_list = company_list
            super().__init__()

        @property
        def control(self) -> CompanyList:
            return self.company_list

    class ViewChanged(_Changed):
        """Rows, the filter or the sort changed: counts and the filter bar are to redo."""

    class MarksChanged(_Changed):
        """Carriers were marked or unmarked, or marked ones left the list."""

    class Selected(Message):
        """Enter (or a double click) on a company."""

        def __init__(self, company_list: CompanyList, summary: CompanySummary) -> None:
            self.company_list = company_list
            self.summary = summary
            super().__init__()

        @property
        def control(self) -> CompanyList:
            return self.company_list

    cursor_row: reactive[int] = reactive(0, init=False)
    """Position of the cursor in the view (0 = first row under the header)."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = utcnow,
        stale_after: timedelta = timedelta(hours=24),
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._clock = clock
        self._stale_after = stale_after
        self._rows = CompanyRows()
        # A reload of a shown list, batch by batch, in the scan's order (swapped in whole).
        self._reloading: CompanyRows | None = None
        self._pending: dict[str, CompanySummary] = {}  # its live updates the scan may bring
        self._syncing: frozenset[str] = frozenset()
        self._spinner_frame = 0
        self._spinner_timer: Timer | None = None
        self._last_highlighted: CompanySummary | None = None
        self._marks: set[str] = set()
        self._searching = False  # a slice of a search under way is scheduled
        self._search_shown = 0.0  # when a search under way last showed its count
        self._search_set = 0.0  # when the operator last changed the filter

    # -- public API

    @property
    def filter(self) -> CompanyFilter:
        return self._rows.filter

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def loaded_count(self) -> int:
        """Rows the current load has brought so far (all of them once it is complete)."""
        return len(self._rows if self._reloading is None else self._reloading)

    @property
    def status_counts(self) -> Counter[str]:
        """How many rows have each status (all rows, whatever the filter)."""
        return self._rows.status_counts

    @property
    def visible_count(self) -> int:
        """Rows in the view: those found so far while `counting`."""
        return len(self._rows.view)

    @property
    def counting(self) -> bool:
        """Whether a search is still finding rows (after the first screen's)."""
        return self._rows.pending

    @property
    def sort_column(self) -> str:
        return self._rows.sort_column

    @property
    def sort_reverse(self) -> bool:
        return self._rows.sort_reverse

    @property
    def highlighted(self) -> CompanySummary | None:
        if not self._rows.view:
            return None
        return self._rows.at(min(self.cursor_row, len(self._rows.view) - 1))

    @property
    def mark_count(self) -> int:
        return len(self._marks)

    def is_marked(self, company_id: str) -> bool:
        return company_id in self._marks

    def marked_summaries(self) -> list[CompanySummary]:
        """The marked companies, in view or filtered out, in no promised order."""
        return [s for s in map(self._rows.get, self._marks) if s is not None]

    def toggle_mark(self) -> None:
        """Mark or unmark the highlighted company, then move down (as in a file manager)."""
        summary = self.highlighted
        if summary is None:
            return
        self._marks.symmetric_difference_update((summary.id,))
        self.cursor_row += 1
        self._marks_changed()

    def mark_view(self) -> None:
        """Mark every company in the view (those marked already stay marked)."""
        self._marks.update(self._rows.visible_ids())
        self._marks_changed()

    def clear_marks(self) -> None:
        self._marks.clear()
        self._marks_changed()

    def _marks_changed(self) -> None:
        self.post_message(self.MarksChanged(self))
        self.refresh()

    def _drop_vanished_marks(self) -> None:
        """Marks follow their companies: a company gone from the list takes its mark.
        Only rows replaced or removed can go: filtering, sorting and upserts keep them."""
        gone = {mark for mark in self._marks if self._rows.get(mark) is None}
        if gone:
            self._marks -= gone
            self.post_message(self.MarksChanged(self))

    def set_rows(self, summaries: list[CompanySummary]) -> None:
        """Replace all data."""
        self._reloading, self._pending = None, {}
        self._change_view(lambda: self._rows.set_rows(summaries))
        self._drop_vanished_marks()

    def load_rows(self, rows: ListColumns, *, fresh: bool, complete: bool) -> None:
        """A batch of a load (see `StoreFeed`): `fresh` replaces every row; marks of
        companies gone are dropped once the load is `complete`.

        The first load shows each batch as it comes. A reload (the store came back)
        keeps showing every row it had until the new ones are all in, then swaps them
        in at once with the sort and filter of the moment: it showed only the first
        batch for a while, and sorted the whole list again for every batch."""
        if fresh and (self._rows or self._reloading is not None):
            self._reloading, self._pending = CompanyRows(), {}
        if self._reloading is not None:
            self._reloading.extend(rows)
            if complete:
                self._swap_in(self._reloading)
            return

        def load() -> None:
            if fresh:
                self._rows.clear()
            self._rows.extend(rows)
            if complete:  # rows a load left unsorted at the end (a sort other than DOT's)
                self._rows.settle()

        self._change_view(load)
        if complete:
            self._drop_vanished_marks()

    def _swap_in(self, reloaded: CompanyRows) -> None:
        """A complete reload replaces the rows shown, sorted and filtered as they are."""
        self._reloading = None
        reloaded.upsert(s for s in self._pending.values() if reloaded.get(s.id) is None)
        self._pending = {}
        shown = self._rows
        reloaded.set_sort(shown.sort_column, shown.sort_reverse)
        reloaded.set_filter(shown.filter, self._clock())

        def swap() -> None:
            self._rows = reloaded

        self._change_view(swap)
        self._drop_vanished_marks()

    def upsert(self, summaries: Iterable[CompanySummary]) -> None:
        """Add or replace rows by id; sort, filter and cursor are kept. A reload under
        way gets those its scan has passed; the others wait for the end of the scan,
        which brings them as new, unless it had passed their place (a new carrier)."""
        summaries = list(summaries)
        reloading = self._reloading
        if reloading is not None:
            reloading.upsert(s for s in summaries if reloading.get(s.id) is not None)
            self._pending.update((s.id, s) for s in summaries if reloading.get(s.id) is None)
        self._change_view(lambda: self._rows.upsert(summaries))

    @overload
    def remove(self) -> AwaitRemove: ...

    @overload
    def remove(self, ids: Iterable[str]) -> None: ...

    def remove(self, ids: Iterable[str] | None = None) -> AwaitRemove | None:
        """Remove the companies with these ids; without ids, the widget (as `Widget.remove`)."""
        if ids is None:
            return super().remove()
        ids = list(ids)
        if self._reloading is not None:
            self._reloading.remove(ids)
            for company_id in ids:
                self._pending.pop(company_id, None)
        self._change_view(lambda: self._rows.remove(ids))
        self._drop_vanished_marks()
        return None

    def set_filter(self, flt: CompanyFilter) -> None:
        """Show only the companies `flt.matches` (its stale rule uses this widget's clock);
        the operator's change: a highlighted company left out puts the cursor first.

        A search paints as soon as it has found a screen of rows; the rest are found
        after each frame (`_search_on`, `counting` until then)."""
        now, first = self._clock(), self._page_height + 1
        self._change_view(lambda: self._rows.set_filter(flt, now, first), lost_to_top=True)
        self._search_shown = self._search_set = time.perf_counter()
        self._search_later()

    def _input_waiting(self) -> bool:
        focused = self.screen.focused
        waiting = self.app.message_queue_size
        return bool(waiting or (focused is not None and focused.message_queue_size))

    def _search_later(self) -> None:
        if self._rows.pending and not self._searching:
            self._searching = self.call_after_refresh(self._search_on)

    def _search_on(self) -> None:
        """Find more rows of the search under way for a slice of time (less when a key
        or any message waits for the app or the focused widget), from `_SEARCH_QUIET_S`
        after the operator's last change, and again once the screen is idle while it is
        not done; the count and the scroll range are shown when it is done (and every
        `_SEARCH_SHOW_S` until then)."""
        self._searching = False
        rows = self._rows
        if not rows.pending:
            return
        started = time.perf_counter()
        quiet = self._search_set + _SEARCH_QUIET_S - started
        if quiet > 0:
            self._searching = True
            self.set_timer(quiet, self._search_on)
            return
        while (
            rows.advance(_SEARCH_STEP)
            and time.perf_counter() - started < _SEARCH_SLICE_S
            and not self._input_waiting()
        ):
            pass
        if not rows.pending or started - self._search_shown > _SEARCH_SHOW_S:
            self._search_shown = started
            self._update_virtual_size()
            self.post_message(self.ViewChanged(self))
            self.refresh()
        self._search_later()

    def narrow(self, **changes: Any) -> None:
        """Change some fields of the filter, keeping the others."""
        self.set_filter(dataclasses.replace(self.filter, **changes))

    def cycle_failed_source(self) -> None:
        """all → any failure → csa_scores → violations → inspections → all."""
        current = self.filter.failed_source
        position = FAILED_CYCLE.index(current) if current in FAILED_CYCLE else 0
        self.narrow(failed_source=FAILED_CYCLE[(position + 1) % len(FAILED_CYCLE)])

    def toggle_stale(self) -> None:
        """Stale only (older than this list's stale age), or not."""
        self.narrow(stale_after=None if self.filter.stale_after else self._stale_after)

    def toggle_never(self) -> None:
        self.narrow(status=None if self.filter.status == "never" else "never")

    def set_syncing(self, ids: set[str]) -> None:
        """Show these companies as syncing, with a spinner, until the next call."""
        self._syncing = frozenset(ids)
        if self._spinner_timer is not None:
            if self._syncing:
                self._spinner_timer.resume()
            else:
                self._spinner_timer.pause()
        self.refresh()

    def visible_summaries(self) -> list[CompanySummary]:
        """The companies in the view, in display order."""
        return self._rows.visible_summaries()

    def get(self, company_id: str) -> CompanySummary | None:
        return self._rows.get(company_id)

    def move_to(self, company_id: str) -> None:
        """Put the cursor on the company, if it is in the view."""
        position = self._rows.position_of(company_id)
        if position is not None:
            self.cursor_row = position

    def sort_by(self, column: str, reverse: bool = False) -> None:
        """Sort by a column key (see `fmcsa_tui.ui.rows.SORT_COLUMNS`)."""
        self._change_view(lambda: self._rows.set_sort(column, reverse))

    # -- keeping the cursor, the scroll range and the messages right

    def _change_view(self, change: Callable[[], None], *, lost_to_top: bool = False) -> None:
        """Apply a change to the rows; the cursor follows its company, or, when the
        company left the view, goes to the first row (`lost_to_top`) or keeps its index."""
        before = self.highlighted
        row = self.cursor_row
        change()
        if before is not None:
            position = self._rows.position_of(before.id)
            if position is not None:
                row = position
            elif lost_to_top:
                row = 0
        self._rows.reach(row + self._page_height + 1)  # the screen of a search under way
        self._update_virtual_size()
        self.cursor_row = row  # validated into range; the watcher scrolls and posts
        self._post_highlighted()
        self.post_message(self.ViewChanged(self))
        self.refresh()

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self._rows.view) - 1))

    def watch_cursor_row(self) -> None:
        self._scroll_to_cursor()
        self._post_highlighted()

    def _post_highlighted(self) -> None:
        summary = self.highlighted
        if summary != self._last_highlighted:
            self._last_highlighted = summary
            self.post_message(self.Highlighted(self, summary))

    @property
    def _columns_width(self) -> int:
        """The cells the columns share: the line less the mark gutter."""
        return self.scrollable_content_region.width - MARK_WIDTH

    def _update_virtual_size(self) -> None:
        width = self.scrollable_content_region.width
        line_width = MARK_WIDTH + sum(_widths(self._columns_width)) + GAP * (len(COLUMNS) - 1)
        self.virtual_size = Size(max(width, line_width), len(self._rows.view) + 1)

    @property
    def _page_height(self) -> int:
        """How many rows fit under the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        if not self.is_mounted:
            return
        top = round(self.scroll_y)
        row, page = self.cursor_row, self._page_height
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + page:
            self.scroll_to(y=row - page + 1, animate=False)

    # -- events and timers

    def on_mount(self) -> None:
        self._spinner_timer = self.set_interval(
            _SPINNER_INTERVAL, self._advance_spinner, pause=not self._syncing
        )
        self.set_interval(_AGE_REFRESH_INTERVAL, self._refresh_ages)
        self._update_virtual_size()

    def on_resize(self) -> None:
        self._update_virtual_size()
        self._scroll_to_cursor()

    def _advance_spinner(self) -> None:
        """Next spinner frame; repaint only the syncing rows on screen, if any."""
        if self.app.animation_level == "none":
            return  # TEXTUAL_ANIMATIONS=none: a still frame, for screen readers and snapshots
        self._spinner_frame = (self._spinner_frame + 1) % len(SPINNER_FRAMES)
        top = round(self.scroll_y)
        bottom = min(top + self._page_height, len(self._rows.view))
        syncing, id_at = self._syncing, self._rows.id_at
        for position in range(top, bottom):
            if id_at(position) in syncing:
                self.refresh_line(position + 1)  # virtual line: the header is line 0

    def _refresh_ages(self) -> None:
        if self.filter.stale_after is not None:  # rows may have turned stale since
            self._change_view(lambda: self._rows.refilter(self._clock()))
        else:
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + round(self.scroll_x) - MARK_WIDTH)
            if column is not None:
                self.action_sort(column)
            return
        position = round(self.scroll_y) + offset.y - 1
        if position < len(self._rows.view):
            self.cursor_row = position
            if event.chain >= 2:
                self.action_select()

    def _column_at(self, x: int) -> str | None:
        """The key of the column at cell `x` of a line (a gap belongs to its left)."""
        start = 0
        for column, width in zip(COLUMNS, _widths(self._columns_width), strict=True):
            start += width + GAP
            if x < start:
                return column.key
        return None

    # -- actions

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_cursor_page_up(self) -> None:
        self.cursor_row -= self._page_height

    def action_cursor_page_down(self) -> None:
        self.cursor_row += self._page_height

    def action_cursor_first(self) -> None:
        self.cursor_row = 0

    def action_cursor_last(self) -> None:
        self._rows.complete()
        self._update_virtual_size()
        self.cursor_row = len(self._rows.view) - 1

    def action_select(self) -> None:
        summary = self.highlighted
        if summary is not None:
            self.post_message(self.Selected(self, summary))

    def action_sort(self, column: str) -> None:
        """Sort by `column`, ascending; the sorted column again flips the direction."""
        if column == self.sort_column:
            self.sort_by(column, not self.sort_reverse)
        else:
            self.sort_by(column)

    def action_cycle_sort(self) -> None:
        following = (SORT_COLUMNS.index(self.sort_column) + 1) % len(SORT_COLUMNS)
        self.sort_by(SORT_COLUMNS[following])

    def action_reverse_sort(self) -> None:
        self.sort_by(self.sort_column, not self.sort_reverse)

    # -- rendering

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        widths = _widths(self._columns_width)
        base = self.rich_style
        if y == 0:
            strip = self._header_strip(widths)
        else:
            position = scroll_y + y - 1
            if position >= len(self._rows.view):
                return Strip.blank(width, base)
            strip = self._row_strip(position, widths, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _header_strip(self, widths: tuple[int, ...]) -> Strip:
        style = self.get_component_rich_style("company-list--header")
        return header_line(widths, self.sort_column, self.sort_reverse, style)

    def _row_strip(self, position: int, widths: tuple[int, ...], base: Style) -> Strip:
        summary = self._rows.at(position)
        component = self.get_component_rich_style
        cursor = position == self.cursor_row
        if cursor:
            base = base + component("company-list--cursor")

        def styled(name: str) -> Style:
            """A status's colour; on the cursor row the cursor's, which every theme
            makes legible on the cursor's background (a status colour may not be)."""
            return base if cursor else base + component(f"company-list--{name}", partial=True)

        frame = SPINNER_FRAMES[self._spinner_frame] if summary.id in self._syncing else None
        marked = summary.id in self._marks
        return row_line(
            summary, widths, base, styled, self._clock(), self._stale_after, frame, marked
        )
