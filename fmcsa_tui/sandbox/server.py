"""Serving the sandbox over real HTTP on loopback, in the background or the foreground.

Clients under test talk to the sandbox through a real socket, exactly as they talk to
FMCSA, so connection handling, timeouts and pooling are exercised too. The background
server runs uvicorn on its own event loop in a daemon thread, so it works the same from
sync code, from pytest fixtures and from inside another running event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from fmcsa_tui.sandbox.app import RequestCounts, SandboxConfig, create_app

__all__ = ["SandboxServer", "serve"]

_START_TIMEOUT = 10.0
# Seconds uvicorn waits for in-flight requests at shutdown before cancelling them (a
# timeout fault may be holding one for `hang_seconds`).
_GRACEFUL_SHUTDOWN = 1


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket, bound before uvicorn starts so the real port is known at once."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class SandboxServer:
    """The sandbox on a loopback port, in a background thread.

    ``port=0`` picks a free port; :attr:`url` is the real one once :meth:`start` returns.
    Use as ``with SandboxServer(config) as sandbox:`` or ``async with``.
    """

    def __init__(
        self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port
        self._url: str | None = None
        self._server: uvicorn.Server | None = None
        self._app: Starlette | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the origin serving both APIs."""
        if self._url is None:
            raise RuntimeError("the sandbox server is not started")
        return self._url

    def start(self) -> SandboxServer:
        """Bind, start serving, and return once requests are being answered."""
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already started")
        sock = _bind(self.host, self.port)
        self._app = create_app(self.config)
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            log_config=None,  # leave the host process's logging (a TUI, pytest) alone
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
        )
        server = uvicorn.Server(config)
        self._server, self._error = server, None
        self._thread = threading.Thread(
            target=self._run, args=(server, sock), name="fmcsa-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._thread.join(timeout=1)
                self._thread = self._server = None
                sock.close()
                raise RuntimeError("the sandbox server did not start") from self._error
            time.sleep(0.002)
        self._url = _url(sock)
        return self

    def _counts(self) -> RequestCounts:
        if self._app is None:
            raise RuntimeError("the sandbox server is not started")
        counts: RequestCounts = self._app.state.sandbox.requests
        return counts

    def requests(self) -> dict[str, Any]:
        """The request counts, as ``GET /sandbox/requests`` answers them (read them once the
        clients are done: a snapshot taken mid-run may be a request behind)."""
        return self._counts().snapshot()

    def reset_requests(self) -> None:
        """Zero the request counts, as ``DELETE /sandbox/requests`` does."""
        self._counts().reset()

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as error:  # reported by start(); a daemon thread must not raise
            self._error = error
        finally:
            sock.close()

    def stop(self) -> None:
        """Stop accepting, finish or cancel in-flight requests, and join the thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout=_GRACEFUL_SHUTDOWN + 5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        self._server = self._thread = None
        self._url = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> SandboxServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


def serve(config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve the sandbox in the foreground until Ctrl-C (``fmcsa-tui sandbox``)."""
    sock = _bind(host, port)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
        )
    )
    print(f"FMCSA sandbox serving on {_url(sock)} (Ctrl-C to stop)", flush=True)
    # uvicorn handles Ctrl-C gracefully, then re-raises the signal once it has stopped.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
