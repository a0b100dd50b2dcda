"""The MongoDB store: the backend's own `companies` collection, written as it writes it.

Reads are tolerant of messy documents: listings fetch a light projection and let
`models.summarize` and `CompanyFilter.matches` decide, with queries only narrowing what
comes over the wire. Writes are targeted `$set`s on dotted paths, never a replace; the
errors array is changed by compare-and-set (the update is guarded by the array's value
as read, and retried on a miss), so concurrent writers never lose each other's rows.
Uses PyMongo's native async API (`AsyncMongoClient`): Motor is deprecated (see
docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import re
from collections.abc import (
    AsyncGenerator,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, Final, Literal, ParamSpec, TypeVar, cast
from urllib.parse import parse_qsl, unquote

import bson
from bson import ObjectId
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.errors import BSONError
from bson.raw_bson import RawBSONDocument
from pymongo import AsyncMongoClient, UpdateOne
from pymongo.asynchronous.change_stream import AsyncCollectionChangeStream
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.common import URI_OPTIONS_VALIDATOR_MAP
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
)
from pymongo.uri_parser import split_options

from fmcsa_tui.models import (
    CompanySummary,
    Source,
    summarize,
    utcnow,
)
from fmcsa_tui.store.base import (
    AddResult,
    Changes,
    LiveRefresh,
    NewCompany,
    StoreError,
    StoreUnavailable,
    poll_changes,
    redact_url,
)
from fmcsa_tui.store.flow import (
    StoreFlow,
    Wanted,
    cannot_insert,
    dot_taken,
    id_taken,
    no_company,
    plan_additions,
)
from fmcsa_tui.store.listing import (
    Condition,
    all_hold,
    first_rows,
    in_dot_order,
)
from fmcsa_tui.store.updates import (
    ERRORS_PATH,
    SYNC_STATUS,
    SourceUpdate,
    bumps_version,
    new_company_doc,
    plan_write,
    targeted_sets,
)

__all__ = ["MongoStore"]

log = logging.getLogger(__name__)

Doc = dict[str, Any]
_P = ParamSpec("_P")
_T = TypeVar("_T")

DEFAULT_SERVER_SELECTION_TIMEOUT_MS: Final = 5000
OWNER_NEEDED: Final = (
    "MongoDB needs --name and --owner for new companies"
    " (the backend's schema requires name and ownerId)"
)
_NO_DATABASE: Final = "no database in the store URL: use mongodb://HOST/DBNAME"
_DEFAULT_PORT: Final = 27017
_CLOSE_GRACE: Final = 1.0  # seconds close() gives calls still running (a live server needs ms)
_CAS_ATTEMPTS: Final = 100  # compare-and-set tries before a write gives up
_ID_BATCH: Final = 1000  # ids per `$in` query

#: What a list row needs; everything heavy (inspections, smsBasics…) stays on the server.
_SUMMARY_FIELDS: Final = {
    "name": 1,
    "dotNumber": 1,
    "mcNumber": 1,
    f"{SYNC_STATUS}": 1,
    "updatedAt": 1,
}
#: Listings decode off the event loop, tolerating undecodable text and far-off dates.
_LIST_CODEC: Final[CodecOptions[Doc]] = CodecOptions(
    tz_aware=True,
    tzinfo=UTC,
    unicode_decode_error_handler="replace",
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
)
_RAW_CODEC: Final[CodecOptions[RawBSONDocument]] = CodecOptions(document_class=RawBSONDocument)

_LAST_RUN = f"{SYNC_STATUS}.lastRun"
_SUCCESS = f"{SYNC_STATUS}.success"
_ERROR_SOURCE = f"{ERRORS_PATH}.source"
_LAST_SYNCS = tuple(f"{SYNC_STATUS}.{source.last_sync_field}" for source in Source)
#: Every character `str.strip()` removes, as literal characters (the same in PCRE and re).
_SPACE_CLASS = (
    "[\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
_NON_ASCII = "[^\\x00-\\x7f]"

# Indexes the queries need, created only where no index has the same key pattern.
_INDEXES: Final[tuple[tuple[str, tuple[tuple[str, int], ...], dict[str, Any]], ...]] = (
    ("companies", (("updatedAt", 1),), {}),
    ("companies", ((_LAST_RUN, 1),), {}),
    ("companies", ((_ERROR_SOURCE, 1),), {}),
    ("companies", (("dotNumber", 1),), {}),  # not unique: the backend owns uniqueness
    ("inspections", (("companyId", 1), ("reportNumber", 1)), {"unique": True}),
    ("leases", (("expiresAt", 1),), {"expireAfterSeconds": 0}),
)
# Index creation the store can live without: no privilege, a clashing name or options,
# or duplicates already in the way of a unique index.
_INDEX_SKIPPABLE: Final = frozenset({11000, 13, 85, 86})


#: Documents the light projection would misjudge, read whole: a `fmcsaData` that is not
#: a document (projecting ``fmcsaData.syncStatus`` through a string or a number drops it,
#: which would list the company as `never`; through an array it keeps only the array's
#: documents). Every other status field is inside the projection, and nothing outside
#: it can make a document unreadable (see the status rule in `fmcsa_tui.models`), so
#: these list exactly as in the embedded store. Listings split every query into these
#: and the rest (`_NOT_SUSPECT`), so no document is read twice.
_SUSPECT_CLAUSES: Final = (
    {"fmcsaData": {"$exists": True, "$ne": None, "$not": {"$type": "object"}}},
    {"fmcsaData": {"$type": "array"}},
)
_SUSPECT: Final = {"$or": list(_SUSPECT_CLAUSES)}
_NOT_SUSPECT: Final = {"$nor": list(_SUSPECT_CLAUSES)}

# --- change streams -------------------------------------------------------------------

_WATCHED_FIELDS = ("name", "dotNumber", "mcNumber", SYNC_STATUS)
_CHANGED_KEYS = {
    "$concatArrays": [
        {
            "$map": {
                "input": {"$objectToArray": {"$ifNull": ["$updateDescription.updatedFields", {}]}},
                "as": "f",
                "in": "$$f.k",
            }
        },
        {"$ifNull": ["$updateDescription.removedFields", []]},
        {
            "$map": {
                "input": {"$ifNull": ["$updateDescription.truncatedArrays", []]},
                "as": "t",
                "in": "$$t.field",
            }
        },
    ]
}
#: A changed key is watched when it is one of those fields, inside one, or all of fmcsaData.
_WATCHED_KEY = "^(?:fmcsaData|(?:{})(?:\\..*)?)$".format(
    "|".join(re.escape(name) for name in _WATCHED_FIELDS)
)
_KEY_IS_WATCHED = {"$regexMatch": {"input": "$$k", "regex": _WATCHED_KEY}}
#: Inserts, replaces, deletes, and updates that touch what a list row shows.
CHANGE_PIPELINE: Final[list[Doc]] = [
    {
        "$match": {
            "$or": [
                {"operationType": {"$in": ["insert", "replace", "delete", "invalidate"]}},
                {
                    "operationType": "update",
                    "$expr": {
                        "$gt": [
                            {
                                "$size": {
                                    "$filter": {
                                        "input": _CHANGED_KEYS,
                                        "as": "k",
                                        "cond": _KEY_IS_WATCHED,
                                    }
                                }
                            },
                            0,
                        ]
                    },
                },
            ]
        }
    },
    {"$project": {"operationType": 1, "documentKey": 1}},
]
#: The resume token no longer leads anywhere: start afresh (and say "reload everything").
_RESUME_LOST: Final = frozenset({260, 280, 286})
_WATCH_ATTEMPTS: Final = 8  # reconnections in a row (about 90 s) before giving up


# --- small helpers --------------------------------------------------------------------


def _parse_url(url: str) -> tuple[str, str | None]:
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
        raise StoreError(f"MongoDB URL {redact_url(url)}: {_brief(error)}") from None


def _has_option(url: str, name: str) -> bool:
    return re.search(rf"[?&]{re.escape(name)}=", url, re.IGNORECASE) is not None


def _id_values(text: str) -> list[Any]:
    """An `_id` as text: the ObjectId it spells, if it spells one, and the text itself."""
    values: list[Any] = [text]
    if len(text) == 24 and ObjectId.is_valid(text):
        values.insert(0, ObjectId(text))
    return values


def _dot_values(dots: Iterable[str]) -> list[Any]:
    """DOT numbers as stored: text, or a number (which also matches a double)."""
    values: list[Any] = []
    for dot in dots:
        values.append(dot)
        if dot.isascii() and dot.isdigit() and len(dot) <= 18:
            values.append(int(dot))
    return values


def _dot_text(value: Any) -> str | None:
    """A stored dotNumber as the text it lists as (a number becomes its digits)."""
    return summarize({"dotNumber": value}).dot_number


def _key_pattern(key: Any) -> tuple[tuple[str, Any], ...]:
    """An index's key pattern, with 1.0 and 1 the same."""
    pattern = []
    for field, direction in dict(key).items():
        if isinstance(direction, float) and direction.is_integer():
            direction = int(direction)
        pattern.append((field, direction))
    return tuple(pattern)


def _decode(raw: RawBSONDocument) -> Doc:
    return bson.decode(raw.raw, codec_options=_LIST_CODEC)


def _rows(
    light: list[RawBSONDocument],
    whole: list[RawBSONDocument],
    conditions: Sequence[Condition],
    limit: int | None,
) -> list[CompanySummary]:
    """Summaries of the light documents and of the whole ones that the conditions
    hold for, in DOT order."""
    rows = [
        summary
        for summary in map(summarize, map(_decode, [*light, *whole]))
        if all_hold(conditions, summary)
    ]
    return first_rows(in_dot_order(rows), limit)


def _text_clause(text: str) -> Doc | None:
    """A superset of the companies whose DOT, name or MC casefolds to contain `text`.

    For an ASCII needle: a case-insensitive regex, plus every document where one of the
    three fields is not a string or holds a non-ASCII character (ß casefolds to ss, and
    a regex cannot know that). Other needles are left to Python alone.
    """
    needle = text.casefold()
    if not needle.isascii():
        return None
    pattern = {"$regex": re.escape(needle), "$options": "i"}
    clauses: list[Doc] = []
    for field in ("dotNumber", "name", "mcNumber"):
        clauses += [
            {field: pattern},
            {field: {"$regex": _NON_ASCII}},
            {field: {"$exists": True, "$not": {"$type": "string"}}},
        ]
    return {"$or": clauses}


def _failed_clause() -> Doc:
    """A superset of `failed`: a lastRun, and errors or a success that is not true."""
    return {
        _LAST_RUN: {"$ne": None},
        "$or": [
            {_SUCCESS: {"$ne": True}},
            {f"{ERRORS_PATH}.0": {"$exists": True}},
            {ERRORS_PATH: {"$type": "object"}},
        ],
    }


def _source_clause(source: str) -> Doc | None:
    """A superset of the companies with an error row of `source` (after stripping)."""
    if source == "unknown":  # also rows without a source, or not documents at all
        return None
    values: list[Any] = [source]
    try:
        number = float(source)
    except ValueError:
        pass
    else:
        values.append(int(number) if number.is_integer() else number)
    padded = f"^{_SPACE_CLASS}|{_SPACE_CLASS}$"
    return {"$or": [{_ERROR_SOURCE: {"$in": values}}, {_ERROR_SOURCE: {"$regex": padded}}]}


#: Documents without a syncStatus document (null, missing or another type): no lastRun
#: and no success dates. MongoDB's path queries find them too ("not a date" holds for a
#: path through a null), but not every implementation looks through a null (the test
#: server's mongomock does not), so the `never` and stale queries name them outright.
_NO_SYNC_STATUS: Final = (
    {"fmcsaData": {"$not": {"$type": "object"}}},
    {SYNC_STATUS: {"$not": {"$type": "object"}}},
)


def _no_date(path: str) -> list[Doc]:
    """A superset of the documents whose `path` reads as no date: not a date, or an array
    (which `$type` looks inside: ``[date]`` has the type date, yet is no date)."""
    return [{path: {"$not": {"$type": "date"}}}, {path: {"$type": "array"}}]


def _never_clause() -> Doc:
    return {"$or": [*_no_date(_LAST_RUN), *_NO_SYNC_STATUS]}


def _ok_clause() -> Doc:
    return {_LAST_RUN: {"$ne": None}, f"{ERRORS_PATH}.0": {"$exists": False}}


def _stale_clause(cutoff: datetime) -> Doc:
    """A superset of the documents with a source whose last success is none or older."""
    dated = [
        clause for path in _LAST_SYNCS for clause in (*_no_date(path), {path: {"$lt": cutoff}})
    ]
    return {"$or": [*dated, *_NO_SYNC_STATUS]}


def _changed_clause(since: datetime) -> Doc:
    """A superset of the documents written at or after `since` (text dates included)."""
    return {
        "$or": [
            {"updatedAt": {"$gte": since}},
            {"updatedAt": {"$exists": True, "$ne": None, "$not": {"$type": "date"}}},
        ]
    }


_STATUS_CLAUSES: Final[dict[str, Callable[[], Doc]]] = {
    "never": _never_clause,
    "ok": _ok_clause,
    "failed": _failed_clause,
}


def _narrowing(condition: Condition) -> Doc | None:
    """A query for a superset of the documents the condition holds for, or None when
    nothing narrows it (`Condition.holds` decides every row in the end)."""
    value = condition.value
    match (condition.fact, condition.test):
        case ("search", "has_text"):
            return _text_clause(value)
        case ("status", "is") if value in _STATUS_CLAUSES:
            return _STATUS_CLAUSES[value]()
        case ("error_sources", "has"):
            return _source_clause(value)
        case ("oldest_success", "missing_or_before"):
            return _stale_clause(value)
        case ("updated_at", "at_or_after"):
            return _changed_clause(value)
    return None


def narrowing_query(conditions: Sequence[Condition]) -> Doc:
    """The conditions as a query that narrows without ever dropping a match."""
    clauses = [clause for clause in map(_narrowing, conditions) if clause is not None]
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _lookup(doc: Doc, path: str) -> tuple[Literal["present", "missing", "blocked"], Any]:
    """A dotted path's value; `blocked` when a non-document stands on the way."""
    *parents, leaf = path.split(".")
    node: Any = doc
    for key in parents:
        if key not in node:
            return "missing", None
        node = node[key]
        if not isinstance(node, dict):
            return "blocked", None
    return ("present", node[leaf]) if leaf in node else ("missing", None)


def guarded_update(doc: Doc, update: SourceUpdate) -> tuple[Doc, Doc]:
    """The filter and update that apply `update` to `doc` only if it is still as read.

    The guard pins the errors array (and any non-document being replaced, and `name`
    when it is filled), so a concurrent change of them makes the update miss instead of
    losing a row; everything else is a targeted `$set` that cannot clash.
    """
    write = plan_write(doc, update)
    sets, replaced = targeted_sets(write.fields, doc)
    guard: Doc = {"_id": doc["_id"]}
    for path, value in replaced.items():
        guard[path] = {"$eq": value}
    state, errors = _lookup(doc, ERRORS_PATH)
    if state == "present":
        guard[ERRORS_PATH] = {"$eq": errors}
    elif state == "missing":
        guard[ERRORS_PATH] = {"$exists": False}
    if "name" in sets:
        guard["name"] = {"$eq": doc["name"]} if "name" in doc else {"$exists": False}
    change: Doc = {"$set": sets}
    if write.errors_changed:
        version = doc.get("__v")
        if "__v" not in doc or (version is not None and bumps_version(version)):
            change["$inc"] = {"__v": 1}  # atomic, whoever else bumps it meanwhile
        elif version is None:
            sets["__v"] = 1
    return guard, change


def _brief(error: BaseException, hosts: str = "") -> str:
    """The driver's message in one short line, without its topology dump."""
    text = ""
    details = getattr(error, "details", None)
    if isinstance(details, dict):
        write_errors = details.get("writeErrors") or [{}]
        text = str(details.get("errmsg") or write_errors[0].get("errmsg") or "")
    text = (text or str(error) or type(error).__name__).strip().splitlines()[0]
    for cut in (" (configured timeouts", ", Timeout:", ", full error:"):
        text = text.split(cut, 1)[0]
    for host in hosts.split(","):
        if host and text.startswith(f"{host}: "):
            text = text[len(host) + 2 :]
    return text[:300]


# --- the store ------------------------------------------------------------------------


def _never_cancelled(
    method: Callable[Concatenate[MongoStore, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[MongoStore, _P], Coroutine[Any, Any, _T]]:
    """Run a driver call in a task of its own that the caller's cancellation cannot reach.

    PyMongo's async topology and pool wait on a condition through `asyncio.wait_for`;
    on Python 3.11 cancelling a task inside that wait can leave the topology lock held
    by a finished task, and every later operation of the client then waits forever (a
    lease keeper stopped mid-outage did it: the restart test in
    `tests/test_mongo_end_to_end.py` hung one run in three). So the caller stops waiting
    at once, while the call itself ends by itself, bounded by the client's timeouts.
    """

    @functools.wraps(method)
    async def call(store: MongoStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return await store._shielded(method(store, *args, **kwargs))

    return call


class MongoStore(StoreFlow):
    """`CompanyStore` on the backend's MongoDB database."""

    def __init__(
        self,
        url: str,
        *,
        database: str | None = None,
        companies: str = "companies",
        inspections: str = "fmcsainspections",
        leases: str = "fmcsa_tui_leases",
    ) -> None:
        self._url = url.strip()
        check_url_options(self._url)
        self._hosts, url_database = _parse_url(self._url)
        self._database = url_database or database or None
        self._names = {"companies": companies, "inspections": inspections, "leases": leases}
        self._client: AsyncMongoClient[Doc] | None = None
        self._db: AsyncDatabase[Doc] | None = None
        self._change_streams = False
        self._in_flight: set[asyncio.Future[Any]] = set()

    @property
    def description(self) -> str:
        return f"{self._hosts}/{self._database}" if self._database else self._hosts

    @property
    def live_refresh(self) -> LiveRefresh:
        """A change stream on a replica set (or sharded cluster), else polling."""
        return LiveRefresh.CHANGE_STREAM if self._change_streams else LiveRefresh.POLLING

    async def changes(self, since: datetime, interval: float) -> AsyncGenerator[Changes]:
        """Pushed by `watch_changes` where the server can, polled where it cannot."""
        if not self._change_streams:
            async with contextlib.aclosing(poll_changes(self, since, interval)) as polled:
                async for batch in polled:
                    yield batch
            return
        async with contextlib.aclosing(self.watch_changes()) as pushed:
            async for ids in pushed:
                if not ids:  # the stream lost its place
                    yield Changes([], everything=True)
                    continue
                docs = await self.get_companies(ids)
                yield Changes([summarize(doc) for doc in docs.values()])

    # --- lifecycle

    async def open(self, *, create: bool = True) -> None:  # not `_never_cancelled`: see close
        if self._client is not None:
            return
        if not self._database:
            raise StoreUnavailable(_NO_DATABASE)
        options: Doc = {
            "tz_aware": True,
            "appname": "fmcsa-tui",
            "datetime_conversion": DatetimeConversion.DATETIME_AUTO,
        }
        if not _has_option(self._url, "serverSelectionTimeoutMS"):
            options["serverSelectionTimeoutMS"] = DEFAULT_SERVER_SELECTION_TIMEOUT_MS
        # a server that stops answering mid-request must not hang a run (or the UI) forever
        for option, default in (
            ("socketTimeoutMS", 30_000),
            ("connectTimeoutMS", 5_000),
            ("waitQueueTimeoutMS", 30_000),  # a pool wedged by dead connections must not hang
        ):  # no `timeoutMS` by default: under it PyMongo retries until it runs out, so a
            # server that went away would take that long, not 5 s, to show as unreachable
            if not _has_option(self._url, option):
                options[option] = default
        try:
            client: AsyncMongoClient[Doc] = AsyncMongoClient(self._url, **options)
        except (PyMongoError, ValueError, TypeError) as error:
            url = redact_url(self._url)
            raise StoreUnavailable(f"cannot use MongoDB URL {url}: {_brief(error)}") from error
        try:
            await client.admin.command("ping")
            hello = await client.admin.command("hello")
            db = client.get_database(self._database)
            if create:
                await self._ensure_indexes(db)
        except BaseException as error:
            await client.close()
            if isinstance(error, ConnectionFailure):
                reason = f"cannot reach MongoDB at {self._hosts}: {_brief(error, self._hosts)}"
                raise StoreUnavailable(reason) from error
            if isinstance(error, PyMongoError):
                reason = _brief(error, self._hosts)
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
            log.debug("MongoDB call ended with %s", _brief(error))

    async def _ensure_indexes(self, db: AsyncDatabase[Doc]) -> None:
        """Create the indexes the queries need, only where no index has the same keys."""
        existing: dict[str, set[tuple[tuple[str, Any], ...]]] = {}
        for role, keys, options in _INDEXES:
            collection = db[self._names[role]]
            if role not in existing:
                cursor = await collection.list_indexes()
                existing[role] = {_key_pattern(index["key"]) async for index in cursor}
            if keys in existing[role]:
                continue
            try:
                await collection.create_index(list(keys), **options)
            except OperationFailure as error:
                if error.code not in _INDEX_SKIPPABLE:
                    raise
            existing[role].add(keys)

    def _collection(self, role: str) -> AsyncCollection[Doc]:
        if self._db is None:
            raise StoreError(f"store {self.description} is not open")
        return self._db[self._names[role]]

    def _raw_companies(self) -> AsyncCollection[RawBSONDocument]:
        if self._db is None:
            raise StoreError(f"store {self.description} is not open")
        raw = self._db.get_collection(self._names["companies"], codec_options=_RAW_CODEC)
        return cast(AsyncCollection[RawBSONDocument], raw)

    @contextmanager
    def _driver_errors(self) -> Iterator[None]:
        """Driver errors as one-line StoreErrors (StoreUnavailable when unreachable)."""
        try:
            yield
        except StoreError:
            raise
        except ConnectionFailure as error:  # AutoReconnect, NetworkTimeout, server selection
            reason = _brief(error, self._hosts)
            raise StoreUnavailable(f"MongoDB at {self._hosts} is unreachable: {reason}") from error
        except PyMongoError as error:  # OperationFailure and the rest
            raise StoreError(f"MongoDB at {self._hosts}: {_brief(error, self._hosts)}") from error
        except BSONError as error:
            raise StoreError(f"document cannot be stored: {_brief(error)}") from error
        except (OSError, TimeoutError) as error:  # raw socket errors the async driver lets out
            reason = _brief(error, self._hosts)
            raise StoreUnavailable(f"MongoDB at {self._hosts} is unreachable: {reason}") from error

    # --- reading: the primitives of `StoreFlow`, and get_companies

    @_never_cancelled
    async def _list(
        self, conditions: Sequence[Condition], limit: int | None
    ) -> list[CompanySummary]:
        """A query narrows, Python decides (see `narrowing_query`).

        The DOT order is the embedded store's, which no index gives, so every candidate
        comes over and `limit` applies after sorting.
        """
        query = narrowing_query(conditions)
        companies = self._raw_companies()
        plain = {"$and": [query, _NOT_SUSPECT]} if query else _NOT_SUSPECT
        suspects = {"$and": [query, _SUSPECT]} if query else _SUSPECT
        with self._driver_errors():
            light = await companies.find(plain, _SUMMARY_FIELDS).to_list(None)
            whole = await companies.find(suspects).to_list(None)
        return await asyncio.to_thread(_rows, light, whole, conditions, limit)

    @_never_cancelled
    async def _company_with_dot(self, dot: str) -> Doc | None:
        with self._driver_errors():
            return await self._collection("companies").find_one(
                {"dotNumber": {"$in": _dot_values([dot])}}
            )

    @_never_cancelled
    async def _company_with_id(self, company_id: str) -> Doc | None:
        with self._driver_errors():
            return await self._collection("companies").find_one(
                {"_id": {"$in": _id_values(company_id)}}
            )

    @_never_cancelled
    async def get_companies(self, ids: Sequence[str]) -> dict[str, Doc]:
        companies = self._collection("companies")
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Doc] = {}
        with self._driver_errors():
            for start in range(0, len(wanted), _ID_BATCH):
                chunk = wanted[start : start + _ID_BATCH]
                values = [value for text in chunk for value in _id_values(text)]
                async for doc in companies.find({"_id": {"$in": values}}):
                    key = str(doc["_id"])
                    if key in chunk:
                        found[key] = doc
        return found

    @_never_cancelled
    async def _inspections(self, company_id: str) -> list[Doc]:
        inspections = self._collection("inspections")
        with self._driver_errors():
            query = {"companyId": {"$in": _id_values(company_id)}}
            return await inspections.find(query).to_list(None)

    # --- adding

    @_never_cancelled
    async def _add(self, wanted: Wanted, now: datetime) -> AddResult:
        collection = self._collection("companies")
        dots = [dot for dot, _ in wanted]
        with self._driver_errors():
            stored = collection.find({"dotNumber": {"$in": _dot_values(dots)}}, {"dotNumber": 1})
            present = {dot async for doc in stored if (dot := _dot_text(doc.get("dotNumber")))}
        docs, result = plan_additions(wanted, present, _mongoose_company, now)
        await self._insert_all(docs)
        return result

    @_never_cancelled
    async def _insert(self, docs: list[Doc]) -> None:
        await self._refuse_collisions(docs)
        await self._insert_all(docs)

    async def _refuse_collisions(self, docs: list[Doc]) -> None:
        """Refuse, before inserting anything, a DOT or `_id` already taken."""
        dots: dict[str, None] = {}
        for doc in docs:
            dot = _dot_text(doc.get("dotNumber"))
            if dot is not None:
                if dot in dots:
                    raise dot_taken(dot)
                dots[dot] = None
        ids = [doc["_id"] for doc in docs]
        if len({bson.encode({"v": value}) for value in ids}) < len(ids):
            raise StoreError("two documents share one _id")
        collection = self._collection("companies")
        wanted = list(dots)
        with self._driver_errors():
            for start in range(0, len(wanted), _ID_BATCH):
                chunk = wanted[start : start + _ID_BATCH]
                query = {"dotNumber": {"$in": _dot_values(chunk)}}
                taken = await collection.find_one(query, {"dotNumber": 1})
                if taken is not None:
                    raise dot_taken(_dot_text(taken.get("dotNumber")))
            for start in range(0, len(ids), _ID_BATCH):
                taken = await collection.find_one(
                    {"_id": {"$in": ids[start : start + _ID_BATCH]}}, {"_id": 1}
                )
                if taken is not None:
                    raise id_taken(taken["_id"])

    async def _insert_all(self, docs: list[Doc]) -> None:
        """Insert all or nothing: what an ordered insert put in before failing comes out."""
        if not docs:
            return
        collection = self._collection("companies")
        with self._driver_errors():
            try:
                await collection.insert_many(docs, ordered=True)
            except BulkWriteError as error:
                inserted = docs[: int(error.details.get("nInserted", 0))]
                if inserted:
                    await collection.delete_many({"_id": {"$in": [d["_id"] for d in inserted]}})
                raise _collision(error, docs) from error

    # --- writing

    @_never_cancelled
    async def _record(self, company_id: str, update: SourceUpdate, inspections: list[Doc]) -> None:
        """Inspections first (an idempotent upsert), then one guarded company update.

        The update is a single `update_one`, so a failure leaves the company as it was;
        a miss (someone changed the errors meanwhile) reads again and retries.
        """
        companies = self._collection("companies")
        roots = {path.split(".", 1)[0] for path in update.fields} | {"fmcsaData", "name", "__v"}
        projection = dict.fromkeys(sorted(roots), 1)
        with self._driver_errors():
            for attempt in range(_CAS_ATTEMPTS):
                doc = await companies.find_one({"_id": {"$in": _id_values(company_id)}}, projection)
                if doc is None:
                    raise no_company(company_id)
                if attempt == 0 and inspections:
                    await self._upsert_inspections(doc["_id"], inspections)
                guard, change = guarded_update(doc, update)
                result = await companies.update_one(guard, change)
                if result.matched_count:
                    return
                await asyncio.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
        raise StoreError(
            f"company {company_id} kept changing during this write ({_CAS_ATTEMPTS} tries)"
        )

    async def _upsert_inspections(self, company_oid: Any, inspections: list[Doc]) -> None:
        """`$set` upserts on (companyId, reportNumber): `_id` and extra fields stay."""
        operations = [
            UpdateOne(
                {"companyId": company_oid, "reportNumber": inspection["reportNumber"]},
                {
                    "$set": {
                        **{key: value for key, value in inspection.items() if key != "_id"},
                        "companyId": company_oid,
                    }
                },
                upsert=True,
            )
            for inspection in inspections
        ]
        await self._collection("inspections").bulk_write(operations, ordered=True)

    # --- leases

    @_never_cancelled
    async def acquire_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool:
        now = utcnow()
        leases = self._collection("leases")
        with self._driver_errors():
            try:
                await leases.find_one_and_update(
                    {"_id": company_id, "$or": [{"expiresAt": {"$lte": now}}, {"owner": owner}]},
                    {"$set": {"owner": owner, "expiresAt": now + ttl}},
                    upsert=True,
                )
            except DuplicateKeyError:
                return False  # a live lease of another owner
        return True

    @_never_cancelled
    async def renew_lease(self, company_id: str, owner: str, ttl: timedelta) -> bool:
        leases = self._collection("leases")
        with self._driver_errors():
            result = await leases.update_one(
                {"_id": company_id, "owner": owner},
                {"$set": {"expiresAt": utcnow() + ttl}},
            )
        return result.matched_count > 0

    @_never_cancelled
    async def release_lease(self, company_id: str, owner: str) -> None:
        leases = self._collection("leases")
        with self._driver_errors():
            await leases.delete_one({"_id": company_id, "owner": owner})

    @_never_cancelled
    async def leased_ids(self, exclude_owner: str | None = None) -> set[str]:
        leases = self._collection("leases")
        query: Doc = {"expiresAt": {"$gt": utcnow()}}
        if exclude_owner is not None:
            query["owner"] = {"$ne": exclude_owner}
        with self._driver_errors():
            live = leases.find(query, {"_id": 1})
            return {str(doc["_id"]) async for doc in live}

    # --- live refresh

    async def watch_changes(self) -> AsyncGenerator[list[str]]:
        """Ids of companies whose list row may have changed, in batches, as they change.

        A change stream on `companies` (replica sets only: see `change_stream_supported`)
        filtered to inserts, replaces, deletes and updates of the name, DOT, MC or sync
        status. After a dropped connection it resumes from the last resume token (giving
        up with StoreUnavailable after about 90 s of failures); an empty batch means
        changes may have been missed (the token was lost): reload everything.

        The stream is read by a task of its own (see `_never_cancelled`): closing or
        cancelling this iterator asks it to stop after its current wait (at most
        `max_await_time_ms`), it is never cancelled inside the driver.
        """
        if not self._change_streams:
            raise StoreError(
                f"MongoDB at {self._hosts} is not a replica set: no change streams, poll instead"
            )
        batches: asyncio.Queue[list[str] | BaseException] = asyncio.Queue()
        stop = asyncio.Event()
        reader = asyncio.ensure_future(self._read_changes(batches, stop))
        self._in_flight.add(reader)
        reader.add_done_callback(self._settled)
        try:
            while True:
                batch = await batches.get()
                if isinstance(batch, BaseException):
                    raise batch
                yield batch
        finally:
            stop.set()

    async def _read_changes(
        self, batches: asyncio.Queue[list[str] | BaseException], stop: asyncio.Event
    ) -> None:
        try:
            await self._follow_changes(batches.put_nowait, stop)
        except Exception as error:
            batches.put_nowait(error)

    async def _follow_changes(self, emit: Callable[[list[str]], None], stop: asyncio.Event) -> None:
        token: Any = None
        failures = 0
        pending: list[str] = []
        while not stop.is_set():
            lost = False
            try:
                async with await self._open_change_stream(token) as stream:
                    while stream.alive and not stop.is_set():
                        change = await stream.try_next()
                        if change is None:
                            if pending:
                                emit(pending)
                                pending = []
                            continue
                        failures = 0
                        token = stream.resume_token
                        if change.get("operationType") == "invalidate":
                            lost = True  # the collection was dropped or renamed
                            break
                        key = (change.get("documentKey") or {}).get("_id")
                        if key is not None and str(key) not in pending:
                            pending.append(str(key))
            except ConnectionFailure as error:
                failures += 1
                if failures > _WATCH_ATTEMPTS:
                    reason = f"change stream on {self._hosts} lost: {_brief(error, self._hosts)}"
                    raise StoreUnavailable(reason) from error
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), min(0.25 * 2**failures, 30.0))
            except OperationFailure as error:
                if error.code not in _RESUME_LOST:
                    reason = f"change stream on {self.description}: {_brief(error)}"
                    raise StoreError(reason) from error
                lost = True
            if pending:  # seen before the line dropped: the token is already past them
                emit(pending)
                pending = []
            if lost:
                token = None
                emit([])

    async def _open_change_stream(self, token: Any) -> AsyncCollectionChangeStream[Doc]:
        companies = self._collection("companies")
        return await companies.watch(CHANGE_PIPELINE, resume_after=token, max_await_time_ms=250)


def _mongoose_company(company: NewCompany, now: datetime) -> Doc:
    """A new company as Mongoose writes it; the schema's required fields are checked."""
    name = company.name.strip()
    owner = company.extra.get("ownerId")
    if not name or owner is None or (isinstance(owner, str) and not owner.strip()):
        raise StoreError(OWNER_NEEDED)
    if isinstance(owner, str):
        if not ObjectId.is_valid(owner.strip()) or len(owner.strip()) != 24:
            raise StoreError(f"ownerId {owner!r} is not an ObjectId (24 hex digits)")
        owner = ObjectId(owner.strip())
    elif not isinstance(owner, ObjectId):
        raise StoreError(f"ownerId {owner!r} is not an ObjectId (24 hex digits)")
    extra = {**company.extra, "ownerId": owner}
    return new_company_doc(NewCompany(company.dot_number, name, company.mc_number, extra), now)


def _collision(error: BulkWriteError, docs: list[Doc]) -> StoreError:
    first = (error.details.get("writeErrors") or [{}])[0]
    doc = docs[first.get("index", 0)] if first.get("index", 0) < len(docs) else {}
    if first.get("code") == 11000:
        message = str(first.get("errmsg", ""))
        if "dotNumber" in message or "dotNumber" in (first.get("keyValue") or {}):
            return dot_taken(_dot_text(doc.get("dotNumber")))
        return id_taken(doc.get("_id"))
    return cannot_insert(_brief(error))
