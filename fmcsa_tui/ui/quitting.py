"""Quitting the dashboard: at once when nothing runs, else after asking, and then only
once every run has ended its write and given back its lease.

`q` quits from the list; ctrl+q from any screen, a dialog included (its binding is one
of `OVER_DIALOGS` in `ui/actions.py`). On the quit question itself ctrl+q changes
nothing: cancelling runs takes a `y`, never a second press of the key that asked.
"""

from __future__ import annotations

from textual import work
from textual.app import App

from fmcsa_tui.coordinator import RunCoordinator
from fmcsa_tui.ui.screens import ConfirmScreen


class QuitQuestion(ConfirmScreen):
    """ "Cancel the runs and quit?", told apart from other questions by its type."""


class QuittingApp(App[None]):
    """The dashboard's quit flow (`FmcsaApp` builds on it); `runs` is the app's."""

    runs: RunCoordinator

    async def action_quit(self) -> None:
        if not self.runs.busy:
            self.exit()
            return
        running, queued = self.runs.running, self.runs.queued
        waiting = f", {queued:,} queued" if queued else ""
        question = (
            f"{running:,} run{'s' if running != 1 else ''} in progress{waiting}. Cancel "
            f"{'them' if running + queued != 1 else 'it'} and quit? Sources already "
            "written stay written; nothing is left half-done."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._cancel_and_exit()

        self.push_screen(QuitQuestion(question, yes="Cancel runs and quit"), answered)

    async def action_quit_anywhere(self) -> None:
        """ctrl+q: as `q`, over whatever dialog is open (answering no returns to it)."""
        if not isinstance(self.screen, QuitQuestion):
            await self.action_quit()

    @work(group="quit", exclusive=True)
    async def _cancel_and_exit(self) -> None:
        await self.runs.shutdown()  # every run ends its write and releases its lease
        self.exit()
