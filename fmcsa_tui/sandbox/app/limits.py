"""The rate limit the sandbox enforces per API, modelled on the client's own limiter, so
benchmarks at the limits see the 429s a too-eager client would get from FMCSA.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["ARRIVAL_SKEW", "RateLimit"]

ARRIVAL_SKEW = 0.1  # seconds of a rate limit's rate forgiven as arrival skew (RateLimit)


class RateLimit:
    """One API's request budget: the client's ``aiolimiter.AsyncLimiter(rate, 1.0)`` model.

    A leaky bucket of capacity ``rate`` (at least 1) draining ``rate`` per second, so a
    client paced by the same limiter is never refused. The bucket admits a request while
    its level stays within the capacity plus a tolerance for the skew between when the
    client's limiter lets a request go and when it arrives: ``ARRIVAL_SKEW`` seconds of
    the rate, and at least one request. (Measured on loopback: a cold client opening its
    connections lands its first burst up to 60 ms late, after its own bucket has been
    draining, so at 50/s the server saw up to 3 requests more than the capacity.) Beyond
    it the request is refused, without filling the bucket, with the whole seconds until
    it would fit the capacity itself (>= 1).
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self.tolerance = max(1.0, ARRIVAL_SKEW * rate)
        self._clock = clock
        self._level = 0.0
        self._last = clock()

    def take(self) -> int | None:
        """Admit a request (None) or refuse it: the Retry-After seconds."""
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._last) * self.rate)
        self._last = now
        if self._level + 1 <= self.capacity + self.tolerance:
            self._level += 1
            return None
        return max(1, math.ceil((self._level + 1 - self.capacity) / self.rate))
