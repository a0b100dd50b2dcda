"""What the dashboard's start leaves for later: each 0.1 s before the first rows is felt
by every operator, at every size (ui_bench's "launch to first rows")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

#: Imported with the first run or the first theme picked, never to open the dashboard:
#: httpx and aiohttp alone took about 0.2 s of a 0.6 s import on 2 cores.
LATER = ("httpx", "aiohttp", "httpx_aiohttp", "tenacity", "aiolimiter", "tomlkit")

PROBE = """
import asyncio, sys
from fmcsa_tui.models.runs import Origin
from fmcsa_tui.settings import Settings
from fmcsa_tui.store.sqlite import SqliteStore
from fmcsa_tui.sync.engine import SyncEngine
import fmcsa_tui.ui.app

async def made_and_closed() -> None:
    store = SqliteStore(sys.argv[1])
    engine = SyncEngine(store, Settings(webkey="k"), origin=Origin.DASHBOARD)
    await engine.aclose()

asyncio.run(made_and_closed())
print(" ".join(name for name in sys.argv[2:] if name in sys.modules))
"""


def test_opening_the_dashboard_imports_no_http_client(tmp_path: Path) -> None:
    """The dashboard's modules and an engine made and closed without a run (as the
    dashboard does when the operator never syncs) leave the HTTP side unimported."""
    found = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "start.db"), *LATER],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert found == []


LOADED = """
import asyncio, sys
from fmcsa_tui.settings import Settings
from fmcsa_tui.store.sqlite import SqliteStore
from fmcsa_tui.ui.app import FmcsaApp

async def opened_and_loaded() -> None:
    store = SqliteStore(sys.argv[1])
    app = FmcsaApp(store, Settings(webkey="k"), poll_interval=3600)
    async with app.run_test() as pilot:
        while app.loading:
            await pilot.pause()
        for worker in app.workers:
            if worker.group == "warm-up":
                await worker.wait()
        await app.action_quit()
    await store.close()

asyncio.run(opened_and_loaded())
print(" ".join(name for name in sys.argv[2:] if name in sys.modules))
"""


def test_the_http_side_is_imported_once_the_list_is_loaded(tmp_path: Path) -> None:
    """Off the event loop, after the load: the first resync does not hold the screen
    still while httpx and aiohttp are imported."""
    found = subprocess.run(
        [sys.executable, "-c", LOADED, str(tmp_path / "loaded.db"), "httpx", "aiohttp"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert found == ["httpx", "aiohttp"]
