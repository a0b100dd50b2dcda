"""The History tab: the carrier's runs, newest first, and a per-source success strip.

The body is one `Text`, which Textual lays out as its own `Content` (a Rich `Group` of
padded lines went through Rich line by line), and `runs` cuts it to the runs on
screen: the pane lists more as it is scrolled. Its cost grows with the lines listed.

The records are the store's `runs_of(company_id, limit)`, `RunRecord`s already checked
by `RunRecord.from_doc` (a document another program wrote is one, or is left out); every
text in them (name, user, host, error, summary, note) came from outside and goes
through `safe_line` here.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from fmcsa_tui.formatting import safe_line, utc_text
from fmcsa_tui.models import Source
from fmcsa_tui.models.runs import Outcome, RunRecord, SourceRun

#: Runs the tab reads and lists; the strip covers the latest `STRIP_RUNS` of them.
MAX_RUNS = 50
STRIP_RUNS = 30

#: How the strip draws a source's outcome in one run ("·": not in that run).
OUTCOME_MARKS: dict[Outcome, tuple[str, str]] = {
    Outcome.OK: ("✓", "green"),
    Outcome.FAILED: ("✗", "bold red"),
    Outcome.CANCELLED: ("○", "yellow"),
    Outcome.SKIPPED: ("-", "dim"),
}
NOT_IN_RUN = ("·", "dim")

NO_RUNS = "No runs recorded for this carrier yet"


def strip(records: Sequence[RunRecord]) -> list[Text]:
    """One line per source: its outcome in each of the latest runs, oldest on the left."""
    latest = list(reversed(records[:STRIP_RUNS]))
    lines = []
    for source in Source:
        line = Text(f"{source.value:<12} ", style="dim")
        for record in latest:
            run = record.outcome_of(source)
            line.append(*(OUTCOME_MARKS[run.outcome] if run is not None else NOT_IN_RUN))
        lines.append(line)
    return lines


def who_line(record: RunRecord) -> str:
    """user@host · origin · pid, as one safe line."""
    who = record.who
    where = "@".join(part for part in (safe_line(who.user), safe_line(who.host)) if part)
    parts = (where, who.origin.value, f"pid {who.pid}" if who.pid else "")
    return " · ".join(part for part in parts if part)


def _source_line(run: SourceRun) -> Text:
    mark, style = OUTCOME_MARKS[run.outcome]
    took = f"{run.duration:.2f}s" if run.duration is not None else "-"
    line = Text.assemble(
        (f"{run.source.value:<12} ", ""), (f"{mark} {run.outcome.value:<9}", style)
    )
    line.append(f" {took:>6}", "dim")
    if run.attempts > 1 or run.outcome is Outcome.FAILED:
        line.append(f"  {run.attempts} attempt{'s' if run.attempts != 1 else ''}", "dim")
    if run.error:
        line.append("  " + safe_line(run.error), "red")
    elif run.summary:
        line.append("  " + safe_line(run.summary))
    return line


def _run(record: RunRecord) -> list[Text]:
    took = (record.ended - record.started).total_seconds()
    parts = [
        Text.assemble(
            (utc_text(record.started), "bold"), f"  {took:.1f}s", ("  " + who_line(record), "dim")
        )
    ]
    if record.note:
        parts.append(Text("  ") + Text(safe_line(record.note), style="italic"))
    parts += [Text("  ") + _source_line(run) for run in record.sources]
    return parts


def runs_filling(records: Sequence[RunRecord], lines: int) -> int:
    """How many of the newest runs the body lists to fill `lines` below the strip (a
    run's lines: its header, its note if any, one per source; wrapping not counted)."""
    used = 2 + len(Source) + 2  # the strip's title and lines, a blank, "Runs"
    for count, record in enumerate(records[:MAX_RUNS]):
        if used >= lines:
            return count
        used += 1 + bool(record.note) + len(record.sources)
    return min(len(records), MAX_RUNS)


def history_body(records: Sequence[RunRecord] | None, runs: int | None = None) -> Text:
    """The tab for the carrier's run records, newest first (None: not read yet); only
    the first `runs` of them listed when given (the strip and the count cover all)."""
    if records is None:
        return Text("reading…", style="dim italic")
    if not records:
        return Text(NO_RUNS, style="dim")
    rows = list(records[:MAX_RUNS])
    shown = min(len(rows), STRIP_RUNS)
    parts = [
        Text.assemble(
            ("Last runs ", "bold"),
            (f"{shown}, oldest left · ✓ ok ✗ failed ○ cancelled - skipped", "dim"),
        ),
        *strip(rows),
        Text(""),
        Text.assemble(("Runs ", "bold"), (f"newest first, {len(rows)}", "dim")),
    ]
    for record in rows[:runs]:
        parts += _run(record)
    return Text("\n").join(parts)
