"""What a stretch of run history says about the fleet: runs per hour, each source's
failure rate, and the most frequent error texts with how many carriers they hit.

Pure and incremental (`RunStats.add` one record at a time), so a caller can fold a
store's stream of 400,000 records without holding them: `fmcsa-tui history --summary`
and the dashboard's fleet screen both use it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fmcsa_tui.models.runs import Outcome, RunRecord
from fmcsa_tui.models.values import Source

__all__ = ["ErrorCount", "RunStats", "SourceRate"]

#: Error texts tracked at most; beyond it new texts are not counted (a flood of unique
#: texts, each naming a request id, must not grow memory without bound).
_MOST_TEXTS = 10_000


@dataclass(frozen=True, slots=True)
class SourceRate:
    source: Source
    ran: int  # runs in which the source was ok or failed (not cancelled or skipped)
    failed: int

    @property
    def failure_rate(self) -> float:
        return self.failed / self.ran if self.ran else 0.0


@dataclass(frozen=True, slots=True)
class ErrorCount:
    text: str
    carriers: int  # distinct carriers whose runs failed with it
    runs: int


@dataclass(slots=True)
class RunStats:
    """Folded run records (any order)."""

    runs: int = 0
    per_hour: Counter[datetime] = field(default_factory=Counter)  # by the hour it started
    _ran: Counter[Source] = field(default_factory=Counter)
    _failed: Counter[Source] = field(default_factory=Counter)
    _error_runs: Counter[str] = field(default_factory=Counter)
    _error_carriers: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[RunRecord]) -> RunStats:
        stats = cls()
        for record in records:
            stats.add(record)
        return stats

    def add(self, record: RunRecord) -> None:
        self.runs += 1
        self.per_hour[record.started.replace(minute=0, second=0, microsecond=0)] += 1
        for run in record.sources:
            if run.outcome in (Outcome.OK, Outcome.FAILED):
                self._ran[run.source] += 1
            if run.outcome is not Outcome.FAILED:
                continue
            self._failed[run.source] += 1
            text = run.error or "(no error text)"
            carriers = self._error_carriers.get(text)
            if carriers is None:
                if len(self._error_carriers) >= _MOST_TEXTS:
                    continue
                carriers = self._error_carriers[text] = set()
            carriers.add(record.company_id)
            self._error_runs[text] += 1

    def hours(self, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
        """Runs started in each hour from `since`'s to `until`'s, empty hours included."""
        hour = since.replace(minute=0, second=0, microsecond=0)
        rows = []
        while hour <= until:
            rows.append((hour, self.per_hour.get(hour, 0)))
            hour += timedelta(hours=1)
        return rows

    def sources(self) -> list[SourceRate]:
        return [SourceRate(source, self._ran[source], self._failed[source]) for source in Source]

    def top_errors(self, limit: int = 10) -> list[ErrorCount]:
        """The error texts hitting the most carriers first (then the most runs, then text)."""
        counts = [
            ErrorCount(text, len(carriers), self._error_runs[text])
            for text, carriers in self._error_carriers.items()
        ]
        counts.sort(key=lambda count: (-count.carriers, -count.runs, count.text))
        return counts[:limit]

    def carriers_with(self, text: str) -> frozenset[str]:
        """The company ids whose runs failed with `text` (the fleet screen's filter)."""
        return frozenset(self._error_carriers.get(text, ()))
