"""While the rows load, the header says how many have come ("loading N of M"), in
words: nothing covers it (a widget's `loading` reactive would put Textual's loading
indicator over the very header that says so)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from textual.widgets import LoadingIndicator

from fmcsa_tui.store import CompanyStore
from fmcsa_tui.ui.app import FmcsaApp
from fmcsa_tui.ui.widgets import StatusHeader
from tests.ui.test_dashboard import SIZE, company, settings_for, wait_for

URL = "http://127.0.0.1:9"  # no run starts in this test


class HeldScan:
    """TEST WRAPPER: a real store whose scan gives its first batch, then waits for the
    test to let the rest come (a long load, held at a known point)."""

    def __init__(self, real: CompanyStore) -> None:
        self.real = real
        self.rest = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def scan_rows(self, batch: int) -> AsyncIterator[Any]:
        first = True
        async for rows in self.real.scan_rows(2):
            if not first:
                await self.rest.wait()
            first = False
            yield rows


async def test_the_header_says_how_much_is_loaded_while_the_rest_loads(
    store: CompanyStore,
) -> None:
    await store.insert_documents([company(f"100000{n}", f"Carrier {n}") for n in range(5)])
    held = HeldScan(store)
    app = FmcsaApp(held, settings_for(URL))  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        header = app.query_one(StatusHeader)
        await wait_for(pilot, lambda: app.companies.total_count >= 1)
        await pilot.pause()
        assert "loading" in str(header.render())
        assert not app.query(LoadingIndicator)  # the words show, not dots over them
        held.rest.set()
        await wait_for(pilot, lambda: app.companies.total_count == 5 and not app.loading)
        await pilot.pause()
        assert "5 carriers" in str(header.render())
