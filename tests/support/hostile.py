"""A hostile FMCSA: a raw asyncio HTTP server on loopback that lies on request.

It answers on QCMobile's and DataHub's real paths (``/qc/services/carriers/{dot}``,
``…/basics``, ``/resource/8mt8-2mdr.json``, ``/resource/rbkj-cgst.json``), healthily
by default (the sandbox's data), and with the fault a test sets in `mode`:

    with HostileServer() as fmcsa:
        fmcsa.set("gzip-bomb")                      # every endpoint
        fmcsa.set("non-finite", only={BASICS})      # one endpoint, the rest healthy
        fmcsa.set("healthy", delay=0.5)             # any mode, each answer held first

DataHub queries are understood in both forms the engine sends: one carrier
(``dot_number=…``) and a batch (``$where=dot_number in('…','…')``, rows ordered by
``dot_number`` then ``:id``), so a fault reaches every carrier of a batch.

It is raw asyncio, not an HTTP framework, so it can break HTTP itself: a wrong
Content-Length, a gzip bomb, an endless chunked body, a body that trickles, plain HTTP
to a TLS handshake. Every request is recorded (`requests`) with its path, query and
headers, so a test can assert what was (never) sent where.

It runs in its own thread with its own event loop (a context manager), so the code
under test and a child process alike talk to it over real sockets; `hostile_process`
runs it in a process of its own instead, where what it does never counts in the
memory or the time of the process under test.

    python -m tests.support.hostile --mode slow-body --port 8766   # by hand
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import re
import signal
import ssl
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

from fmcsa_tui.sandbox import data

__all__ = ["MODES", "Endpoint", "HostileServer", "Received", "bomb", "hostile_process"]

MIB = 1 << 20


class Endpoint(StrEnum):
    BASICS = "basics"
    CARRIER = "carrier"
    VIOLATIONS = "8mt8-2mdr"
    INSPECTIONS = "rbkj-cgst"
    OTHER = "other"


QC_ENDPOINTS = frozenset({Endpoint.BASICS, Endpoint.CARRIER})
HUB_ENDPOINTS = frozenset({Endpoint.VIOLATIONS, Endpoint.INSPECTIONS})

_QC_PATH = re.compile(r"^/qc/services/carriers/(?P<dot>[^/]+)(?P<basics>/basics)?/?$")
_HUB_PATH = re.compile(r"^/resource/(?P<dataset>8mt8-2mdr|rbkj-cgst)\.json$")
_IN_LIST = re.compile(r"^\s*dot_number\s+in\s*\((?P<values>.*)\)\s*$", re.IGNORECASE)
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


@dataclass(frozen=True, slots=True)
class Received:
    """One request as it arrived."""

    server: str  # host:port it arrived at
    method: str
    target: str  # the request target as sent: path?query
    path: str
    raw_query: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    arrived: float = field(default_factory=time.monotonic)  # when it was read, monotonic

    @property
    def endpoint(self) -> Endpoint:
        return endpoint_of(self.path)[0]

    @property
    def dot(self) -> str:
        return endpoint_of(self.path)[1] or self.param("dot_number")

    @property
    def dots(self) -> list[str]:
        """The DOT numbers a DataHub query asks for: its `dot_number`, or its `in(...)` list."""
        if match := _IN_LIST.match(self.param("$where")):
            return [value.replace("''", "'") for value in _QUOTED.findall(match["values"])]
        return [self.dot] if self.dot else []

    def param(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]


def endpoint_of(path: str) -> tuple[Endpoint, str]:
    if match := _QC_PATH.match(path):
        return (Endpoint.BASICS if match["basics"] else Endpoint.CARRIER), match["dot"]
    if match := _HUB_PATH.match(path):
        return Endpoint(match["dataset"]), ""
    return Endpoint.OTHER, ""


# --- writing answers -------------------------------------------------------------------


class Reply:
    """The connection's writer, with the few ways of answering the modes need."""

    def __init__(self, writer: asyncio.StreamWriter, closing: asyncio.Event) -> None:
        self.writer = writer
        self.closing = closing  # set when the server stops: endless answers end then

    async def head(self, status: int, headers: Iterable[tuple[str, str]] = ()) -> None:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Whatever')}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await self.writer.drain()

    async def send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        extra = [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]
        await self.head(status, extra)
        await self.write(body)

    async def json(self, value: Any, status: int = 200, **headers: str) -> None:
        await self.send(status, _dumps(value), headers=headers.items())

    async def write(self, chunk: bytes) -> None:
        self.writer.write(chunk)
        await self.writer.drain()

    async def chunk(self, piece: bytes) -> None:
        """One chunk of a chunked body."""
        await self.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")

    async def hold(self, seconds: float | None = None) -> None:
        """Keep the connection open, saying nothing, until the server stops (or `seconds`)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closing.wait(), seconds)


_REASONS = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    404: "Not Found",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# --- healthy answers (the sandbox's data) ----------------------------------------------


def _qc_healthy(request: Received) -> Any:
    if request.endpoint is Endpoint.BASICS:
        return {"content": data.basics(request.dot), "retrievalDate": "2026-11-28T16:00:00+0000"}
    return {"content": data.carrier_content(request.dot), "retrievalDate": "2026-11-28"}


def _page(request: Received) -> tuple[int, int]:
    return int(request.param("$limit", "1000")), int(request.param("$offset", "0"))


def _hub_healthy(request: Received) -> list[dict[str, str]]:
    """The page asked for, of every asked carrier's rows in ``dot_number,:id`` order."""
    source = (
        data.violation_rows if request.endpoint is Endpoint.VIOLATIONS else data.inspection_rows
    )
    rows = [row for dot in sorted(set(request.dots)) for row in source(dot)]
    limit, offset = _page(request)
    return rows[offset : offset + limit]


async def healthy(server: HostileServer, request: Received, reply: Reply) -> None:
    if request.endpoint in QC_ENDPOINTS:
        await reply.json(_qc_healthy(request))
    elif request.endpoint in HUB_ENDPOINTS:
        await reply.json(_hub_healthy(request))
    else:
        await reply.json({"error": "no such path"}, 404)


# --- the faults ------------------------------------------------------------------------


@lru_cache(maxsize=4)
def bomb(coding: str = "gzip", expanded: int = 1 << 30) -> bytes:
    """`expanded` bytes of JSON whitespace compressed to about 1/1000: one valid stream.

    Built from one full-flushed block repeated (identical once the history is reset),
    so a 1 GiB bomb takes a fraction of a second to make, not seconds.
    """
    chunk = b" " * MIB
    count = expanded // MIB
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    stream = block * count + deflate.flush(zlib.Z_FINISH)
    check = 0 if coding == "gzip" else 1
    for _ in range(count):
        check = zlib.crc32(chunk, check) if coding == "gzip" else zlib.adler32(chunk, check)
    if coding == "gzip":
        header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
        return header + stream + struct.pack("<II", check, expanded & 0xFFFFFFFF)
    return b"\x78\xda" + stream + struct.pack(">I", check)


async def compressed_bomb(server: HostileServer, request: Received, reply: Reply) -> None:
    coding = str(server.options.get("coding", "gzip"))
    body = bomb(coding, int(server.options.get("expanded", 1 << 30)))
    await reply.send(200, body, headers=[("Content-Encoding", coding)])


async def huge_body(server: HostileServer, request: Received, reply: Reply) -> None:
    """An honest Content-Length of 50 MB, and the 50 MB behind it."""
    size = int(server.options.get("size", 50 * MIB))
    await reply.head(200, [("Content-Type", "application/json"), ("Content-Length", str(size))])
    piece = b" " * (64 * 1024)
    for _ in range(size // len(piece)):
        await reply.write(piece)


async def endless_body(server: HostileServer, request: Received, reply: Reply) -> None:
    """Chunked, no Content-Length, never ending: only counting stops it."""
    await reply.head(200, [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])
    await reply.chunk(b"[")
    piece = b'"endless",' * 6000
    while not reply.closing.is_set():
        await reply.chunk(piece)


async def lying_length(server: HostileServer, request: Received, reply: Reply) -> None:
    """Claims 100,000 bytes, sends a few, hangs up."""
    head = [("Content-Type", "application/json"), ("Content-Length", "100000")]
    await reply.head(200, head)
    await reply.write(b'{"content": [')


async def endless_pages(server: HostileServer, request: Received, reply: Reply) -> None:
    """Every DataHub page full (as many rows as `$limit` asks), with fresh ids, forever,
    shared among the carriers asked for."""
    if request.endpoint not in HUB_ENDPOINTS:
        return await healthy(server, request, reply)
    limit, offset = _page(request)
    template = (
        data.violation_rows("1000099")[0]
        if request.endpoint is Endpoint.VIOLATIONS
        else data.inspection_rows("1000099")[0]
    )
    dots = request.dots or ["1000099"]
    rows = [
        {**template, "unique_id": str(10**9 + offset + n), "dot_number": dots[n % len(dots)]}
        for n in range(limit)
    ]
    await reply.json(rows)


async def throttled(server: HostileServer, request: Received, reply: Reply) -> None:
    seconds = str(server.options.get("retry_after", 999999))
    await reply.json({"message": "slow down"}, 429, **{"Retry-After": seconds})


async def redirect_off_host(server: HostileServer, request: Received, reply: Reply) -> None:
    """A redirect to `redirect_to` (another host), carrying our query string along."""
    location = f"{server.options['redirect_to']}{request.target}"
    await reply.send(302, b"", headers=[("Location", location)])


async def redirect_same_host(server: HostileServer, request: Received, reply: Reply) -> None:
    """One relative redirect on the same host, then the healthy answer."""
    if request.param("hop"):
        return await healthy(server, request, reply)
    separator = "&" if request.raw_query else "?"
    await reply.send(302, b"", headers=[("Location", f"{request.target}{separator}hop=1")])


async def redirect_loop(server: HostileServer, request: Received, reply: Reply) -> None:
    hop = int(request.param("hop", "0")) + 1
    path = request.path
    await reply.send(302, b"", headers=[("Location", f"{path}?{request.raw_query}&hop={hop}")])


async def slow_body(server: HostileServer, request: Received, reply: Reply) -> None:
    """Headers at once, then a byte every `interval` seconds, forever."""
    interval = float(server.options.get("interval", 0.2))
    await reply.head(200, [("Content-Type", "application/json"), ("Content-Length", "1000000")])
    while not reply.closing.is_set():
        await reply.write(b" ")
        await reply.hold(interval)


async def maintenance(server: HostileServer, request: Received, reply: Reply) -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>FMCSA System Maintenance Page</title></head>"
        b"<body>Back soon</body></html>"
    )
    await reply.send(200, page, "text/html; charset=utf-8")


async def bad_utf8(server: HostileServer, request: Received, reply: Reply) -> None:
    await reply.send(200, b'{"content": "caf\xe9 \xff\xfe"}')


async def not_json(server: HostileServer, request: Received, reply: Reply) -> None:
    await reply.send(200, b"content: yes, please {")


async def wrong_shape(server: HostileServer, request: Received, reply: Reply) -> None:
    await reply.json({"content": 42} if request.endpoint in QC_ENDPOINTS else {"rows": []})


#: JSON tokens Python's json writes but no JSON parser should trust.
_NON_FINITE_BASIC = (
    b'{"basicsPercentile": NaN, "measureValue": Infinity, "basicsType": '
    b'{"basicsShortDesc": "Unsafe Driving", "basicsId": 11}}'
)


def _non_finite_basics(dot: str) -> bytes:
    entries = [
        b'{"basic": ' + _NON_FINITE_BASIC + b"}",
        b'{"basic": {"basicsPercentile": Infinity, "measureValue": 1e999, "basicsType": '
        b'{"basicsShortDesc": "Hours-of-Service Compliance", "basicsId": 12}}}',
        b'{"basic": {"basicsPercentile": "NaN", "measureValue": "-Infinity", "basicsType": '
        b'{"basicsShortDesc": "Driver Fitness", "basicsId": 13}}}',
        b'{"basic": {"basicsPercentile": "42%", "measureValue": "1.5", "basicsType": '
        b'{"basicsShortDesc": "Vehicle Maintenance", "basicsId": 15}}}',
    ]
    return b'{"content": [' + b",".join(entries) + b"]}"


def _non_finite_carrier(dot: str) -> bytes:
    content = data.carrier_content(dot) or {"carrier": {"legalName": "NAN CARRIER"}}
    text = _dumps(content)
    for key, token in (
        ("driverInsp", b"Infinity"),
        ("vehicleInsp", b"1e999"),
        ("driverOosRate", b"NaN"),
        ("crashTotal", b'"Infinity"'),
        ("fatalCrash", b"-Infinity"),
    ):
        text = re.sub(rf'"{key}":[^,}}]*'.encode(), f'"{key}":'.encode() + token, text)
    return b'{"content":' + text + b"}"


async def non_finite(server: HostileServer, request: Received, reply: Reply) -> None:
    if request.endpoint is Endpoint.BASICS:
        return await reply.send(200, _non_finite_basics(request.dot))
    if request.endpoint is Endpoint.CARRIER:
        return await reply.send(200, _non_finite_carrier(request.dot))
    rows = _hub_healthy(request)
    body = (
        _dumps(rows)
        .replace(b'"severity_weight":"', b'"severity_weight":"NaN')
        .replace(b'"insp_level_id":"', b'"insp_level_id":"Infinity')
    )
    await reply.send(200, body)


async def malformed_elements(server: HostileServer, request: Received, reply: Reply) -> None:
    """One BASIC entry a string, one with a string for its type; DataHub rows that aren't."""
    if request.endpoint is Endpoint.BASICS:
        content: list[Any] = data.basics(request.dot)
        content[0] = "Unsafe Driving"
        content.append({"basic": {"basicsType": "HOS", "basicsPercentile": "10%"}})
        return await reply.json({"content": content})
    if request.endpoint in HUB_ENDPOINTS:
        limit, offset = _page(request)
        rows: list[Any] = _hub_healthy(request)
        if offset == 0:
            rows = ["junk", *rows[: max(0, limit - 2)], 42] if limit > 2 else rows
        return await reply.json(rows)
    await healthy(server, request, reply)


_ESCAPES = "\x1b[2J\x1b]0;owned\x07\x1b[31m"


async def escape_error(server: HostileServer, request: Received, reply: Reply) -> None:
    """Error texts with terminal escape sequences, multi-line, in both APIs' shapes."""
    if request.endpoint in QC_ENDPOINTS:
        text = f"{_ESCAPES}Webkey not found\nsecond line\x1b[0m"
        return await reply.json({"content": text}, 404)
    await reply.json(
        {"errorCode": "query.soql.type-mismatch", "message": f"{_ESCAPES}bad\u202equery\r\n"},
        400,
    )


def _spellings(secret: str) -> str:
    """A secret as servers echo it: URL-encoded both ways, HTML- and JSON-escaped."""
    lower = re.sub(r"%[0-9A-F]{2}", lambda match: match.group().lower(), quote(secret, safe=""))
    return " | ".join(
        [
            quote(secret, safe=""),
            lower,
            quote_plus(secret),
            html.escape(secret),
            json.dumps(secret)[1:-1].replace("/", "\\/"),
        ]
    )


async def echo_secret(server: HostileServer, request: Received, reply: Reply) -> None:
    """Errors that echo the query string as received and the credentials re-encoded."""
    if request.endpoint in QC_ENDPOINTS:
        webkey = request.param("webKey")
        text = f"Webkey not found: {request.raw_query} ({_spellings(webkey)})"
        return await reply.json({"content": text}, 404)
    token = request.headers.get("x-app-token", "")
    message = f"bad query {request.raw_query} for token {_spellings(token)}"
    await reply.json({"errorCode": "query.soql.no-such-column", "message": message}, 400)


async def stacked_encoding(server: HostileServer, request: Received, reply: Reply) -> None:
    once = zlib.compress(b'{"content": []}', wbits=31)
    twice = zlib.compress(once, wbits=31)
    await reply.send(200, twice, headers=[("Content-Encoding", "gzip, gzip")])


async def unknown_encoding(server: HostileServer, request: Received, reply: Reply) -> None:
    await reply.send(200, b"\x8b\x05\x80{}\x03", headers=[("Content-Encoding", "br")])


SAMPLES = Path(__file__).resolve().parents[1] / "samples"
_SAMPLE_FILES = {
    Endpoint.BASICS: "qcmobile/1000986_basics.json",
    Endpoint.CARRIER: "qcmobile-2021/carrier.json",
    Endpoint.VIOLATIONS: "socrata/8mt8-2mdr_1.json",
}


async def real_samples(server: HostileServer, request: Received, reply: Reply) -> None:
    """FMCSA's real answers from tests/samples, gzipped as FMCSA sends them (`gzip=True`)."""
    name = _SAMPLE_FILES.get(request.endpoint)
    body = (SAMPLES / name).read_bytes() if name else b"[]"
    if request.endpoint in HUB_ENDPOINTS and _page(request)[1] > 0:
        body = b"[]"
    headers = []
    if server.options.get("gzip"):
        body = zlib.compress(body, wbits=31)
        headers.append(("Content-Encoding", "gzip"))
    await reply.send(200, body, headers=headers)


async def unavailable(server: HostileServer, request: Received, reply: Reply) -> None:
    await reply.send(503, b"Service Unavailable", "text/plain")


Behaviour = Callable[["HostileServer", Received, Reply], Awaitable[None]]

MODES: dict[str, Behaviour] = {
    "healthy": healthy,
    "gzip-bomb": compressed_bomb,
    "huge-body": huge_body,
    "endless-body": endless_body,
    "lying-length": lying_length,
    "endless-pages": endless_pages,
    "retry-after": throttled,
    "redirect-off-host": redirect_off_host,
    "redirect-same-host": redirect_same_host,
    "redirect-loop": redirect_loop,
    "slow-body": slow_body,
    "maintenance": maintenance,
    "bad-utf8": bad_utf8,
    "not-json": not_json,
    "wrong-shape": wrong_shape,
    "non-finite": non_finite,
    "malformed-elements": malformed_elements,
    "escape-error": escape_error,
    "echo-secret": echo_secret,
    "stacked-encoding": stacked_encoding,
    "unknown-encoding": unknown_encoding,
    "503": unavailable,
    "samples": real_samples,
}

_TLS_HANDSHAKE = 0x16  # the first byte of a TLS ClientHello record


# --- the server ------------------------------------------------------------------------


@dataclass
class HostileServer:
    """The server, its mode, and every request it received."""

    host: str = "127.0.0.1"
    port: int = 0
    mode: str = "healthy"
    only: frozenset[Endpoint] | None = None  # endpoints the mode applies to; None: all
    options: dict[str, Any] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    tls: ssl.SSLContext | None = None  # serve HTTPS with this context (e.g. an untrusted cert)

    def __post_init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closing: asyncio.Event | None = None
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def qc_base_url(self) -> str:
        return f"{self.url}/qc/services"

    def set(
        self, mode: str, *, only: Iterable[Endpoint] | None = None, **options: Any
    ) -> HostileServer:
        """Choose the behaviour for the next requests (and forget the ones received)."""
        if mode not in MODES:
            raise ValueError(f"no hostile mode {mode!r}: one of {', '.join(MODES)}")
        self.mode = mode
        self.only = frozenset(only) if only is not None else None
        self.options = dict(options)
        self.requests.clear()
        return self

    def received(self, endpoint: Endpoint | None = None) -> list[Received]:
        return [r for r in list(self.requests) if endpoint is None or r.endpoint is endpoint]

    # --- lifecycle ---

    def start(self) -> HostileServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            loop.set_exception_handler(lambda _loop, _context: None)  # failed TLS handshakes
            self._loop = loop
            try:
                loop.run_until_complete(self._open())
            except BaseException as error:  # the caller re-raises it
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._thread = threading.Thread(target=run, name=f"hostile-{self.host}", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    async def _open(self) -> None:
        self._closing = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        assert self._closing is not None and self._server is not None
        self._closing.set()
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._thread = None

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- one connection ---

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None and self._closing is not None
        self._handlers.add(task)
        try:
            await self._answer(reader, Reply(writer, self._closing))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away or sent nonsense: nothing to answer
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, reply: Reply) -> None:
        first = await reader.readexactly(1)
        if first[0] == _TLS_HANDSHAKE:  # plain HTTP to a TLS client: its handshake fails
            await reply.send(400, b"this is not TLS", "text/plain")
            return
        head = first + await reader.readuntil(b"\r\n\r\n")
        request = self._parse(head)
        self.requests.append(request)
        applies = self.only is None or request.endpoint in self.only
        if delay := self.options.get("delay"):  # any mode, held first: a slow FMCSA
            await reply.hold(float(delay))
        await MODES[self.mode if applies else "healthy"](self, request, reply)

    def _parse(self, head: bytes) -> Received:
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        parts = urlsplit(target)
        headers = {}
        for line in header_lines:
            name, separator, value = line.partition(":")
            if separator:
                headers[name.strip().lower()] = value.strip()
        return Received(
            server=f"{self.host}:{self.port}",
            method=method,
            target=target,
            path=parts.path,
            raw_query=parts.query,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
        )


_URL_LINE = re.compile(r" on (?P<url>https?://\S+?);")


@contextlib.contextmanager
def hostile_process(mode: str) -> Iterator[str]:
    """The server in a process of its own, in `mode`; yields its URL."""
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "tests.support.hostile", "--mode", mode, "--port", "0"]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        match = _URL_LINE.search(process.stdout.readline())
        if match is None:
            raise RuntimeError(f"the hostile server did not start (exit {process.poll()})")
        yield match["url"]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="healthy", choices=sorted(MODES))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    with HostileServer(args.host, args.port).set(args.mode) as server:
        print(f"hostile FMCSA ({args.mode}) on {server.url}; ctrl-c stops it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
