"""What comes back from FMCSA, trusted only once bounded and understood.

`read_body` reads an answer as a stream and refuses it as soon as it passes the size
cap, raw or decompressed (gzip and deflate are decoded here, never more than the cap
at once); `decode` turns an answer into its JSON or the `SourceError` it means (the
maintenance page, 429 with its Retry-After, 5xx, a rejected webKey, a SoQL error,
something not JSON or not UTF-8). Every error text is built here from what happened,
quoting a server's own words only through `quoted` (one safe line, cut).
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from fmcsa_tui.formatting import safe_line
from fmcsa_tui.models import utcnow

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MAINTENANCE_TITLE",
    "Answer",
    "Fetched",
    "SourceError",
    "decode",
    "parse_json",
    "quoted",
    "read_body",
    "retry_after_seconds",
    "size_text",
]

MAINTENANCE_TITLE = "FMCSA System Maintenance Page"
#: Longest piece of a server's own text quoted in an error, cut before scrubbing only to
#: bound the work: far enough past the 300-character line that the cut never shows.
QUOTE_LIMIT = 1000


class SourceError(Exception):
    """A source could not be fetched. The message is one line, safe to show and to store."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.attempts = 1
        self.final = False  # its text already says why the retries stopped

    def reworded(self, message: str) -> SourceError:
        """The same failure with another text (scrubbed, or with what happened next)."""
        self.message = message
        self.args = (message,)
        return self

    def finally_as(self, message: str) -> SourceError:
        """The failure as it ends the retries, its text saying why no retry follows."""
        self.final = True
        return self.reworded(message)


@dataclass(frozen=True, slots=True)
class Fetched:
    payload: Any
    attempts: int


@dataclass(frozen=True, slots=True)
class Answer:
    """A response as read: status, headers and the decoded body (never over the cap)."""

    status: int
    headers: Mapping[str, str]
    body: bytes | bytearray = b""


def quoted(text: object) -> str:
    """A piece of a server's own text, fit to quote inside one of our error lines."""
    return safe_line(str(text).strip()[:QUOTE_LIMIT])


def size_text(count: int) -> str:
    """Bytes as people read them: ``8 MiB``, ``1.5 MiB``, ``64 KiB``, ``300 bytes``."""
    for unit, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if count >= unit:
            value = count / unit
            return f"{value:.0f} {name}" if value.is_integer() else f"{value:.1f} {name}"
    return f"{count} bytes"


# --- reading a body, bounded ---------------------------------------------------------


def _too_large(api: str, what: str, limit: int, detail: str = "") -> SourceError:
    return SourceError(
        f"{api} answered{detail} more than {size_text(limit)} ({what}; "
        "setting `max_response_bytes`)",
        permanent=True,
    )


_INFLATE_STEP = 256 * 1024  # most bytes one `decompress` call may produce


class _Inflater:
    """gzip or deflate decoded as it arrives, never producing more than the cap allows.

    Every `decompress` call is told how much it may produce (``max_length``): at most
    the room left plus one byte, so a bomb that expands a megabyte into a gigabyte stops
    at the cap plus one byte, and at most a step, so no piece doubles the body's memory.
    """

    def __init__(self, coding: str) -> None:
        self.coding = coding
        gzip = coding in {"gzip", "x-gzip"}
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
        self._fresh = not gzip  # deflate may come without its zlib header: retry raw once

    def feed(self, data: bytes, out: bytearray, limit: int) -> None:
        while data:
            if self._inflate.eof:
                raise zlib.error("data after the end of the compressed stream")
            try:
                room = min(limit - len(out) + 1, _INFLATE_STEP)
                piece = self._inflate.decompress(data, room)
            except zlib.error:
                if not self._fresh:
                    raise
                self._inflate, self._fresh = zlib.decompressobj(-zlib.MAX_WBITS), False
                continue
            self._fresh = False
            out += piece
            if len(out) > limit:
                return
            data = self._inflate.unconsumed_tail or self._inflate.unused_data

    def finish(self) -> None:
        if not self._inflate.eof:
            raise zlib.error("the compressed stream ends early")


def _inflater(header: str, api: str, what: str) -> _Inflater | None:
    """The decoder the Content-Encoding asks for; one we did not offer fails the source."""
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) > 1:
        raise SourceError(
            f"{api} answered with stacked content-encodings {quoted(header)!r} ({what})",
            permanent=True,
        )
    if codings[0] not in {"gzip", "x-gzip", "deflate"}:
        raise SourceError(
            f"{api} answered with content-encoding {quoted(header)!r}, which we did not "
            f"offer ({what})",
            permanent=True,
        )
    return _Inflater(codings[0])


def _declared_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def read_body(response: httpx.Response, limit: int, api: str, what: str) -> bytearray:
    """The decoded body, refused as soon as it passes `limit`, raw or decompressed."""
    declared = _declared_length(response.headers)
    if declared is not None and declared > limit:
        raise _too_large(api, what, limit, f" {size_text(declared)},")
    inflater = _inflater(response.headers.get("content-encoding", ""), api, what)
    body = bytearray()
    received = 0
    try:
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > limit:
                raise _too_large(api, what, limit)
            if inflater is None:
                body += chunk
            else:
                inflater.feed(chunk, body, limit)
                if len(body) > limit:
                    raise _too_large(api, what, limit, f" {inflater.coding} that expands to")
        if inflater is not None:
            inflater.finish()
    except zlib.error:
        coding = inflater.coding if inflater else "compressed"
        raise SourceError(f"{api} sent a broken {coding} body ({what})", permanent=False) from None
    return body  # not copied: at the cap a copy would double the memory of an answer


# --- what an answer means ------------------------------------------------------------


def _finite_float(text: str) -> float | None:
    """JSON numbers beyond float range (``1e999``) are missing, never infinity."""
    number = float(text)
    return number if math.isfinite(number) else None


def _no_constant(_name: str) -> None:
    """JSON's ``NaN``, ``Infinity`` and ``-Infinity`` are missing values."""
    return None


def parse_json(body: bytes | bytearray, api: str, what: str) -> Any:
    """The body as JSON: UTF-8, non-finite numbers as None; else a one-line SourceError."""
    try:
        text = body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise SourceError(
            f"{api} answered text that is not valid UTF-8 ({what})", permanent=False
        ) from None
    try:
        return json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise SourceError(
            f"{api} answered something that is not JSON ({what})", permanent=False
        ) from None


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date from now; None if neither."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = (moment - utcnow()).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _looks_like_html(answer: Answer) -> bool:
    content_type = answer.headers.get("content-type", "")
    head = answer.body[:512].lstrip().lower()
    return "html" in content_type or head.startswith((b"<!doctype html", b"<html"))


def decode(answer: Answer, api: str, what: str) -> Any:
    """The answer's JSON when it is a usable answer; else raise the SourceError it means."""
    problem = _problem(answer, api, what)
    if problem is not None:
        raise problem
    return parse_json(answer.body, api, what)


def _problem(answer: Answer, api: str, what: str) -> SourceError | None:
    status = answer.status
    if _looks_like_html(answer):
        if MAINTENANCE_TITLE.encode() in answer.body:
            return SourceError(f"{api} is down for maintenance ({what})", permanent=False)
        if status < 400 or status >= 500:
            return SourceError(f"{api} answered an HTML page ({what})", permanent=False)
    retry_after = retry_after_seconds(answer.headers.get("retry-after"))
    if status == 429:
        return SourceError(
            f"{api} throttled the request (HTTP 429, {what})",
            permanent=False,
            retry_after=retry_after,
        )
    if status >= 500:
        return SourceError(
            f"HTTP {status} from {api} ({what})",
            permanent=False,
            retry_after=retry_after if status == 503 else None,
        )
    if status >= 400:
        return _client_error(answer, api, what)
    return None


def _client_error(answer: Answer, api: str, what: str) -> SourceError:
    status = answer.status
    try:
        body = json.loads(answer.body)
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict):
        content = body.get("content")
        if isinstance(content, str) and "webkey" in content.lower():
            return SourceError(
                f"{api} rejected the webKey: {quoted(content)} (setting `webkey`)", permanent=True
            )
        code = body.get("errorCode") or body.get("code")
        if isinstance(code, str) and code.startswith("query."):
            message = str(body.get("message", "")).strip().splitlines()
            detail = quoted(message[0]) if message else ""
            return SourceError(f"{api} query error {quoted(code)}: {detail}", permanent=True)
    return SourceError(f"HTTP {status} from {api} ({what})", permanent=True)
