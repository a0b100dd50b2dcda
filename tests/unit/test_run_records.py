"""Run records read tolerantly, and the fleet summary `RunStats` folds them into."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fmcsa_tui.models import Source
from fmcsa_tui.models.run_stats import NO_ERROR_TEXT, RunStats, error_text
from fmcsa_tui.models.runs import TEXT_LIMIT, Origin, Outcome, RunRecord, RunWho, SourceRun

T0 = datetime(2026, 11, 29, 8, 15, 30, 123456, tzinfo=UTC)
WHO = RunWho("op", "host", 7, Origin.SYNC)


def record(company: str, minutes: int, **failed: str) -> RunRecord:
    started = T0 + timedelta(minutes=minutes)
    sources = tuple(
        SourceRun(s, Outcome.FAILED, 1.0, 5, failed[s.value])
        if s.value in failed
        else SourceRun(s, Outcome.OK, 0.5, 1)
        for s in Source
    )
    return RunRecord(company, "1000001", "", started, started, WHO, sources)


def test_a_record_round_trips_at_millisecond_precision() -> None:
    original = record("c1", 0, csa_scores="HTTP 503")
    back = RunRecord.from_doc(original.to_doc())
    assert back is not None
    assert back.started == T0.replace(microsecond=123000)
    assert back.sources == original.sources and back.who == WHO


@pytest.mark.parametrize(
    "doc",
    [
        None,
        "text",
        {},
        {"startedAt": "2026-11-29", "endedAt": T0, "who": {"origin": "sync"}, "sources": []},
        {"startedAt": T0, "endedAt": T0, "who": {"origin": "cron"}, "sources": []},
        {"startedAt": T0, "endedAt": T0, "who": "me", "sources": []},
        {"startedAt": T0, "endedAt": T0, "who": {"origin": "sync"}, "sources": {}},
    ],
)
def test_a_document_that_is_no_record_reads_as_none(doc: Any) -> None:
    assert RunRecord.from_doc(doc) is None


def test_odd_fields_of_a_record_are_bounded_or_dropped() -> None:
    doc = record("c1", 0).to_doc()
    doc["name"] = "x" * 10_000
    doc["who"]["pid"] = True
    doc["sources"] = [
        {"source": "csa_scores", "outcome": "failed", "durationMs": -5, "attempts": "5",
         "error": ["not", "text"]},
        {"source": "weather", "outcome": "ok"},
        "junk",
    ]  # fmt: skip
    back = RunRecord.from_doc(doc)
    assert back is not None
    assert len(back.name) == TEXT_LIMIT and back.who.pid == 0
    assert back.sources == (SourceRun(Source.CSA_SCORES, Outcome.FAILED, None, 0, ""),)


def test_stats_count_runs_per_hour_failure_rates_and_errors_by_carrier() -> None:
    records = [
        record("c1", 0, csa_scores="HTTP 503"),
        record("c1", 30, csa_scores="HTTP 503"),
        record("c2", 50, csa_scores="HTTP 503", violations="timed out"),
        record("c3", 70),
    ]
    cancelled = RunRecord(
        "c4", "1", "", T0, T0, WHO, (SourceRun(Source.VIOLATIONS, Outcome.CANCELLED),)
    )
    stats = RunStats.of([*records, cancelled])
    assert stats.runs == 5
    hour = T0.replace(minute=0, second=0, microsecond=0)
    assert stats.hours(T0, T0 + timedelta(minutes=70)) == [
        (hour, 3),  # 8:15, 8:45 and the cancelled one at 8:15
        (hour + timedelta(hours=1), 2),  # 9:05, 9:25
    ]
    rates = {rate.source: (rate.failed, rate.ran) for rate in stats.sources()}
    assert rates == {
        Source.CSA_SCORES: (3, 4),
        Source.VIOLATIONS: (1, 4),
        Source.INSPECTIONS: (0, 4),
    }
    top = stats.top_errors()
    assert [(e.text, e.carriers, e.runs) for e in top] == [("HTTP 503", 2, 3), ("timed out", 1, 1)]
    assert stats.carriers_with("HTTP 503") == {"c1", "c2"}


def test_one_rule_names_the_error_text_counted_and_a_sum_counts_as_a_fold_does() -> None:
    """`error_text`: bounded as a record keeps it, none (or no text) as one name; counts
    given as a store sums them (runs and carriers apart) equal the fold's."""
    assert error_text("") == error_text(None) == error_text(7) == NO_ERROR_TEXT
    assert error_text("x" * 600) == "x" * TEXT_LIMIT
    folded = RunStats.of(
        [record("c1", 0, violations="x" * 600), record("c2", 1, violations="x" * 600)]
    )
    summed = RunStats()
    summed.count_error_runs("x" * 700, 2)
    summed.count_error_carriers("x" * 500, ["c1", "c2", "c1"])
    assert summed.top_errors() == folded.top_errors()
    assert summed.carriers_with("x" * 500) == folded.carriers_with("x" * 500) == {"c1", "c2"}
