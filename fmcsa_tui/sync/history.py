"""A run's history record, as the engine writes it: built from the run's own events,
stored by one write that a cancellation cannot interrupt, and never the run's failure.

`SyncEngine.run` puts its `emit` through a `RunLog`, which notes each source's outcome
as the events go by (so the record says exactly what the operator was shown), then
`write_history` stores the record; a store that refuses it becomes a
`HistoryNotWritten` event (the activity panel's line, the CLI's warning), not an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fmcsa_tui.formatting import one_line
from fmcsa_tui.models import Source, utcnow
from fmcsa_tui.models.runs import Outcome, RunRecord, RunWho, SourceRun
from fmcsa_tui.store.base import CompanyStore
from fmcsa_tui.sync.events import (
    HistoryNotWritten,
    RunEvent,
    RunStarted,
    SourceFailed,
    SourceSucceeded,
)
from fmcsa_tui.sync.leases import finish_despite_cancel

__all__ = ["RunLog", "write_history"]

Emit = Callable[[RunEvent], None]


class RunLog:
    """One run's sources as its events tell them; `emit` passes every event on."""

    def __init__(
        self, company_id: str, dot_number: str, name: str, sources: Sequence[Source], emit: Emit
    ) -> None:
        self.company_id, self.dot_number, self.name = company_id, dot_number, name
        self.sources = tuple(sources)
        self.started = utcnow()
        self._emit = emit
        self._outcomes: dict[Source, SourceRun] = {}

    def emit(self, event: RunEvent) -> None:
        if isinstance(event, RunStarted):
            self.started = event.at  # the run's start, as `lastRun` records it
        elif isinstance(event, SourceSucceeded):
            self._outcomes[event.source] = SourceRun(
                event.source, Outcome.OK, event.duration, event.attempts, summary=event.summary
            )
        elif isinstance(event, SourceFailed):
            self._outcomes[event.source] = SourceRun(
                event.source, Outcome.FAILED, event.duration, event.attempts, error=event.error
            )
        self._emit(event)

    def record(self, who: RunWho) -> RunRecord:
        """The run as it ended: a source with no outcome was cut short (cancelled)."""
        return RunRecord(
            self.company_id,
            self.dot_number,
            self.name,
            self.started,
            utcnow(),
            who,
            tuple(self._outcomes.get(s, SourceRun(s, Outcome.CANCELLED)) for s in self.sources),
        )

    def skipped(self, who: RunWho, reason: str) -> RunRecord:
        """A pass left the carrier to another process: every source skipped, and why."""
        now = utcnow()
        sources = tuple(SourceRun(source, Outcome.SKIPPED) for source in self.sources)
        return RunRecord(
            self.company_id, self.dot_number, self.name, self.started, now, who, sources, reason
        )


async def write_history(
    store: CompanyStore,
    record: RunRecord,
    emit: Emit,
    public_text: Callable[[str], str],
) -> None:
    """Store `record` to the end even if cancelled meanwhile; a failure is told through
    `emit` as `HistoryNotWritten` (its text scrubbed by `public_text`), never raised."""
    try:
        await finish_despite_cancel(store.record_run(record))
    except Exception as error:
        emit(
            HistoryNotWritten(
                company_id=record.company_id,
                dot_number=record.dot_number,
                name=record.name,
                error=public_text(f"run history not written: {one_line(error)}"),
            )
        )
