"""Commands that only read: `show` (one company as stored) and `status` (every company).

They never create a store, and print times as the backend's API does (`iso_ms`).
`status --format csv` writes the dashboard's export (`models.export.write_csv`).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import click
from bson import ObjectId, json_util

from fmcsa_tui.cli.common import (
    Abort,
    command_settings,
    opened,
    run_command,
    say,
    say_json,
    store_option,
)
from fmcsa_tui.formatting import ago, iso_ms, safe_line
from fmcsa_tui.models import (
    Company,
    CompanySummary,
    summarize,
    utcnow,
)
from fmcsa_tui.models.export import write_csv
from fmcsa_tui.store import CompanyFilter


@click.command()
@click.argument("dot")
@click.option("--json", "as_json", is_flag=True, help="MongoDB Extended JSON, for scripts")
@store_option
def show(dot: str, as_json: bool, store_url: str | None) -> None:
    """Print one company exactly as stored, every field included."""
    settings = command_settings(store=store_url)

    async def fetch() -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        async with opened(settings, create=False) as store:
            doc = await store.get_company(dot.strip())
            if doc is None:
                return None, []
            summary = summarize(doc)
            return doc, await store.inspections_for(summary.id)

    doc, inspections = run_command(fetch())
    if doc is None:
        raise Abort(f"no company with DOT number or id {dot!r} in the store")
    if as_json:
        options = json_util.JSONOptions(json_mode=json_util.JSONMode.RELAXED, tz_aware=True)
        say_json(doc, functools.partial(json_util.dumps, json_options=options))
        return
    for line in _tree(doc):
        say(line)
    say(f"fmcsainspections: {len(inspections)} documents")


def _tree(value: Any, indent: str = "") -> Iterator[str]:
    """A document as indented `key: value` lines, dates in ISO 8601 UTC."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        label = f"{indent}{safe_line(str(key))}:" if isinstance(value, dict) else f"{indent}-"
        if isinstance(item, dict | list) and item:
            yield label
            yield from _tree(item, indent + "  ")
        elif isinstance(item, datetime):
            yield f"{label} {iso_ms(item)}"
        elif isinstance(item, ObjectId):
            yield f"{label} {item}"
        else:
            shown = safe_line(item) if isinstance(item, str) else json_util.dumps(item)
            yield f"{label} {shown}"


def _status_record(doc: dict[str, Any], summary: CompanySummary) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": summary.id,
        "dotNumber": summary.dot_number,
        "name": summary.name,
        "mcNumber": summary.mc_number,
        "status": summary.status,
        "lastRun": iso_ms(summary.last_run),
        "success": summary.success,
        "csaScoresLastSync": iso_ms(summary.csa_scores_last_sync),
        "violationsLastSync": iso_ms(summary.violations_last_sync),
        "inspectionsLastSync": iso_ms(summary.inspections_last_sync),
        "errors": [],
    }
    if summary.status == "unreadable":
        record["problem"] = summary.problem
        return record
    company = Company.model_validate(doc)
    record["errors"] = [
        {"source": error.source, "error": error.error, "timestamp": iso_ms(error.timestamp)}
        for error in company.sync_status.errors
    ]
    return record


@click.command()
@click.option(
    "--format",
    "shape",
    type=click.Choice(["table", "csv", "json"]),
    default=None,
    help="table (the default): a line each; csv: the dashboard's export, formula-like "
    "cells neutralised; json: an array, timestamps in ISO 8601 UTC",
)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json")
@click.option("--failed", "failed", is_flag=False, flag_value="any", default=None,
              metavar="[SOURCE]", help="Only failed ones, or those failing SOURCE")  # fmt: skip
@store_option
def status(shape: str | None, as_json: bool, failed: str | None, store_url: str | None) -> None:
    """One line (or CSV row, or JSON object) per company: status, lastRun, per-source times,
    errors; in DOT order."""
    if as_json and shape not in (None, "json"):
        raise Abort(f"--json and --format {shape} ask for two formats; give one")
    shape = "json" if as_json else shape or "table"
    settings = command_settings(store=store_url)

    async def collect() -> tuple[list[CompanySummary], list[dict[str, Any]]]:
        async with opened(settings, create=False) as store:
            summaries = await store.list_summaries(CompanyFilter(failed_source=failed))
            if shape == "csv":  # the export's columns come from the rows alone
                return summaries, []
            docs = await store.get_companies([summary.id for summary in summaries])
            records = [_status_record(docs.get(s.id, {}), s) for s in summaries]
            return summaries, records

    summaries, records = run_command(collect())
    if shape == "csv":
        write_csv(sys.stdout, summaries)
        return
    if shape == "json":
        say_json(records)
        return
    now = utcnow()
    for record in records:
        say(_status_line(record, now))
    if not records:
        say("no companies match" if failed else "the store has no companies")


def _status_line(record: dict[str, Any], now: datetime) -> str:
    def stamp(key: str) -> str:
        value = record[key]
        return ago(datetime.fromisoformat(value), now) if value else "never"

    name = safe_line(record["name"])
    name = name if len(name) <= 40 else name[:39] + "…"
    dot = safe_line(record["dotNumber"]) or "?"
    line = (
        f"{dot:>8}  {name:<40}  {record['status']:<10}  "
        f"lastRun={record['lastRun'] or 'never'}  success={json.dumps(record['success'])}  "
        f"csa={stamp('csaScoresLastSync')}  violations={stamp('violationsLastSync')}  "
        f"inspections={stamp('inspectionsLastSync')}"
    )
    if record.get("problem"):
        line += f"  unreadable: {safe_line(record['problem'])}"
    for error in record["errors"]:
        source, text = safe_line(error["source"]), safe_line(error["error"])
        line += f"\n{'':>10}! {source}: {text} ({error['timestamp']})"
    return line
