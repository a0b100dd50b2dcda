"""The dashboard's keys that get facts out: `y` copy the carrier, `Y` its DOT, `w` its
SAFER snapshot, `e` export the view. A mixin of `FmcsaApp`, as `QuittingApp` is; what
the text, the file and the link hold is `ui/facts.py`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App

from fmcsa_tui.formatting import one_line, safe_line
from fmcsa_tui.ui.facts import carrier_text, export_name, safer_url, write_export

if TYPE_CHECKING:
    from fmcsa_tui.ui.company_list import CompanyList
    from fmcsa_tui.ui.detail import DetailPane
    from fmcsa_tui.ui.widgets import ActivityPanel


class FactsActions(App[None]):
    """Copy, SAFER and export over the app's list (`companies`) and detail pane."""

    clock: Callable[[], datetime]

    if TYPE_CHECKING:  # FmcsaApp's

        @property
        def companies(self) -> CompanyList: ...

        @property
        def detail(self) -> DetailPane: ...

        @property
        def activity(self) -> ActivityPanel: ...

    def action_copy_carrier(self) -> None:
        summary = self.companies.highlighted
        if summary is not None:
            self.copy_to_clipboard(carrier_text(summary, self.detail.document))
            self.notify(f"DOT {summary.dot_number or '?'}: DOT, name, status and errors.",
                        title="Copied")  # fmt: skip

    def action_copy_dot(self) -> None:
        summary = self.companies.highlighted
        if summary is not None and summary.dot_number:
            self.copy_to_clipboard(summary.dot_number)
            self.notify(f"DOT {summary.dot_number}", title="Copied")

    def action_open_safer(self) -> None:
        summary = self.companies.highlighted
        if summary is None:
            return
        url = safer_url(summary.dot_number)
        if url is None:
            shown = safe_line(summary.dot_number or "")[:40] or "(none)"
            self.notify(f"No SAFER page: DOT {shown} is not a DOT number.", severity="warning")
            return
        self.open_url(url)
        self.notify(f"SAFER snapshot of DOT {summary.dot_number} opened in the browser.")

    def action_export_view(self) -> None:
        """The view as the list shows it (filter and sort; marks play no part), written in
        a thread: 100,000 rows must not stop the dashboard."""
        summaries = self.companies.visible_summaries()
        self._export(summaries, export_name(self.companies.filter, self.clock()))

    @work(group="export", exit_on_error=False)
    async def _export(self, summaries: list[Any], name: str) -> None:
        try:
            path = await asyncio.to_thread(write_export, Path.cwd(), name, summaries)
        except OSError as error:
            self.notify(f"Export failed: {one_line(error, 200)}", severity="error")
            return
        self.notify(f"{len(summaries):,} carriers written to {path}", title="Exported")
        self.activity.note(f"exported {len(summaries):,} carriers to {path}")
