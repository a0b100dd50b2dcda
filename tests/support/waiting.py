"""Waiting for what a test is about to rely on, never for a fixed time.

One rule for every test: look at the condition, and if it does not hold yet, let the
program run a little (`pause`: `asyncio.sleep` by default, `pilot.pause` for an app)
and look again, failing after `limit` seconds with what was awaited.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

__all__ = ["eventually", "eventually_blocking"]

STEP = 0.02  # seconds between looks


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    limit: float = 20,
    pause: Callable[[float], Awaitable[object]] = asyncio.sleep,
    what: str = "condition not met in time",
) -> None:
    """Until `condition()` (plain or awaitable) holds; AssertionError after `limit` s."""
    deadline = time.monotonic() + limit
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        assert time.monotonic() < deadline, what
        await pause(STEP)


def eventually_blocking(condition: Callable[[], bool], *, limit: float = 30) -> None:
    """`eventually` for a test with no event loop (it watches another process)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(STEP)
