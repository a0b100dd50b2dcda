"""Messages the app's workers post back to the UI (the Harlequin way: no widget pokes)."""

from __future__ import annotations

from textual.message import Message

from fmcsa_tui.models import CompanySummary
from fmcsa_tui.sync.events import RunEvent


class SyncEventPosted(Message):
    """One engine event, from the worker running that company."""

    def __init__(self, event: RunEvent) -> None:
        super().__init__()
        self.event = event


class CompaniesLoaded(Message):
    """A listing from the store (start-up, reconnect); `complete` False for a first screen."""

    def __init__(self, summaries: list[CompanySummary], complete: bool = True) -> None:
        super().__init__()
        self.summaries = summaries
        self.complete = complete


class CompaniesChanged(Message):
    """Companies written since the last look (ours or anyone else's), and live leases."""

    def __init__(self, summaries: list[CompanySummary], leased: set[str]) -> None:
        super().__init__()
        self.summaries = summaries
        self.leased = leased


class StoreConnection(Message):
    """The store went away or came back."""

    def __init__(self, connected: bool, reason: str = "") -> None:
        super().__init__()
        self.connected = connected
        self.reason = reason
