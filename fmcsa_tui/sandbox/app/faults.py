"""The fault plan played out over HTTP: each DOT and endpoint the plan faults keeps a
counter of its attempts, and the attempt number says whether it fails and how.

The plan (which DOT gets which fault) is :mod:`fmcsa_tui.sandbox.plan`; this is only
what each fault answers, kept apart from the routes so they read as the happy path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response

from fmcsa_tui.sandbox import data
from fmcsa_tui.sandbox.app.config import SandboxConfig
from fmcsa_tui.sandbox.plan import Endpoint, FaultKind, injected_fault

__all__ = ["FaultGate"]

_HTML = "text/html"

_MAINTENANCE_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>FMCSA System Maintenance Page</title>
</head>
<body>
<h1>System Maintenance</h1>
<p>The FMCSA system is currently undergoing scheduled maintenance.
Please try again later. We apologize for any inconvenience.</p>
</body>
</html>
"""


def _unavailable() -> Response:
    return Response(b"Service Unavailable", 503, media_type="text/plain")


class FaultGate:
    """One sandbox's fault counters (one per DOT and endpoint) and the answers they give.

    Counters are plain dict entries touched only from the app's event loop, so no lock is
    needed; a new instance starts every cycle and outage from the beginning.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.counts: dict[tuple[int | str, Endpoint], int] = {}

    async def gate(
        self, request: Request, dots: Sequence[str], endpoint: Endpoint
    ) -> Response | None:
        """Apply latency and the plan's faults; a Response means "answer this instead".

        Every DOT asked for whose plan faults `endpoint` counts an attempt on its own
        counter; the answer is the fault of the first one that is in a failing state.
        """
        faults: list[tuple[FaultKind, int]] = []
        for dot in dots:
            kind = injected_fault(dot, endpoint)
            if kind is not FaultKind.NONE:
                key = (data.dot_key(dot) or dot, endpoint)
                attempt = self.counts.get(key, 0)
                self.counts[key] = attempt + 1  # counted on arrival: concurrent order is kept
                faults.append((kind, attempt))
        if self.config.latency > 0:
            await asyncio.sleep(self.config.latency)
        for kind, attempt in faults:
            answer = await self._fault_answer(request, kind, attempt)
            if answer is not None:
                return answer
        return None

    async def _fault_answer(
        self, request: Request, kind: FaultKind, attempt: int
    ) -> Response | None:
        """What a fault answers on its `attempt`-th request, or None when it lets it through."""
        if kind is FaultKind.PERSISTENT_503:
            return _unavailable()
        if kind is FaultKind.MAINTENANCE:
            return Response(_MAINTENANCE_PAGE, 200, media_type=_HTML)
        if kind is FaultKind.TRANSIENT_5XX:
            step = attempt % 3
            if step == 0:
                return _unavailable()
            if step == 1:
                return Response(b"Bad Gateway", 502, media_type="text/plain")
            return None
        if kind is FaultKind.TRANSIENT_TIMEOUT:
            if attempt % 2 == 0:
                await self._hang(request)
                return Response(b"Gateway Timeout", 504, media_type="text/plain")
            return None
        if kind is FaultKind.THROTTLED:
            if attempt % 2 == 0:
                return Response(
                    b"Too Many Requests",
                    429,
                    headers={"Retry-After": str(self.config.retry_after)},
                    media_type="text/plain",
                )
            return None
        if kind is FaultKind.OUTAGE:
            return _unavailable() if attempt < self.config.outage_requests else None
        raise AssertionError(f"unhandled fault {kind}")  # pragma: no cover

    async def _hang(self, request: Request) -> None:
        """Hold the request for ``hang_seconds``, or until the client gives up on it."""
        try:
            async with asyncio.timeout(self.config.hang_seconds):
                while (await request.receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            pass
