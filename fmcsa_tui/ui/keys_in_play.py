"""Which of the dashboard's keys act now, and so which the footer shows: a mixin of
`FmcsaApp` (as `QuittingApp` is). The keys themselves are the table in `ui/actions.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.app import App
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Input

from fmcsa_tui.coordinator import RunCoordinator
from fmcsa_tui.store.base import CompanyFilter
from fmcsa_tui.ui.actions import (
    APP_BINDINGS,
    OVER_DIALOGS,
    PALETTE_SHOWN_FROM,
    WRITE_ACTIONS,
    fit_footer,
)

if TYPE_CHECKING:
    from fmcsa_tui.ui.company_list import CompanyList

#: The actions of the dashboard's keys, by name (an action string without its arguments),
#: but for those that act over a dialog too (ctrl+q).
DASHBOARD_ACTIONS = (
    frozenset(binding.action.partition("(")[0] for binding in APP_BINDINGS) - OVER_DIALOGS
)


class KeysFooter(Footer):
    """Textual's footer, recomposed once for any number of binding changes before it
    gets to it. Textual's queues a recompose (~12-20 ms) per change, and the start
    makes four in a row (focus, resize, the first view) before the first rows."""

    _recompose_queued = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True  # as Footer's own: the bindings are there to show
        if not screen.app.app_focus or self._recompose_queued:
            return
        if self.is_attached and screen is self.screen:
            self._recompose_queued = True
            self.call_after_refresh(self._recompose_queued_one)

    async def _recompose_queued_one(self) -> None:
        self._recompose_queued = False  # a change from here on queues the next one
        await self.recompose()


class KeysInPlay(App[None]):
    """`check_action` for the dashboard's keys, and the footer kept to those."""

    runs: RunCoordinator
    read_only: bool
    #: The keys' applicability when the footer was last recomposed.
    _footer_shown: tuple[bool | None, ...] = ()

    if TYPE_CHECKING:  # FmcsaApp's

        @property
        def companies(self) -> CompanyList: ...

    def _refresh_footer(self, width: int | None = None) -> None:
        """Recompose the footer only when a key's applicability or look changed (it costs
        ~20 ms): `R`'s label follows the marks, and on narrow terminals the filter keys and
        the palette's are left out (`fit_footer`) so that `? Help` stays on screen."""
        width = self.size.width if width is None else width
        state = tuple(self.check_action(a, ()) for a in ("cancel", "cancel_all", "clear_filters"))
        fitted = fit_footer(self._bindings, marked=self.companies.mark_count > 0, width=width)
        footer, palette = self.query_one(Footer), width >= PALETTE_SHOWN_FROM
        if state != self._footer_shown or fitted or footer.show_command_palette != palette:
            self._footer_shown = state
            footer.show_command_palette = palette
            self.refresh_bindings()

    def on_resize(self, event: events.Resize) -> None:
        self._refresh_footer(event.size.width)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that do nothing right now are left out of the footer. The dashboard's keys
        act on the dashboard only: with a dialog or the palette on top, they are its keys
        (they are priority bindings, which Textual would otherwise run over any screen).
        In read-only mode the write actions are left out of everything (False: no key,
        no palette entry)."""
        if action in DASHBOARD_ACTIONS and self.screen.is_modal:
            return False
        if action in WRITE_ACTIONS and self.read_only:
            return False
        try:
            if action == "leave_search":  # else enter is the focused widget's own
                return self.focused is self.query_one("#search", Input)
            if action == "cancel":
                highlighted = self.companies.highlighted
                return highlighted is not None and highlighted.id in self.runs
            if action == "clear_filters":
                return (
                    self.companies.filter != CompanyFilter()
                    or self.companies.mark_count > 0
                    or isinstance(self.focused, Input)
                )
        except NoMatches:  # asked before the list is composed
            return None
        if action == "cancel_all":
            return self.runs.busy
        return True
