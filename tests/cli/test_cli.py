"""The `fmcsa-tui` command as an operator runs it: a real process, real exit codes.

The sandbox runs in this test process on a loopback port; the CLI talks to it over
HTTP like it would to a `fmcsa-tui sandbox` started by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from fmcsa_tui.models import Source
from fmcsa_tui.sandbox.plan import FaultKind, fault_for
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.store import CompanyStore, SqliteStore
from tests.support import real_documents
from tests.support.cli import Cli, assert_one_line_error
from tests.support.sandboxes import served_sandbox

sandbox = served_sandbox(SandboxConfig(hang_seconds=2.0, retry_after=1))


# --- the done-means loop of the core issue -------------------------------------------


def test_seed_sync_status_then_sync_failed(cli: Cli, sandbox: SandboxServer) -> None:
    # One DataHub query per carrier: the plan's outcome is then exactly each carrier's
    # own. A batch holding an outage carrier fails all of its carriers' violations, so
    # which ones depends on how the window grouped them (tests/sync/test_hub_batching.py).
    cli.env = {**cli.env, "FMCSA_TUI_HUB_BATCH_SIZE": "1"}
    seeded = cli("seed-demo", "--companies", "200")
    assert seeded.returncode == 0 and "added 200" in seeded.stdout
    before = {r["dotNumber"]: r for r in cli.status()}
    assert len(before) == 200
    assert {r["status"] for r in before.values()} == {"never", "ok"}

    first = cli("sync", "--all", "--fmcsa", sandbox.url)
    assert first.returncode == 1, first.stderr  # some sources fail, by plan
    assert "synced 200 companies" in first.stdout
    after = {r["dotNumber"]: r for r in cli.status()}
    assert all(r["lastRun"] for r in after.values())
    for dot, record in after.items():
        expected = fault_for(dot).failing_source(first_run=True)
        failing = {error["source"] for error in record["errors"]}
        assert failing == ({expected.value} if expected else set()), (dot, record["errors"])
        assert record["success"] is (expected is None)
        for source in Source:
            stamp = record[source.last_sync_field]
            if source is expected:  # the failing source's timestamp is untouched
                assert stamp == before[dot][source.last_sync_field]
            else:
                assert stamp is not None and stamp != before[dot][source.last_sync_field]

    second = cli("sync", "--failed", "--fmcsa", sandbox.url)
    assert second.returncode == 1
    final = {r["dotNumber"]: r for r in cli.status()}
    for dot, record in final.items():
        fault = fault_for(dot)
        failing = {error["source"] for error in record["errors"]}
        if fault.persistent:
            assert failing == {fault.source.value}, dot
        else:  # ended outages are cleared; the rest were never failing
            assert failing == set() and record["status"] == "ok", dot
    outages = [d for d in final if fault_for(d).kind is FaultKind.OUTAGE]
    assert outages  # the demo covers them

    failed_csa = cli.status("--failed", "csa_scores")
    assert failed_csa and all(
        fault_for(r["dotNumber"]).source is Source.CSA_SCORES for r in failed_csa
    )


def test_sync_of_healthy_carriers_exits_zero_with_plain_lines(
    cli: Cli, sandbox: SandboxServer
) -> None:
    assert cli("add", "1000005", "1000012").returncode == 0
    result = cli("sync", "1000005", "1000012", "--fmcsa", sandbox.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DOT 1000005 csa_scores: ok" in result.stdout
    assert "synced 2 companies" in result.stdout and "2 ok, 0 failed" in result.stdout
    records = cli.status()
    assert {r["status"] for r in records} == {"ok"}
    assert all(r["name"] for r in records)  # names filled from FMCSA on the first sync


def test_sync_one_source_leaves_the_others_alone(cli: Cli, sandbox: SandboxServer) -> None:
    cli("add", "1000033")
    result = cli("sync", "1000033", "--source", "violations", "--fmcsa", sandbox.url)
    assert result.returncode == 0
    [record] = cli.status()
    assert record["violationsLastSync"] is not None
    assert record["csaScoresLastSync"] is None and record["inspectionsLastSync"] is None


def test_secrets_never_reach_output_or_store(cli: Cli, env: dict[str, str], tmp_path: Path) -> None:
    secret = "top-secret-key-123"
    env["FMCSA_TUI_WEBKEY"] = secret
    env["FMCSA_TUI_APP_TOKEN"] = "token-456-secret"
    with SandboxServer(SandboxConfig(webkey="another-key")) as strict:
        cli("add", "1000044")
        result = cli("sync", "--all", "--fmcsa", strict.url)
    assert result.returncode == 1
    shown = cli("show", "1000044", "--json")
    everything = result.stdout + result.stderr + shown.stdout + json.dumps(cli.status())
    assert "Webkey not found" in everything
    assert secret not in everything and "token-456-secret" not in everything


# --- add, show, status ---------------------------------------------------------------


def test_add_reports_existing_and_refuses_malformed(cli: Cli) -> None:
    first = cli("add", "1234567", "USDOT 7654321")
    assert first.returncode == 0
    assert "added DOT 1234567" in first.stdout and "added DOT 7654321" in first.stdout
    again = cli("add", "1234567")
    assert again.returncode == 0 and "already in the store" in again.stdout
    bad = cli("add", "2345678", "12ab")
    assert_one_line_error(bad, "malformed DOT number", "12ab")
    assert sorted(r["dotNumber"] for r in cli.status()) == ["1234567", "7654321"]
    assert {r["status"] for r in cli.status()} == {"never"}


def test_show_prints_every_field(cli: Cli, sandbox: SandboxServer) -> None:
    cli("add", "1000052", "--name", "[bold]Shown[/] Freight", "--mc", "MC-1")
    cli("sync", "1000052", "--fmcsa", sandbox.url)
    as_json = cli("show", "1000052", "--json")
    assert as_json.returncode == 0
    doc = json.loads(as_json.stdout)
    assert "$oid" in doc["_id"] and doc["name"] == "[bold]Shown[/] Freight"
    assert "$date" in doc["fmcsaData"]["syncStatus"]["lastRun"]
    assert set(doc["smsBasics"]) >= {"unsafeDriving", "crashIndicator", "lastUpdated"}
    assert "crashes" in doc["fmcsaData"]["inspections"]
    text = cli("show", "1000052")
    assert text.returncode == 0
    assert "name: [bold]Shown[/] Freight" in text.stdout
    assert "csaScoresLastSync: 20" in text.stdout and "fmcsainspections:" in text.stdout
    missing = cli("show", "9999999")
    assert_one_line_error(missing, "9999999")


def test_status_lines_escape_control_characters(cli: Cli) -> None:
    cli("seed-demo", "--companies", "60")
    result = cli("status")
    assert result.returncode == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "␛[31mRed Escape" in result.stdout
    assert len(result.stdout.strip().splitlines()) == 60


def store_url(store: CompanyStore) -> str:
    """The URL a `fmcsa-tui` process opens `store` with."""
    if isinstance(store, SqliteStore):
        return f"sqlite:///{store.path}"
    return str(store._url)  # MongoStore keeps the URL it was given


async def test_status_and_show_read_the_documents_a_real_backend_wrote(
    store: CompanyStore, env: dict[str, str]
) -> None:
    """Issue 8: a null syncStatus and a "Not Public" percentile list by the status rule."""
    null_status = real_documents.null_sync_status("3101001")
    text_basic = real_documents.not_public("3101002")
    await store.insert_documents([null_status, text_basic])
    cli = Cli(env, store_url(store))

    records = {record["dotNumber"]: record for record in cli.status()}
    assert records["3101001"]["status"] == "never" and records["3101001"]["lastRun"] is None
    assert records["3101002"]["status"] == "ok" and records["3101002"]["success"] is True
    assert records["3101002"]["lastRun"] == "2026-10-14T06:30:12.345Z"  # as stored, to the ms
    assert not any("problem" in record for record in records.values())
    lines = cli("status")
    assert lines.returncode == 0 and "unreadable" not in lines.stdout
    assert len(lines.stdout.strip().splitlines()) == 2

    shown = cli("show", "3101002")
    assert shown.returncode == 0, shown.stderr
    assert "unsafeDriving: Not Public" in shown.stdout
    as_json = cli("show", "3101001", "--json")
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert doc["fmcsaData"]["syncStatus"] is None and doc["name"] == "Null Status Freight LLC"


# --- bad input -----------------------------------------------------------------------


def test_bad_inputs_get_one_line_and_exit_2(cli: Cli, tmp_path: Path) -> None:
    assert_one_line_error(cli("status", "--store", "redis://x", store=False), "unknown store")
    (tmp_path / "adir").mkdir()
    unreachable = cli("status", "--store", f"sqlite:///{tmp_path / 'adir'}", store=False)
    assert_one_line_error(unreachable, "adir")
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello, not a database " * 100)
    assert_one_line_error(cli("status", "--store", f"sqlite:///{not_sqlite}", store=False))
    assert_one_line_error(cli("sync"), "DOT numbers, --all, --failed or --due AGE")
    assert_one_line_error(cli("sync", "1000005"), "no company with DOT number")
    assert_one_line_error(cli("sync", "--all", "--fmcsa", "ftp://nope"), "--fmcsa")
    assert_one_line_error(cli("seed-demo", "--companies", "zero"), "companies")
    assert_one_line_error(cli("status", "--bogus"), "bogus")


def test_live_without_a_webkey_names_the_setting(cli: Cli) -> None:
    cli("add", "1000005")
    result = cli("sync", "--all", "--fmcsa", "live")
    assert_one_line_error(result, "FMCSA_TUI_WEBKEY")


def test_mongodb_password_is_redacted_in_errors(cli: Cli) -> None:
    result = cli("status", "--store", "mongodb://ops:hunter2@db.example/fleet", store=False)
    assert result.returncode == 2
    assert "hunter2" not in result.stderr + result.stdout
