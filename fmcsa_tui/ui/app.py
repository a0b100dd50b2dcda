"""The dashboard: a view over the store feed and the run coordinator.

The app keeps no run or store state of its own. `RunCoordinator` owns runs, the queue
and each carrier's live per-source state; `StoreFeed` loads the store and follows it
(see `fmcsa_tui.coordinator`). Each reports through one callback, which the app posts
to itself as a message (`FeedMessage`, `RunMessage`); the handlers set the reactives the
header and the filter bar are bound to and hand rows to the list. Store reads run in
workers, never on the event loop; the keys are the table in `fmcsa_tui.ui.actions`.
Read-only (the setting, or a store opened so) leaves every write action out: its keys
do nothing and are not in the footer, the help or the palette; the store refuses too.
Mixins hold what stands apart: `FactsActions` (copy, export, SAFER), `FleetActions`
(`F`), `KeysInPlay` (which keys act now, the footer), `QuittingApp` (quitting).
"""

from __future__ import annotations

import asyncio
import gc
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, cast

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Container
from textual.reactive import var
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input

from fmcsa_tui.coordinator import Notice, QueueChanged, RunCoordinator, RunEnded
from fmcsa_tui.coordinator.feed import Changed, Connection, FeedUpdate, Leases, Loaded, StoreFeed
from fmcsa_tui.formatting import one_line, safe_line
from fmcsa_tui.models import Source, utcnow
from fmcsa_tui.models.runs import Origin
from fmcsa_tui.settings import ConfigError, Settings
from fmcsa_tui.store.base import CompanyFilter, CompanyStore
from fmcsa_tui.sync.engine import ALL_SOURCES, StopSignals, SyncEngine
from fmcsa_tui.sync.events import HistoryNotWritten, SourceFailed, SourceSucceeded
from fmcsa_tui.ui.actions import (
    APP_BINDINGS,
    ActionCommands,
    help_sections,
)
from fmcsa_tui.ui.company_list import CompanyList
from fmcsa_tui.ui.detail import TABS, Tab
from fmcsa_tui.ui.facts_actions import FactsActions
from fmcsa_tui.ui.fleet import FleetActions
from fmcsa_tui.ui.keys_in_play import KeysFooter, KeysInPlay
from fmcsa_tui.ui.list_lines import MARK_WIDTH
from fmcsa_tui.ui.marking import ask_to_resync, clear_marks
from fmcsa_tui.ui.messages import DetailLoaded, FeedMessage, RunMessage, while_on_screen
from fmcsa_tui.ui.quitting import QuittingApp
from fmcsa_tui.ui.rows import COLUMNS, GAP, column_widths
from fmcsa_tui.ui.screens import HelpScreen
from fmcsa_tui.ui.themes import checked_theme, remember_theme, status_colours
from fmcsa_tui.ui.widgets import ActivityPanel, DetailPane, FilterBar, StatusHeader, describe_filter

#: The detail pane's width beside the list (`#detail` in styles.tcss) and its border.
DETAIL_WIDTH = 64 + 1
#: The list's every column at its narrowest, with the marks' gutter and the scrollbar.
LIST_WIDTH = MARK_WIDTH + sum(column_widths(0)) + GAP * (len(COLUMNS) - 1) + 2
#: Side by side only where both fit (150 columns); below, the detail goes under the list
#: rather than cutting the list's last columns off behind a horizontal scrollbar.
SIDE_BY_SIDE_FROM = LIST_WIDTH + DETAIL_WIDTH


def stylesheet() -> Path:
    """styles.tcss: inside the package, where the wheel and an editable install put it."""
    return Path(__file__).resolve().parent.parent / "styles.tcss"


class FmcsaApp(FactsActions, FleetActions, KeysInPlay, QuittingApp):
    """The operators' dashboard over a `CompanyStore` and the `SyncEngine`."""

    TITLE = "fmcsa-tui"
    CSS_PATH = stylesheet()
    COMMANDS = App.COMMANDS | {ActionCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (SIDE_BY_SIDE_FROM, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = list(APP_BINDINGS)

    # What the header and the filter bar show (bound to them in `compose`). `var`, not
    # `reactive`: a change must redraw the widget bound to it, never the whole screen.
    counts: var[tuple[int, int, int, int]] = var((0, 0, 0, 0))  # total/failed/never/sync
    total: var[int] = var(0)
    queued: var[int] = var(0)
    loading: var[bool] = var(True)
    loaded: var[tuple[int, int]] = var((0, 0))  # rows in the list, rows the load brings
    connected: var[bool] = var(True)
    disconnect_reason: var[str] = var("")
    live_mode: var[str] = var("polling")
    filter_text: var[str] = var("all carriers")
    shown: var[int] = var(0)
    sort: var[str] = var("")
    marked: var[int] = var(0)

    def __init__(
        self,
        store: CompanyStore,
        settings: Settings,
        *,
        clock: Any = utcnow,
        poll_interval: float = 2.0,
        engine: SyncEngine | None = None,
        close_store: bool = False,
    ) -> None:
        """`store` may be unopened: the feed opens it on the app's own event loop (a
        MongoDB client belongs to the loop it was opened on); `close_store` says the
        app owns it and closes it on exit."""
        # What the imports made (~80,000 objects: modules, classes) lives as long as the
        # process: frozen, out of the cyclic GC's sight, a full collection while the
        # first screen is composed walks only what the start makes (it walked them all:
        # 35-65 ms on these 2 cores, right before the first rows).
        gc.freeze()
        super().__init__()
        #: The theme the config already holds (or the environment gives): a pick of
        #: another one is saved (`watch_theme`). ConfigError for an unknown name.
        self._saved_theme = checked_theme(self, settings.theme)
        self.theme = self._saved_theme
        self.store = store
        self.close_store = close_store
        self.settings = settings
        #: Browsing only: what the header says and `check_action` enforces.
        self.read_only = settings.read_only or store.read_only
        self.clock = clock
        self.poll_interval = poll_interval
        self.engine = engine or SyncEngine(store, settings, origin=Origin.DASHBOARD)
        self.stale_after = timedelta(hours=settings.stale_after_hours)
        self.runs = RunCoordinator(self.engine, listener=self._post_notice)
        self.feed = StoreFeed(store, owner=self.engine.owner, interval=poll_interval)
        #: SIGTERM or SIGHUP: nobody is there to answer a prompt, so they cancel every
        #: run cleanly, as a confirmed quit does (`stopped_by` gives the exit status).
        self._signals = StopSignals(lambda _signum: self._cancel_and_exit())
        self._detail_timer: Timer | None = None
        self.closing_down = False
        #: What the filter bar calls the fleet screen's error filter while it is on.
        self.ids_label = ""

    @property
    def stopped_by(self) -> int | None:
        """The signal that ended the dashboard, if one did."""
        return self._signals.received

    # --- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = FmcsaApp
        header = StatusHeader(
            store_label=self.store.description, read_only=self.read_only, id="header"
        )
        yield header.data_bind(
            counts=app.counts, queued=app.queued, rows_loading=app.loading,
            connected=app.connected, loaded=app.loaded,
            disconnect_reason=app.disconnect_reason, refresh_mode=app.live_mode,
            marked=app.marked,
        )  # fmt: skip
        yield FilterBar(id="filter-bar").data_bind(
            description=app.filter_text, shown=app.shown, sort=app.sort, total=app.total
        )
        yield Input(placeholder="Search DOT, name or MC…", id="search")
        with Container(id="main"):
            yield CompanyList(clock=self.clock, stale_after=self.stale_after, id="companies")
            yield DetailPane(clock=self.clock, reader=self.store, id="detail")
        yield ActivityPanel(clock=self.clock, id="activity")
        yield KeysFooter(compact=True)

    @property
    def companies(self) -> CompanyList:
        return self.query_one(CompanyList)

    @property
    def detail(self) -> DetailPane:
        return self.query_one(DetailPane)

    @property
    def activity(self) -> ActivityPanel:
        return self.query_one(ActivityPanel)

    def on_mount(self) -> None:
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        self._signals.__enter__()
        self.companies.focus()
        self._refresh_footer()
        self._follow_store()

    def get_css_variables(self) -> dict[str, str]:
        """The theme's variables and `$status-*`, the list's status colours derived from
        them, legible on the theme's background (styles.tcss uses them)."""
        variables = super().get_css_variables()
        variables.update(status_colours(variables))
        return variables

    def watch_theme(self, name: str) -> None:
        if name != self._saved_theme:
            self._saved_theme = name
            remember_theme(self, name)

    async def on_unmount(self) -> None:
        self.closing_down = True
        self._signals.__exit__()
        await self.engine.aclose()
        if self.close_store:
            await self.store.close()

    # --- the store, as the feed tells it -------------------------------------------

    @work(group="feed", exclusive=True, exit_on_error=False)
    async def _follow_store(self) -> None:
        await self.feed.follow(self._post_update)

    def _post_update(self, update: FeedUpdate) -> None:
        self.post_message(FeedMessage(update))

    @on(FeedMessage)
    @while_on_screen
    def _feed_update(self, message: FeedMessage) -> None:
        update: FeedUpdate = message.update
        if isinstance(update, Loaded):
            self.companies.load_rows(update.rows, fresh=update.fresh, complete=update.complete)
            self.loading = not update.complete
            self.loaded = (self.companies.loaded_count, update.expected)
            if update.complete:  # 100,000 long-lived rows: keep the cyclic GC off them
                gc.freeze()
                self._import_http_side()
        elif isinstance(update, Changed):
            self.companies.upsert(update.summaries)
            highlighted = self.companies.highlighted
            if highlighted and any(s.id == highlighted.id for s in update.summaries):
                self._schedule_detail(highlighted.id, delay=0)
        elif isinstance(update, Leases):
            self.runs.elsewhere = update.ids
            self._show_runs()
        elif isinstance(update, Connection):
            self._connection(update)

    @work(thread=True, group="warm-up", exit_on_error=False)
    def _import_http_side(self) -> None:
        """The engine's HTTP side (httpx, aiohttp: 0.2 s of imports the start leaves out)
        imported off the event loop once the list is loaded, so that the first resync
        does not hold the screen still while it is."""
        import fmcsa_tui.sync.batching
        import fmcsa_tui.sync.sources  # noqa: F401

    def _connection(self, update: Connection) -> None:
        if update.live is not None:
            self.live_mode = update.live.value
        if update.connected == self.connected:
            return
        self.connected, self.disconnect_reason = update.connected, update.reason
        if update.connected:
            self.notify("Store reachable again; list refreshed.", title="Reconnected")
            self.activity.note("store reachable again", "green")
            return
        self.notify(
            f"{update.reason}. Showing the last data; retrying every {self.poll_interval:g}s.",
            title="Store unreachable",
            severity="error",
        )
        self.activity.note(f"store unreachable: {update.reason}", "bold red")

    @on(CompanyList.ViewChanged)
    @while_on_screen
    def _view_changed(self, _message: CompanyList.ViewChanged) -> None:
        companies = self.companies
        self.filter_text = describe_filter(companies.filter, self.stale_after)
        if companies.filter.company_ids is not None:  # the fleet screen's error filter
            rest = "" if self.filter_text == "all carriers" else f" · {self.filter_text}"
            self.filter_text = self.ids_label + rest
        if companies.counting:  # a search shows its first rows, then finds the rest
            self.filter_text += " · counting…"
        self.shown = companies.visible_count
        self.sort = f"{companies.sort_column} {'▼' if companies.sort_reverse else '▲'}"
        self._show_counts()
        self._refresh_footer()

    @on(CompanyList.MarksChanged)
    def _marks_changed(self) -> None:
        self.marked = self.companies.mark_count
        self._refresh_footer()

    def _show_counts(self) -> None:
        counts = self.companies.status_counts
        total = self.companies.total_count
        self.total = total
        self.counts = (total, counts["failed"], counts["never"], len(self.runs.syncing_ids()))
        self.queued = self.runs.queued

    # --- runs, as the coordinator tells them ---------------------------------------

    def _post_notice(self, notice: Notice) -> None:
        self.post_message(RunMessage(notice))

    @on(RunMessage)
    @while_on_screen
    def _run_notice(self, message: RunMessage) -> None:
        notice = message.notice
        if isinstance(notice, RunEnded):
            self._run_ended(notice)
        elif isinstance(notice, HistoryNotWritten):
            self.activity.note(f"DOT {notice.dot_number}: {safe_line(notice.error)}", "yellow")
        elif not isinstance(notice, QueueChanged):  # one of the engine's events
            self.activity.record(notice)
            if isinstance(notice, SourceSucceeded | SourceFailed):
                self.feed.reload([notice.company_id])
        self.activity.progress.show(self.runs.bulk)
        self._show_runs()

    def _run_ended(self, ended: RunEnded) -> None:
        """The one place a run's end is handled, its unforeseen errors included."""
        self.feed.reload([ended.company_id])
        self.detail.run_ended(ended.company_id)
        error = ended.error
        if isinstance(error, ConfigError):
            self.notify(str(error), title="Missing setting", severity="error")
        elif error is not None:
            text = f"DOT {ended.dot_number}: {one_line(error, 200)}"
            self.notify(text, title="Run failed", severity="error")
            self.activity.note(f"{text} (run failed)", "bold red")

    def _show_runs(self) -> None:
        """Syncing marks, counts, the footer and the highlighted carrier's live state."""
        self.companies.set_syncing(self.runs.syncing_ids())
        self._show_counts()
        self._refresh_footer()
        highlighted = self.companies.highlighted
        live = self.runs.states(highlighted.id) if highlighted is not None else {}
        if live != self.detail.live:
            self.detail.live = live

    # --- the highlighted carrier ---------------------------------------------------

    @on(CompanyList.Highlighted)
    @while_on_screen
    def _highlighted(self, message: CompanyList.Highlighted) -> None:
        self._refresh_footer()
        if message.summary is None:
            self.detail.document = None
            return
        live = self.runs.states(message.summary.id)
        if live != self.detail.live:  # a new value redraws the pane: not on every key
            self.detail.live = live
        self._schedule_detail(message.summary.id, delay=0.1)

    def _schedule_detail(self, company_id: str, delay: float) -> None:
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(max(delay, 0.01), lambda: self._load_detail(company_id))

    @work(group="detail", exclusive=True, exit_on_error=False)
    async def _load_detail(self, company_id: str) -> None:
        """A store read failing here is the feed's to report; the pane keeps what it had."""
        self.post_message(DetailLoaded(company_id, await self.store.get_company(company_id)))

    @on(DetailLoaded)
    @while_on_screen
    def _detail_loaded(self, message: DetailLoaded) -> None:
        highlighted = self.companies.highlighted
        if highlighted is not None and highlighted.id == message.company_id:
            self.detail.document = message.document

    # --- actions: resync and cancel ----------------------------------------------------

    def _can_sync(self) -> bool:
        try:
            self.engine.check_ready()
        except ConfigError as error:
            self.notify(str(error), title="Missing setting", severity="error", timeout=8)
            return False
        return True

    def action_resync(self) -> None:
        self.action_resync_source(None)

    def action_resync_source(self, source: str | None) -> None:
        summary = self.companies.highlighted
        if summary is None or not self._can_sync():
            return
        verdict = self.runs.submit(summary, ALL_SOURCES if source is None else (Source(source),))
        if not verdict.accepted:
            self.notify(f"DOT {summary.dot_number} is {verdict}.", severity="warning")

    def action_resync_view(self) -> None:
        ask_to_resync(self)

    # --- actions: marks ----------------------------------------------------------------

    def action_toggle_mark(self) -> None:
        self.companies.toggle_mark()

    def action_mark_view(self) -> None:
        self.companies.mark_view()

    def action_cancel(self) -> None:
        summary = self.companies.highlighted
        if summary is None or self.runs.cancel(summary.id):
            return
        if summary.id in self.runs.elsewhere:
            self.notify("That run belongs to another process; cancel it there.")

    def action_cancel_all(self) -> None:
        self.runs.cancel_all()

    # --- actions: search and filters ---------------------------------------------------

    def _focus_now(self, widget: Widget) -> None:
        """Focus `widget` before the next key is read. `Widget.focus` defers the change to
        a callback queued behind the keys already typed, which would reach the old focus."""
        self.screen.set_focus(widget)

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("-visible")
        self._focus_now(search)

    @on(Input.Changed, "#search")
    def _search_changed(self) -> None:
        self._apply_search()

    def _apply_search(self) -> None:
        """The list narrowed to what the search holds now. A burst of keys is all in the
        search before its first `Changed` arrives: that one applies it, the late ones
        (older values) change nothing."""
        text = self.query_one("#search", Input).value
        if text != self.companies.filter.text:
            self.companies.narrow(text=text)

    async def action_leave_search(self) -> None:
        """Enter in the search, run as the app reads it: the keys typed before it are in
        the search (the app hands keys to the focused widget's own queue, so it waits for
        that queue to get this far), then the list is narrowed and focused, all before
        the next key is read: a key typed right after acts on the view shown."""
        search = self.query_one("#search", Input)
        typed = asyncio.Event()
        if search.call_later(typed.set):
            await typed.wait()
        self._apply_search()
        self._focus_now(self.companies)

    def action_cycle_failed(self) -> None:
        self.companies.cycle_failed_source()

    def action_toggle_stale(self) -> None:
        self.companies.toggle_stale()

    def action_toggle_never(self) -> None:
        self.companies.toggle_never()

    def action_clear_filters(self) -> None:
        """Escape: the marks first (from the list), then the search and the filters."""
        count = self.companies.mark_count
        if count and not isinstance(self.focused, Input):
            clear_marks(self, count)
            return
        self._show_all(CompanyFilter())

    def _show_all(self, flt: CompanyFilter) -> None:
        """The search emptied and hidden, and the list under `flt` alone."""
        search = self.query_one("#search", Input)
        with search.prevent(Input.Changed):
            search.value = ""
        search.remove_class("-visible")
        self.companies.set_filter(flt)
        self._focus_now(self.companies)

    def action_toggle_detail(self) -> None:
        """Show the pane if it is hidden, hide it if shown; the size's default until then."""
        shown = self.detail.display  # on the screen: styles.tcss sizes the list and the
        self.screen.set_class(not shown, "-detail-on")  # activity panel by it too
        self.screen.set_class(shown, "-detail-off")

    # --- actions: the detail's tabs (copy, export, SAFER: ui/facts_actions.py) -----------

    def action_detail_tab(self, tab: str) -> None:
        """Show `tab` in the detail pane, showing the pane if it is hidden (80x24)."""
        if tab in TABS:
            if not self.detail.display:
                self.action_toggle_detail()
            self.detail.show_tab(cast(Tab, tab))

    # --- actions: help (quitting: ui/quitting.py; the fleet: ui/fleet.py) ------------

    def action_help(self) -> None:
        self.push_screen(
            HelpScreen(help_sections(self, CompanyList.BINDINGS), read_only=self.read_only)
        )
