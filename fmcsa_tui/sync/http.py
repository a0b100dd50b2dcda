"""HTTP to FMCSA: one place that classifies failures, retries, rate-limits and redacts.

Transient failures (timeouts, connection errors, 429, 5xx, the maintenance page) are
retried with exponential backoff and jitter, honouring ``Retry-After``; permanent ones
(bad webKey, query errors, other 4xx) are not. Error texts are built here from the
status and the API name, never from URLs, so the webKey and app token cannot leak.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiolimiter import AsyncLimiter
from httpx_aiohttp import AiohttpTransport
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from fmcsa_tui.settings import ConfigError, Settings

__all__ = ["ConfigError", "Fetched", "FmcsaHttp", "SourceError", "decode", "scrub"]

MAINTENANCE_TITLE = "FMCSA System Maintenance Page"

#: Called before each retry: (attempt that failed, why, seconds until the next one).
RetryHook = Callable[[int, str, float], None]


class SourceError(Exception):
    """A source could not be fetched. The message is safe to show and to store."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.attempts = 1


@dataclass(frozen=True, slots=True)
class Fetched:
    payload: Any
    attempts: int


def scrub(text: str, secrets: list[str]) -> str:
    """Replace every secret value in `text` with ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff


def _looks_like_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "")
    head = response.content[:512].lstrip().lower()
    return "html" in content_type or head.startswith((b"<!doctype html", b"<html"))


def decode(response: httpx.Response, api: str, what: str) -> Any:
    """The response's JSON when it is a usable answer; else raise the SourceError it means."""
    problem = _problem(response, api, what)
    if problem is not None:
        raise problem
    try:
        return response.json()
    except ValueError:
        raise SourceError(
            f"{api} answered something that is not JSON ({what})", permanent=False
        ) from None


def _problem(response: httpx.Response, api: str, what: str) -> SourceError | None:
    status = response.status_code
    if _looks_like_html(response):
        if MAINTENANCE_TITLE.encode() in response.content:
            return SourceError(f"{api} is down for maintenance ({what})", permanent=False)
        if status < 400 or status >= 500:
            return SourceError(f"{api} answered an HTML page ({what})", permanent=False)
    if status == 429:
        retry_after = _retry_after_seconds(response.headers.get("retry-after"))
        return SourceError(
            f"{api} throttled the request (HTTP 429, {what})",
            permanent=False,
            retry_after=retry_after,
        )
    if status >= 500:
        return SourceError(f"HTTP {status} from {api} ({what})", permanent=False)
    if status >= 400:
        return _client_error(response, api, what)
    return None


def _client_error(response: httpx.Response, api: str, what: str) -> SourceError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        content = body.get("content")
        if isinstance(content, str) and "webkey" in content.lower():
            return SourceError(
                f"{api} rejected the webKey: {content} (setting `webkey`)", permanent=True
            )
        code = body.get("errorCode") or body.get("code")
        if isinstance(code, str) and code.startswith("query."):
            message = str(body.get("message", "")).splitlines()[0][:200]
            return SourceError(f"{api} query error {code}: {message}", permanent=True)
    return SourceError(f"HTTP {status} from {api} ({what})", permanent=True)


class FmcsaHttp:
    """An httpx client with FMCSA's failure rules, a per-host rate limit and retries.

    The transport is aiohttp's (httpx-aiohttp): the same httpx API, at 0.65 ms of CPU
    per request against httpcore's 1.6 ms on these machines, which a bulk sync of
    thousands of requests a second feels (see benchmarks/).
    """

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._secrets = settings.secrets()
        self._own_client = client is None
        connections = max(100, settings.concurrency * 4)  # a run has up to 4 requests in flight
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = client or httpx.AsyncClient(
            transport=AiohttpTransport(limits=limits),
            timeout=httpx.Timeout(settings.timeout),
            headers={"User-Agent": "fmcsa-tui", "Accept": "application/json"},
            follow_redirects=True,
        )
        self._limiters: dict[str, AsyncLimiter] = {}

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    def _limiter(self, url: str) -> AsyncLimiter | None:
        rate = self._settings.rate_limit
        if rate <= 0:
            return None
        host = urlsplit(url).netloc
        limiter = self._limiters.get(host)
        if limiter is None:
            limiter = self._limiters[host] = AsyncLimiter(max(rate, 1.0), 1.0)
        return limiter

    def scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    async def get_json(
        self,
        url: str,
        params: Mapping[str, str | int],
        *,
        api: str,
        what: str,
        headers: Mapping[str, str] | None = None,
        on_retry: RetryHook | None = None,
    ) -> Fetched:
        """GET with retries; returns the decoded JSON and how many attempts it took."""
        settings = self._settings
        backoff = wait_exponential_jitter(
            multiplier=settings.backoff_base,
            max=settings.backoff_max,
            jitter=settings.backoff_base,
        )

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, SourceError) and error.retry_after is not None:
                return min(error.retry_after, settings.retry_after_max)
            return float(backoff(state))

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            if on_retry is not None:
                on_retry(state.attempt_number, str(error), float(delay))

        attempts = 0
        retrying = AsyncRetrying(
            stop=stop_after_attempt(settings.max_attempts),
            wait=wait,
            retry=retry_if_exception(
                lambda error: isinstance(error, SourceError) and not error.permanent
            ),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    payload = await self._attempt(url, params, api, what, headers)
        except SourceError as error:
            error.attempts = attempts
            if not error.permanent and attempts > 1:
                error.message = f"{error.message} after {attempts} attempts"
                error.args = (error.message,)
            raise
        return Fetched(payload, attempts)

    async def _attempt(
        self,
        url: str,
        params: Mapping[str, str | int],
        api: str,
        what: str,
        headers: Mapping[str, str] | None,
    ) -> Any:
        limiter = self._limiter(url)
        if limiter is not None:
            await limiter.acquire()
        timeout = self._settings.timeout
        try:
            async with asyncio.timeout(timeout):
                response = await self._client.get(url, params=params, headers=headers)
        except (TimeoutError, httpx.TimeoutException):
            raise SourceError(
                f"{api} timed out after {timeout:g}s ({what})", permanent=False
            ) from None
        except httpx.TransportError as error:
            cause = type(error.__cause__ or error).__name__  # aiohttp's own error says more
            raise SourceError(f"cannot reach {api}: {cause} ({what})", permanent=False) from None
        return decode(response, api, what)
