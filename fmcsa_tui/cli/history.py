"""`fmcsa-tui history`: the runs the store remembers, newest first, or what they add up to.

Only reads (never creates a store). Runs stream from the store a page at a time
(`CompanyStore.runs_since`), so a fleet's week is printed without holding it; the
summary folds the same stream with `models.run_stats.RunStats`, which the dashboard's
fleet screen uses too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import click

from fmcsa_tui.cli.common import (
    Abort,
    Age,
    command_settings,
    opened,
    run_command,
    say,
    store_option,
)
from fmcsa_tui.formatting import iso_ms, json_text, utc_text
from fmcsa_tui.models import summarize, utcnow
from fmcsa_tui.models.run_stats import RunStats
from fmcsa_tui.models.runs import Outcome, RunRecord
from fmcsa_tui.settings import Settings
from fmcsa_tui.store import CompanyStore

__all__ = ["history"]


@click.command()
@click.argument("dots", nargs=-1, metavar="[DOT ...]")
@click.option("--since", type=Age(), default="7d", show_default=True, metavar="AGE",
              help="Runs started within AGE (30m, 6h, 7d)")  # fmt: skip
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per run (times ISO 8601 UTC, milliseconds)")  # fmt: skip
@click.option("--summary", is_flag=True,
              help="Runs per hour, failure rate per source, most frequent errors")  # fmt: skip
@store_option
def history(
    dots: tuple[str, ...], since: timedelta, as_json: bool, summary: bool, store_url: str | None
) -> None:
    """Print the runs of the given carriers (default: every carrier), newest first.

    Each run: when, who ran it (user@host, pid, dashboard/sync/worker), each source's
    outcome and duration; a failed source's error on its own line.
    """
    settings = command_settings(store=store_url)
    run_command(_history(settings, dots, utcnow() - since, as_json, summary))


async def _history(
    settings: Settings, dots: tuple[str, ...], since: datetime, as_json: bool, summary: bool
) -> None:
    async with opened(settings, create=False) as store:
        ids = await _company_ids(store, dots) if dots else None
        runs = store.runs_since(since, ids)
        if summary:
            stats = RunStats()
            async for record in runs:
                stats.add(record)
            _print_summary(stats, since, utcnow(), as_json)
            return
        shown = 0
        async for record in runs:
            shown += 1
            if as_json:
                click.echo(json_text(run_json(record), indent=None))
            else:
                for line in run_lines(record):
                    say(line)
        if not shown and not as_json:
            say(f"no runs since {utc_text(since)}")


async def _company_ids(store: CompanyStore, dots: tuple[str, ...]) -> list[str]:
    """The `_id` of each DOT's company; an unknown DOT is one line, exit 2."""
    ids = []
    for dot in dots:
        doc = await store.get_company(dot.strip())
        if doc is None:
            raise Abort(f"no company with DOT number {dot!r} in the store")
        ids.append(summarize(doc).id)
    return ids


def run_json(record: RunRecord) -> dict[str, Any]:
    """The record as JSON: its stored shape, times as ISO 8601 UTC with milliseconds."""
    doc = record.to_doc()
    doc["startedAt"], doc["endedAt"] = iso_ms(record.started), iso_ms(record.ended)
    return doc


def run_lines(record: RunRecord) -> list[str]:
    """One line for the run, then one per failed source's error."""
    who = record.who
    parts = [
        f"{run.source.value} {run.outcome.value}"
        + (f" {run.duration:.2f}s" if run.duration is not None else "")
        + (f" ({run.attempts} attempts)" if run.outcome is Outcome.FAILED else "")
        for run in record.sources
    ]
    note = f" ({record.note})" if record.note else ""
    lines = [
        f"{utc_text(record.started)}  DOT {record.dot_number}  "
        f"{who.user}@{who.host} pid {who.pid} ({who.origin.value})  {', '.join(parts)}{note}"
    ]
    lines += [
        f"    {run.source.value}: {run.error}"
        for run in record.sources
        if run.outcome is Outcome.FAILED
    ]
    return lines


def _print_summary(stats: RunStats, since: datetime, now: datetime, as_json: bool) -> None:
    hours = stats.hours(since, now)
    sources = stats.sources()
    errors = stats.top_errors()
    if as_json:
        click.echo(
            json_text(
                {
                    "since": iso_ms(since),
                    "until": iso_ms(now),
                    "runs": stats.runs,
                    "runsPerHour": [{"hour": iso_ms(h), "runs": n} for h, n in hours],
                    "sources": [
                        {
                            "source": s.source.value,
                            "ran": s.ran,
                            "failed": s.failed,
                            "failureRate": round(s.failure_rate, 4),
                        }
                        for s in sources
                    ],
                    "errors": [
                        {"error": e.text, "carriers": e.carriers, "runs": e.runs} for e in errors
                    ],
                },
                indent=None,
            )
        )
        return
    say(f"{stats.runs} runs since {utc_text(since)}")
    say("runs per hour:")
    for hour, count in hours:
        say(f"  {hour:%Y-%m-%d %H}:00  {count}")
    say("failure rate per source:")
    for rate in sources:
        say(f"  {rate.source.value:<12} {rate.failed}/{rate.ran} ({rate.failure_rate:.1%})")
    say("most frequent errors (carriers, runs):" if errors else "no errors")
    for error in errors:
        say(f"  {error.carriers:>6} {error.runs:>6}  {error.text}")
