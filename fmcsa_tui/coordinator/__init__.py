"""What the dashboard and the CLI share above the engine and the store; no Textual.

`runs`: every run of this process, queued, bounded and watched (`RunCoordinator`).
`feed`: the store as the dashboard follows it: every row, then changes and leases
(`StoreFeed`).
"""

from fmcsa_tui.coordinator.runs import (
    BulkTally,
    Notice,
    QueueChanged,
    Run,
    RunCoordinator,
    RunEnded,
    Submitted,
    source_state,
)

__all__ = [
    "BulkTally",
    "Notice",
    "QueueChanged",
    "Run",
    "RunCoordinator",
    "RunEnded",
    "Submitted",
    "source_state",
]
