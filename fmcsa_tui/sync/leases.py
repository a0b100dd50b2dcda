"""A sync engine's leases: one run per company across processes, held safely.

The store grants a lease (`CompanyStore.acquire_lease`); here is what holding one well
takes: a lease granted while the asker was being cancelled is given back, one task
renews every lease the engine holds (a task per run cost a task per carrier), and a
lease is given back even by a run that is being cancelled, as a lease nobody holds
refuses every other process for `lease_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from fmcsa_tui.store.base import CompanyStore

__all__ = ["Leases", "finish_despite_cancel"]

_T = TypeVar("_T")


async def finish_despite_cancel(write: Awaitable[_T]) -> _T:
    """Await a store write to its end even if we are cancelled meanwhile, then re-raise.

    This is what keeps a cancelled run from leaving a half-written source (the write is
    one transaction, and cancellation only takes effect once it has landed) or a lease
    behind.
    """
    task = asyncio.ensure_future(write)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


class Leases:
    """The leases of one owner (an engine) in one store, lasting `ttl` between renewals."""

    def __init__(self, store: CompanyStore, owner: str, ttl: timedelta) -> None:
        self._store = store
        self._owner = owner
        self._ttl = ttl
        self._held: set[str] = set()  # companies whose lease a run of ours holds
        self._keeper: asyncio.Task[None] | None = None  # renews them (`_keep`)

    async def take(self, company_id: str) -> bool:
        """`acquire_lease`, given back if we are cancelled while it is on its way: the
        store may have granted it after we stopped listening."""
        asking = asyncio.ensure_future(
            self._store.acquire_lease(company_id, self._owner, self._ttl)
        )
        try:
            return await asyncio.shield(asking)
        except asyncio.CancelledError:
            await asyncio.wait([asking])
            if not asking.cancelled() and asking.exception() is None and asking.result():
                await self.give_back(company_id)
            raise

    def hold(self, company_id: str) -> None:
        """Keep the company's lease renewed until it is given back."""
        self._held.add(company_id)
        keeper = self._keeper
        if keeper is None or keeper.done() or keeper.get_loop() is not asyncio.get_running_loop():
            self._keeper = asyncio.create_task(self._keep())

    async def give_back(self, company_id: str) -> None:
        """Stop renewing the lease and release it, to the end even if we are cancelled;
        a release that fails is left to expire."""
        self._held.discard(company_id)
        await finish_despite_cancel(self._release(company_id))

    def stop(self) -> None:
        """No more renewals (the engine is closing; its runs have ended)."""
        if self._keeper is not None:
            self._keeper.cancel()

    async def _keep(self) -> None:
        """Renew every lease held, every third of a lease's life; end when none is."""
        interval = max(self._ttl.total_seconds() / 3, 0.05)
        while self._held:
            await asyncio.sleep(interval)
            for company_id in list(self._held):
                with contextlib.suppress(Exception):  # the lease simply expires if we can't
                    await self._store.renew_lease(company_id, self._owner, self._ttl)

    async def _release(self, company_id: str) -> None:
        with contextlib.suppress(Exception):  # an unreleased lease expires by itself
            await self._store.release_lease(company_id, self._owner)
