"""The History tab: the carrier's runs, newest first, and a per-source success strip.

The records come from the store's `runs_of(company_id, limit)` (the run history of issue
#10). They are read field by field, whatever shape they arrive in (a model, a dataclass
or a stored dict, camelCase or snake_case): a record another version wrote must still
show. Each value goes through `stored_line`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from fmcsa_tui.formatting import utc_text
from fmcsa_tui.models import Source, parse_when
from fmcsa_tui.ui.detail.stored import stored_line

#: Runs the tab reads and lists; the strip covers the latest `STRIP_RUNS` of them.
MAX_RUNS = 50
STRIP_RUNS = 30

#: How the strip draws a source's outcome in one run ("·": not asked in that run).
OUTCOME_MARKS = {
    "ok": ("✓", "green"),
    "failed": ("✗", "bold red"),
    "cancelled": ("○", "yellow"),
    "skipped": ("-", "dim"),
}

NO_HISTORY = "No run history in this store yet"


def _as_dict(record: Any) -> dict[str, Any]:
    if isinstance(record, dict):
        return record
    dump = getattr(record, "model_dump", None)
    if callable(dump):  # pydantic: field names and aliases both
        return {**dump(), **dump(by_alias=True)}
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    return dict(getattr(record, "__dict__", {}))


def _get(record: dict[str, Any], *names: str) -> Any:
    for name in names:
        if record.get(name) is not None:
            return record[name]
    return None


def _sources(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per source name, its outcome record: from a list of them or a mapping."""
    raw = _get(record, "sources", "outcomes", "results")
    found: dict[str, dict[str, Any]] = {}
    if isinstance(raw, dict):
        for name, item in raw.items():
            found[str(name)] = _as_dict(item) if not isinstance(item, str) else {"outcome": item}
    elif isinstance(raw, list):
        for item in raw:
            entry = _as_dict(item)
            found[stored_line(_get(entry, "source", "name")) or "?"] = entry
    return found


def _outcome(entry: dict[str, Any]) -> str:
    return (stored_line(_get(entry, "outcome", "status", "result")) or "?").lower()


def _seconds(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.2f}s"
    return stored_line(value)


def _when(value: Any) -> str:
    moment = parse_when(value)
    return utc_text(moment) if moment is not None else stored_line(value) or "?"


def _who(record: dict[str, Any]) -> str:
    who = _get(record, "who", "by", "origin_info")
    who = _as_dict(who) if who is not None and not isinstance(who, str) else {"origin": who}
    merged = {**record, **{k: v for k, v in who.items() if v is not None}}
    origin = stored_line(_get(merged, "origin"))
    user, host = (
        stored_line(_get(merged, "user", "os_user", "osUser")),
        stored_line(_get(merged, "host", "hostname")),
    )
    pid = stored_line(_get(merged, "pid", "process"))
    where = "@".join(part for part in (user, host) if part)
    return "  ".join(part for part in (origin, where, f"pid {pid}" if pid else "") if part)


def strip(records: Sequence[dict[str, Any]]) -> list[Text]:
    """One line per source: its outcome in each of the latest runs, oldest on the left."""
    latest = list(reversed(records[:STRIP_RUNS]))
    lines = []
    for source in Source:
        line = Text(f"{source.value:<12} ", style="dim")
        for record in latest:
            entry = _sources(record).get(source.value)
            mark, style = (
                OUTCOME_MARKS.get(_outcome(entry), ("?", "magenta")) if entry else ("·", "dim")
            )
            line.append(mark, style)
        lines.append(line)
    return lines


def _run(record: dict[str, Any]) -> list[RenderableType]:
    started = _get(record, "startedAt", "started_at", "started")
    ended = _get(record, "endedAt", "ended_at", "ended")
    took = ""
    start_at, end_at = parse_when(started), parse_when(ended)
    if start_at is not None and end_at is not None:
        took = f"  {(end_at - start_at).total_seconds():.1f}s"
    parts: list[RenderableType] = [
        Text.assemble((_when(started), "bold"), (took, ""), ("  " + _who(record), "dim"))
    ]
    for name, entry in _sources(record).items():
        outcome = _outcome(entry)
        _, style = OUTCOME_MARKS.get(outcome, ("?", "magenta"))
        attempts = _get(entry, "attempts")
        line = Text.assemble(
            (f"{name:<12} ", ""),
            (outcome, style),
            " ",
            (_seconds(_get(entry, "duration", "durationSeconds", "duration_s", "seconds")), "dim"),
        )
        if outcome == "failed" and attempts is not None:
            line.append(f" ({stored_line(attempts)} attempts)", "dim")
        error = stored_line(_get(entry, "error"))
        summary = stored_line(_get(entry, "summary"))
        if error:
            line.append("  " + error, "red")
        elif summary:
            line.append("  " + summary)
        parts.append(Padding(line, (0, 0, 0, 2)))
    return parts


def history_body(records: Sequence[Any] | None, *, supported: bool = True) -> RenderableType:
    """The tab for the carrier's run records, newest first (None: not read yet);
    `supported` False: the store keeps no run history."""
    if not supported:
        return Text(NO_HISTORY, style="dim")
    if records is None:
        return Text("reading…", style="dim italic")
    if not records:
        return Text("No runs recorded for this carrier yet", style="dim")
    rows = [_as_dict(record) for record in records[:MAX_RUNS]]
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
