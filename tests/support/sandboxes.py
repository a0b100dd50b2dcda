"""One way to serve the FMCSA stand-in to a test module, whatever its config.

`sandbox = served_sandbox(SandboxConfig(latency=6.0))` at a module's top level is a
pytest fixture named `sandbox` (pytest names it after the attribute): a real
`SandboxServer` on loopback, shared by the module's tests, or per test with
`scope="function"` when a test counts the requests it caused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

import pytest

from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer

__all__ = ["served_sandbox"]


def served_sandbox(
    config: SandboxConfig | None = None,
    *,
    scope: Literal["function", "module"] = "module",
) -> Callable[..., Iterator[SandboxServer]]:
    """A fixture serving a sandbox with `config` (the defaults when None)."""

    @pytest.fixture(scope=scope)
    def serve() -> Iterator[SandboxServer]:
        with SandboxServer(config or SandboxConfig()) as server:
            yield server

    return serve
