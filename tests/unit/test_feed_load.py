"""A load pauses the cyclic garbage collector while it runs, and always turns it back on."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bson import ObjectId

from fmcsa_tui.coordinator.feed import FeedUpdate, Loaded, StoreFeed
from fmcsa_tui.store import CompanyStore
from fmcsa_tui.store.base import StoreError


async def add_carriers(store: CompanyStore, count: int) -> None:
    await store.insert_documents(
        [{"_id": ObjectId(), "name": f"Co {n}", "dotNumber": str(1000 + n)} for n in range(count)]
    )


async def test_a_load_runs_without_cyclic_gc_and_turns_it_back_on(store: CompanyStore) -> None:
    await add_carriers(store, 5)
    during: list[bool] = []

    def emit(update: FeedUpdate) -> None:
        if isinstance(update, Loaded) and not update.complete:
            during.append(gc.isenabled())

    assert gc.isenabled()
    await StoreFeed(store, owner="test")._load_rows(emit)
    assert during and not any(during)  # every batch came with the collector paused
    assert gc.isenabled()


class FailingScan:
    """TEST FAKE: a real store whose scan fails after its first batch (the server gone)."""

    def __init__(self, real: CompanyStore) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def scan_rows(self, batch: int) -> AsyncIterator[Any]:
        async for rows in self.real.scan_rows(1):
            yield rows
            raise StoreError("connection reset (test)")


async def test_a_failed_load_turns_cyclic_gc_back_on(store: CompanyStore) -> None:
    await add_carriers(store, 3)
    feed = StoreFeed(FailingScan(store), owner="test")  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        await feed._load_rows(lambda update: None)
    assert gc.isenabled()
