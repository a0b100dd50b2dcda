"""The `fmcsa-tui` command run as a process, for the tests under tests/cli/.

`Cli` runs ``python -m fmcsa_tui`` with a test's environment and store (and reads
``status --json``); `assert_one_line_error` checks a usage error as an operator sees
it: exit code 2, one line on stderr, no traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


class Cli:
    def __init__(self, env: dict[str, str], store: str) -> None:
        self.env = env
        self.store = store

    def __call__(self, *args: str, store: bool = True) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "fmcsa_tui", *args]
        if store:
            command += ["--store", self.store]
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=120, check=False
        )

    def status(self, *args: str) -> list[dict[str, Any]]:
        result = self("status", "--json", *args)
        assert result.returncode == 0, result.stderr
        records: list[dict[str, Any]] = json.loads(result.stdout)
        return records


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
