"""The sandbox's fault plan: which carrier gets which fault, decided by its DOT number.

Deterministic and documented so that tests, the demo and operators can predict every
outcome. The rule is on the DOT number's last two digits (``int(dot) % 100``):

====== ============================================================================
00-59  healthy
60-63  ``csa_scores`` always answers HTTP 503 (persistent)
64-66  ``inspections`` always answers the HTML "FMCSA System Maintenance Page"
       with HTTP 200 (persistent)
67-69  unknown carrier: QCMobile answers ``content: null`` for the carrier and
       ``[]`` for its BASICs, DataHub has no rows; ``inspections`` fails
       permanently with "carrier not found"
70-73  transient 5xx on one source (70 csa_scores, 71 violations, 72 inspections,
       73 csa_scores): each cycle of three requests answers 503, then 502, then
       succeeds; the engine's default retries ride through it
74-75  transient timeout on one source (74 violations, 75 inspections): each cycle of
       two requests first hangs past the client's timeout, then succeeds
76-78  throttled on one source (76 csa_scores, 77 violations, 78 inspections): each
       cycle of two requests first answers 429 with ``Retry-After``, then succeeds
79-81  outage on one source (79 csa_scores, 80 violations, 81 inspections): the first
       ``outage_requests`` requests (default 5, the engine's default attempt budget)
       answer 503, then the outage is over for good, so a later run succeeds
82-98  healthy
99     healthy, with 2,500 violation rows: several DataHub pages
====== ============================================================================

Counters are kept per (DOT, endpoint) in the sandbox process, so a fresh sandbox
starts every cycle and outage from the beginning. The violations source's faults apply
to the DataHub violation dataset (``8mt8-2mdr``); the inspection dataset it joins
(``rbkj-cgst``) is always healthy.

A batched DataHub query (``$where=dot_number in('...', ...)``) meets the plan of every
DOT it lists: each listed DOT whose plan faults that dataset counts an attempt on its
own counter, and the query answers the fault of the first listed DOT that is in a
failing state. So a batch holding an outage carrier fails while the outage lasts, and
one holding a transient fault fails as that carrier's own query would. Faults of
different cycles compound in one batch: a transient 5xx (ok on the 3rd request of
three) and a timeout or 429 (ok on the 2nd of two) in the same batch first let it
through on its 6th request.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fmcsa_tui.models import Source

__all__ = [
    "ENDPOINT_OF_SOURCE",
    "HTTP_FAULTS",
    "MANY_PAGES_VIOLATIONS",
    "Endpoint",
    "Fault",
    "FaultKind",
    "fault_for",
    "injected_fault",
]

MANY_PAGES_VIOLATIONS = 2500


class FaultKind(StrEnum):
    NONE = "none"
    PERSISTENT_503 = "persistent_503"
    MAINTENANCE = "maintenance"
    UNKNOWN_CARRIER = "unknown_carrier"
    TRANSIENT_5XX = "transient_5xx"
    TRANSIENT_TIMEOUT = "transient_timeout"
    THROTTLED = "throttled"
    OUTAGE = "outage"
    MANY_PAGES = "many_pages"


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    source: Source | None = None  # None: the fault is not tied to one source

    @property
    def persistent(self) -> bool:
        """Fails every run, whatever the retries (an operator must act)."""
        return self.kind in {
            FaultKind.PERSISTENT_503,
            FaultKind.MAINTENANCE,
            FaultKind.UNKNOWN_CARRIER,
        }

    def failing_source(self, *, first_run: bool) -> Source | None:
        """The source a run with the engine's default settings ends up failing, if any."""
        if self.persistent:
            return self.source
        if self.kind is FaultKind.OUTAGE and first_run:
            return self.source
        return None


_CSA, _VIOL, _INSP = Source.CSA_SCORES, Source.VIOLATIONS, Source.INSPECTIONS

_TABLE: list[tuple[range, FaultKind, tuple[Source, ...] | None]] = [
    (range(60, 64), FaultKind.PERSISTENT_503, (_CSA,)),
    (range(64, 67), FaultKind.MAINTENANCE, (_INSP,)),
    (range(67, 70), FaultKind.UNKNOWN_CARRIER, (_INSP,)),
    (range(70, 74), FaultKind.TRANSIENT_5XX, (_CSA, _VIOL, _INSP, _CSA)),
    (range(74, 76), FaultKind.TRANSIENT_TIMEOUT, (_VIOL, _INSP)),
    (range(76, 79), FaultKind.THROTTLED, (_CSA, _VIOL, _INSP)),
    (range(79, 82), FaultKind.OUTAGE, (_CSA, _VIOL, _INSP)),
    (range(99, 100), FaultKind.MANY_PAGES, (_VIOL,)),
]


def fault_for(dot: str | int) -> Fault:
    """The fault the sandbox injects for this DOT number."""
    try:
        bucket = int(dot) % 100
    except (TypeError, ValueError):
        return Fault(FaultKind.NONE)
    for span, kind, sources in _TABLE:
        if bucket in span:
            source = None if sources is None else sources[(bucket - span.start) % len(sources)]
            return Fault(kind, source)
    return Fault(FaultKind.NONE)


class Endpoint(StrEnum):
    """The sandbox endpoints that keep fault counters (one counter per DOT and endpoint)."""

    CARRIER = "carrier"  # QCMobile carrier: the `inspections` source
    BASICS = "basics"  # QCMobile BASICs: the `csa_scores` source
    VIOLATIONS = "violations"  # DataHub 8mt8-2mdr: the `violations` source
    INSPECTIONS = "inspections"  # DataHub rbkj-cgst: joined by `violations`, never faulted


#: Where each source's HTTP faults land.
ENDPOINT_OF_SOURCE = {
    _CSA: Endpoint.BASICS,
    _INSP: Endpoint.CARRIER,
    _VIOL: Endpoint.VIOLATIONS,
}

#: Faults answered as HTTP failures; the other kinds shape the data instead.
HTTP_FAULTS = frozenset(
    {
        FaultKind.PERSISTENT_503,
        FaultKind.MAINTENANCE,
        FaultKind.TRANSIENT_5XX,
        FaultKind.TRANSIENT_TIMEOUT,
        FaultKind.THROTTLED,
        FaultKind.OUTAGE,
    }
)


def injected_fault(dot: str | int, endpoint: Endpoint) -> FaultKind:
    """The HTTP fault the sandbox injects on `endpoint` for this DOT, or ``NONE``."""
    fault = fault_for(dot)
    if (
        fault.kind in HTTP_FAULTS
        and fault.source is not None
        and ENDPOINT_OF_SOURCE[fault.source] is endpoint
    ):
        return fault.kind
    return FaultKind.NONE
