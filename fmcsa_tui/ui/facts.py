"""Getting facts out of the dashboard: the copied text, the export's file, the SAFER link.

Pure functions the app's `y`, `Y`, `e` and `w` call; the CSV itself is
`models.export.write_csv`, the same writer as `fmcsa-tui status --format csv`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fmcsa_tui.formatting import safe_line, utc_text
from fmcsa_tui.models import Company, CompanySummary, parse_dot, summarize
from fmcsa_tui.models.export import write_csv
from fmcsa_tui.store.base import CompanyFilter

#: FMCSA SAFER's company snapshot of one USDOT number (the form SAFER's own search uses).
SAFER_SNAPSHOT = (
    "https://safer.fmcsa.dot.gov/query.asp?searchtype=ANY&query_type=queryCarrierSnapshot"
    "&query_param=USDOT&query_string={dot}"
)

#: The longest filter description a file name takes, so a pasted search stays a name.
_MAX_SLUG = 60
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safer_url(dot: str | None) -> str | None:
    """The carrier's SAFER snapshot, or None when `dot` is no DOT number (`parse_dot`)."""
    number = parse_dot(dot)
    return None if number is None else SAFER_SNAPSHOT.format(dot=quote(number))


def carrier_text(summary: CompanySummary, document: dict[str, Any] | None) -> str:
    """The highlighted carrier as plain text to paste: DOT, name, status and its error
    rows (from `document` when it is this carrier's, else the sources that failed).
    Every line is `safe_line`d: a name another program wrote may hold escapes."""
    lines = [
        f"DOT {safe_line(summary.dot_number) or '?'}  {safe_line(summary.name) or '(no name)'}",
        f"Status {summary.status}  last run {utc_text(summary.last_run)}",
    ]
    if summary.status == "unreadable":
        return "\n".join([*lines, f"Unreadable: {safe_line(summary.problem)}"])
    if document is not None and summarize(document).id == summary.id:
        for error in Company.model_validate(document).sync_status.errors:
            when = utc_text(error.timestamp)
            lines.append(f"{safe_line(error.source)}  {when}  {safe_line(error.error)}")
    else:
        lines += [f"{safe_line(source)}  failed" for source in sorted(summary.error_sources)]
    return "\n".join(lines)


def filter_slug(flt: CompanyFilter) -> str:
    """The filter in a file name: ``failed-violations``, ``never-search-acme``, ``all``."""
    parts = []
    if flt.failed_source == "any":
        parts.append("failed")
    elif flt.failed_source:
        parts.append(f"failed-{flt.failed_source}")
    if flt.status:
        parts.append(str(flt.status))
    if flt.stale_after is not None:
        parts.append("stale")
    if flt.text:
        parts.append(f"search-{flt.text}")
    slug = _UNSAFE_IN_NAME.sub("-", "-".join(parts)).strip("-._")[:_MAX_SLUG].rstrip("-._")
    return slug or "all"


def export_name(flt: CompanyFilter, now: datetime) -> str:
    """``fmcsa-failed-violations-20261129-171500.csv``: the filter and the UTC time."""
    return f"fmcsa-{filter_slug(flt)}-{now.astimezone(UTC):%Y%m%d-%H%M%S}.csv"


def write_export(directory: Path, name: str, summaries: Sequence[CompanySummary]) -> Path:
    """Write `summaries` as CSV to a new file in `directory` (``-2``, ``-3``… when the name
    is taken: an export never overwrites a file); blocking, for a thread."""
    stem, suffix = name.removesuffix(".csv"), ".csv"
    for attempt in range(1, 100):
        path = directory / (name if attempt == 1 else f"{stem}-{attempt}{suffix}")
        try:
            with path.open("x", encoding="utf-8", newline="") as stream:
                write_csv(stream, summaries)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{directory / name} and 98 more names are taken")
