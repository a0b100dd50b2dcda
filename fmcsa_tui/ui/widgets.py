"""The dashboard's smaller widgets: header, filter bar, activity panel (the detail pane
is `fmcsa_tui.ui.detail`, re-exported here).

Every piece of carrier data is rendered as plain `Text` through `safe_line`, never as
markup: names like ``[bold red]X[/]`` or ANSI escapes must show literally.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import humanize
from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Label, ProgressBar, RichLog, Static

from fmcsa_tui.coordinator import BulkTally
from fmcsa_tui.formatting import safe_line
from fmcsa_tui.models import utcnow
from fmcsa_tui.store.base import CompanyFilter
from fmcsa_tui.sync.events import (
    RunEvent,
    RunFinished,
    RunRefused,
    RunStarted,
    SourceFailed,
    SourceProgress,
    SourceSucceeded,
)
from fmcsa_tui.ui.detail import DetailPane
from fmcsa_tui.ui.detail.stored import stored_line
from fmcsa_tui.ui.detail.sync_tab import BASIC_LABELS, basics_line

Clock = Callable[[], datetime]

__all__ = [
    "BASIC_LABELS",
    "ActivityPanel",
    "BulkProgress",
    "DetailPane",
    "FilterBar",
    "StatusHeader",
    "basics_line",
    "describe_filter",
    "stored_line",
]


def describe_filter(flt: CompanyFilter, stale_after: timedelta) -> str:
    """The active filter in words, for the always-visible filter bar."""
    parts = []
    if flt.text:
        parts.append(f"search “{safe_line(flt.text)}”")
    if flt.failed_source == "any":
        parts.append("any failure")
    elif flt.failed_source:
        parts.append(f"failed {flt.failed_source}")
    if flt.status == "never":
        parts.append("never synced")
    elif flt.status:
        parts.append(f"status {flt.status}")
    if flt.stale_after is not None:
        parts.append(f"stale > {humanize.naturaldelta(stale_after)}")
    return " · ".join(parts) if parts else "all carriers"


class StatusHeader(Static):
    """App name, where the store is, the counts, and whether the store is reachable."""

    DEFAULT_CSS = """
    StatusHeader { height: 1; background: $panel; color: $text; padding: 0 1; }
    StatusHeader.-disconnected { background: $error; color: $text; }
    """

    store_label: reactive[str] = reactive("")
    counts: reactive[tuple[int, int, int, int]] = reactive((0, 0, 0, 0))
    queued: reactive[int] = reactive(0)
    # Not `loading`: that is every Textual widget's own reactive, which puts a loading
    # indicator over the widget (here: over the header that says how much is loaded).
    rows_loading: reactive[bool] = reactive(True)
    loaded: reactive[tuple[int, int]] = reactive((0, 0))  # while loading: so far, of
    connected: reactive[bool] = reactive(True)
    disconnect_reason: reactive[str] = reactive("")
    refresh_mode: reactive[str] = reactive("polling")
    marked: reactive[int] = reactive(0)

    def __init__(self, *, store_label: str = "", read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.set_reactive(StatusHeader.store_label, store_label)
        self.read_only = read_only

    @property
    def title(self) -> Text:
        """The app's name, and READ-ONLY right after it, where no width cuts it off."""
        if self.read_only:
            return Text.assemble(("fmcsa-tui", "bold"), "  ", (" READ-ONLY ", "bold reverse"))
        return Text("fmcsa-tui", "bold")

    def render(self) -> RenderableType:
        total, failed, never, syncing = self.counts
        if self.rows_loading:
            done, expected = self.loaded
            loading = f"loading {done:,} of {expected:,}" if expected else "loading carriers…"
            text = Text.assemble(self.title, "  ", (loading, "italic"))
        else:
            text = Text.assemble(
                self.title,
                "  ",
                (f"{total:,} carriers", "bold"),
                " · ",
                (f"{failed:,} failed", "bold red" if failed else ""),
                " · ",
                (f"{never:,} never", "yellow" if never else ""),
                " · ",
                (f"{syncing:,} syncing", "bold cyan" if syncing else ""),
            )
        if self.queued:
            text.append(f" · {self.queued:,} queued", "cyan")
        if self.marked:
            text.append(f" · {self.marked:,} marked", "bold")
        if not self.connected:
            text.append(f"  │  DISCONNECTED: {safe_line(self.disconnect_reason)}; retrying", "bold")
        text.append(f"  │  {safe_line(self.store_label)}", "dim")
        if self.connected:
            text.append(f"  │  live: {self.refresh_mode}", "dim")
        text.truncate(max(self.size.width - 2, 10), overflow="ellipsis")
        return text

    def watch_connected(self, connected: bool) -> None:
        self.set_class(not connected, "-disconnected")


class FilterBar(Static):
    """The active filter and the row count: always on screen."""

    DEFAULT_CSS = """
    FilterBar { height: 1; padding: 0 1; background: $boost; }
    """

    description: reactive[str] = reactive("all carriers")
    shown: reactive[int] = reactive(0)
    total: reactive[int] = reactive(0)
    sort: reactive[str] = reactive("")

    def render(self) -> RenderableType:
        return Text.assemble(
            ("Filter: ", "bold"),
            self.description,
            "  │  ",
            (f"{self.shown:,}", "bold"),
            f" of {self.total:,} rows",
            ("  │  sorted by " + self.sort) if self.sort else "",
        )


class BulkProgress(Horizontal):
    """done/total, failures, rate and ETA of a bulk resync, as the coordinator tallies it."""

    DEFAULT_CSS = """
    BulkProgress { height: 1; display: none; }
    BulkProgress.-running { display: block; }
    BulkProgress ProgressBar { width: 40; }
    BulkProgress Label { width: 1fr; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tally = BulkTally()

    def compose(self) -> ComposeResult:
        yield ProgressBar(show_eta=False, show_percentage=True)
        yield Label("")

    def show(self, tally: BulkTally) -> None:
        """Draw `tally`; shown while it has runs, hidden a few seconds after the last ends."""
        self.tally = tally
        if not tally.total:
            self.remove_class("-running")
            return
        self.add_class("-running")
        self.query_one(ProgressBar).update(total=tally.total, progress=tally.done)
        eta = tally.eta
        pace = "finished" if not tally.remaining else ""
        if eta is not None:
            pace = f"ETA {humanize.naturaldelta(eta)}"
        self.query_one(Label).update(
            Text.assemble(
                (f"{tally.done:,}/{tally.total:,} done", "bold"),
                " · ",
                (f"{tally.failed:,} failed", "red" if tally.failed else ""),
                f" · {tally.rate:.1f}/s · ",
                pace,
            )
        )
        if not tally.remaining:
            self.set_timer(5, self._hide_if_done)

    def _hide_if_done(self) -> None:
        if not self.tally.remaining:
            self.remove_class("-running")


class ActivityPanel(Vertical):
    """The engine's events as they stream, one line each, and the bulk progress."""

    DEFAULT_CSS = """
    ActivityPanel { height: 9; border-top: solid $primary-darken-2; }
    ActivityPanel RichLog { height: 1fr; background: $surface; }
    """

    def __init__(self, *, clock: Clock = utcnow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock

    def compose(self) -> ComposeResult:
        yield BulkProgress()
        yield RichLog(max_lines=2000, wrap=False, markup=False, highlight=False, min_width=40)

    @property
    def progress(self) -> BulkProgress:
        return self.query_one(BulkProgress)

    def record(self, event: RunEvent) -> None:
        line = self._line(event)
        if line is not None:
            stamp = self._clock().astimezone(UTC).strftime("%H:%M:%S")
            self.query_one(RichLog).write(Text.assemble((stamp, "dim"), " ", line))

    def note(self, message: str, style: str = "") -> None:
        stamp = self._clock().astimezone(UTC).strftime("%H:%M:%S")
        self.query_one(RichLog).write(Text.assemble((stamp, "dim"), " ", (message, style)))

    @staticmethod
    def _line(event: RunEvent) -> Text | None:
        who = Text(f"DOT {event.dot_number:>8} ", style="bold")
        if isinstance(event, RunStarted):
            names = ", ".join(source.value for source in event.sources)
            return who + Text(f"run started ({names}) {safe_line(event.name)[:40]}", "cyan")
        if isinstance(event, SourceSucceeded):
            retries = f", {event.attempts - 1} retries" if event.attempts > 1 else ""
            detail = f"ok in {event.duration:.2f}s{retries}  {event.summary}"
            return who + Text(f"{event.source.value:<12} ", "") + Text(detail, "green")
        if isinstance(event, SourceFailed):
            plural = "s" if event.attempts != 1 else ""
            kind = "permanent" if event.permanent else f"after {event.attempts} attempt{plural}"
            message = f"FAILED in {event.duration:.2f}s ({kind}): {safe_line(event.error)}"
            return who + Text(f"{event.source.value:<12} ", "") + Text(message, "red")
        if isinstance(event, SourceProgress) and event.retry_in is not None:
            retry = f"{safe_line(event.message)}; next try in {event.retry_in:.1f}s"
            return who + Text(f"{event.source.value:<12} ", "") + Text(retry, "yellow")
        if isinstance(event, RunFinished):
            if event.cancelled:
                return who + Text(f"run cancelled after {event.duration:.1f}s", "yellow")
            if event.success:
                return who + Text(f"run ok in {event.duration:.1f}s", "bold green")
            failed = ", ".join(source.value for source in event.failed_sources)
            return who + Text(f"run failed ({failed}) in {event.duration:.1f}s", "bold red")
        if isinstance(event, RunRefused):
            return who + Text(f"not started: {event.reason}", "yellow")
        return None
