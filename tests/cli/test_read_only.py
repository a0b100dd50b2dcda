"""`--read-only` as an operator uses it: the commands that write refuse at once (one
line, exit 2, nothing contacted, the store untouched); the ones that read work. And a
MongoDB user who may only read, running `sync` without it: one line per carrier."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from tests.support.cli import Cli, assert_one_line_error
from tests.support.mongo_wire import MongoWireServer

#: The commands that write, each as an operator would type it after `--read-only`.
WRITING = {
    "sync": ("sync", "--all"),
    "sync by DOT": ("sync", "1000005", "--fmcsa", "sandbox"),
    "worker": ("worker", "--every", "1h"),
    "add": ("add", "1234567", "--name", "New"),
    "seed-demo": ("seed-demo", "--companies", "3"),
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def seeded(cli: Cli, tmp_path: Path) -> Path:
    assert cli("seed-demo", "--companies", "5").returncode == 0
    return tmp_path / "cli.db"


@pytest.fixture
def nowhere() -> Iterator[str]:
    """An FMCSA address nobody answers at: a refusal must never get that far."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("command", WRITING)
def test_a_writing_command_with_read_only_refuses_in_one_line(
    cli: Cli, seeded: Path, nowhere: str, command: str
) -> None:
    before_status, before_file = cli.status(), digest(seeded)
    args = WRITING[command]
    if command in {"sync", "worker"}:
        args = (*args, "--fmcsa", nowhere)
    result = cli("--read-only", *args)
    assert_one_line_error(result, "the store is open read-only (--read-only): cannot")
    assert digest(seeded) == before_file
    assert cli.status() == before_status


def test_the_setting_is_read_only_too(cli: Cli, seeded: Path) -> None:
    cli.env = {**cli.env, "FMCSA_TUI_READ_ONLY": "true"}
    before = digest(seeded)
    assert_one_line_error(cli("add", "1234567", "--name", "New"), "read-only")
    assert digest(seeded) == before


def test_status_and_show_work_read_only(cli: Cli, seeded: Path) -> None:
    before = digest(seeded)
    status = cli("--read-only", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert status.stdout == cli("status", "--json").stdout
    dot = cli.status()[0]["dotNumber"]
    shown = cli("--read-only", "show", dot)
    assert shown.returncode == 0 and dot in shown.stdout, shown.stderr
    assert digest(seeded) == before


def test_read_only_on_a_missing_file_is_one_line_and_creates_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    for command in ("status", "dashboard"):
        assert_one_line_error(cli("--read-only", command), "no store at")
    assert not (tmp_path / "cli.db").exists()


def test_a_mongodb_user_who_may_only_read_gets_one_line_per_carrier(
    env: dict[str, str],
) -> None:
    """`sync` without --read-only against a server refusing writes with code 13."""
    with MongoWireServer() as server, SandboxServer(SandboxConfig()) as sandbox:
        cli = Cli(env, server.url.replace("/?", "/readonly?"))
        assert cli("seed-demo", "--companies", "3").returncode == 0
        before = cli.status()
        server.refuse_writes = True  # from now on, as for a user with the read role
        result = cli("sync", "--all", "--fmcsa", sandbox.url)
        after = cli.status()
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    refused = [line for line in result.stdout.splitlines() if "refused the write" in line]
    assert len(refused) == 3, result.stdout
    assert all("--read-only" in line and line.startswith("DOT ") for line in refused)
    assert "synced 3 companies" in result.stdout
    assert after == before
