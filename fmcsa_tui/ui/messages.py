"""Messages the app posts to itself from its workers and callbacks (the Harlequin way:
a worker never touches a widget; its news arrives as a message on the app)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from textual.app import App
from textual.message import Message

from fmcsa_tui.coordinator import Notice
from fmcsa_tui.coordinator.feed import FeedUpdate


@dataclass
class FeedMessage(Message):
    """What the store feed learned: rows loaded or changed, leases, the connection."""

    update: FeedUpdate


@dataclass
class DetailLoaded(Message):
    """The highlighted carrier's whole document, read for the detail pane (None: gone)."""

    company_id: str
    document: dict[str, Any] | None


@dataclass
class RunMessage(Message):
    """What the run coordinator reports: an engine event, a queue change, a run's end."""

    notice: Notice


_Handler = TypeVar("_Handler", bound=Callable[..., None])


def while_on_screen(handler: _Handler) -> _Handler:
    """Drop a message that arrives once the dashboard is being torn down (on quit):
    a worker's late news must not meet a half-removed screen."""

    @functools.wraps(handler)
    def guarded(app: App[Any], *args: Any) -> None:
        # `is_running` goes False before Textual starts taking the screen apart
        if getattr(app, "closing_down", False) or not app.is_running:
            return None
        if not app.query("CompanyList"):
            return None
        return handler(app, *args)

    return cast(_Handler, guarded)
