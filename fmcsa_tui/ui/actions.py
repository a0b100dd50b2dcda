"""The dashboard's actions, written once: keys, footer labels and what each one does.

Each `Binding` carries its key, its short footer label (`description`) and a sentence
saying what it does and to what (`tooltip`). The footer, the help screen (`help_rows`)
and the command palette (`ActionCommands`) are all built from this one table, and
every binding has an `id`, so `[keymap]` in config.toml can move any key. The
actions that start or stop runs (`WRITE_ACTIONS`) are absent in read-only mode.

The dashboard's keys are resolved in the order typed (`in_key_order`), so a burst of
keys (a paste, a fast typist) after one that moves focus goes where focus now is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial
from typing import Any

from textual.actions import parse
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider

__all__ = [
    "APP_BINDINGS",
    "WRITE_ACTIONS",
    "WRITE_SCOPES",
    "ActionCommands",
    "help_rows",
    "help_sections",
    "in_key_order",
]


def in_key_order(bindings: Iterable[Binding]) -> list[Binding]:
    """The bindings as priority ones: the app runs them as it reads each key, before it
    reads the next. A plain binding runs only once its key has gone to the focused widget
    and bubbled back, and by then the keys typed after it have gone to that widget too:
    after `/`, `i` reached the list and resynced. A key the focused widget takes as text
    (an `Input`'s printable keys) stays its own: Textual leaves such keys out of the
    bindings above it, priority ones included."""
    return [replace(binding, priority=True) for binding in bindings]


APP_BINDINGS: list[Binding] = in_key_order([
    Binding("r", "resync", "Resync", id="app.resync",
            tooltip="Resync the highlighted carrier: all three sources"),
    Binding("c", "resync_source('csa_scores')", "CSA only", show=False, id="app.resync_csa",
            tooltip="Resync csa_scores only, of the highlighted carrier"),
    Binding("v", "resync_source('violations')", "Violations only", show=False,
            id="app.resync_violations",
            tooltip="Resync violations only, of the highlighted carrier"),
    Binding("i", "resync_source('inspections')", "Inspections only", show=False,
            id="app.resync_inspections",
            tooltip="Resync inspections only, of the highlighted carrier"),
    Binding("R", "resync_view", "Resync all", id="app.resync_view",
            tooltip="Resync the marked carriers, or without marks every carrier in the "
            "current view, after asking"),
    Binding("space", "toggle_mark", "Mark", show=False, id="app.toggle_mark",
            tooltip="Mark or unmark the highlighted carrier and move down"),
    Binding("asterisk", "mark_view", "Mark view", show=False, id="app.mark_view",
            tooltip="Mark every carrier in the current view"),
    Binding("x", "cancel", "Cancel", id="app.cancel",
            tooltip="Cancel the highlighted carrier's run, or take it out of the queue"),
    Binding("X", "cancel_all", "Cancel all", id="app.cancel_all",
            tooltip="Cancel every run of this dashboard, queued ones included"),
    Binding("slash", "search", "Search", id="app.search",
            tooltip="Search DOT, name and MC as you type (enter: back to the list)"),
    Binding("f", "cycle_failed", "Failed", id="app.cycle_failed",
            tooltip="Cycle the failed-source filter: all, any failure, csa_scores, "
            "violations, inspections"),
    Binding("s", "toggle_stale", "Stale", id="app.toggle_stale",
            tooltip="Toggle stale only: a source without success for longer than the setting"),
    Binding("n", "toggle_never", "Never", id="app.toggle_never",
            tooltip="Toggle never synced only"),
    Binding("d", "toggle_detail", "Detail", id="app.toggle_detail",
            tooltip="Show or hide the detail pane (hidden at first on terminals under "
            "30 rows, so the list keeps its rows)"),
    Binding("escape", "clear_filters", "Clear", id="app.clear_filters",
            tooltip="Clear the marks (asking first when many), else the search and "
            "every filter"),
    # the highlighted carrier: the detail pane's tabs, and getting its facts out
    Binding("1", "detail_tab('sync')", "Sync tab", show=False, id="app.tab_sync",
            tooltip="Detail pane: the Sync tab (status, each source's last success, errors)"),
    Binding("2", "detail_tab('data')", "Data tab", show=False, id="app.tab_data",
            tooltip="Detail pane: the Data tab (BASICs against FMCSA's thresholds, "
            "inspections, crashes, recent violations)"),
    Binding("3", "detail_tab('history')", "History tab", show=False, id="app.tab_history",
            tooltip="Detail pane: the History tab (the carrier's runs, newest first)"),
    Binding("y", "copy_carrier", "Copy", show=False, id="app.copy_carrier",
            tooltip="Copy the highlighted carrier's DOT, name, status and errors as text"),
    Binding("Y", "copy_dot", "Copy DOT", show=False, id="app.copy_dot",
            tooltip="Copy the highlighted carrier's DOT number"),
    Binding("e", "export_view", "Export", show=False, id="app.export_view",
            tooltip="Write the current view (its filter and sort) as CSV to a file in the "
            "working directory"),
    Binding("w", "open_safer", "SAFER", show=False, id="app.open_safer",
            tooltip="Open the highlighted carrier's FMCSA SAFER snapshot in the browser"),
    Binding("question_mark", "help", "Help", id="app.help", tooltip="Show every key"),
    Binding("q", "quit", "Quit", id="app.quit",
            tooltip="Quit; with runs in progress, ask first, then cancel them cleanly"),
])  # fmt: skip

#: Actions that write to the store (a run writes sources and takes leases; a cancel
#: releases them): in read-only mode they are left out of the keys, help and palette.
WRITE_ACTIONS = frozenset({"resync", "resync_source", "resync_view", "cancel", "cancel_all"})

#: What each write action touches, as the help screen says it.
WRITE_SCOPES: dict[str, str] = {
    "resync": "one carrier",
    "resync_source": "one carrier",
    "resync_view": "marked, else view",
    "cancel": "one carrier",
    "cancel_all": "all runs",
}


HelpRow = tuple[str, str, str]


def help_rows(app: App[Any], bindings: Iterable[Binding]) -> list[HelpRow]:
    """(keys as currently mapped, what it does, what it writes to) for each binding the
    app allows (read-only mode drops the writes), in table order."""
    keys: dict[str, list[str]] = {}
    for bound in app._bindings.key_to_bindings.values():
        for binding in bound:
            keys.setdefault(binding.action, []).append(app.get_key_display(binding))
    return [
        (
            ", ".join(keys.get(binding.action, ["-"])),
            binding.tooltip or binding.description,
            WRITE_SCOPES.get(parse(binding.action)[1], ""),
        )
        for binding in bindings
        if not _left_out(app, binding)
    ]


def _left_out(app: App[Any], binding: Binding) -> bool:
    """Whether the app leaves the action out altogether (read-only mode's writes); an
    action that merely does nothing right now (cancel with nothing running) stays."""
    _, name, _ = parse(binding.action)
    return name in WRITE_ACTIONS and getattr(app, "read_only", False)


def help_sections(
    app: App[Any], list_bindings: Iterable[BindingType]
) -> list[tuple[str, list[HelpRow]]]:
    """What the help screen lists: the dashboard's actions, the list's keys, the palette."""
    list_rows = [
        (", ".join(binding.key.split(",")), binding.description, "")
        for binding in list_bindings
        if isinstance(binding, Binding)
    ]
    return [
        ("Carriers", help_rows(app, APP_BINDINGS)),
        ("List", list_rows),
        ("Anywhere", [("ctrl+p", "Command palette", "")]),
    ]


class ActionCommands(Provider):
    """The command palette's entries: every action of the table, found by what it does."""

    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        return [
            (binding.tooltip, binding.description, partial(self.app.run_action, binding.action))
            for binding in APP_BINDINGS
            if not _left_out(self.app, binding)
        ]

    async def discover(self) -> Hits:
        for title, short, run in self._entries():
            yield DiscoveryHit(title, run, help=short)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, short, run in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, help=short)
