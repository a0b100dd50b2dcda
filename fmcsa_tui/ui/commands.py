"""Command-palette entries: every key of the dashboard, findable by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from fmcsa_tui.ui.app import FmcsaApp

#: (title, help, action string) — the action runs exactly as its key would.
COMMANDS: list[tuple[str, str, str]] = [
    ("Resync carrier", "The highlighted carrier, all three sources", "resync"),
    ("Resync carrier: csa_scores only", "CSA BASIC scores", "resync_source('csa_scores')"),
    ("Resync carrier: violations only", "DataHub violations", "resync_source('violations')"),
    ("Resync carrier: inspections only", "QCMobile stats", "resync_source('inspections')"),
    (
        "Resync every carrier in view",
        "Bulk resync of the filtered list, after asking",
        "resync_view",
    ),
    ("Cancel carrier's run", "Cancel the highlighted carrier's run", "cancel"),
    ("Cancel all runs", "Cancel every run in progress", "cancel_all"),
    ("Search", "Incremental search on DOT, name and MC", "search"),
    ("Cycle failed-source filter", "all, any failure, then each source", "cycle_failed"),
    ("Toggle stale only", "A source without success for too long", "toggle_stale"),
    ("Toggle never synced", "Carriers that were never synced", "toggle_never"),
    ("Clear filters", "Show every carrier", "clear_filters"),
    ("Help", "Every key", "help"),
    ("Quit", "Leave, cancelling runs cleanly after asking", "quit"),
]


class DashboardCommands(Provider):
    """Finds the dashboard's actions by name."""

    def _run(self, action: str) -> Callable[[], object]:
        app: FmcsaApp = self.app  # type: ignore[assignment]
        return partial(app.run_action, action)

    async def discover(self) -> Hits:
        for title, help_text, action in COMMANDS:
            yield DiscoveryHit(title, self._run(action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in COMMANDS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), self._run(action), help=help_text)
