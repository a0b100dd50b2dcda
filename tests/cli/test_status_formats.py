"""`fmcsa-tui status --format csv|json|table`: the CSV is the dashboard's export, read
back with the `csv` module; formula-like cells never reach a spreadsheet as formulas."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bson import ObjectId

from fmcsa_tui.models import Source
from fmcsa_tui.models.export import EXPORT_COLUMNS
from fmcsa_tui.store import SqliteStore
from tests.support.cli import Cli, assert_one_line_error

WHEN = datetime(2026, 11, 20, 8, 15, 30, 123000, tzinfo=UTC)


def carrier(dot: str, name: str, *, failing: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {
        "lastRun": WHEN,
        "success": failing is None,
        "errors": [],
        **{source.last_sync_field: WHEN for source in Source},
    }
    if failing:
        status["errors"] = [{"_id": ObjectId(), "source": failing, "error": "=1+1 HTTP 503",
                             "timestamp": WHEN}]  # fmt: skip
    return {"_id": ObjectId(), "name": name, "dotNumber": dot, "fmcsaData": {"syncStatus": status}}


async def seeded(tmp_path: Path, env: dict[str, str]) -> Cli:
    store = SqliteStore(tmp_path / "formats.db")
    await store.open()
    await store.insert_documents([
        carrier("3000003", '=HYPERLINK("http://evil.example","x")', failing="violations"),
        carrier("3000001", "+Plus Freight"),
        carrier("3000002", "-2+3 Hauling", failing="csa_scores"),
        carrier("3000004", "@SUM(A1) Lines"),
        carrier("3000005", "Comma, \"Quoted\"\nCo"),
        carrier("3000006", "Plain Carriers LLC"),
    ])  # fmt: skip
    await store.close()
    return Cli(env, f"sqlite:///{tmp_path / 'formats.db'}")


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def test_csv_lists_every_carrier_in_dot_order_with_formulas_neutralised(
    tmp_path: Path, env: dict[str, str]
) -> None:
    cli = await seeded(tmp_path, env)
    result = cli("status", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert next(csv.reader(io.StringIO(result.stdout))) == list(EXPORT_COLUMNS)
    rows = rows_of(result.stdout)
    assert [row["dotNumber"] for row in rows] == [f"300000{n}" for n in range(1, 7)]
    names = [row["name"] for row in rows]
    assert names == [
        "'+Plus Freight",
        "'-2+3 Hauling",
        '\'=HYPERLINK("http://evil.example","x")',
        "'@SUM(A1) Lines",
        'Comma, "Quoted"\nCo',
        "Plain Carriers LLC",
    ]
    assert rows[1]["status"] == "failed" and rows[1]["failedSources"] == "csa_scores"
    assert rows[5]["lastRun"] == "2026-11-20T08:15:30.123Z" and rows[5]["success"] == "true"
    cells = [cell for row in rows for cell in row.values()]
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in cells)


async def test_csv_of_failed_only_and_json_and_table_agree(
    tmp_path: Path, env: dict[str, str]
) -> None:
    cli = await seeded(tmp_path, env)
    failed = rows_of(cli("status", "--format", "csv", "--failed").stdout)
    assert [row["dotNumber"] for row in failed] == ["3000002", "3000003"]
    as_json = cli("status", "--format", "json")
    assert as_json.returncode == 0
    assert [r["dotNumber"] for r in json.loads(as_json.stdout)] == [
        f"300000{n}" for n in range(1, 7)
    ]
    table = cli("status")  # the default stays the table
    assert table.returncode == 0 and len(table.stdout.strip().splitlines()) == 6 + 2  # 2 errors
    assert_one_line_error(cli("status", "--json", "--format", "csv"), "--json")
    assert_one_line_error(cli("status", "--format", "xml"), "xml")
