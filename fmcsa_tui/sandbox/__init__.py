"""The offline FMCSA stand-in: QCMobile and DataHub shapes, deterministic data, planned faults.

See :mod:`fmcsa_tui.sandbox.plan` for which DOT number gets which fault.
"""

from fmcsa_tui.sandbox.app import SandboxConfig, create_app
from fmcsa_tui.sandbox.plan import Fault, FaultKind, fault_for
from fmcsa_tui.sandbox.server import SandboxServer, serve

__all__ = [
    "Fault",
    "FaultKind",
    "SandboxConfig",
    "SandboxServer",
    "create_app",
    "fault_for",
    "serve",
]
