"""The sandbox's routes: every API request is rate-limited, counted, put through the
fault plan, then answered; the rest are the sandbox's own pages (index, plan, counts).

Each step lives in its own module (``limits``, ``counting``, ``faults``, ``qc_answers``,
``hub_answers``), so this file reads as the order they happen in.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fmcsa_tui.sandbox.app.config import SandboxConfig
from fmcsa_tui.sandbox.app.counting import DATAHUB, QCMOBILE, RequestCounts, counted_dots
from fmcsa_tui.sandbox.app.encoding import JSON, dumps
from fmcsa_tui.sandbox.app.faults import FaultGate
from fmcsa_tui.sandbox.app.hub_answers import DATASETS, dataset_not_found, rows_page
from fmcsa_tui.sandbox.app.limits import RateLimit
from fmcsa_tui.sandbox.app.qc_answers import basics_json, carrier_json, qc_answer, refuse_webkey
from fmcsa_tui.sandbox.app.soql import SoqlError, asked_dots
from fmcsa_tui.sandbox.plan import MANY_PAGES_VIOLATIONS, Endpoint, fault_for

__all__ = ["create_app"]


class _Sandbox:
    """One sandbox: its config, its fault counters and its request counts.

    A new instance starts every fault's cycle and outage from the beginning.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.faults = FaultGate(config)
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

    # --- QCMobile -------------------------------------------------------------------

    async def carrier(self, request: Request) -> Response:
        return await self._qc_answer(request, Endpoint.CARRIER, carrier_json)

    async def basics(self, request: Request) -> Response:
        return await self._qc_answer(request, Endpoint.BASICS, basics_json)

    async def _qc_answer(
        self, request: Request, endpoint: Endpoint, answer: Callable[[str], bytes]
    ) -> Response:
        """A QCMobile request's steps in order: rate limit, count, fault plan, webKey,
        then the carrier's `answer`."""
        if throttled := self._throttle(QCMOBILE):
            return throttled
        dot = request.path_params["dot"]
        self.requests.served(QCMOBILE, counted_dots((dot,)))
        refusal = await self.faults.gate(request, (dot,), endpoint)
        return refusal or refuse_webkey(request, self.config.webkey) or qc_answer(answer(dot))

    # --- DataHub (Socrata) ----------------------------------------------------------

    async def resource(self, request: Request) -> Response:
        if throttled := self._throttle(DATAHUB):
            return throttled
        dataset = request.path_params["dataset"]
        endpoint = DATASETS.get(dataset)
        if endpoint is None:
            self.requests.served(DATAHUB, ())
            return dataset_not_found(dataset)
        params = request.query_params
        try:
            dots = asked_dots(dataset, params)
        except SoqlError as error:
            self.requests.served(DATAHUB, ())
            await self.faults.gate(request, (), endpoint)  # latency only: no DOT is known
            return error.response
        self.requests.served(DATAHUB, counted_dots(dots))
        refusal = await self.faults.gate(request, dots, endpoint)
        if refusal is not None:
            return refusal
        try:
            return rows_page(dataset, dots, params)
        except SoqlError as error:
            return error.response

    # --- the sandbox's own pages ----------------------------------------------------

    async def plan(self, request: Request) -> Response:
        dot = request.path_params["dot"]
        fault = fault_for(dot)
        body = {
            "dot": dot,
            "fault": fault.kind.value,
            "source": None if fault.source is None else fault.source.value,
        }
        return Response(dumps(body), media_type=JSON)

    async def request_counts(self, request: Request) -> Response:
        """``GET``: the request counts (see :class:`RequestCounts`); ``DELETE``: zero them.

        The fault counters are not reset: they are the plan's state, not a count.
        """
        if request.method == "DELETE":
            self.requests.reset()
            return Response(status_code=204)
        return Response(dumps(self.requests.snapshot()), media_type=JSON)

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
        return Response(dumps(body), media_type=JSON)


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
