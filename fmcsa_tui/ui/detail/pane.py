"""The detail pane: the highlighted carrier in three tabs, Sync, Data and History.

The pane is given the carrier's document (`document`) and its live run state (`live`);
what the Data and History tabs need beyond the document (the carrier's inspections, its
run records) it reads itself through `reader` (inspections for the Data tab on screen,
run records on any tab), in a worker whose result arrives as a message. The tab on
screen stays as the list cursor moves.

The tabs are mounted after the first frame (`_mount_tabs`): a `TabbedContent` is
17 widgets, about 50 ms of CPU that the start would spend before the list's first rows
could show. Until then `tab` is the tab asked for and the pane shows nothing.

The History tab opens within a frame: its records are read before `3` asks for them,
it lists the runs that fit and more as it is scrolled (`history_body(runs=…)`), says
"reading…" only when the read takes longer than `READING_SHOWN_AFTER`, and leaves the
screen alone when a read brings the records already shown (a reload re-reads them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from rich.console import RenderableType
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static, TabbedContent, TabPane

from fmcsa_tui.formatting import one_line
from fmcsa_tui.models import Company, Source, summarize, utcnow
from fmcsa_tui.models.runs import RunRecord
from fmcsa_tui.store.base import StoreError
from fmcsa_tui.ui.detail.data_tab import data_body
from fmcsa_tui.ui.detail.history_tab import MAX_RUNS, history_body, runs_filling
from fmcsa_tui.ui.detail.sync_tab import sync_body, unreadable_body

Clock = Callable[[], datetime]
Tab = Literal["sync", "data", "history"]
TABS: tuple[Tab, ...] = ("sync", "data", "history")
#: A read back sooner than this shows its records without a "reading…" frame first.
READING_SHOWN_AFTER = 0.05


class DetailReader(Protocol):
    """What the pane reads besides the document: a `CompanyStore` is one."""

    async def inspections_for(self, company_id: str) -> list[dict[str, Any]]: ...

    async def runs_of(self, company_id: str, limit: int = 30) -> list[RunRecord]: ...


@dataclass
class ExtrasLoaded(Message):
    """A tab's reading for one carrier: its items, or the one-line error of the read."""

    company_id: str
    tab: Tab
    items: list[Any] | None
    error: str = ""


class DetailPane(Vertical):
    """Everything about the highlighted carrier, and its run's live state per source."""

    DEFAULT_CSS = """
    DetailPane TabbedContent { height: 1fr; }
    DetailPane TabPane { padding: 0; height: 1fr; }
    DetailPane VerticalScroll { height: 1fr; padding: 0 1; }
    DetailPane VerticalScroll > Static { width: 100%; }
    """

    document: reactive[dict[str, Any] | None] = reactive(None, always_update=True)
    live: reactive[dict[Source, str]] = reactive(dict, always_update=True)

    def __init__(
        self, *, clock: Clock = utcnow, reader: DetailReader | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._clock = clock
        self.reader = reader
        #: What the Data and History tabs read, by tab: (company id, items, error).
        self.extras: dict[Tab, tuple[str, list[Any] | None, str]] = {}
        #: What the History tab's body shows: (company id, records, runs listed).
        self._history_shown: tuple[str, list[Any], int] | None = None
        self._reading_timer: Timer | None = None
        #: The tabs, once mounted (after the first frame), and a tab asked for before
        #: they could show it (they take it when they first activate one).
        self._tabs: TabbedContent | None = None
        self._tab_asked: Tab | None = None

    def compose(self) -> ComposeResult:
        yield from ()  # the tabs come after the first frame: `_mount_tabs`

    def on_mount(self) -> None:
        self.call_after_refresh(self._mount_tabs)

    async def _mount_tabs(self) -> None:
        if not self.is_attached:  # the app closed before its first frame
            return
        tabs = TabbedContent()  # on Sync; a tab asked for comes with `_tab_changed`
        # (Textual's `initial` fails the mount of tabs the app is quitting under)
        for tab in TABS:
            body = Static(Text("No carrier selected", style="dim"), id=f"{tab}-body")
            tabs.compose_add_child(
                TabPane(tab.capitalize(), VerticalScroll(body), id=f"detail-{tab}")
            )
        await self.mount(tabs)
        if not self.query("#sync-body"):  # the app quit meanwhile: the tabs stay empty
            return
        self._tabs = tabs
        self.watch(self._history_scroll, "scroll_y", self._history_scrolled, init=False)
        self._update()

    # --- which tab ---------------------------------------------------------------------

    @property
    def tab(self) -> Tab:
        if self._tabs is None or not self._tabs.active:
            return self._tab_asked or "sync"
        active = self._tabs.active.removeprefix("detail-")
        return active if active in TABS else "sync"

    def show_tab(self, tab: Tab) -> None:
        if self._tabs is not None and self._tabs.active:
            self._tabs.active = f"detail-{tab}"
        else:  # not mounted yet, or mounted and not yet showing a tab
            self._tab_asked = tab

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        asked, self._tab_asked = self._tab_asked, None
        if asked is not None and self._tabs is not None and self.tab != asked:
            self._tabs.active = f"detail-{asked}"  # asked for while they were mounted
            return  # its own TabActivated updates the pane
        self._update()

    # --- what it shows -----------------------------------------------------------------

    @property
    def company_id(self) -> str | None:
        return None if self.document is None else summarize(self.document).id

    def watch_document(self) -> None:
        self._update()

    def watch_live(self) -> None:
        if self._tabs is not None:  # only the Sync tab shows the live state
            self.query_one("#sync-body", Static).update(self.render_body())

    def _update(self) -> None:
        if self._tabs is None:  # `_mount_tabs` calls it once they are
            return
        tab = self.tab
        company_id = self.company_id
        if tab == "history" and company_id is not None:
            self._show_history(company_id)
        else:
            self.query_one(f"#{tab}-body", Static).update(self.render_tab(tab))
        if company_id is not None:
            if tab == "data":
                self._read_extras(company_id, "data")
            self._read_extras(company_id, "history")  # on any tab: `3` finds it read

    def render_body(self) -> RenderableType:
        """The Sync tab's content."""
        return self.render_tab("sync")

    def render_tab(self, tab: Tab) -> RenderableType:
        doc = self.document
        if doc is None:
            return Text("No carrier selected", style="dim")
        summary = summarize(doc)
        if summary.status == "unreadable" and tab == "sync":
            return unreadable_body(summary)
        if tab == "sync":
            return sync_body(doc, Company.model_validate(doc), summary, self.live, self._clock())
        company_id, items, error = self.extras.get(tab, ("", None, ""))
        if company_id != summary.id:
            items, error = None, ""
        if error:
            return Text(f"Could not read the {tab}: {error}", style="red")
        if tab == "data":
            return data_body(doc, items)
        return history_body(items)

    def run_ended(self, company_id: str) -> None:
        """A run of `company_id` ended: its new record shows if its History is on screen
        (a run that wrote nothing, cancelled early, reloads no document)."""
        if self.is_mounted and self.tab == "history" and self.company_id == company_id:
            self._read_extras(company_id, "history")

    # --- reading the Data and History tabs' extras ------------------------------------

    def _read_extras(self, company_id: str, tab: Tab) -> None:
        """The carrier's inspections (Data) or run records (History); a document reload
        reads them again, so a run's new inspections show as it writes them. The run
        records are read whatever the tab (under a millisecond at 100,000 carriers x 30
        runs, on the store's thread), so `3` shows them in the frame that shows the tab."""
        if tab == "data":
            self._read_data(company_id)
        else:
            self._read_history(company_id)

    @work(group="detail-data", exclusive=True, exit_on_error=False)
    async def _read_data(self, company_id: str) -> None:
        await self._read(company_id, "data")

    @work(group="detail-history", exclusive=True, exit_on_error=False)
    async def _read_history(self, company_id: str) -> None:
        await self._read(company_id, "history")

    async def _read(self, company_id: str, tab: Tab) -> None:
        reader = self.reader
        if reader is None:
            return
        try:
            if tab == "data":
                items: list[Any] = await reader.inspections_for(company_id)
            else:
                items = await reader.runs_of(company_id, limit=MAX_RUNS)
        except StoreError as error:
            self.post_message(ExtrasLoaded(company_id, tab, None, one_line(error)))
            return
        self.post_message(ExtrasLoaded(company_id, tab, items))

    @on(ExtrasLoaded)
    def _extras_loaded(self, message: ExtrasLoaded) -> None:
        message.stop()
        self.extras[message.tab] = (message.company_id, message.items, message.error)
        if self._tabs is None or message.tab != self.tab or message.company_id != self.company_id:
            return
        if message.tab == "history":
            self._show_history(message.company_id)
        else:
            self.query_one(f"#{message.tab}-body", Static).update(self.render_tab(message.tab))

    # --- the History tab: what fits first, more on scroll ------------------------------

    @property
    def _history_scroll(self) -> VerticalScroll:
        return self.query_one("#detail-history VerticalScroll", VerticalScroll)

    def _show_history(self, company_id: str) -> None:
        """The carrier's records if read, the runs that fit (and a page more); blank
        until they are, "reading…" once the read takes longer than a frame or two."""
        shown_id, records, error = self.extras.get("history", ("", None, ""))
        if self._reading_timer is not None:
            self._reading_timer.stop()
            self._reading_timer = None
        if shown_id != company_id or (records is None and not error):
            if self._history_shown is None or self._history_shown[0] != company_id:
                self._history_body(Text(""), None)  # another carrier's runs: never shown
            self._reading_timer = self.set_timer(
                READING_SHOWN_AFTER, lambda: self._show_reading(company_id)
            )
            return
        if error or not records:
            self._history_body(self.render_tab("history"), None)
            return
        if self._history_shown is not None and self._history_shown[:2] == (company_id, records):
            return  # the same records: the body on screen stays, scrolled where it was
        height = self._history_scroll.size.height or self.size.height
        runs = runs_filling(records, height + 12)  # and a little more to scroll into
        self._history_body(history_body(records, runs), (company_id, records, runs))
        self._history_scroll.scroll_home(animate=False)

    def _show_reading(self, company_id: str) -> None:
        """Still reading `company_id`'s runs? (A timer may fire as the records arrive.)"""
        self._reading_timer = None
        read_for, _, _ = self.extras.get("history", ("", None, ""))
        if self.tab == "history" and self.company_id == company_id != read_for:
            self._history_body(history_body(None), None)

    def _history_body(self, body: RenderableType, shown: tuple[str, list[Any], int] | None) -> None:
        self._history_shown = shown
        self.query_one("#history-body", Static).update(body)

    def _history_scrolled(self) -> None:
        """Near the end of the runs listed: list them all."""
        shown, scroll = self._history_shown, self._history_scroll
        if shown is None or shown[2] >= len(shown[1]):
            return
        if scroll.scroll_y + 2 * scroll.size.height >= scroll.virtual_size.height:
            company_id, records, _ = shown
            self._history_body(history_body(records), (company_id, records, len(records)))
