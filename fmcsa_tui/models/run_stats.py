"""What a stretch of run history says about the fleet: runs per hour, each source's
failure rate, and the most frequent error texts with how many carriers they hit.

Pure and incremental (`RunStats.add` one record at a time), so a caller can fold a
store's stream of 400,000 records without holding them: `fmcsa-tui history --summary`
and the dashboard's fleet screen both use it. A store that sums records up itself
(SQLite in SQL, `store.run_stats`) feeds the same counters through `count_runs`,
`count_source` and `count_error`, which `add` is written in, so both say the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fmcsa_tui.models.runs import Outcome, RunRecord, bounded_text
from fmcsa_tui.models.values import Source

__all__ = ["NO_ERROR_TEXT", "ErrorCount", "RunStats", "SourceRate", "error_text"]

#: Error texts tracked at most; beyond it new texts are not counted (a flood of unique
#: texts, each naming a request id, must not grow memory without bound).
_MOST_TEXTS = 10_000
#: What a failure without an error text is counted as.
NO_ERROR_TEXT = "(no error text)"


def error_text(text: object) -> str:
    """The one rule for which text a failure is counted under: the stored text, bounded
    as a record keeps it; a missing one (or one that is no text) as `NO_ERROR_TEXT`.
    Stores that sum up themselves apply it when they write (SQLite's rollup)."""
    return bounded_text(text) or NO_ERROR_TEXT


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
        self.count_runs(record.started, 1)
        for run in record.sources:
            self.count_source(run.source, run.outcome, 1)
            if run.outcome is Outcome.FAILED:
                self.count_error(run.error, record.company_id, 1)

    def count_runs(self, started: datetime, runs: int) -> None:
        """`runs` runs started in `started`'s hour."""
        self.runs += runs
        self.per_hour[started.replace(minute=0, second=0, microsecond=0)] += runs

    def count_source(self, source: Source, outcome: Outcome, times: int) -> None:
        """`source` ended `outcome` in `times` runs (cancelled and skipped never ran)."""
        if outcome in (Outcome.OK, Outcome.FAILED):
            self._ran[source] += times
        if outcome is Outcome.FAILED:
            self._failed[source] += times

    def count_error(self, text: str, company_id: str, runs: int) -> None:
        """`runs` failed sources of `company_id`'s runs said `text`."""
        self.count_error_runs(text, runs)
        self.count_error_carriers(text, (company_id,))

    def count_error_runs(self, text: str, runs: int) -> None:
        """`runs` failed sources said `text` (a store's sum; carriers given apart)."""
        key = self._tracked(text)
        if key is not None:
            self._error_runs[key] += runs

    def count_error_carriers(self, text: str, company_ids: Iterable[str]) -> None:
        """These carriers' runs failed with `text` (any number of times)."""
        key = self._tracked(text)
        if key is not None:
            self._error_carriers[key].update(company_ids)

    def _tracked(self, text: str) -> str | None:
        """`text` as counted (`error_text`), or None past `_MOST_TEXTS` texts."""
        key = error_text(text)
        if key not in self._error_carriers:
            if len(self._error_carriers) >= _MOST_TEXTS:
                return None
            self._error_carriers[key] = set()
        return key

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
