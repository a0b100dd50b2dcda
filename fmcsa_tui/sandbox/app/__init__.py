"""The sandbox's ASGI app: QCMobile and DataHub (Socrata) under one origin, faults per plan.

Paths are the real ones (``/qc/services/carriers/{dot}``, ``/resource/8mt8-2mdr.json``),
so pointing the engine's base URLs at the sandbox is the only change a client needs.
The request path is kept lean because benchmarks drive thousands of requests a second:
content is encoded once per DOT and cached, and only the QCMobile ``retrievalDate``
(the one value that is not data) is stamped per request.

``routes`` is where a request's steps are put in order; each step is its own module.
This package is their one entry point: import from ``fmcsa_tui.sandbox.app``.
"""

from fmcsa_tui.sandbox.app.config import SandboxConfig
from fmcsa_tui.sandbox.app.counting import DATAHUB, QCMOBILE, RequestCounts
from fmcsa_tui.sandbox.app.hub_answers import DATASETS
from fmcsa_tui.sandbox.app.limits import RateLimit
from fmcsa_tui.sandbox.app.routes import create_app

__all__ = [
    "DATAHUB",
    "DATASETS",
    "QCMOBILE",
    "RateLimit",
    "RequestCounts",
    "SandboxConfig",
    "create_app",
]
