"""What ``GET /sandbox/requests`` reports: the requests each API received, in all and per
DOT. Its own module because ``SandboxServer.requests`` reads the same counts directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fmcsa_tui.sandbox import data

__all__ = ["DATAHUB", "QCMOBILE", "RequestCounts", "counted_dots"]

QCMOBILE, DATAHUB = "qcmobile", "datahub"  # the APIs, as /sandbox/requests names them


class RequestCounts:
    """Requests the APIs received, per API and per DOT, so tests and benchmarks can count
    requests instead of trusting the client.

    ``total`` is every request to an API path; ``apis`` and ``dots`` count those the API
    served (whatever it answered; a DataHub query counts once for each DOT it selects);
    ``throttled`` counts those the rate limit refused without doing the work. Plain dict
    increments on the app's event loop: cheap enough for thousands of requests a second.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.apis = {QCMOBILE: 0, DATAHUB: 0}
        self.throttled = {QCMOBILE: 0, DATAHUB: 0}
        self.dots: dict[str, dict[str, int]] = {}

    def served(self, api: str, dots: Iterable[str]) -> None:
        self.total += 1
        self.apis[api] += 1
        for dot in dots:
            per_api = self.dots.get(dot)
            if per_api is None:
                per_api = self.dots[dot] = {QCMOBILE: 0, DATAHUB: 0}
            per_api[api] += 1

    def refused(self, api: str) -> None:
        self.total += 1
        self.throttled[api] += 1

    def snapshot(self) -> dict[str, Any]:
        """The counts as ``GET /sandbox/requests`` answers them.

        Safe from another thread: each dict is copied in one C-level step, under the GIL.
        """
        dots = dict(self.dots)
        return {
            "total": self.total,
            "apis": dict(self.apis),
            "throttled": dict(self.throttled),
            "dots": {dot: dict(per_api) for dot, per_api in dots.items()},
        }


def counted_dots(dots: Iterable[str]) -> set[str]:
    """The DOTs a request is counted for: as DataHub writes them, each once; the texts
    that cannot be a DOT are not counted (so the counts stay bounded)."""
    keys = {data.dot_key(dot) for dot in dots}
    return {str(key) for key in keys if key is not None}
