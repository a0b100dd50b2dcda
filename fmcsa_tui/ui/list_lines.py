"""The list's lines as segments: its header and one carrier's row, nothing else.

Pure functions of what a line shows (the summary, the column widths, the styles and
the clock), so `CompanyList.render_line` stays a lookup and the look of a row is in
one place. Every text from a document goes through `safe_line` and is cut to its
column by cell width (`fit`), so columns stay aligned whatever a document holds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from fmcsa_tui.formatting import safe_line, short_ago
from fmcsa_tui.models import CompanySummary, Source
from fmcsa_tui.ui.rows import COLUMNS, GAP
from fmcsa_tui.ui.text import fit

__all__ = ["MARK_WIDTH", "SPINNER_FRAMES", "header_line", "row_line"]

#: The frames of the "syncing" spinner, advanced about 8 times a second.
SPINNER_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_ERROR_MARK = "✗ "
#: The gutter left of every line: a marked carrier's `●`, else blank.
MARK_WIDTH = 2
_MARK = "●".ljust(MARK_WIDTH)
_NO_MARK = " " * MARK_WIDTH
_SOURCES = tuple(Source)
_SEPARATOR = " " * GAP


def header_line(widths: tuple[int, ...], sort_column: str, reverse: bool, style: Style) -> Strip:
    """The column titles, the sorted one with its arrow."""
    texts = []
    for column, width in zip(COLUMNS, widths, strict=True):
        title = column.title
        if column.key == sort_column:
            title = f"{fit(title, width - 2).rstrip()} {'▼' if reverse else '▲'}"
        texts.append(fit(title, width, column.align))
    return Strip([Segment(_NO_MARK + _SEPARATOR.join(texts), style)])


def row_line(
    summary: CompanySummary,
    widths: tuple[int, ...],
    base: Style,
    styled: Callable[[str], Style],
    now: datetime,
    stale_after: timedelta,
    spinner: str | None,
    marked: bool = False,
) -> Strip:
    """One carrier: DOT, name, status (or the `spinner` frame while it syncs), last
    run, and each source's age, marked while it has an error, styled once stale; the
    gutter before them shows whether the operator `marked` it."""
    dot_w, name_w, status_w, run_w, *source_ws = widths
    segments = [Segment(_MARK, styled("mark")) if marked else Segment(_NO_MARK, base)]
    segments.append(Segment(fit(safe_line(summary.dot_number), dot_w, "right"), base))
    segments.append(Segment(_SEPARATOR, base))
    unreadable = summary.status == "unreadable"
    if unreadable:
        name = safe_line(f"unreadable: {summary.problem or 'unknown problem'}")
        segments.append(Segment(fit(name, name_w), styled("unreadable")))
    else:
        segments.append(Segment(fit(safe_line(summary.name), name_w), base))
    segments.append(Segment(_SEPARATOR, base))

    if spinner is not None:
        segments.append(Segment(fit(f"{spinner} syncing", status_w), styled("syncing")))
    else:
        segments.append(Segment(fit(summary.status, status_w), styled(summary.status)))
    segments.append(Segment(_SEPARATOR, base))

    last_run = "" if unreadable else short_ago(summary.last_run, now)
    segments.append(Segment(fit(last_run, run_w), base))

    cutoff = now - stale_after
    for source, width in zip(_SOURCES, source_ws, strict=True):
        segments.append(Segment(_SEPARATOR, base))
        if unreadable:
            segments.append(Segment(" " * width, base))
            continue
        stamp = summary.last_sync(source)
        age_style = styled("stale") if stamp is None or stamp < cutoff else base
        age = short_ago(stamp, now)
        if source.value in summary.error_sources:
            mark = fit(_ERROR_MARK, min(width, len(_ERROR_MARK)))
            segments.append(Segment(mark, styled("error-mark")))
            segments.append(Segment(fit(age, width - len(mark)), age_style))
        else:
            segments.append(Segment(fit(age, width), age_style))
    return Strip(segments)
