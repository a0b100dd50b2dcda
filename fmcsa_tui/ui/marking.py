"""Which set `R` resyncs (the marked carriers, else the view) and clearing marks: both
asked first, by the dashboard's two functions here (`FmcsaApp` calls them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fmcsa_tui.sync.engine import ALL_SOURCES
from fmcsa_tui.ui.screens import ConfirmScreen

if TYPE_CHECKING:
    from fmcsa_tui.ui.app import FmcsaApp

#: Clearing more marks than this asks first: they may be an hour's picking.
ASK_BEFORE_CLEARING = 20


def ask_to_resync(app: FmcsaApp) -> None:
    """`R`: the marked carriers if there are marks, else the view; always after asking,
    and above `confirm_typed_over` carriers the operator types the count."""
    if not app._can_sync():
        return
    companies, runs = app.companies, app.runs
    marked = companies.mark_count > 0
    chosen = companies.marked_summaries() if marked else companies.visible_summaries()
    candidates = [
        summary
        for summary in chosen
        if summary.status != "unreadable"
        and summary.id not in runs
        and summary.id not in runs.elsewhere
    ]
    if not candidates:
        app.notify(f"Nothing {'marked' if marked else 'in this view'} to resync.")
        return
    count = len(candidates)
    plural = "carrier" if count == 1 else "carriers"
    which = (
        f"the {count:,} marked {plural}"
        if marked
        else f"all {count:,} {plural} in this view ({app.filter_text})"
    )
    question = f"Resync {which}? At most {runs.concurrency} run at a time."

    def answered(yes: bool | None) -> None:
        if yes:
            runs.submit_many(candidates, ALL_SOURCES)

    typed = count if count > app.settings.confirm_typed_over else None
    app.push_screen(ConfirmScreen(question, yes=f"Resync {count:,}", typed=typed), answered)


def clear_marks(app: FmcsaApp, count: int) -> None:
    """Escape with marks: at once for a few, after asking for more."""
    if count <= ASK_BEFORE_CLEARING:
        app.companies.clear_marks()
        return

    def answered(yes: bool | None) -> None:
        if yes:
            app.companies.clear_marks()

    question = f"Clear the {count:,} marks? Nothing is written; only the marks go."
    app.push_screen(ConfirmScreen(question, yes="Clear marks"), answered)
