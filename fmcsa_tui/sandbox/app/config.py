"""The knobs of one sandbox instance, apart from the app so that the parts reading them
(faults, rate limits, QCMobile's webKey) need not import the app.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["SandboxConfig"]


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """Knobs of one sandbox instance; the data and the fault plan are not configurable."""

    latency: float = 0.0  # seconds every API request waits before answering
    hang_seconds: float = 20.0  # how long a timeout fault holds the request (then 504)
    retry_after: int = 1  # Retry-After seconds of a throttled answer
    outage_requests: int = 5  # requests an outage fails before it is over for good
    webkey: str | None = None  # QCMobile webKey required; None accepts any non-empty key
    qc_rate: float | None = None  # QCMobile requests per second (see RateLimit); None: no limit
    hub_rate: float | None = None  # DataHub requests per second; None: no limit

    def __post_init__(self) -> None:
        for name in ("qc_rate", "hub_rate"):
            rate = getattr(self, name)
            if rate is not None and not (math.isfinite(rate) and rate > 0):
                raise ValueError(f"{name} must be a positive number of requests per second")
