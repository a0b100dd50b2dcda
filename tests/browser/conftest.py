"""Fixtures of the browser tests: Debian's headless Chromium driven by Playwright, and
`fmcsa-tui serve` as a real process on a free loopback port.

Playwright drives the system's Chromium (`executable_path`); `playwright install` is
never run (CI has no internet). Without Chromium the tests skip, except under
`CI=true`, where they fail: CI must run them (`.ci/run` installs it).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVING = re.compile(r"serving the dashboard at (http://\S+/)")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium, for the module."""
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM}: install it with `apt-get install chromium`"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Served:
    """`fmcsa-tui serve` running: its process and the URL it printed."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url

    def stop(self) -> tuple[int, str]:
        """Ctrl-C; its exit code and what it wrote on stderr."""
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=60)
        return self.process.returncode, err


#: Starts `fmcsa-tui GLOBAL_ARGS serve --port 0 SERVE_ARGS`, once it says where it serves.
ServeStarter = Callable[..., Served]


@pytest.fixture
def serving(env: dict[str, str]) -> Iterator[ServeStarter]:
    """Start `fmcsa-tui serve` with the test's environment; killed at the end if running."""
    started: list[Served] = []

    def start(*global_args: str, serve_args: tuple[str, ...] = ()) -> Served:
        process = subprocess.Popen(
            [sys.executable, "-m", "fmcsa_tui", *global_args, "serve", "--port", "0", *serve_args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()  # its first line, or "" when it exited
        found = SERVING.search(line)
        if found is None:
            process.kill()
            _, err = process.communicate(timeout=30)
            pytest.fail(f"serve did not start: {line!r} {err!r}")
        started.append(Served(process, found.group(1)))
        return started[-1]

    yield start
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.communicate(timeout=30)
