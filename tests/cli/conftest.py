"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Cli


@pytest.fixture
def cli(env: dict[str, str], tmp_path: Path) -> Cli:
    """`fmcsa-tui` with the test's environment (see `env`) on a fresh SQLite store."""
    return Cli(env, f"sqlite:///{tmp_path / 'cli.db'}")
