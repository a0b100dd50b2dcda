"""Which of the dashboard's keys act now, and so which the footer shows: a mixin of
`FmcsaApp` (as `QuittingApp` is). The keys themselves are the table in `ui/actions.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.app import App, ComposeResult
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
    """Textual's footer, recomposed only when what it draws changed. Textual's
    recomposes (12-20 ms, up to 60 on a loaded machine) for every refresh of the
    bindings: the start made four in a row before the first rows (focus, resize, the
    first view), each setting off one more (its new entries' mount refreshes the
    bindings), and so does every focus change."""

    #: What the last compose drew (`_drawing`); None before the bindings were ready.
    _drawn: tuple[object, ...] | None = None

    def _drawing(self) -> tuple[object, ...]:
        """Everything `Footer.compose` draws from: the active bindings, whether each is
        enabled, their tooltips, and whether the palette's entry is shown."""
        active = self.screen.active_bindings.values()
        return (
            self.show_command_palette,
            tuple((binding, enabled, tooltip) for _, binding, enabled, tooltip in active),
        )

    def compose(self) -> ComposeResult:
        self._drawn = self._drawing() if self._bindings_ready else None
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        """As Footer's own, but the recompose it queues may find nothing to do."""
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if self.is_attached and self._drawing() != self._drawn:
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
