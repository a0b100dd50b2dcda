"""The command line at its edges: bad configuration, hostile text, signals, odd input.

Every case is what an operator would see: the exit code, one line on stderr, what is
printed, and what the store holds (or that nothing was created) afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from pytimeparse import parse as parse_duration

from fmcsa_tui.models import Source
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.settings import Settings, load_settings
from fmcsa_tui.store import SqliteStore
from tests.support.cli import Cli, assert_one_line_error
from tests.support.hostile import HostileServer
from tests.support.sandboxes import served_sandbox
from tests.support.terminal import Terminal
from tests.support.waiting import eventually_blocking as wait_until

STAMP = datetime(2026, 11, 21, 0, 15, 14, 513000, tzinfo=UTC)


def insert(path: Path, *docs: dict[str, Any]) -> None:
    async def put() -> None:
        store = SqliteStore(path)
        await store.open()
        try:
            await store.insert_documents(list(docs))
        finally:
            await store.close()

    asyncio.run(put())


def synced_doc(dot: str, name: str, **status: Any) -> dict[str, Any]:
    sync_status: dict[str, Any] = {
        "lastRun": STAMP,
        "success": True,
        "errors": [],
        **{source.last_sync_field: STAMP for source in Source},
    }
    sync_status.update(status)
    return {"_id": ObjectId(), "name": name, "dotNumber": dot,
            "fmcsaData": {"syncStatus": sync_status}}  # fmt: skip


# --- JSON output: the backend's timestamps, and text a terminal would act on ----------


def test_status_json_prints_times_as_the_backend_api_does(cli: Cli, tmp_path: Path) -> None:
    error = {"_id": ObjectId(), "source": "entity_linking", "error": "x", "timestamp": STAMP}
    insert(tmp_path / "cli.db", synced_doc("1000001", "Millis", errors=[error], success=False))
    [record] = cli.status()
    assert record["lastRun"] == "2026-11-21T00:15:14.513Z"  # JavaScript's toISOString()
    assert record["csaScoresLastSync"] == "2026-11-21T00:15:14.513Z"
    assert record["errors"][0]["timestamp"] == "2026-11-21T00:15:14.513Z"


def test_json_output_escapes_invisible_and_reordering_characters(cli: Cli, tmp_path: Path) -> None:
    hostile = "Evil\x85Next\u202eesreveR\u200bHidden\x1b]0;pwned\x07 東京"
    insert(tmp_path / "cli.db", synced_doc("1000002", hostile))
    for args in (("status", "--json"), ("show", "1000002", "--json")):
        result = cli(*args)
        assert result.returncode == 0, result.stderr
        for raw in ("\x85", "\u202e", "\u200b", "\x1b", "\x07"):
            assert raw not in result.stdout, (args, repr(raw))
        assert "\\u0085" in result.stdout and "\\u202e" in result.stdout
        assert "東京" in result.stdout  # printable text stays readable
        parsed = json.loads(result.stdout)
        name = parsed[0]["name"] if isinstance(parsed, list) else parsed["name"]
        assert name == hostile  # the escapes decode to exactly what is stored


# --- the DOT rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "dot",
    [
        "\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits
        "\uff11\uff12\uff13\uff14\uff15\uff16",  # full-width digits
        "1234",
        "123456789",
        "12 345",
    ],
)
def test_add_refuses_what_the_backend_would_not_store(cli: Cli, tmp_path: Path, dot: str) -> None:
    assert cli("add", "1000005").returncode == 0
    assert_one_line_error(cli("add", dot), "5 to 8 digits")
    assert [record["dotNumber"] for record in cli.status()] == ["1000005"]


def test_add_takes_a_usdot_prefix_and_stores_plain_digits(cli: Cli) -> None:
    result = cli("add", "USDOT 1234567")
    assert result.returncode == 0, result.stderr
    assert [record["dotNumber"] for record in cli.status()] == ["1234567"]


# --- --fmcsa and configuration problems: exit 2, the setting named -------------------


@pytest.mark.parametrize("url", ["http://", "http://:80", "http://a b.example", "http://h:0"])
def test_malformed_fmcsa_urls_are_refused_before_anything_runs(cli: Cli, url: str) -> None:
    cli("add", "1000005")
    assert_one_line_error(cli("sync", "--all", "--fmcsa", url), "--fmcsa")
    [record] = cli.status()
    assert record["lastRun"] is None and record["errors"] == []


def test_a_bad_base_url_setting_names_the_variable(cli: Cli) -> None:
    cli.env["FMCSA_TUI_QC_BASE_URL"] = "http://:80/qc"
    assert_one_line_error(cli("status"), "FMCSA_TUI_QC_BASE_URL", "no host")


def test_an_unknown_theme_stops_the_dashboard_naming_the_valid_ones(cli: Cli) -> None:
    cli.env["FMCSA_TUI_THEME"] = "solarised"
    assert_one_line_error(cli("dashboard"), "FMCSA_TUI_THEME", "'solarised'", "solarized-light")


def test_a_broken_config_file_names_the_file_and_line(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('concurrency = 4\nwebkey = "unterminated\n')
    cli.env["FMCSA_TUI_CONFIG"] = str(config)
    assert_one_line_error(cli("status"), str(config), "line 2")


def test_an_unknown_key_in_the_config_file_is_named(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('webky = "typo"\n')
    cli.env["FMCSA_TUI_CONFIG"] = str(config)
    assert_one_line_error(cli("status"), str(config), "'webky'")


def test_a_wrong_value_in_the_config_file_names_the_key_and_file(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("concurrency = 0\n")
    cli.env["FMCSA_TUI_CONFIG"] = str(config)
    assert_one_line_error(cli("status"), f"`concurrency` in {config}")


def test_a_config_path_that_is_a_directory_is_refused(cli: Cli, tmp_path: Path) -> None:
    cli.env["FMCSA_TUI_CONFIG"] = str(tmp_path)
    assert_one_line_error(cli("status"), "is not a file")


def test_a_keymap_variable_that_is_not_json_names_the_variable(cli: Cli) -> None:
    cli.env["FMCSA_TUI_KEYMAP"] = "app.resync=ctrl+r"
    assert_one_line_error(cli("status"), "FMCSA_TUI_KEYMAP", "JSON")


@pytest.mark.parametrize("value", ["inf", "nan", "-1"])
def test_a_lease_time_that_is_not_a_finite_positive_number_names_the_variable(
    cli: Cli, value: str
) -> None:
    cli.env["FMCSA_TUI_LEASE_SECONDS"] = value
    assert_one_line_error(cli("status"), "FMCSA_TUI_LEASE_SECONDS")


def test_settings_come_from_env_over_file_over_defaults(tmp_path: Path) -> None:
    """Run in a child so the real loader reads the real environment and file."""
    config = tmp_path / "config.toml"
    config.write_text("concurrency = 5\npage_size = 700\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FMCSA_TUI_")}
    env.update(FMCSA_TUI_CONFIG=str(config), FMCSA_TUI_CONCURRENCY="9")
    probe = (
        "from fmcsa_tui.settings import load_settings as l; s = l(); "
        "print(s.concurrency, s.page_size, s.timeout, l(concurrency=3).concurrency)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["9", "700", "15.0", "3"]  # env > file > default; a flag beats them all


# --- stores a command can and cannot use ----------------------------------------------


def test_read_only_commands_never_create_a_store(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "not" / "there" / "fleet.db"
    for args in (("status",), ("status", "--json"), ("show", "1000005")):
        result = cli(*args, "--store", f"sqlite:///{missing}", store=False)
        assert_one_line_error(result, "no store at")
    assert not (tmp_path / "not").exists()


def test_a_sqlite_file_that_is_not_a_store_is_not_turned_into_one(cli: Cli, tmp_path: Path) -> None:
    other = tmp_path / "someone-else.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (x)").connection.close()
    assert_one_line_error(cli("status", "--store", f"sqlite:///{other}", store=False), "not an")
    tables = sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("notes",)]


@pytest.mark.parametrize(
    "url", ["sqlite:///:memory:", "sqlite:///file:x.db?mode=memory", "sqlite:///x.db?cache=1"]
)
def test_unsupported_sqlite_urls_are_refused(cli: Cli, url: str) -> None:
    assert_one_line_error(cli("add", "1000005", "--store", url, store=False), "not supported")


def test_a_mongodb_url_with_an_unknown_option_is_one_line(cli: Cli) -> None:
    result = cli("status", "--store", "mongodb://db.example/fleet?tiemoutMS=5", store=False)
    assert_one_line_error(result, "unknown option 'tiemoutMS'")
    assert "site-packages" not in result.stderr and "Warning" not in result.stderr


# --- signals --------------------------------------------------------------------------


slow_sandbox = served_sandbox(SandboxConfig(latency=3.0))


def leases(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT company_id, expires_at FROM leases").fetchall()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_stop_signal_cancels_a_sync_cleanly_and_leaves_no_lease(
    cli: Cli, tmp_path: Path, slow_sandbox: SandboxServer, signum: int, code: int
) -> None:
    db = tmp_path / "cli.db"
    assert cli("seed-demo", "--companies", "12").returncode == 0
    command = [sys.executable, "-m", "fmcsa_tui", "--store", cli.store, "sync", "--all",
               "--concurrency", "4", "--fmcsa", slow_sandbox.url]  # fmt: skip
    process = subprocess.Popen(
        command, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    slow_sandbox.reset_requests()
    try:
        # four runs hold their leases and are mid-request (past the pass's check, which
        # also runs under the lease): each has asked the sandbox for its carrier
        wait_until(lambda: len(leases(db)) == 4 and len(slow_sandbox.requests()["dots"]) == 4)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == code, (stdout, stderr)
    assert stderr.strip() == (
        f"fmcsa-tui: stopped by {signal.Signals(signum).name};"
        " runs in progress were cancelled cleanly"
    )
    assert leases(db) == []  # the next sync is not refused for two minutes
    cancelled = [line for line in stdout.splitlines() if ": cancelled" in line]
    assert len(cancelled) == 4, stdout
    assert all("not written" in line for line in cancelled), cancelled
    assert "failed: (" not in stdout and "failed:  " not in stdout
    records = cli.status()
    assert all(record["errors"] == [] for record in records)  # nothing half-written


# --- hostile text on the operator's terminal -------------------------------------------


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\u200b")


def test_sync_prints_a_hostile_error_text_without_a_single_control_byte(
    cli: Cli, hostile: HostileServer
) -> None:
    """The answer carries `ESC [2J ESC ] 0 ; owned BEL` and a bidi override: the piped
    output shows them as visible symbols and holds none of their bytes."""
    assert cli("add", "1000005").returncode == 0
    hostile.set("escape-error")
    result = cli("sync", "1000005", "--fmcsa", hostile.url)
    assert result.returncode == 1, result.stderr
    assert "␛[2J␛]0;owned␇" in result.stdout
    for raw in RAW_CONTROLS:
        assert raw not in result.stdout + result.stderr, repr(raw)


def test_sync_on_a_terminal_shows_a_progress_bar_and_no_hostile_bytes(
    cli: Cli, hostile: HostileServer
) -> None:
    """On a terminal (a pty here), `sync` draws a progress bar; the hostile text still
    reaches the terminal only as visible symbols."""
    assert cli("add", "1000005", "1000012").returncode == 0
    hostile.set("escape-error")
    command = [sys.executable, "-m", "fmcsa_tui", "--store", cli.store, "sync", "--all",
               "--concurrency", "1", "--fmcsa", hostile.url]  # fmt: skip
    with Terminal(command, cli.env, columns=120) as terminal:
        code = terminal.wait_exit(60)
    output = terminal.raw
    assert code == 1, output
    assert "syncing" in output and "2/2" in output and "━" in output  # rich's bar
    assert "␛[2J␛]0;owned␇" in output
    assert "\x1b]0;owned" not in output and "\x1b[2J" not in output and "\u202e" not in output


# --- what the README promises ----------------------------------------------------------


def _documented_variables() -> dict[str, str]:
    """Every `FMCSA_TUI_*` variable in README's settings table, to its setting's name."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("| setting (env var) |", 1)[1].split("\n\n", 1)[0]
    found: dict[str, str] = {}
    for row in table.splitlines()[2:]:
        names = re.findall(r"`(FMCSA_TUI_[A-Z_]+|_[A-Z_]+)`", row.split("|")[1])
        first = names[0]
        found[first] = first.removeprefix("FMCSA_TUI_").lower()
        for suffix in names[1:]:  # `FMCSA_TUI_BACKOFF_BASE` / `_MAX`
            name = first.rsplit("_", 1)[0] + suffix
            found[name] = name.removeprefix("FMCSA_TUI_").lower()
    return found


#: A value for each setting that differs from its default and is within its bounds.
_SAMPLE = {
    "store": "sqlite:///elsewhere.db", "mongo_database": "fleet", "mongo_companies": "carriers",
    "mongo_inspections": "visits", "webkey": "k-123", "app_token": "t-456",
    "qc_base_url": "https://qc.example.test/qc/services", "hub_base_url": "https://hub.example.test",
    "concurrency": "3", "qc_rate_limit": "7.5", "hub_rate_limit": "3",
    "hub_batch_size": "20", "hub_batch_window": "0.2", "timeout": "9", "max_attempts": "2",
    "backoff_base": "0.25", "backoff_max": "4", "retry_after_max": "60", "source_deadline": "90",
    "max_response_bytes": "1048576", "max_rows": "5000", "page_size": "500",
    "stale_after_hours": "12", "lease_seconds": "45", "read_only": "True",
    "confirm_typed_over": "250", "theme": "nord", "history_retention": "30d",
    "keymap": '{"app.resync": "ctrl+r"}',
}  # fmt: skip


def test_every_documented_variable_sets_its_setting_and_every_setting_is_documented(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    documented = _documented_variables()
    assert set(documented.values()) == set(Settings.model_fields)  # none missing, none stale
    for variable, field in documented.items():
        monkeypatch.setenv(variable, _SAMPLE[field])
    settings = load_settings()
    for field in documented.values():
        value = getattr(settings, field)
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        expected = _SAMPLE[field]
        if isinstance(value, timedelta):  # an age, written as the CLI's are
            value, expected = value.total_seconds(), str(parse_duration(expected))
        shown = json.dumps(value) if isinstance(value, dict) else str(value)
        assert shown == expected or float(shown) == float(expected), (field, shown)


def test_an_internal_error_is_one_line_and_exit_3_unless_debugging(
    cli: Cli, tmp_path: Path
) -> None:
    """A bug (here: a status line that divides by zero) must not show a traceback to an
    operator; FMCSA_TUI_DEBUG=1 shows it to a developer."""
    assert cli("add", "1000005").returncode == 0
    broken = (
        "import sys; from fmcsa_tui import cli; from fmcsa_tui.cli import records; "
        "records._status_line = lambda record, now: 1 / 0; "
        f"sys.argv = ['fmcsa-tui', 'status', '--store', {cli.store!r}]; cli.main()"
    )
    quiet = subprocess.run([sys.executable, "-c", broken], env=cli.env,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert quiet.returncode == 3
    assert quiet.stderr.strip() == (
        "fmcsa-tui: internal error: ZeroDivisionError: division by zero"
    )
    loud = subprocess.run([sys.executable, "-c", broken], env={**cli.env, "FMCSA_TUI_DEBUG": "1"},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert loud.returncode == 1 and "Traceback" in loud.stderr
    assert loud.stderr.strip().endswith("ZeroDivisionError: division by zero")


def test_sync_concurrency_bounds_the_runs_at_once(
    cli: Cli, tmp_path: Path, slow_sandbox: SandboxServer
) -> None:
    db = tmp_path / "cli.db"
    assert cli("seed-demo", "--companies", "6").returncode == 0
    command = [sys.executable, "-m", "fmcsa_tui", "--store", cli.store, "sync", "--all",
               "--concurrency", "2", "--fmcsa", slow_sandbox.url]  # fmt: skip
    process = subprocess.Popen(command, env=cli.env, stdout=subprocess.PIPE, text=True)
    seen: set[int] = set()
    try:
        while process.poll() is None:
            seen.add(len(leases(db)))
            time.sleep(0.02)
        process.communicate(timeout=60)
    finally:
        process.kill()
    assert max(seen) == 2, seen  # two at a time, never three
    assert leases(db) == []


def test_the_demo_command_opens_the_dashboard_on_a_seeded_store(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`fmcsa-tui demo` as the README's quick start runs it: 200 carriers, then q."""
    with Terminal([sys.executable, "-m", "fmcsa_tui", "demo"], env) as terminal:
        terminal.wait_for("200 carriers", limit=60)
        terminal.type("q")
        assert terminal.wait_exit() == 0
    assert (tmp_path / "data" / "fmcsa-tui" / "demo.db").exists()


def test_the_dashboard_opens_without_a_command_and_stops_cleanly_on_sigterm(
    cli: Cli,
) -> None:
    assert cli("add", "1000005", "1000012", "1000024").returncode == 0
    command = [sys.executable, "-m", "fmcsa_tui", "--store", cli.store]
    with Terminal(command, cli.env) as terminal:
        terminal.wait_for("3 carriers")
        terminal.process.send_signal(signal.SIGTERM)
        assert terminal.wait_exit() == 143
        assert "stopped by SIGTERM; runs in progress were cancelled cleanly" in terminal.text
