"""The sandbox's ASGI app: QCMobile and DataHub (Socrata) under one origin, faults per plan.

Paths are the real ones (``/qc/services/carriers/{dot}``, ``/resource/8mt8-2mdr.json``),
so pointing the engine's base URLs at the sandbox is the only change a client needs.
The request path is kept lean because benchmarks drive thousands of requests a second:
content is encoded once per DOT and cached, and only the QCMobile ``retrievalDate``
(the one value that is not data) is stamped per request.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fmcsa_tui.sandbox import data
from fmcsa_tui.sandbox.plan import (
    MANY_PAGES_VIOLATIONS,
    Endpoint,
    FaultKind,
    fault_for,
    injected_fault,
)

__all__ = [
    "DATAHUB",
    "DATASETS",
    "QCMOBILE",
    "RateLimit",
    "RequestCounts",
    "SandboxConfig",
    "create_app",
]

_JSON = "application/json"
_HTML = "text/html"

#: DataHub datasets the sandbox serves, with the fault counter each one uses.
DATASETS = {
    "8mt8-2mdr": Endpoint.VIOLATIONS,
    "rbkj-cgst": Endpoint.INSPECTIONS,
}
_ROWS: dict[str, Callable[[str], list[dict[str, str]]]] = {
    "8mt8-2mdr": data.violation_rows,
    "rbkj-cgst": data.inspection_rows,
}
_COLUMNS = {
    "8mt8-2mdr": data.VIOLATION_COLUMNS,
    "rbkj-cgst": data.INSPECTION_COLUMNS,
}
# `$$app_token` is Socrata's query-string alternative to the X-App-Token header.
_SOQL_PARAMS = frozenset(
    {"dot_number", "$limit", "$offset", "$order", "$select", "$where", "$$app_token"}
)
_DEFAULT_LIMIT = 1000
_MAX_LIMIT = 50000

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


def _retrieval_date() -> bytes:
    """QCMobile's timestamp format: ``2026-11-28T16:00:34.709+0000``."""
    now = datetime.now(UTC)
    return f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}+0000".encode()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


# Module-level caches: the data is a pure function of the DOT, so every app instance may
# share them. Bounded, so a bulk run over 100,000 carriers cannot grow them without limit.
@lru_cache(maxsize=4096)
def _carrier_json(dot: str) -> bytes:
    return _dumps(data.carrier_content(dot))


@lru_cache(maxsize=4096)
def _basics_json(dot: str) -> bytes:
    return _dumps(data.basics(dot))


@lru_cache(maxsize=1024)
def _encoded_rows(dataset: str, dot: str) -> tuple[bytes, ...]:
    """Each row encoded once, so a page is a slice and a join, however many pages."""
    return tuple(_dumps(row) for row in _ROWS[dataset](dot))


def _qc(content: bytes, status: int = 200, extra: bytes = b"") -> Response:
    body = b'{"content":' + content + b',"retrievalDate":"' + _retrieval_date() + b'"' + extra
    return Response(body + b"}", status, media_type=_JSON)


_WEBKEY_LINKS = b',"_links":' + _dumps(
    {
        "self": {"href": "https://mobile.fmcsa.dot.gov/qc"},
        "searchByName": {"href": "https://mobile.fmcsa.dot.gov/qc/name/:name"},
        "lookupBydotNumber": {"href": "https://mobile.fmcsa.dot.gov/qc/id/:dotNumber"},
    }
)


def _soql_error(code: str, message: str, **details: Any) -> Response:
    body = {"message": message, "errorCode": code, "data": details}
    return Response(_dumps(body), 400, media_type=_JSON)


class _SoqlError(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _int_param(dataset: str, name: str, text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise _SoqlError(
            _soql_error(
                "query.soql.type-mismatch",
                f"Type mismatch for {name}: expected a non-negative number, got {text!r}",
                dataset=dataset,
                parameter=name,
                value=text,
            )
        )
    return value


def _no_such_column(dataset: str, column: str) -> _SoqlError:
    return _SoqlError(
        _soql_error(
            "query.soql.no-such-column",
            f"No such column: {column}",
            dataset=dataset,
            column=column,
        )
    )


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


class _Sandbox:
    """One sandbox: its config, its fault counters (one per DOT and endpoint) and its
    request counts.

    Counters are plain dict entries touched only from the app's event loop, so no lock is
    needed; a new instance starts every cycle and outage from the beginning.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.counts: dict[tuple[int | str, Endpoint], int] = {}
        self.requests = RequestCounts()
        rates = {QCMOBILE: config.qc_rate, DATAHUB: config.hub_rate}
        self.limits = {api: RateLimit(rate) for api, rate in rates.items() if rate is not None}

    def _throttle(self, api: str) -> Response | None:
        """A 429 when the API's rate limit refuses this request, before any work."""
        limit = self.limits.get(api)
        wait = None if limit is None else limit.take()
        if wait is None:
            return None
        self.requests.refused(api)
        return Response(
            b"Too Many Requests", 429, headers={"Retry-After": str(wait)}, media_type="text/plain"
        )

    # --- faults ---------------------------------------------------------------------

    async def _gate(
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

    # --- QCMobile -------------------------------------------------------------------

    def _refuse_webkey(self, request: Request) -> Response | None:
        webkey = request.query_params.get("webKey")
        if not webkey:
            return _qc(b'"Must provide Webkey"', 404)
        if self.config.webkey is not None and webkey != self.config.webkey:
            return _qc(b'"Webkey not found"', 404, _WEBKEY_LINKS)
        return None

    async def carrier(self, request: Request) -> Response:
        if throttled := self._throttle(QCMOBILE):
            return throttled
        dot = request.path_params["dot"]
        self.requests.served(QCMOBILE, _counted_dots((dot,)))
        refusal = await self._gate(request, (dot,), Endpoint.CARRIER)
        return refusal or self._refuse_webkey(request) or _qc(_carrier_json(dot))

    async def basics(self, request: Request) -> Response:
        if throttled := self._throttle(QCMOBILE):
            return throttled
        dot = request.path_params["dot"]
        self.requests.served(QCMOBILE, _counted_dots((dot,)))
        refusal = await self._gate(request, (dot,), Endpoint.BASICS)
        return refusal or self._refuse_webkey(request) or _qc(_basics_json(dot))

    # --- DataHub (Socrata) ----------------------------------------------------------

    async def resource(self, request: Request) -> Response:
        if throttled := self._throttle(DATAHUB):
            return throttled
        dataset = request.path_params["dataset"]
        endpoint = DATASETS.get(dataset)
        if endpoint is None:
            self.requests.served(DATAHUB, ())
            body = {"message": f"Dataset {dataset} not found", "errorCode": "not_found"}
            return Response(_dumps(body | {"data": {}}), 404, media_type=_JSON)
        params = request.query_params
        try:
            dots = _asked_dots(dataset, params)
        except _SoqlError as error:
            self.requests.served(DATAHUB, ())
            await self._gate(request, (), endpoint)  # latency only: no DOT is known
            return error.response
        self.requests.served(DATAHUB, _counted_dots(dots))
        refusal = await self._gate(request, dots, endpoint)
        if refusal is not None:
            return refusal
        try:
            return self._rows(dataset, dots, params)
        except _SoqlError as error:
            return error.response

    def _rows(self, dataset: str, dots: list[str], params: Any) -> Response:
        for name in params:
            if name not in _SOQL_PARAMS:
                raise _no_such_column(dataset, name)
        limit = min(_int_param(dataset, "$limit", params.get("$limit"), _DEFAULT_LIMIT), _MAX_LIMIT)
        offset = _int_param(dataset, "$offset", params.get("$offset"), 0)
        columns = _COLUMNS[dataset]
        order = _parse_order(dataset, params.get("$order"), columns)
        select = _parse_select(dataset, params.get("$select"), columns)
        # dot_number is a text column: "007" is not "7", and rows come in text order.
        present = sorted({dot for dot in dots if _is_dot_text(dot)})

        if select is None and order in _FORWARD:  # the engine's path: cached and sliced
            parts = [_encoded_rows(dataset, dot) for dot in present]
            return _json_page(_slice(parts, offset, limit))
        if select is None and order in _BACKWARD:
            parts = [_encoded_rows(dataset, dot)[::-1] for dot in reversed(present)]
            return _json_page(_slice(parts, offset, limit))

        # (dot, position, row): the position is the row's :id within its carrier.
        rows = [(dot, i, row) for dot in present for i, row in enumerate(_ROWS[dataset](dot))]
        for column, descending in reversed(order):  # stable sorts, last key first
            if column == ":id":
                rows.sort(key=lambda entry: (entry[0], entry[1]), reverse=descending)
            else:
                rows.sort(key=lambda entry: entry[2].get(column, ""), reverse=descending)
        page_rows = [row for _, _, row in rows[offset : offset + limit]]
        if select is not None:
            page_rows = [{c: row[c] for c in select if c in row} for row in page_rows]
        return Response(_dumps(page_rows), media_type=_JSON)

    # --- the sandbox's own pages ----------------------------------------------------

    async def plan(self, request: Request) -> Response:
        dot = request.path_params["dot"]
        fault = fault_for(dot)
        body = {
            "dot": dot,
            "fault": fault.kind.value,
            "source": None if fault.source is None else fault.source.value,
        }
        return Response(_dumps(body), media_type=_JSON)

    async def request_counts(self, request: Request) -> Response:
        """``GET``: the request counts (see :class:`RequestCounts`); ``DELETE``: zero them.

        The fault counters are not reset: they are the plan's state, not a count.
        """
        if request.method == "DELETE":
            self.requests.reset()
            return Response(status_code=204)
        return Response(_dumps(self.requests.snapshot()), media_type=_JSON)

    async def index(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        body = {
            "name": "fmcsa-tui sandbox",
            "about": "Offline stand-in for FMCSA QCMobile and DOT DataHub (Socrata): real "
            "paths and response shapes, deterministic data per DOT number, faults injected "
            "by the DOT number's last two digits (see the plan).",
            "qcmobile": f"{base}/qc/services",
            "datahub": f"{base}/resource/{{dataset}}.json",
            "datasets": sorted(DATASETS),
            "plan": f"{base}/sandbox/plan/{{dot}}",
            "requests": f"{base}/sandbox/requests",
            "many_pages_violations": MANY_PAGES_VIOLATIONS,
            "config": {
                "latency": self.config.latency,
                "hang_seconds": self.config.hang_seconds,
                "retry_after": self.config.retry_after,
                "outage_requests": self.config.outage_requests,
                "webkey_required": self.config.webkey is not None,
                "qc_rate": self.config.qc_rate,
                "hub_rate": self.config.hub_rate,
            },
        }
        return Response(_dumps(body), media_type=_JSON)


def _unavailable() -> Response:
    return Response(b"Service Unavailable", 503, media_type="text/plain")


#: One ``$order`` term: a column (or ``:id``) and whether it is descending.
_Order = tuple[tuple[str, bool], ...]
# Orders the cached path serves. :id orders rows by carrier (dot_number as text), then by
# each carrier's own row order, so these all give the same rows, one way or the other.
_FORWARD: frozenset[_Order] = frozenset(
    {((":id", False),), (("dot_number", False),), (("dot_number", False), (":id", False))}
)
_BACKWARD: frozenset[_Order] = frozenset({((":id", True),), (("dot_number", True), (":id", True))})


def _parse_order(dataset: str, text: str | None, columns: tuple[str, ...]) -> _Order:
    """``$order``: comma-separated ``:id`` or columns, each optionally ``ASC``/``DESC``.

    The default is ``:id``.
    """
    if text is None or not text.strip():
        return ((":id", False),)
    order: list[tuple[str, bool]] = []
    for term in text.split(","):
        parts = term.split()
        direction = parts[1].upper() if len(parts) == 2 else "ASC"
        if not parts or len(parts) > 2 or direction not in ("ASC", "DESC"):
            raise _SoqlError(
                _soql_error(
                    "query.soql.malformed", f"Could not parse $order: {text!r}", dataset=dataset
                )
            )
        column = parts[0]
        if column != ":id" and column not in columns:
            raise _no_such_column(dataset, column)
        order.append((column, direction == "DESC"))
    return tuple(order)


def _parse_select(dataset: str, text: str | None, columns: tuple[str, ...]) -> list[str] | None:
    """``$select``: a comma-separated column list (or ``*``); None means every column."""
    if text is None or text.strip() in ("", "*"):
        return None
    selected = [name.strip() for name in text.split(",")]
    for name in selected:
        if name not in columns:
            raise _no_such_column(dataset, name)
    return selected


# SoQL's `dot_number in('1','2')`: `in` in any case, optional spaces, '' escapes a quote.
_QUOTED = r"'(?:[^']|'')*'"
_IN_LIST = re.compile(
    rf"\s*dot_number\s+in\s*\(\s*({_QUOTED}(?:\s*,\s*{_QUOTED})*)\s*\)\s*",
    re.IGNORECASE | re.DOTALL,
)
_VALUE = re.compile(r"'((?:[^']|'')*)'")
MAX_IN_VALUES = 1000  # values one `in(...)` may list
_MAX_WHERE = 32 * 1024  # characters of `$where` read at all (1,000 DOTs take about 11,000)


def _asked_dots(dataset: str, params: Any) -> list[str]:
    """The DOT numbers a DataHub query asks for, without repeats, in the order asked.

    ``dot_number=`` and ``$where=dot_number in(...)`` together mean both must hold.
    """
    plain = params.get("dot_number")
    where = params.get("$where")
    if where is None:
        return [] if plain is None else [plain]
    match = _IN_LIST.fullmatch(where) if len(where) <= _MAX_WHERE else None
    if match is None:
        raise _SoqlError(
            _soql_error(
                "query.soql.malformed",
                "Could not parse $where: only dot_number in('...', ...) is supported",
                dataset=dataset,
            )
        )
    listed = [value.replace("''", "'") for value in _VALUE.findall(match.group(1))]
    if len(listed) > MAX_IN_VALUES:
        raise _SoqlError(
            _soql_error(
                "query.soql.malformed",
                f"Too many values in in(...): {len(listed)} (at most {MAX_IN_VALUES})",
                dataset=dataset,
            )
        )
    unique = list(dict.fromkeys(listed))
    if plain is None:
        return unique
    return [plain] if plain in unique else []


def _counted_dots(dots: Iterable[str]) -> set[str]:
    """The DOTs a request is counted for: as DataHub writes them, each once; the texts
    that cannot be a DOT are not counted (so the counts stay bounded)."""
    keys = {data.dot_key(dot) for dot in dots}
    return {str(key) for key in keys if key is not None}


def _is_dot_text(dot: str) -> bool:
    """Whether the text is a DOT number as DataHub writes it (no sign, no leading zero)."""
    key = data.dot_key(dot)
    return key is not None and str(key) == dot


def _slice(parts: Sequence[Sequence[bytes]], offset: int, limit: int) -> list[bytes]:
    """``$offset``/``$limit`` across the concatenation of `parts`, without building it."""
    page: list[bytes] = []
    for part in parts:
        if len(page) >= limit:
            break
        if offset >= len(part):
            offset -= len(part)
            continue
        page.extend(part[offset : offset + limit - len(page)])
        offset = 0
    return page


def _json_page(encoded: list[bytes]) -> Response:
    return Response(b"[" + b",".join(encoded) + b"]", media_type=_JSON)


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """A fresh sandbox app: its own fault counters, the shared deterministic data."""
    sandbox = _Sandbox(config or SandboxConfig())
    app = Starlette(
        routes=[
            Route("/", sandbox.index),
            Route("/sandbox/plan/{dot}", sandbox.plan),
            Route("/sandbox/requests", sandbox.request_counts, methods=["GET", "DELETE"]),
            Route("/qc/services/carriers/{dot}", sandbox.carrier),
            Route("/qc/services/carriers/{dot}/basics", sandbox.basics),
            Route("/resource/{dataset}.json", sandbox.resource),
        ]
    )
    app.state.sandbox = sandbox
    return app
