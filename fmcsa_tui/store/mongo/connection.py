"""The connection to MongoDB: URLs and their options, the client, open and close, and
the shield that keeps a caller's cancellation out of the driver (`never_cancelled`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Concatenate, Final, ParamSpec, TypeVar, cast
from urllib.parse import parse_qsl, unquote

from bson.codec_options import CodecOptions, DatetimeConversion
from bson.raw_bson import RawBSONDocument
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.common import URI_OPTIONS_VALIDATOR_MAP
from pymongo.errors import ConfigurationError, ConnectionFailure, PyMongoError
from pymongo.uri_parser import split_options

from fmcsa_tui.settings import DEFAULT_HISTORY_RETENTION
from fmcsa_tui.store.base import StoreError, StoreUnavailable, redact_url
from fmcsa_tui.store.mongo.errors import brief, driver_errors
from fmcsa_tui.store.mongo.writes import ensure_indexes

__all__ = [
    "DEFAULT_SERVER_SELECTION_TIMEOUT_MS",
    "MongoConnection",
    "check_url_options",
    "never_cancelled",
]

log = logging.getLogger("fmcsa_tui.store.mongo")

Doc = dict[str, Any]
_P = ParamSpec("_P")
_T = TypeVar("_T")
_Connection = TypeVar("_Connection", bound="MongoConnection")

DEFAULT_SERVER_SELECTION_TIMEOUT_MS: Final = 5000
#: Bounds for a server that stops answering mid-request: it must not hang a run (or the
#: UI) forever, nor a pool wedged by dead connections. No `timeoutMS` by default: under
#: it PyMongo retries until it runs out, so a server that went away would take that
#: long, not 5 s, to show as unreachable.
_DEFAULT_TIMEOUTS_MS: Final = (
    ("serverSelectionTimeoutMS", DEFAULT_SERVER_SELECTION_TIMEOUT_MS),
    ("socketTimeoutMS", 30_000),
    ("connectTimeoutMS", 5_000),
    ("waitQueueTimeoutMS", 30_000),
)
_NO_DATABASE: Final = "no database in the store URL: use mongodb://HOST/DBNAME"
_DEFAULT_PORT: Final = 27017
_CLOSE_GRACE: Final = 1.0  # seconds close() gives calls still running (a live server needs ms)
_RAW_CODEC: Final[CodecOptions[RawBSONDocument]] = CodecOptions(document_class=RawBSONDocument)


# --- URLs -----------------------------------------------------------------------------


def parse_url(url: str) -> tuple[str, str | None]:
    """``host:port[,host:port…]`` and the database named in the path, if any."""
    scheme, _, rest = url.partition("://")
    rest = rest.split("?", 1)[0].split("#", 1)[0]
    host_part, _, db = rest.rpartition("@")[2].partition("/")
    srv = scheme.lower() == "mongodb+srv"
    hosts = [host for host in host_part.split(",") if host]
    if not srv:
        hosts = [host if _has_port(host) else f"{host}:{_DEFAULT_PORT}" for host in hosts]
    return ",".join(hosts), unquote(db) or None


def _has_port(host: str) -> bool:
    if host.startswith("["):
        return "]:" in host
    return ":" in host or host.endswith(".sock")


def check_url_options(url: str) -> None:
    """Raise StoreError, in one line, for URL options PyMongo would refuse or ignore.

    PyMongo warns about an unknown option (a multi-line warning naming a file in
    site-packages) and goes on without it; a typo in a timeout is then silently lost.
    The options are checked here without resolving hosts, so `mongodb+srv` URLs too.
    """
    query = url.split("#", 1)[0].partition("?")[2]
    if not query:
        return
    try:
        split_options(query, validate=True, warn=False)
    except ConfigurationError:
        known = {name.lower() for name in URI_OPTIONS_VALIDATOR_MAP}
        unknown = [
            name for name, _ in parse_qsl(query, keep_blank_values=True)
            if name.lower() not in known
        ]  # fmt: skip
        what = f"unknown option {unknown[0]!r}" if unknown else "an option it cannot use"
        raise StoreError(f"MongoDB URL {redact_url(url)} has {what}") from None
    except (ValueError, TypeError) as error:
        raise StoreError(f"MongoDB URL {redact_url(url)}: {brief(error)}") from None


def client_options(url: str) -> Doc:
    """The client's options: aware UTC dates, our app name, and every default timeout
    the URL does not set itself."""
    options: Doc = {
        "tz_aware": True,
        "appname": "fmcsa-tui",
        "datetime_conversion": DatetimeConversion.DATETIME_AUTO,
    }
    for option, default in _DEFAULT_TIMEOUTS_MS:
        if re.search(rf"[?&]{re.escape(option)}=", url, re.IGNORECASE) is None:
            options[option] = default
    return options


# --- the shield -----------------------------------------------------------------------


def never_cancelled(
    method: Callable[Concatenate[_Connection, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[_Connection, _P], Coroutine[Any, Any, _T]]:
    """Run a driver call in a task of its own that the caller's cancellation cannot reach.

    PyMongo's async topology and pool wait on a condition through `asyncio.wait_for`;
    on Python 3.11 cancelling a task inside that wait can leave the topology lock held
    by a finished task, and every later operation of the client then waits forever (a
    lease keeper stopped mid-outage did it: the restart test in
    `tests/store/test_mongo_end_to_end.py` hung one run in three). So the caller stops waiting
    at once, while the call itself ends by itself, bounded by the client's timeouts.
    """

    @functools.wraps(method)
    async def call(connection: _Connection, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return await connection._shielded(method(connection, *args, **kwargs))

    return call


# --- the connection -------------------------------------------------------------------


class MongoConnection:
    """A database on a MongoDB server: the client, the collections by role, the calls
    still in flight, and one-line errors."""

    def __init__(
        self,
        url: str,
        *,
        database: str | None = None,
        companies: str = "companies",
        inspections: str = "fmcsainspections",
        leases: str = "fmcsa_tui_leases",
        runs: str = "fmcsa_tui_runs",
        read_only: bool = False,
        history_retention: timedelta = DEFAULT_HISTORY_RETENTION,
    ) -> None:
        self._url = url.strip()
        self._read_only = read_only  # a user with only the `read` role can browse
        check_url_options(self._url)
        self._hosts, url_database = parse_url(self._url)
        self._database = url_database or database or None
        self._names = {
            "companies": companies,
            "inspections": inspections,
            "leases": leases,
            "runs": runs,
        }
        self._retention = history_retention
        #: What opening found worth a line but not a failure (see `ensure_indexes`).
        self.index_notes: list[str] = []
        self._client: AsyncMongoClient[Doc] | None = None
        self._db: AsyncDatabase[Doc] | None = None
        self._change_streams = False
        self._in_flight: set[asyncio.Future[Any]] = set()

    @property
    def description(self) -> str:
        return f"{self._hosts}/{self._database}" if self._database else self._hosts

    async def open(self, *, create: bool = True) -> None:  # not `never_cancelled`: see close
        if self._client is not None:
            return
        if not self._database:
            raise StoreUnavailable(_NO_DATABASE)
        try:
            client: AsyncMongoClient[Doc] = AsyncMongoClient(self._url, **client_options(self._url))
        except (PyMongoError, ValueError, TypeError) as error:
            url = redact_url(self._url)
            raise StoreUnavailable(f"cannot use MongoDB URL {url}: {brief(error)}") from error
        try:
            await client.admin.command("ping")
            hello = await client.admin.command("hello")
            db = client.get_database(self._database)
            if create and not self._read_only:
                self.index_notes = await ensure_indexes(db, self._names, self._retention)
                for note in self.index_notes:
                    log.warning("%s", note)
        except BaseException as error:
            await client.close()
            if isinstance(error, ConnectionFailure):
                reason = f"cannot reach MongoDB at {self._hosts}: {brief(error, self._hosts)}"
                raise StoreUnavailable(reason) from error
            if isinstance(error, PyMongoError):
                reason = brief(error, self._hosts)
                raise StoreUnavailable(f"cannot open {self.description}: {reason}") from error
            raise
        self._client, self._db = client, db
        self._change_streams = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"

    async def close(self) -> None:
        client, self._client, self._db = self._client, None, None
        if self._in_flight:  # calls whose callers were cancelled: let them end first
            await asyncio.wait(list(self._in_flight), timeout=_CLOSE_GRACE)
        if client is not None:
            await client.close()

    def _shielded(self, call: Coroutine[Any, Any, _T]) -> asyncio.Future[_T]:
        task = asyncio.ensure_future(call)
        self._in_flight.add(task)
        task.add_done_callback(self._settled)
        return asyncio.shield(task)

    def _settled(self, task: asyncio.Future[Any]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # seen by the caller if it still waits; otherwise only logged
            log.debug("MongoDB call ended with %s", brief(error))

    def _collection(self, role: str) -> AsyncCollection[Doc]:
        if self._db is None:
            raise StoreError(f"store {self.description} is not open")
        return self._db[self._names[role]]

    def _raw_companies(self) -> AsyncCollection[RawBSONDocument]:
        """Companies as undecoded BSON, for listings to decode off the event loop."""
        if self._db is None:
            raise StoreError(f"store {self.description} is not open")
        raw = self._db.get_collection(self._names["companies"], codec_options=_RAW_CODEC)
        return cast(AsyncCollection[RawBSONDocument], raw)

    @contextmanager
    def _driver_errors(self, *, writing: bool = False) -> Iterator[None]:
        """Driver errors as one-line StoreErrors (see `errors.driver_errors`)."""
        with driver_errors(self._hosts, writing=writing):
            yield
