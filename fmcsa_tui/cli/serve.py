"""`fmcsa-tui serve`: the dashboard in a browser, through textual-serve.

textual-serve answers each browser connection by starting the served command in a
shell, with Textual's web driver, and relaying its screen and keys over a websocket.
The served command is this Python running `fmcsa-tui dashboard` (or `demo`) with the
global options given here, quoted with `shlex` (paths with spaces, URLs with `&`).

What we change of textual-serve's server, and why:

- the page loads nothing from the internet: its Google Fonts stylesheet is replaced
  by the Roboto Mono textual-serve ships (machines without internet hang on it);
- the page's addresses come from the request, so `--host 0.0.0.0` and `--port 0` work;
- bound to loopback, requests must name a loopback host, and a websocket must come
  from the page's own origin: another web site the operator visits cannot drive the
  dashboard (cross-site websocket, DNS rebinding);
- one line when it starts, Ctrl-C and SIGTERM close every session and stop it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import shlex
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from fmcsa_tui.cli.common import Abort, command_settings, run_command, say, store_for
from fmcsa_tui.formatting import one_line, safe_line
from fmcsa_tui.store import StoreError

DEFAULT_PORT = 8000  # textual-serve's default
SHUTDOWN_SECONDS = 5.0  # at Ctrl-C, how long sessions get to end before they are cut

_FONT_FACE = """<style>
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf");
      }
    </style>"""
_WEB_STYLESHEET = re.compile(r"<link[^>]*https?://[^>]*>", re.IGNORECASE)


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def served_command(subcommand: str, *, store_url: str | None, read_only: bool) -> str:
    """The shell command textual-serve runs for each browser connection."""
    words = [sys.executable, "-m", "fmcsa_tui"]
    if store_url is not None:
        words += ["--store", store_url]
    if read_only:
        words.append("--read-only")
    return shlex.join([*words, subcommand])


def _offline_page() -> str:
    """textual-serve's page with its web font stylesheets replaced by the bundled font."""
    import textual_serve

    page = Path(textual_serve.__file__).parent / "templates" / "app_index.html"
    return _WEB_STYLESHEET.sub(lambda _match: _FONT_FACE, page.read_text(encoding="utf-8"))


class _OneLine(logging.Formatter):
    """textual-serve's log records as one safe line each, never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text = f"{text}: {one_line(record.exc_info[1])}"
        return safe_line(f"fmcsa-tui serve: {text}")


def _log_in_one_line() -> None:
    """textual-serve's and aiohttp's warnings and errors on stderr, one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    for name in ("textual-serve", "aiohttp"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def _server(command: str, title: str, *, loopback: bool) -> Any:
    """A textual-serve `Server` for `command`, changed as the module docstring says."""
    import aiohttp_jinja2
    import jinja2
    from aiohttp import WSCloseCode, web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, to_int

    class DashboardServer(Server):
        def __init__(self) -> None:
            super().__init__(command, title=title)
            self.sockets: set[web.WebSocketResponse] = set()

        async def _make_app(self) -> web.Application:
            app: web.Application = await super()._make_app()
            aiohttp_jinja2.setup(app, loader=jinja2.DictLoader({"app_index.html": _offline_page()}))
            if loopback:
                app.middlewares.append(web.middleware(_loopback_names_only))
            return app

        async def on_startup(self, app: web.Application) -> None:
            """Quiet: `serve` says its one line when the port is bound."""

        async def on_shutdown(self, app: web.Application) -> None:
            """Close every session, which ends its process (textual-serve sends quit)."""
            for socket in list(self.sockets):
                await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopped")

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict[str, Any]:
            origin = f"{request.scheme}://{request.host}"
            socket_scheme = "wss" if request.scheme == "https" else "ws"
            return {
                "font_size": 16,
                "app_websocket_url": f"{socket_scheme}://{request.host}/ws",
                "config": {"static": {"url": f"{origin}/static/"}},
                "application": {"name": self.title},
            }

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            """textual-serve's session, refused to other origins and closed at shutdown."""
            given = request.headers.get("Origin")
            if given is not None and urlsplit(given).netloc.lower() != request.host.lower():
                raise web.HTTPForbidden(text="a session may only be opened from its own page")
            socket = web.WebSocketResponse(heartbeat=15)
            await socket.prepare(request)
            self.sockets.add(socket)

            async def close() -> None:
                await socket.close()

            session = AppService(
                self.command,
                write_bytes=socket.send_bytes,
                write_str=socket.send_str,
                close=close,
                download_manager=self.download_manager,
            )
            try:
                await session.start(
                    to_int(request.query.get("width", "80"), 80),
                    to_int(request.query.get("height", "24"), 24),
                )
                await self._process_messages(socket, session)
            finally:
                self.sockets.discard(socket)
                await session.stop()
            return socket

    server = DashboardServer()
    return server


async def _loopback_names_only(request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
    """Served on loopback, a request naming another host came through DNS rebinding."""
    from aiohttp import web

    if not is_loopback(urlsplit(f"//{request.host}").hostname or ""):
        raise web.HTTPForbidden(text="served on loopback: open it as localhost or 127.0.0.1")
    return await handler(request)


def _url(address: tuple[Any, ...]) -> str:
    host, port = address[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _exposure_warning(host: str, *, read_only: bool) -> str:
    scope = "read-only" if read_only else "write keys included; --read-only to browse only"
    return (
        f"fmcsa-tui: warning: serving on {host} gives anyone who reaches the port "
        f"the dashboard ({scope})"
    )


async def _run(server: Any, host: str, port: int, warning: str | None) -> None:
    """Bind (one line if that fails), say so, serve until cancelled (Ctrl-C, SIGTERM)."""
    from aiohttp import web

    runner = web.AppRunner(
        await server._make_app(), handle_signals=False, shutdown_timeout=SHUTDOWN_SECONDS
    )
    await runner.setup()
    try:
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except OSError as error:
            reason = os.strerror(error.errno) if error.errno else str(error)
            raise Abort(f"cannot serve on {host}:{port}: {reason}") from None
        if warning is not None:
            say(warning, err=True)
        urls = ", ".join(_url(address) for address in runner.addresses)
        say(f"fmcsa-tui: serving the dashboard at {urls} (Ctrl-C stops)")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback shows the dashboard to "
              "anyone who reaches the port")  # fmt: skip
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port (0: a free one, printed)")  # fmt: skip
@click.option("--demo", "serve_demo", is_flag=True,
              help="Serve the demo (a demo store, seeded on first use, and the sandbox as "
              "FMCSA) instead of the configured store")  # fmt: skip
@click.option("--store", "store_url", metavar="URL",
              help="sqlite:///PATH or mongodb://HOST/DB (default: as for `dashboard`)")  # fmt: skip
def serve(host: str, port: int, serve_demo: bool, store_url: str | None) -> None:
    """Serve the dashboard to a browser (each connection gets its own dashboard).

    Global options (--store, --read-only) and the config file apply to the served
    dashboard as they apply to `dashboard`.
    """
    root = click.get_current_context().find_root().params
    store_url = store_url or root.get("store_url")
    if serve_demo:
        from fmcsa_tui.cli.dashboard import demo_settings

        settings = demo_settings(store_url)
    else:
        settings = command_settings(store=store_url)
        try:
            store_for(settings)
        except StoreError as error:
            raise Abort(str(error)) from None
    command = served_command(
        "demo" if serve_demo else "dashboard", store_url=store_url, read_only=settings.read_only
    )
    loopback = is_loopback(host)
    _log_in_one_line()
    title = "fmcsa-tui demo" if serve_demo else "fmcsa-tui"
    warning = None if loopback else _exposure_warning(host, read_only=settings.read_only)
    run_command(_run(_server(command, title, loopback=loopback), host, port, warning))
