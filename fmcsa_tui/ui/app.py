"""The dashboard: browse carriers, resync by key, watch progress, filter failed sources.

Runs are Textual workers started on the app (so a modal or screen change never cancels
them), one per company, at most `concurrency` running at once. The engine's events
come back as `SyncEventPosted` messages; one handler deals with every worker's end,
including its errors. Store I/O happens in workers too, so the event loop never waits.
"""

from __future__ import annotations

import asyncio
import functools
import gc
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

from fmcsa_tui.formatting import one_line
from fmcsa_tui.models import CompanySummary, Source, summarize, utcnow
from fmcsa_tui.settings import Settings
from fmcsa_tui.store.base import CompanyFilter, CompanyStore
from fmcsa_tui.sync.engine import ALL_SOURCES, STOP_SIGNALS, SyncEngine
from fmcsa_tui.sync.events import RunEvent, RunFinished, RunRefused, RunStarted
from fmcsa_tui.sync.http import ConfigError
from fmcsa_tui.ui.commands import DashboardCommands
from fmcsa_tui.ui.company_list import CompanyList
from fmcsa_tui.ui.messages import (
    CompaniesChanged,
    CompaniesLoaded,
    StoreConnection,
    SyncEventPosted,
)
from fmcsa_tui.ui.screens import ConfirmScreen, HelpScreen
from fmcsa_tui.ui.widgets import (
    ActivityPanel,
    DetailPane,
    FilterBar,
    StatusHeader,
    describe_filter,
    live_state,
)

FIRST_SCREEN_ROWS = 200
FIRST_SCREEN_PAINT = 0.1  # seconds
FAILED_FILTER_CYCLE: list[str | None] = [None, "any", *(source.value for source in Source)]


_Handler = TypeVar("_Handler", bound=Callable[..., None])


def while_on_screen(handler: _Handler) -> _Handler:
    """Drop a worker's late message once the dashboard is being torn down (on quit)."""

    @functools.wraps(handler)
    def guarded(self: FmcsaApp, *args: Any) -> None:
        # `is_running` goes False before Textual starts taking the screen apart
        if self._closing_down or not self.is_running or not self.query(CompanyList):
            return None
        return handler(self, *args)

    return cast(_Handler, guarded)


def stylesheet() -> Path:
    """styles.tcss: inside the package when installed, at the top of a source checkout."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "styles.tcss"
    return packaged if packaged.exists() else here.parent / "styles.tcss"


class FmcsaApp(App[None]):
    """The operators' dashboard over a `CompanyStore` and the `SyncEngine`."""

    TITLE = "fmcsa-tui"
    CSS_PATH = stylesheet()
    COMMANDS = App.COMMANDS | {DashboardCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "resync", "Resync", id="app.resync"),
        Binding("R", "resync_view", "Resync all", id="app.resync_view"),
        Binding("c", "resync_source('csa_scores')", "CSA only", show=False, id="app.resync_csa"),
        Binding(
            "v",
            "resync_source('violations')",
            "Violations only",
            show=False,
            id="app.resync_violations",
        ),
        Binding(
            "i",
            "resync_source('inspections')",
            "Inspections only",
            show=False,
            id="app.resync_inspections",
        ),
        Binding("x", "cancel", "Cancel", id="app.cancel"),
        Binding("X", "cancel_all", "Cancel all", id="app.cancel_all"),
        Binding("slash", "search", "Search", id="app.search"),
        Binding("f", "cycle_failed", "Failed", id="app.cycle_failed"),
        Binding("s", "toggle_stale", "Stale", id="app.toggle_stale"),
        Binding("n", "toggle_never", "Never", id="app.toggle_never"),
        Binding("escape", "clear_filters", "Clear", id="app.clear_filters"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    #: What the help screen says about each action (the bindings give the keys).
    ACTION_HELP: ClassVar[dict[str, str]] = {
        "resync": "Resync the highlighted carrier (all three sources)",
        "resync_source('csa_scores')": "Resync only csa_scores of the highlighted carrier",
        "resync_source('violations')": "Resync only violations of the highlighted carrier",
        "resync_source('inspections')": "Resync only inspections of the highlighted carrier",
        "resync_view": "Resync every carrier in the current view (asks first)",
        "cancel": "Cancel the highlighted carrier's run",
        "cancel_all": "Cancel every run",
        "search": "Incremental search on DOT, name and MC (enter: back to the list)",
        "cycle_failed": "Failed-source filter: all, any failure, csa_scores, violations, "
        "inspections",
        "toggle_stale": "Stale only: a source without success for longer than the setting",
        "toggle_never": "Never synced only",
        "clear_filters": "Clear search and filters",
        "help": "This help",
        "quit": "Quit (asks first while runs are in progress, then cancels them cleanly)",
    }

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
        """`store` may be unopened: the app opens it on its own event loop (a MongoDB
        client belongs to the loop it was opened on), and closes it on exit when
        `close_store` says the app owns it."""
        super().__init__()
        self.store = store
        self.close_store = close_store
        self.settings = settings
        self.clock = clock
        self.poll_interval = poll_interval
        self.engine = engine or SyncEngine(store, settings)
        self.stale_after = timedelta(hours=settings.stale_after_hours)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._runs: dict[str, Worker[RunFinished | RunRefused]] = {}
        self._bulk: set[str] = set()
        #: Bulk runs not yet given a worker, in order: a view of 100,000 is not 100,000
        #: workers at once (see `_feed_runs`).
        self._pending: dict[str, tuple[CompanySummary, tuple[Source, ...]]] = {}
        #: How many of `_summaries` have each status, kept as rows change (the header's
        #: counts must not walk 100,000 rows on every run event).
        self._status_counts: Counter[str] = Counter()
        self._active: set[str] = set()  # runs past the concurrency gate (RunStarted seen)
        self._leased: set[str] = set()  # runs of other processes (ours are in `_runs`)
        self._summaries: dict[str, CompanySummary] = {}
        self._live: dict[str, dict[Source, str]] = {}
        self._stale_reload: set[str] = set()
        self._since: datetime | None = None
        self._connected = True
        self._polling: Worker[None] | None = None
        self._detail_timer: Timer | None = None
        self._footer_shown: tuple[bool | None, ...] = ()
        self._closing_down = False
        #: The signal (SIGTERM, SIGHUP) that ended the dashboard, for the exit status.
        self.stopped_by: int | None = None

    # --- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        yield FilterBar(id="filter-bar")
        yield Input(placeholder="Search DOT, name or MC…", id="search")
        with Container(id="main"):
            yield CompanyList(clock=self.clock, stale_after=self.stale_after, id="companies")
            yield DetailPane(clock=self.clock, id="detail")
        yield ActivityPanel(clock=self.clock, id="activity")
        yield Footer(compact=True)

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
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self._stop_on_signal, signum)
        header = self.query_one(StatusHeader)
        header.store_label = self.store.description
        self.companies.focus()
        self._load()
        self.set_interval(self.poll_interval, self._poll)
        self.set_interval(0.25, self._flush_reloads)

    def _stop_on_signal(self, signum: int) -> None:
        """SIGTERM (a service stop) or SIGHUP (the terminal went away): no one is there to
        answer a prompt, so cancel every run cleanly, as a confirmed quit does, and exit."""
        self.stopped_by = signum
        loop = asyncio.get_running_loop()
        for each in STOP_SIGNALS:
            loop.remove_signal_handler(each)  # a second signal takes the default action
        self._cancel_and_exit()

    async def on_unmount(self) -> None:
        self._closing_down = True
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        await self.engine.aclose()
        if self.close_store:
            await self.store.close()

    # --- loading and live refresh ---------------------------------------------------

    @work(group="load", exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        """A screenful first (a few ms), then everything: 100,000 rows take most of a second."""
        started = utcnow()
        try:
            await self.store.open()
            self.query_one(StatusHeader).refresh_mode = self.store.refresh_mode
            if self.store.refresh_mode == "change stream":
                self._watch_changes()
            first = await self.store.list_summaries(limit=FIRST_SCREEN_ROWS)
            if len(first) == FIRST_SCREEN_ROWS:
                self.post_message(CompaniesLoaded(first, complete=False))
                # let that screen paint before the long scan competes for the GIL
                await asyncio.sleep(FIRST_SCREEN_PAINT)
            await self._load_everything(started)
        except Exception as error:  # any store failure is a disconnected state, not a crash
            self.post_message(StoreConnection(False, _one_line(error)))

    async def _load_everything(self, started: datetime) -> None:
        """Every row and the live leases; later polls look for changes since `started`."""
        summaries = await self.store.list_summaries()
        leased = await self.store.leased_ids(exclude_owner=self.engine.owner)
        self._since = started
        self.post_message(CompaniesLoaded(summaries))
        self.post_message(CompaniesChanged([], leased))

    def _poll(self) -> None:
        if self._since is None and self._connected:
            return  # the first load is still running
        if self._polling is not None and not self._polling.is_finished:
            return  # a slow store: the last poll ends by itself (unreachable, at worst)
        self._polling = self._poll_store()

    @work(group="poll", exit_on_error=False)
    async def _poll_store(self) -> None:
        since = self._since
        started = utcnow()
        try:
            if since is None or not self._connected:
                await self.store.open()  # a store that was down at start-up
                await self._load_everything(started)
                self.post_message(StoreConnection(True))
                return
            changed = await self.store.changed_since(since - timedelta(seconds=1))
            leased = await self.store.leased_ids(exclude_owner=self.engine.owner)
        except Exception as error:
            self.post_message(StoreConnection(False, _one_line(error)))
            return
        self._since = started
        self.post_message(CompaniesChanged(changed, leased))

    @work(group="watch", exclusive=True, exit_on_error=False)
    async def _watch_changes(self) -> None:
        """Push refresh from a change stream; polling still runs for leases and as backup."""
        watch = getattr(self.store, "watch_changes", None)
        if watch is None:
            return
        try:
            async for ids in watch():
                if ids:
                    self._stale_reload.update(ids)
                else:  # the stream lost its place: look at everything again
                    self._load()
        except Exception as error:
            self.query_one(StatusHeader).refresh_mode = "polling"
            self.activity.note(f"change stream ended ({_one_line(error)}); polling", "yellow")

    @while_on_screen
    def on_companies_loaded(self, message: CompaniesLoaded) -> None:
        self._summaries = {summary.id: summary for summary in message.summaries}
        self._status_counts = Counter(summary.status for summary in message.summaries)
        self.companies.set_rows(message.summaries)
        self.query_one(StatusHeader).loading = not message.complete
        self._refresh_counts()
        if message.complete:
            # 100,000 rows are long-lived: keep the cyclic GC from walking them on
            # every full collection (pauses of tens of ms while typing)
            gc.freeze()

    @while_on_screen
    def on_companies_changed(self, message: CompaniesChanged) -> None:
        if message.summaries:
            for summary in message.summaries:
                before = self._summaries.get(summary.id)
                if before is not None:
                    self._status_counts[before.status] -= 1
                self._status_counts[summary.status] += 1
                self._summaries[summary.id] = summary
            self.companies.upsert(message.summaries)
            highlighted = self.companies.highlighted
            if highlighted and any(s.id == highlighted.id for s in message.summaries):
                self._schedule_detail(highlighted.id, delay=0)
        self._leased = message.leased
        self._show_syncing()

    @while_on_screen
    def on_store_connection(self, message: StoreConnection) -> None:
        header = self.query_one(StatusHeader)
        if message.connected == self._connected:
            return
        self._connected = message.connected
        header.connected = message.connected
        header.disconnect_reason = message.reason
        if message.connected:
            self.notify("Store reachable again; list refreshed.", title="Reconnected")
            self.activity.note("store reachable again", "green")
        else:
            self.notify(
                f"{message.reason}. Showing the last data; retrying every {self.poll_interval:g}s.",
                title="Store unreachable",
                severity="error",
            )
            self.activity.note(f"store unreachable: {message.reason}", "bold red")

    def _flush_reloads(self) -> None:
        if self._stale_reload and self._connected:
            ids, self._stale_reload = list(self._stale_reload), set()
            self._reload(ids)

    @work(group="reload", exit_on_error=False)
    async def _reload(self, ids: Sequence[str]) -> None:
        try:
            docs = await self.store.get_companies(ids)
        except Exception as error:
            self._stale_reload.update(ids)
            self.post_message(StoreConnection(False, _one_line(error)))
            return
        self.post_message(CompaniesChanged([summarize(doc) for doc in docs.values()], self._leased))

    def _refresh_counts(self) -> None:
        counts = self._status_counts
        header = self.query_one(StatusHeader)
        syncing = len(self._active | self._leased)
        header.counts = (len(self._summaries), counts["failed"], counts["never"], syncing)
        header.queued = self._queued_count()
        self._refresh_filter_bar()

    def _queued_count(self) -> int:
        """Runs waiting: workers not past the concurrency gate, and bulk runs not started."""
        return len(self._runs) - len(self._active & self._runs.keys()) + len(self._pending)

    def _refresh_filter_bar(self) -> None:
        bar = self.query_one(FilterBar)
        companies = self.companies
        bar.description = describe_filter(companies.filter, self.stale_after)
        bar.shown = companies.visible_count
        bar.total = companies.total_count
        arrow = "▼" if companies.sort_reverse else "▲"
        bar.sort = f"{companies.sort_column} {arrow}"

    def _show_syncing(self) -> None:
        self.companies.set_syncing(self._active | self._leased)
        self._refresh_counts()
        self._refresh_footer()

    # --- the highlighted company ----------------------------------------------------

    @on(CompanyList.Highlighted)
    @while_on_screen
    def _highlighted(self, message: CompanyList.Highlighted) -> None:
        summary = message.summary
        self._refresh_footer()
        if summary is None:
            self.detail.document = None
            return
        live = self._live_for(summary.id)
        if live != self.detail.live:
            self.detail.live = dict(live)
        self._schedule_detail(summary.id, delay=0.1)

    def _schedule_detail(self, company_id: str, delay: float) -> None:
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(max(delay, 0.01), lambda: self._load_detail(company_id))

    @work(group="detail", exclusive=True, exit_on_error=False)
    async def _load_detail(self, company_id: str) -> None:
        try:
            doc = await self.store.get_company(company_id)
        except Exception as error:
            self.post_message(StoreConnection(False, _one_line(error)))
            return
        highlighted = self.companies.highlighted
        if highlighted is not None and highlighted.id == company_id:
            self.detail.document = doc

    # --- runs -----------------------------------------------------------------------

    def start_run(
        self, summary: CompanySummary, sources: Sequence[Source], *, bulk: bool = False
    ) -> bool:
        if summary.status == "unreadable":
            self.notify(f"{summary.id} cannot be read, so it cannot be synced.", severity="error")
            return False
        if summary.id in self._runs or summary.id in self._pending or summary.id in self._leased:
            if not bulk:
                state = "queued" if summary.id in self._pending else "already syncing"
                self.notify(f"DOT {summary.dot_number} is {state}.", severity="warning")
            return False
        if bulk:  # the caller feeds the queue and refreshes once, after the whole view
            self._bulk.add(summary.id)
            self._pending[summary.id] = (summary, tuple(sources))
            return True
        self._launch(summary, tuple(sources))
        self._show_syncing()
        return True

    def _launch(self, summary: CompanySummary, sources: tuple[Source, ...]) -> None:
        self._runs[summary.id] = self.run_worker(
            self._run_company(summary, sources),
            name=summary.id,
            group="sync",
            exit_on_error=False,
        )
        self._live[summary.id] = {source: "queued" for source in sources}
        self._update_live(summary.id)

    def _feed_runs(self) -> None:
        """Give queued bulk runs workers as others end, keeping a few at the gate."""
        room = 2 * self.settings.concurrency - len(self._runs)
        while room > 0 and self._pending:
            summary, sources = self._pending.pop(next(iter(self._pending)))
            self._launch(summary, sources)
            room -= 1

    def _withdraw(self, ids: Iterable[str]) -> None:
        """Take queued bulk runs out before they start (x, X, quitting)."""
        withdrawn = [company_id for company_id in ids if self._pending.pop(company_id, None)]
        for company_id in withdrawn:
            self._bulk.discard(company_id)
            self._update_live(company_id)
        self.activity.progress.withdraw(len(withdrawn))
        self._show_syncing()

    async def _run_company(
        self, summary: CompanySummary, sources: tuple[Source, ...]
    ) -> RunFinished | RunRefused:
        async with self._slots:
            return await self.engine.run(summary, sources, self._post_event)

    def _post_event(self, event: RunEvent) -> None:
        self.post_message(SyncEventPosted(event))

    @while_on_screen
    def on_sync_event_posted(self, message: SyncEventPosted) -> None:
        event = message.event
        self.activity.record(event)
        company_id = event.company_id
        if isinstance(event, RunStarted):
            self._live[company_id] = {source: "waiting" for source in event.sources}
            self._active.add(company_id)
            self._show_syncing()
        elif isinstance(event, RunFinished | RunRefused):
            self._live.pop(company_id, None)
            self._active.discard(company_id)
            self._stale_reload.add(company_id)
        else:
            state = live_state(event)
            source = getattr(event, "source", None)
            if state is not None and source is not None:
                self._live.setdefault(company_id, {})[source] = state
                if state in {"done", "failed"}:
                    self._stale_reload.add(company_id)
        self._update_live(company_id)

    def _live_for(self, company_id: str) -> dict[Source, str]:
        live = self._live.get(company_id)
        if live is None and company_id in self._pending:
            return {source: "queued" for source in self._pending[company_id][1]}
        return dict(live or {})

    def _update_live(self, company_id: str) -> None:
        highlighted = self.companies.highlighted
        if highlighted is not None and highlighted.id == company_id:
            self.detail.live = self._live_for(company_id)

    @while_on_screen
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a run's end is handled, errors included."""
        worker = event.worker
        if worker.group != "sync" or worker.name not in self._runs:
            if event.state is WorkerState.ERROR and worker.group != "sync":
                self.notify(f"{_one_line(worker.error)}", title="Error", severity="error")
            return
        if event.state not in {WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED}:
            return
        company_id = worker.name
        self._runs.pop(company_id, None)
        self._active.discard(company_id)
        self._live.pop(company_id, None)
        self._update_live(company_id)
        self._stale_reload.add(company_id)
        success = False
        if event.state is WorkerState.SUCCESS:
            outcome = worker.result
            success = isinstance(outcome, RunFinished) and outcome.success
        elif event.state is WorkerState.ERROR:
            error = worker.error
            if isinstance(error, ConfigError):
                self.notify(str(error), title="Missing setting", severity="error")
            else:
                summary = self._summaries.get(company_id)
                dot = summary.dot_number if summary else company_id
                self.notify(f"DOT {dot}: {_one_line(error)}", title="Run failed", severity="error")
                self.activity.note(f"DOT {dot}: run failed: {_one_line(error)}", "bold red")
        if company_id in self._bulk:
            self._bulk.discard(company_id)
            self.activity.progress.finished_one(success)
        self._feed_runs()
        self._show_syncing()

    # --- actions --------------------------------------------------------------------

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
        sources = ALL_SOURCES if source is None else (Source(source),)
        self.start_run(summary, sources)

    def action_resync_view(self) -> None:
        if not self._can_sync():
            return
        candidates = [
            summary
            for summary in self.companies.visible_summaries()
            if summary.status != "unreadable"
            and summary.id not in self._runs
            and summary.id not in self._pending
            and summary.id not in self._leased
        ]
        if not candidates:
            self.notify("Nothing in this view to resync.")
            return
        question = (
            f"Resync all {len(candidates):,} carriers in this view "
            f"({describe_filter(self.companies.filter, self.stale_after)})? "
            f"At most {self.settings.concurrency} run at a time."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                queued = sum(
                    self.start_run(summary, ALL_SOURCES, bulk=True) for summary in candidates
                )
                self.activity.progress.begin(queued)
                self._feed_runs()
                self._show_syncing()

        self.push_screen(ConfirmScreen(question, yes=f"Resync {len(candidates):,}"), answered)

    def action_cancel(self) -> None:
        summary = self.companies.highlighted
        if summary is None:
            return
        worker = self._runs.get(summary.id)
        if worker is None:
            if summary.id in self._pending:
                self._withdraw([summary.id])
                return
            if summary.id in self._leased:
                self.notify("That run belongs to another process; cancel it there.")
            return
        worker.cancel()

    def action_cancel_all(self) -> None:
        self._withdraw(list(self._pending))
        for worker in list(self._runs.values()):
            worker.cancel()

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("-visible")
        search.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._set_filter(text=event.value)

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.companies.focus()

    def action_cycle_failed(self) -> None:
        current = self.companies.filter.failed_source
        position = FAILED_FILTER_CYCLE.index(current) if current in FAILED_FILTER_CYCLE else 0
        self._set_filter(
            failed_source=FAILED_FILTER_CYCLE[(position + 1) % len(FAILED_FILTER_CYCLE)]
        )

    def action_toggle_stale(self) -> None:
        stale = None if self.companies.filter.stale_after else self.stale_after
        self._set_filter(stale_after=stale)

    def action_toggle_never(self) -> None:
        self._set_filter(status=None if self.companies.filter.status == "never" else "never")

    def action_clear_filters(self) -> None:
        search = self.query_one("#search", Input)
        with search.prevent(Input.Changed):
            search.value = ""
        search.remove_class("-visible")
        self.companies.set_filter(CompanyFilter())
        self.companies.focus()
        self._refresh_filter_bar()
        self._refresh_footer()

    def _set_filter(self, **changes: Any) -> None:
        current = self.companies.filter
        values = {
            "text": current.text,
            "status": current.status,
            "failed_source": current.failed_source,
            "stale_after": current.stale_after,
            **changes,
        }
        self.companies.set_filter(CompanyFilter(**values))
        self._refresh_filter_bar()
        self._refresh_footer()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self._help_sections()))

    def _help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        keys: dict[str, list[str]] = {}
        for binding in self._bindings.key_to_bindings.values():
            for bound in binding:
                keys.setdefault(bound.action, []).append(self.get_key_display(bound))
        app_rows = [
            (", ".join(keys.get(action, ["-"])), text) for action, text in self.ACTION_HELP.items()
        ]
        list_rows = [
            (", ".join(b.key.split(",")), b.description)
            for b in CompanyList.BINDINGS
            if isinstance(b, Binding)
        ]
        return [
            ("Carriers", app_rows),
            ("List", list_rows),
            ("Anywhere", [("ctrl+p", "Command palette")]),
        ]

    async def action_quit(self) -> None:
        if not self._runs and not self._pending:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._cancel_and_exit()

        queued = self._queued_count()
        running = len(self._runs) + len(self._pending) - queued
        waiting = f", {queued:,} queued" if queued else ""
        self.push_screen(
            ConfirmScreen(
                f"{running:,} run{'s' if running != 1 else ''} in progress{waiting}. Cancel "
                f"{'them' if running + queued != 1 else 'it'} and quit? Sources already "
                "written stay written; nothing is left half-done.",
                yes="Cancel runs and quit",
            ),
            answered,
        )

    @work(group="quit", exclusive=True)
    async def _cancel_and_exit(self) -> None:
        self._withdraw(list(self._pending))
        workers = list(self._runs.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*(worker.wait() for worker in workers), return_exceptions=True)
        self.exit()

    def _footer_state(self) -> tuple[bool | None, ...]:
        return tuple(self.check_action(a, ()) for a in ("cancel", "cancel_all", "clear_filters"))

    def _refresh_footer(self) -> None:
        """Recompose the footer only when a key's applicability changed: it costs ~20 ms."""
        state = self._footer_state()
        if state != self._footer_shown:
            self._footer_shown = state
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that do nothing right now are left out of the footer."""
        if action == "cancel":
            try:
                highlighted = self.companies.highlighted
            except NoMatches:  # asked before the list is composed
                return None
            return highlighted is not None and (
                highlighted.id in self._runs or highlighted.id in self._pending
            )
        if action == "cancel_all":
            return bool(self._runs or self._pending)
        if action == "clear_filters":
            try:
                return self.companies.filter != CompanyFilter() or isinstance(self.focused, Input)
            except NoMatches:
                return False
        return True


def _one_line(error: BaseException | None) -> str:
    return one_line(error, limit=200)
