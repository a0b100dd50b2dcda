"""The History tab: the carrier's runs, newest first, and a per-source success strip.

The records are the store's `runs_of(company_id, limit)`, `RunRecord`s already checked
by `RunRecord.from_doc` (a document another program wrote is one, or is left out); every
text in them (name, user, host, error, summary, note) came from outside and goes
through `safe_line` here.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.padding import Padding
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


def _run(record: RunRecord) -> list[RenderableType]:
    took = (record.ended - record.started).total_seconds()
    parts: list[RenderableType] = [
        Text.assemble(
            (utc_text(record.started), "bold"), f"  {took:.1f}s", ("  " + who_line(record), "dim")
        )
    ]
    if record.note:
        parts.append(Padding(Text(safe_line(record.note), style="italic"), (0, 0, 0, 2)))
    parts += [Padding(_source_line(run), (0, 0, 0, 2)) for run in record.sources]
    return parts


def history_body(records: Sequence[RunRecord] | None) -> RenderableType:
    """The tab for the carrier's run records, newest first (None: not read yet)."""
    if records is None:
        return Text("reading…", style="dim italic")
    if not records:
        return Text(NO_RUNS, style="dim")
    rows = list(records[:MAX_RUNS])
    shown = min(len(rows), STRIP_RUNS)
    parts: list[RenderableType] = [
        Text.assemble(
            ("Last runs ", "bold"),
            (f"{shown}, oldest left · ✓ ok ✗ failed ○ cancelled - skipped", "dim"),
        ),
        *strip(rows),
        Text(""),
        Text.assemble(("Runs ", "bold"), (f"newest first, {len(rows)}", "dim")),
    ]
    for record in rows:
        parts += _run(record)
    return Group(*parts)
