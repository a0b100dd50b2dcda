"""The fleet screen (`F`): the last 24 hours or 7 days of runs across every carrier.

Runs per hour (a sparkline), each source's failure rate, and the error texts that hit
the most carriers, in a list to move through; picking one closes the screen with the
carriers it hit (`ErrorPick`), and the app filters the list to them. The summary is the
store's `run_stats` (summed up in SQL on SQLite), read in a worker: the screen shows
"reading…" meanwhile and closes at once on escape. Nothing here writes, so it works in
read-only mode.

Colours follow the theme as the list's do: failures in `$status-failed`, and the
highlighted error wholly in `$status-cursor` (a red text on the cursor's blue was
barely legible; `ui/themes.py` keeps both at 4.5:1 in every theme).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Sparkline, Static
from textual.widgets.option_list import Option

from fmcsa_tui.formatting import one_line, safe_line
from fmcsa_tui.models.run_stats import ErrorCount, RunStats
from fmcsa_tui.store.base import CompanyFilter, CompanyStore, StoreError
from fmcsa_tui.ui.actions import FLEET_BINDINGS

__all__ = ["PERIODS", "ErrorPick", "FleetActions", "FleetScreen", "error_label"]

#: The periods `t` toggles between, with how the screen names them.
PERIODS: tuple[tuple[timedelta, str], ...] = (
    (timedelta(hours=24), "last 24 h"),
    (timedelta(days=7), "last 7 days"),
)
#: Error texts listed, the most carriers first.
TOP_ERRORS = 50
#: An error text in the filter bar is cut to this many characters.
LABEL_TEXT = 40


@dataclass(frozen=True, slots=True)
class ErrorPick:
    """The error text the operator picked and the carriers whose runs failed with it."""

    text: str
    company_ids: frozenset[str]


def error_label(pick: ErrorPick) -> str:
    """How the filter bar names the pick: ``error: "HTTP 503 …" (12 carriers)``."""
    text = safe_line(pick.text)
    if len(text) > LABEL_TEXT:
        text = text[: LABEL_TEXT - 1] + "…"
    count = len(pick.company_ids)
    return f'error: "{text}" ({count:,} {_plural(count, "carrier")})'


class FleetActions(App[None]):
    """`F` on the dashboard (a mixin of `FmcsaApp`): the fleet screen, and the list
    filtered to the carriers of the error picked there, named by `ids_label`."""

    store: CompanyStore
    clock: Callable[[], datetime]
    #: What the filter bar calls the error filter while it is on.
    ids_label: str

    if TYPE_CHECKING:  # FmcsaApp's: the search emptied, the list under this filter

        def _show_all(self, flt: CompanyFilter) -> None: ...

    def action_fleet(self) -> None:
        """The fleet screen; an error picked there filters the list to its carriers."""

        def picked(pick: ErrorPick | None) -> None:
            if pick is not None:
                self.ids_label = error_label(pick)
                self._show_all(CompanyFilter(company_ids=pick.company_ids))

        self.push_screen(FleetScreen(self.store, self.clock), picked)


class FleetScreen(ModalScreen[ErrorPick | None]):
    """Runs per hour, failure rate per source, the most frequent errors."""

    BINDINGS: ClassVar[list[BindingType]] = list(FLEET_BINDINGS)
    DEFAULT_CSS = """
    FleetScreen { align: center middle; }
    FleetScreen > Vertical {
        width: 90%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    FleetScreen #fleet-title { text-style: bold; }
    FleetScreen Sparkline { height: 3; margin: 1 0 0 0; }
    FleetScreen #fleet-sources { height: auto; margin: 1 0; }
    FleetScreen OptionList { height: 1fr; }
    """

    def __init__(self, store: CompanyStore, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.store = store
        self.clock = clock
        self.period = 0
        #: The summary on screen (None while reading), and the moment it was asked at.
        self.stats: RunStats | None = None
        self.errors: list[ErrorCount] = []
        #: The error drawn as highlighted (in the cursor's colour).
        self._cursor: int | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="fleet-title")
            yield Static(id="fleet-hours")
            yield Sparkline([], id="fleet-sparkline")
            yield Static(id="fleet-sources")
            yield OptionList(id="fleet-errors")
            yield Static(
                Text("t: 24 h / 7 days · enter: filter the list · escape: close", style="dim")
            )

    def on_mount(self) -> None:
        self._read()

    @property
    def period_name(self) -> str:
        return PERIODS[self.period][1]

    def action_toggle_period(self) -> None:
        self.period = (self.period + 1) % len(PERIODS)
        self._read()

    def action_close(self) -> None:
        self.dismiss(None)

    # --- reading -----------------------------------------------------------------------

    def _read(self) -> None:
        self.stats = None
        self.query_one("#fleet-title", Static).update(f"Fleet · {self.period_name} · reading…")
        self.query_one("#fleet-hours", Static).update("")
        self.query_one(Sparkline).data = []
        self.query_one("#fleet-sources", Static).update("")
        self.query_one(OptionList).clear_options()
        now = self.clock()
        self._summarize(now - PERIODS[self.period][0], now, self.period)

    @work(exclusive=True, exit_on_error=False)
    async def _summarize(self, since: datetime, until: datetime, period: int) -> None:
        try:
            stats = await self.store.run_stats(since)
        except StoreError as error:
            self.query_one("#fleet-title", Static).update(
                Text(f"Fleet · {self.period_name} · could not read: {one_line(error)}", "red")
            )
            return
        if period == self.period and self.is_mounted:
            self._show(stats, since, until)

    def _show(self, stats: RunStats, since: datetime, until: datetime) -> None:
        self.stats = stats
        self.query_one("#fleet-title", Static).update(
            f"Fleet · {self.period_name} · {stats.runs:,} runs"
        )
        hours = stats.hours(since, until)
        busiest = max((count for _, count in hours), default=0)
        self.query_one("#fleet-hours", Static).update(
            Text(f"Runs per hour, oldest left (busiest hour: {busiest:,})", style="dim")
        )
        self.query_one(Sparkline).data = [float(count) for _, count in hours]
        lines = Content.assemble(
            *(
                part
                for rate in stats.sources()
                for part in (
                    f"{rate.source.value:<12} ",
                    (
                        f"{rate.failure_rate:6.1%} failed",
                        "$status-failed bold" if rate.failed else "",
                    ),
                    (f"  ({rate.failed:,} of {rate.ran:,} runs)\n", "dim"),
                )
            )
        )
        self.query_one("#fleet-sources", Static).update(lines)
        self.errors = stats.top_errors(TOP_ERRORS)
        errors = self.query_one(OptionList)
        if not self.errors:
            errors.add_option(
                Option(Text(f"No failed runs in the {self.period_name}", "dim"), disabled=True)
            )
            return
        self._cursor = None
        errors.add_options(
            Option(_error_prompt(count), id=str(index)) for index, count in enumerate(self.errors)
        )
        errors.highlighted = 0
        errors.focus()

    @on(OptionList.OptionHighlighted, "#fleet-errors")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """The highlighted error in the cursor's text colour, the one it left in red."""
        errors, index = event.option_list, event.option_index
        for was in {self._cursor, index}:
            if was is not None and was < min(errors.option_count, len(self.errors)):
                prompt = _error_prompt(self.errors[was], highlighted=was == index)
                errors.replace_option_prompt_at_index(was, prompt)
        self._cursor = index

    @on(OptionList.OptionSelected, "#fleet-errors")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if self.stats is None or event.option.id is None:
            return
        text = self.errors[int(event.option.id)].text
        self.dismiss(ErrorPick(text, self.stats.carriers_with(text)))


def _error_prompt(count: ErrorCount, highlighted: bool = False) -> Content:
    """An error's line: carriers, runs, the text (on the cursor: all in its colour)."""
    counts = (
        f"{count.carriers:>7,} {_plural(count.carriers, 'carrier'):<8} "
        f"{count.runs:>7,} {_plural(count.runs, 'run'):<4}  "
    )
    if highlighted:
        return Content.assemble((counts + safe_line(count.text), "$status-cursor"))
    return Content.assemble((counts, "dim"), (safe_line(count.text), "$status-failed"))


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"
