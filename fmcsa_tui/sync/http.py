"""HTTP to FMCSA: one place that bounds, classifies, retries, rate-limits and redacts.

Nothing that answers on FMCSA's address is trusted:

- an answer is read as a stream and refused as soon as it passes `max_response_bytes`,
  raw or decompressed (gzip and deflate are decoded here, never more than the cap);
- redirects are followed only to the same host (or its https upgrade), so the webKey
  and the app token never go anywhere else;
- transient failures (refused or dropped connections, DNS failures, timeouts, TLS
  handshake failures, 429, 5xx, the maintenance page, broken or malformed bodies) are
  retried with exponential backoff and jitter, honouring ``Retry-After``, all within
  the source's deadline; permanent ones (bad webKey, query errors, other 4xx, an
  unaccepted certificate, too large, unoffered encodings, redirects elsewhere) are not;
- error texts are built here from what happened, never from URLs or exception texts,
  and every text leaving this module goes through the `Scrubber` and `safe_line`.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
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

from fmcsa_tui.formatting import safe_line
from fmcsa_tui.settings import Settings
from fmcsa_tui.sync.answers import (
    Answer,
    Fetched,
    SourceError,
    decode,
    quoted,
    read_body,
)
from fmcsa_tui.sync.parsing import QC
from fmcsa_tui.sync.redact import Scrubber

__all__ = ["FmcsaHttp", "RetryHook", "new_client", "redirect_target", "same_host"]

MAX_REDIRECTS = 3
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TEXT_LIMIT = 300  # longest error text shown or stored, cut after scrubbing

#: Called before each retry: (attempt that failed, why, seconds until the next one).
RetryHook = Callable[[int, str, float], None]


def _transient(error: BaseException) -> bool:
    return isinstance(error, SourceError) and not error.permanent


# --- transport failures --------------------------------------------------------------


def _where(url: httpx.URL) -> str:
    port = url.port
    return quoted(f"{url.host}:{port}" if port else url.host)


def _timed_out(api: str, what: str, timeout: float) -> SourceError:
    return SourceError(f"{api} timed out after {timeout:g}s ({what})", permanent=False)


_NAME_NOT_FOUND = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _dns_failure(os_error: object) -> str:
    """What DNS said: the name does not exist, or the lookup itself failed."""
    if isinstance(os_error, socket.gaierror) and os_error.errno in _NAME_NOT_FOUND:
        return "DNS name not found"
    reason = getattr(os_error, "strerror", None) or "no answer"
    return f"DNS lookup failed ({quoted(reason)})"


def transport_failure(
    error: BaseException, url: httpx.URL, api: str, what: str, timeout: float
) -> SourceError:
    """What a failed exchange means, from the underlying error (never from its text).

    httpx-aiohttp maps aiohttp's whole ClientConnectionError family to ConnectTimeout,
    so the error it chains (``__cause__``) is what tells a refusal from a timeout.
    """
    cause = error.__cause__ if isinstance(error, httpx.HTTPError) and error.__cause__ else error
    os_error = getattr(cause, "os_error", None)
    where = _where(url)
    if isinstance(cause, aiohttp.ClientConnectorDNSError):
        return SourceError(
            f"cannot find {api}: {_dns_failure(os_error)} for {quoted(url.host)} ({what})",
            permanent=False,
        )
    if isinstance(cause, aiohttp.ClientConnectorCertificateError | ssl.SSLCertVerificationError):
        return SourceError(
            f"TLS failure with {api} at {where}: its certificate was not accepted ({what})",
            permanent=True,
        )
    if isinstance(cause, aiohttp.ClientSSLError | ssl.SSLError):
        return SourceError(
            f"TLS failure with {api} at {where}: the secure handshake failed ({what})",
            permanent=False,
        )
    if isinstance(os_error, ConnectionRefusedError) or isinstance(cause, ConnectionRefusedError):
        return SourceError(f"{api} refused the connection at {where} ({what})", permanent=False)
    if isinstance(cause, aiohttp.ServerTimeoutError | TimeoutError) or (
        isinstance(error, httpx.TimeoutException) and error.__cause__ is None
    ):
        return _timed_out(api, what, timeout)
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return SourceError(
            f"{api} closed the connection without answering ({what})", permanent=False
        )
    if isinstance(cause, aiohttp.ClientPayloadError):
        return SourceError(f"{api}'s answer broke off before its end ({what})", permanent=False)
    if isinstance(cause, aiohttp.ClientResponseError):
        return SourceError(f"{api} answered something that is not HTTP ({what})", permanent=False)
    if isinstance(os_error, OSError) and os_error.strerror:
        reason = quoted(os_error.strerror)
        return SourceError(
            f"cannot connect to {api} at {where}: {reason} ({what})", permanent=False
        )
    return SourceError(f"cannot reach {api}: {type(cause).__name__} ({what})", permanent=False)


# --- redirects -----------------------------------------------------------------------


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def same_host(current: httpx.URL, target: httpx.URL) -> bool:
    """A redirect we follow: the same scheme, host and port, or the https upgrade of it."""
    if _origin(current) == _origin(target):
        return True
    return _origin(current) == ("http", target.host, 80) and _origin(target) == (
        "https",
        current.host,
        443,
    )


def redirect_target(
    current: httpx.URL, location: str, status: int, api: str, what: str
) -> httpx.URL:
    """Where a redirect points, if we may follow it; else the SourceError naming the host."""
    if not location.strip():
        raise SourceError(f"HTTP {status} from {api} without a Location ({what})", permanent=True)
    try:
        target = current.join(location.strip())
    except httpx.InvalidURL:
        raise SourceError(
            f"{api} redirected to an address that is not a URL ({what})", permanent=True
        ) from None
    if not same_host(current, target):
        raise SourceError(
            f"{api} redirected to another host, {target.scheme}://{_where(target)}; "
            f"not followed, so no credentials went there ({what})",
            permanent=True,
        )
    return target


# --- the client ----------------------------------------------------------------------


def new_client(settings: Settings) -> httpx.AsyncClient:
    """The httpx client FMCSA is asked with (benchmarks/lean_baseline.py uses it too)."""
    connections = max(100, settings.concurrency * 4)  # a run has up to 4 requests in flight
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=limits),
        timeout=httpx.Timeout(settings.timeout),
        headers={
            "User-Agent": "fmcsa-tui",
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",  # what `read_body` decodes, bounded
        },
        follow_redirects=False,  # `_attempt` follows them, to the same host only
    )


class FmcsaHttp:
    """An httpx client with FMCSA's failure rules, a per-host rate limit and retries.

    The transport is aiohttp's (httpx-aiohttp): the same httpx API, at 0.65 ms of CPU
    per request against httpcore's 1.6 ms on these machines, which a bulk sync of
    thousands of requests a second feels (see benchmarks/).
    """

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._scrub = Scrubber(settings.secrets())
        self._own_client = client is None
        self._client = client or new_client(settings)
        self._limiters: dict[str, AsyncLimiter] = {}
        #: Exponential backoff with jitter, so carriers that failed together do not all
        #: retry together; a server's `Retry-After` takes its place (see `_next_wait`).
        self._backoff = wait_exponential_jitter(
            multiplier=settings.backoff_base, max=settings.backoff_max, jitter=settings.backoff_base
        )

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    def _limiter(self, api: str) -> AsyncLimiter | None:
        """The API's request budget: keyed by API, not host, as one origin may serve both
        (the sandbox does)."""
        rate = self._settings.qc_rate_limit if api == QC else self._settings.hub_rate_limit
        if rate <= 0:
            return None
        limiter = self._limiters.get(api)
        if limiter is None:
            # A bucket of `rate` draining `rate` a second; below 1 a second, a bucket of
            # one draining over 1/rate seconds (never rounded up to 1 a second).
            bucket = AsyncLimiter(rate, 1.0) if rate >= 1 else AsyncLimiter(1, 1 / rate)
            limiter = self._limiters[api] = bucket
        return limiter

    def has_room(self, api: str) -> bool:
        """Whether a request to `api` would leave now, within the API's rate budget: a
        DataHub batch keeps gathering carriers while it has none (`sync.batching`)."""
        limiter = self._limiter(api)
        return limiter is None or limiter.has_capacity()

    def public_text(self, text: str) -> str:
        """A text as it may be shown or stored: no secret in any encoding, one safe line.

        Scrubbed before it is cut, so a cut never leaves half a secret to be seen.
        """
        line = safe_line(self._scrub(text))
        return line if len(line) <= _TEXT_LIMIT else line[: _TEXT_LIMIT - 1] + "…"

    async def get_json(
        self,
        url: str,
        params: Mapping[str, str | int],
        *,
        api: str,
        what: str,
        headers: Mapping[str, str] | None = None,
        on_retry: RetryHook | None = None,
        deadline: float | None = None,
    ) -> Fetched:
        """GET with retries; the decoded JSON and how many attempts it took.

        `deadline` is the loop time by which the source must be done: a wait that would
        pass it fails at once instead of sleeping into it.

        The first attempt runs outside tenacity's machinery, whose set-up costs about as
        much CPU as the request itself; only a transient failure enters the retry loop,
        which takes that failure as its first attempt, so waits, hooks, attempt counts
        and wording are those of a loop that made the attempt itself.
        """
        request_url = httpx.URL(url, params=params)
        try:
            return Fetched(await self._attempt(request_url, api, what, headers), 1)
        except SourceError as error:
            if not _transient(error):
                self._final(error, 1)
                raise
            first: SourceError | None = error
        retrying = AsyncRetrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(self._settings.max_attempts),
            wait=lambda state: self._next_wait(state, deadline),
            before_sleep=lambda state: self._retrying(state, on_retry),
            reraise=True,
        )
        attempt = 0
        try:
            async for trying in retrying:
                with trying:
                    attempt = trying.retry_state.attempt_number
                    if first is not None:
                        failed, first = first, None
                        raise failed
                    payload = await self._attempt(request_url, api, what, headers)
        except SourceError as error:
            self._final(error, attempt)
            raise
        return Fetched(payload, attempt)

    def _final(self, error: SourceError, attempt: int) -> None:
        """The failure as the caller sees it: its attempts, its text scrubbed and, for a
        transient one, saying how many attempts it took."""
        error.attempts = attempt
        if not error.final:
            error.reworded(self.public_text(error.message))
            if not error.permanent:
                error.reworded(_after_attempts(error.message, attempt))

    def _next_wait(self, state: RetryCallState, deadline: float | None) -> float:
        """Seconds until the next attempt: the server's `Retry-After`, else backoff with
        jitter; or the failure raised at once, saying why, when the wait is too long or
        would pass the source's `deadline` (a loop time)."""
        settings = self._settings
        error = state.outcome.exception() if state.outcome else None
        assert isinstance(error, SourceError)  # `_transient` retries nothing else
        message = self.public_text(error.message)
        asked = error.retry_after
        if asked is not None and asked > settings.retry_after_max:
            raise error.finally_as(
                f"{message}: asked to wait {asked:g}s, more than the "
                f"{settings.retry_after_max:g}s allowed (setting `retry_after_max`)"
            )
        delay = asked if asked is not None else float(self._backoff(state))
        if deadline is not None and asyncio.get_running_loop().time() + delay > deadline:
            limit = (
                f"the source's {settings.source_deadline:g}s deadline (setting `source_deadline`)"
            )
            if asked is not None:
                raise error.finally_as(f"{message}: asked to wait {asked:g}s, past {limit}")
            raise error.finally_as(
                f"{_after_attempts(message, state.attempt_number)}; no time left before {limit}"
            )
        return delay

    def _retrying(self, state: RetryCallState, on_retry: RetryHook | None) -> None:
        """Tell the source's progress that attempt n failed and when the next one comes."""
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        if on_retry is not None and error is not None:
            on_retry(state.attempt_number, self.public_text(str(error)), float(delay))

    async def _attempt(
        self, url: httpx.URL, api: str, what: str, headers: Mapping[str, str] | None
    ) -> Any:
        """One attempt: the request and the same-host redirects it leads to."""
        for _hop in range(MAX_REDIRECTS + 1):
            answer = await self._exchange(url, api, what, headers)
            if answer.status not in _REDIRECT_STATUSES:
                return decode(answer, api, what)
            url = redirect_target(url, answer.headers.get("location", ""), answer.status, api, what)
        raise SourceError(
            f"{api} redirected more than {MAX_REDIRECTS} times ({what})", permanent=True
        )

    async def _exchange(
        self, url: httpx.URL, api: str, what: str, headers: Mapping[str, str] | None
    ) -> Answer:
        """One request and its answer, read within the request timeout and the size cap."""
        limiter = self._limiter(api)
        if limiter is not None:
            await limiter.acquire()
        timeout = self._settings.timeout
        try:
            async with asyncio.timeout(timeout):
                async with self._client.stream("GET", url, headers=headers) as response:
                    if response.status_code in _REDIRECT_STATUSES:
                        return Answer(response.status_code, response.headers)
                    limit = self._settings.max_response_bytes
                    body = await read_body(response, limit, api, what)
                    return Answer(response.status_code, response.headers, body)
        except TimeoutError:
            raise _timed_out(api, what, timeout) from None
        except (httpx.TransportError, aiohttp.ClientError, OSError) as error:
            raise transport_failure(error, url, api, what, timeout) from None


def _after_attempts(message: str, attempts: int) -> str:
    return f"{message} after {attempts} attempts" if attempts > 1 else message
