"""The carriers of a view as CSV: one column set and one writer, for the dashboard's `e`
and `fmcsa-tui status --format csv`, so both files read the same.

Cells hold the values as read (texts as stored, times as `iso_ms`), and every cell goes
through `spreadsheet_cell`: a name like ``=HYPERLINK(...)`` stays text in a spreadsheet.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from fmcsa_tui.formatting import iso_ms, spreadsheet_cell
from fmcsa_tui.models.status import CompanySummary

EXPORT_COLUMNS = (
    "dotNumber",
    "name",
    "mcNumber",
    "status",
    "lastRun",
    "success",
    "csaScoresLastSync",
    "violationsLastSync",
    "inspectionsLastSync",
    "failedSources",
    "errorCount",
    "problem",
    "id",
)


def export_cells(summary: CompanySummary) -> list[str]:
    """One carrier's row, in `EXPORT_COLUMNS` order, before neutralisation."""
    success = {True: "true", False: "false", None: ""}[summary.success]
    return [
        summary.dot_number or "",
        summary.name or "",
        summary.mc_number or "",
        summary.status,
        iso_ms(summary.last_run) or "",
        success,
        iso_ms(summary.csa_scores_last_sync) or "",
        iso_ms(summary.violations_last_sync) or "",
        iso_ms(summary.inspections_last_sync) or "",
        " ".join(sorted(summary.error_sources)),
        str(summary.error_count),
        summary.problem or "",
        summary.id,
    ]


def write_csv(stream: TextIO, summaries: Iterable[CompanySummary]) -> int:
    """`summaries` as CSV (a header, then one row each, in the order given); the count."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for summary in summaries:
        writer.writerow([spreadsheet_cell(cell) for cell in export_cells(summary)])
        count += 1
    return count
