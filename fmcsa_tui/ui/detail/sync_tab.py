"""The Sync tab: did the last runs work? Status, each source's last success, the errors.

Every piece of carrier data is rendered as plain `Text` through `safe_line`, never as
markup: names like ``[bold red]X[/]`` or ANSI escapes must show literally.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from fmcsa_tui.formatting import ago, safe_line, utc_text
from fmcsa_tui.models import BASIC_FIELDS, Company, CompanySummary, Source
from fmcsa_tui.ui.detail.stored import stored_line

#: The BASICs as the detail pane names them, in `BASIC_FIELDS` order.
BASIC_LABELS = (
    "unsafe driving",
    "hours of service",
    "driver fitness",
    "controlled substances",
    "vehicle maintenance",
    "crash indicator",
)


def basics_line(sms_basics: Any) -> Text | None:
    """The BASIC percentiles as stored (``Not Public`` included), or None without any."""
    if sms_basics is None:
        return None
    line = Text("BASICs ", style="dim")
    if not isinstance(sms_basics, dict):
        line.append(stored_line(sms_basics))
        return line
    present = [
        (label, sms_basics[field])
        for field, label in zip(BASIC_FIELDS, BASIC_LABELS, strict=True)
        if field in sms_basics
    ]
    if not present:
        return None
    for index, (label, value) in enumerate(present):
        line.append((" · " if index else "") + f"{label} ", style="dim")
        line.append(stored_line(value) or "-")
    return line


def unreadable_body(summary: CompanySummary) -> RenderableType:
    return Group(
        Text(f"Unreadable document {safe_line(summary.id)}", style="bold magenta"),
        Text(safe_line(summary.problem)),
        Text("It is listed as it is; fmcsa-tui never rewrites it whole.", style="dim"),
    )


def sync_body(
    doc: dict[str, Any],
    company: Company,
    summary: CompanySummary,
    live: dict[Source, str],
    now: datetime,
) -> RenderableType:
    """Display fields as stored in `doc`, whatever their type; status from `company`;
    `live` is the carrier's run state per source, while one runs."""
    status = company.sync_status
    title = Text(stored_line(doc.get("name")) or "(no name yet)", style="bold")
    ids = Text.assemble(
        ("DOT ", "dim"),
        stored_line(doc.get("dotNumber")) or "?",
        ("   MC ", "dim"),
        stored_line(doc.get("mcNumber")) or "-",
    )
    style = {"ok": "green", "failed": "bold red", "never": "yellow"}.get(summary.status, "")
    run = Text.assemble(
        ("Status ", "dim"),
        (summary.status, style),
        ("   success ", "dim"),
        {True: "true", False: "false", None: "-"}[status.success],
    )
    last_run = Text.assemble(
        ("Last run ", "dim"),
        utc_text(status.last_run),
        (f"  ({ago(status.last_run, now)})", "dim"),
    )
    sources = Table(box=None, expand=True, padding=(0, 1), show_edge=False)
    sources.add_column("Source", no_wrap=True)
    sources.add_column("Last success (UTC)", no_wrap=True)
    sources.add_column("Age", no_wrap=True)
    sources.add_column("Now", ratio=1)
    errors_by_source = {error.source: error for error in status.errors}
    for source in Source:
        stamp = status.last_sync(source)
        error = errors_by_source.get(source.value)
        current = live.get(source)
        if current is not None:
            now_text = Text(safe_line(current), style="cyan")
        elif error is not None:  # its text is under the table, at the pane's full width
            now_text = Text("failed", style="red")
        else:
            now_text = Text("ok" if stamp else "-", style="green" if stamp else "dim")
        sources.add_row(
            Text(source.value, style="red" if error else ""),
            stamp.astimezone(UTC).strftime("%m-%d %H:%M") if stamp else "never",
            ago(stamp, now) if stamp else "",
            now_text,
        )
    parts: list[RenderableType] = [title, ids, run, last_run]
    basics = basics_line(doc.get("smsBasics"))
    if basics is not None:
        parts.append(basics)
    parts += [Text(""), sources]
    if status.errors:  # each text at the pane's full width, under its source and
        # time: as a table column beside them it was a word wide on a narrow pane
        parts += [Text(""), Text(f"Errors ({len(status.errors)})", style="bold red")]
        for error in status.errors:
            parts.append(
                Text.assemble(
                    (safe_line(error.source), "red"), "  ", (utc_text(error.timestamp), "dim")
                )
            )
            parts.append(Padding(Text(safe_line(error.error)), (0, 0, 0, 2)))
    return Group(*parts)
