"""`fmcsa-tui sync` leaves one history record per run on both stores, and
`fmcsa-tui history` prints them (text, JSON lines, summary); real processes."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import uuid
from pathlib import Path

import pytest

from fmcsa_tui.models.runs import Origin, Outcome, RunRecord
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.store import open_store
from tests.support.cli import Cli, assert_one_line_error
from tests.support.mongo_wire import MongoWireServer
from tests.support.sandboxes import served_sandbox

FAILING, HEALTHY = "1000060", "1000005"  # the sandbox's plan: 1000060's csa_scores is 503
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


sandbox = served_sandbox(SandboxConfig(retry_after=1))


@pytest.fixture(params=["sqlite", "mongodb"])
def any_cli(request: pytest.FixtureRequest, cli: Cli) -> Cli:
    if request.param == "mongodb":
        server: MongoWireServer = request.getfixturevalue("mongo_wire")
        cli.store = server.url.replace("/?", f"/history_{uuid.uuid4().hex[:12]}?")
    return cli


def runs_in(store_url: str, dot: str) -> list[RunRecord]:
    async def read() -> list[RunRecord]:
        store = open_store(store_url)
        await store.open(create=False)
        try:
            doc = await store.get_company(dot)
            assert doc is not None
            return await store.runs_of(str(doc["_id"]))
        finally:
            await store.close()

    return asyncio.run(read())


def test_sync_records_each_run_and_history_prints_them(
    any_cli: Cli, sandbox: SandboxServer
) -> None:
    cli = any_cli
    owner = ("--owner", "6650c0ffee0000000000beef")  # MongoDB's schema needs them
    for dot in (FAILING, HEALTHY):
        assert cli("add", dot, "--name", f"Carrier {dot}", *owner).returncode == 0
    synced = cli("sync", FAILING, HEALTHY, "--fmcsa", sandbox.url)
    assert synced.returncode == 1, synced.stdout + synced.stderr
    assert "history" not in synced.stderr  # written: no warning

    [failing] = runs_in(cli.store, FAILING)
    [healthy] = runs_in(cli.store, HEALTHY)
    assert failing.who.origin is Origin.SYNC and failing.who.pid > 0
    assert [r.outcome for r in failing.sources] == [Outcome.FAILED, Outcome.OK, Outcome.OK]
    assert {r.outcome for r in healthy.sources} == {Outcome.OK}

    text = cli("history")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == 3  # two runs, and one error line
    assert any(f"DOT {FAILING}" in line and "csa_scores failed" in line and "(sync)" in line
               for line in lines)  # fmt: skip
    assert any(line.startswith("    csa_scores: HTTP 503") for line in lines)

    one = cli("history", FAILING, "--json")
    [record] = [json.loads(line) for line in one.stdout.splitlines()]
    assert record["dotNumber"] == FAILING and record["who"]["origin"] == "sync"
    assert ISO_MS.match(record["startedAt"]) and ISO_MS.match(record["endedAt"])
    assert [s["outcome"] for s in record["sources"]] == ["failed", "ok", "ok"]

    summary = cli("history", "--summary", "--since", "2h", "--json")
    folded = json.loads(summary.stdout)
    assert folded["runs"] == 2
    rates = {s["source"]: (s["failed"], s["ran"]) for s in folded["sources"]}
    assert rates["csa_scores"] == (1, 2) and rates["violations"] == (0, 2)
    [error] = folded["errors"]
    assert error["carriers"] == 1 and "HTTP 503" in error["error"]
    assert sum(hour["runs"] for hour in folded["runsPerHour"]) == 2


def test_history_refuses_an_unknown_dot_and_a_bad_age_in_one_line(cli: Cli) -> None:
    assert cli("add", HEALTHY).returncode == 0
    assert_one_line_error(cli("history", "1000099"), "no company with DOT number '1000099'")
    assert_one_line_error(cli("history", "--since", "soon"), "--since")


def test_a_history_write_the_store_refuses_is_one_warning_and_the_sync_succeeds(
    cli: Cli, sandbox: SandboxServer, tmp_path: Path
) -> None:
    assert cli("add", HEALTHY).returncode == 0
    path = tmp_path / "cli.db"
    with sqlite3.connect(path) as conn:  # the real store, refusing the insert itself
        conn.execute(
            "CREATE TRIGGER no_history BEFORE INSERT ON runs"
            " BEGIN SELECT RAISE(ABORT, 'history is full'); END"
        )
    synced = cli("sync", HEALTHY, "--fmcsa", sandbox.url)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "1 ok, 0 failed" in synced.stdout
    [warning] = synced.stderr.splitlines()
    assert warning.startswith(f"warning: DOT {HEALTHY}: run history not written")
    assert "history is full" in warning
    assert [r["status"] for r in cli.status()] == ["ok"]
