"""A test fake of a MongoDB server: the real driver, a real socket, mongomock's storage.

No MongoDB server can be installed on the machines this project is developed on, so the
MongoDB backend is tested through the real driver (``pymongo.AsyncMongoClient``) over a
real TCP socket against this small server. It speaks the MongoDB wire protocol
(OP_QUERY for the driver's first handshake, OP_MSG for everything else) on an asyncio
loop in a background thread, and runs each command against one ``mongomock.MongoClient``
that it keeps for its whole life, so data survives a ``stop()``/``start()`` the way a real
server's data survives a restart on disk.

It is NOT a database. Its limits:

* Query, update and aggregation semantics are mongomock's, with mongomock's gaps:
  ``arrayFilters``, collations, ``hint`` and ``let`` are not implemented (the statement
  fails with code 238 "NotImplemented"); only the aggregation stages mongomock knows work.
  Pipeline-style updates work for ``$set``/``$addFields``/``$project``/``$unset``/
  ``$replaceRoot``/``$replaceWith``.
* Standalone by default. ``MongoWireServer(replica_set="rs0")`` answers ``hello`` as
  the primary of a one-member replica set and serves collection change streams
  (``$changeStream`` with ``resumeAfter``/``startAfter``, then any stages mongomock can
  run; ``getMore`` waits up to ``maxTimeMS`` for events). Events are kept in memory for
  the server's life (so a stream resumes by token after ``stop()``/``start()``) and are
  recorded only for writes that arrive over the wire; ``updateDescription`` lists the
  deepest changed paths (an array as a whole). No transactions, read/write concerns
  (accepted and ignored), auth, TLS, compression or TTL expiry (``expireAfterSeconds`` is
  stored but never acted on).
* Cursors are materialised when opened and are lost on ``stop()``.
* Commands run one at a time; mongomock scans every document per query and per unique
  index check, so bulk loads into a collection with a unique index are O(n^2). Keep test
  data to thousands of documents, not hundreds of thousands.
* Checksums are not verified (they are stripped).
* UUIDs are kept as ``bson.Binary`` in storage (see ``DECODE_CODEC``); the driver still
  gets back exactly the bytes it sent.

Use::

    with MongoWireServer() as server:
        client = pymongo.AsyncMongoClient(server.url, tz_aware=True)

or run ``python -m tests.support.mongo_wire --port 27017`` to try the CLI against it by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import datetime as dt
import itertools
import logging
import random
import signal
import struct
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import bson
import mongomock
from bson.binary import Binary, UuidRepresentation
from bson.codec_options import CodecOptions
from bson.int64 import Int64
from bson.raw_bson import RawBSONDocument
from bson.timestamp import Timestamp
from mongomock import filtering
from pymongo.errors import CollectionInvalid, DuplicateKeyError, PyMongoError

__all__ = ["MongoWireServer"]

log = logging.getLogger(__name__)

#: Replies are encoded with this (a native ``uuid.UUID`` goes out as subtype 4).
CODEC = CodecOptions(
    document_class=dict, tz_aware=True, uuid_representation=UuidRepresentation.STANDARD
)
#: Requests are decoded with this: identical but for UUIDs, which stay ``Binary`` (subtype
#: 4, or 3 for legacy ones). mongomock validates every stored document by encoding it with
#: bson's default UNSPECIFIED representation, which refuses a native ``uuid.UUID``; as
#: ``Binary`` they are stored, compared and sent back byte for byte.
DECODE_CODEC = CODEC.with_options(uuid_representation=UuidRepresentation.UNSPECIFIED)

OP_REPLY = 1
OP_QUERY = 2004
OP_MSG = 2013

_HEADER = struct.Struct("<iiii")
_INT32 = struct.Struct("<i")
_UINT32 = struct.Struct("<I")

_CHECKSUM_PRESENT = 1 << 0
_MORE_TO_COME = 1 << 1

MAX_BSON_SIZE = 16 * 1024 * 1024
MAX_MESSAGE_SIZE = 48_000_000
#: Room left in a reply for the cursor envelope around a batch of documents.
_BATCH_BYTES = MAX_BSON_SIZE - 64 * 1024
_DEFAULT_FIRST_BATCH = 101

SERVER_VERSION = "6.0.0-mongomock"
_ELECTION_ID = bson.ObjectId("7fffffff0000000000000001")
_HISTORY_LOST = 286  # ChangeStreamHistoryLost
MAX_WIRE_VERSION = 17  # MongoDB 6.0

#: Fields a driver adds to commands that this server accepts and ignores.
_IGNORED_FIELDS = frozenset(
    {
        "$db",
        "lsid",
        "txnNumber",
        "$clusterTime",
        "readConcern",
        "writeConcern",
        "$readPreference",
        "apiVersion",
        "apiStrict",
        "apiDeprecationErrors",
        "comment",
        "maxTimeMS",
    }
)


class CommandError(Exception):
    """A command failure with a MongoDB error code, answered as ``{ok: 0, ...}``."""

    def __init__(self, errmsg: str, code: int = 1, code_name: str | None = None) -> None:
        super().__init__(errmsg)
        self.errmsg = errmsg
        self.code = code
        self.code_name = code_name


def _token(seen: int) -> dict[str, str]:
    """The resume token that means "after the first `seen` events"."""
    return {"_data": f"{seen:016X}"}


def _token_position(token: Any) -> int:
    try:
        return int(token["_data"], 16)
    except (TypeError, KeyError, ValueError) as exc:
        raise CommandError(f"bad resume token {token!r}", _HISTORY_LOST) from exc


def _changed_paths(
    old: dict[str, Any], new: dict[str, Any], prefix: str = ""
) -> tuple[dict[str, Any], list[str]]:
    """`updatedFields` and `removedFields` as MongoDB reports them, to the deepest
    changed document path (an array counts as one value)."""
    updated: dict[str, Any] = {}
    removed: list[str] = []
    for key, value in new.items():
        path = f"{prefix}{key}"
        if key not in old:
            updated[path] = value
        elif old[key] != value or type(old[key]) is not type(value):
            if isinstance(value, dict) and isinstance(old[key], dict):
                more, gone = _changed_paths(old[key], value, f"{path}.")
                updated.update(more)
                removed.extend(gone)
            else:
                updated[path] = value
    removed.extend(f"{prefix}{key}" for key in old if key not in new)
    return updated, removed


@dataclass
class _AwaitEvents:
    """A change stream's getMore found no events: `answer` again once some come."""

    answer: Callable[..., Any]
    max_time: float


class _DropConnection(Exception):
    """Raised by the fail_next hook: close the connection without replying."""


def _error_code(exc: BaseException) -> int:
    if isinstance(exc, CommandError):
        return exc.code
    if isinstance(exc, DuplicateKeyError):
        return 11000
    if isinstance(exc, PyMongoError):
        code = getattr(exc, "code", None)
        return code if isinstance(code, int) else 1
    if isinstance(exc, NotImplementedError):
        return 238  # NotImplemented
    return 1


def _error_doc(exc: BaseException) -> dict[str, Any]:
    code = _error_code(exc)
    doc: dict[str, Any] = {"ok": 0.0, "errmsg": str(exc) or type(exc).__name__, "code": code}
    code_name = exc.code_name if isinstance(exc, CommandError) else _CODE_NAMES.get(code)
    if code_name:
        doc["codeName"] = code_name
    return doc


_CODE_NAMES = {
    1: "InternalError",
    2: "BadValue",
    9: "FailedToParse",
    26: "NamespaceNotFound",
    27: "IndexNotFound",
    43: "CursorNotFound",
    48: "NamespaceExists",
    59: "CommandNotFound",
    72: "InvalidOptions",
    238: "NotImplemented",
    11000: "DuplicateKey",
}


def _sort_list(sort: Any) -> list[tuple[str, Any]] | None:
    if not sort:
        return None
    if isinstance(sort, dict):
        return list(sort.items())
    return [tuple(item) for item in sort]


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\x00", pos)
    return data[pos:end].decode("utf-8"), end + 1


def _decode_one(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
    (size,) = _INT32.unpack_from(data, pos)
    return bson.decode(data[pos : pos + size], codec_options=DECODE_CODEC), pos + size


@dataclass
class _Cursor:
    ns: str
    docs: list[dict[str, Any]]
    pos: int = 0


@dataclass
class _ChangeCursor:
    """A change stream: the next event to look at, and what to run over the events."""

    db: str
    coll: str
    position: int
    pipeline: list[dict[str, Any]]


@dataclass
class _Connection:
    id: int
    writer: asyncio.StreamWriter
    task: asyncio.Task[None] | None = None
    closed: bool = False


@dataclass
class _Failure:
    remaining: int
    apply: bool


@dataclass
class _LoopState:
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    server: asyncio.Server | None = None
    connections: dict[int, _Connection] = field(default_factory=dict)
    #: Set (and replaced) whenever a change event is recorded: wakes awaiting getMores.
    changed: asyncio.Event | None = None


class MongoWireServer:
    """A MongoDB wire-protocol server over mongomock storage, on a background thread."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, replica_set: str | None = None
    ) -> None:
        self.host = host
        self._port = port
        self.replica_set = replica_set
        self.storage = mongomock.MongoClient(tz_aware=True)
        #: Change events (replica-set mode only), oldest first; a token is an index here.
        self.events: list[dict[str, Any]] = []
        self._change_cursors: dict[int, _ChangeCursor] = {}
        #: The ``$changeStream`` options of every stream opened, in order.
        self.streams_opened: list[dict[str, Any]] = []
        self._scratch = mongomock.MongoClient(tz_aware=True).changes
        #: Guards ``storage``: hold it to read or seed the data from another thread.
        self.lock = threading.Lock()
        self._cursors: dict[int, _Cursor] = {}
        self._failures: dict[str, _Failure] = {}
        self._state: _LoopState | None = None
        self._connection_ids = itertools.count(1)
        self._request_ids = itertools.count(1)
        self._commands: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
            "hello": self._cmd_hello,
            "ping": self._cmd_ok,
            "buildInfo": self._cmd_build_info,
            "buildinfo": self._cmd_build_info,
            "getParameter": self._cmd_get_parameter,
            "endSessions": self._cmd_ok,
            "killSessions": self._cmd_ok,
            "killAllSessions": self._cmd_ok,
            "startSession": self._cmd_start_session,
            "serverStatus": self._cmd_server_status,
            "connectionStatus": self._cmd_connection_status,
            "whatsmyuri": self._cmd_ok,
            "dbStats": self._cmd_db_stats,
            "listDatabases": self._cmd_list_databases,
            "listCollections": self._cmd_list_collections,
            "create": self._cmd_create,
            "drop": self._cmd_drop,
            "dropDatabase": self._cmd_drop_database,
            "insert": self._cmd_insert,
            "update": self._cmd_update,
            "delete": self._cmd_delete,
            "findAndModify": self._cmd_find_and_modify,
            "findandmodify": self._cmd_find_and_modify,
            "find": self._cmd_find,
            "getMore": self._cmd_get_more,
            "killCursors": self._cmd_kill_cursors,
            "count": self._cmd_count,
            "distinct": self._cmd_distinct,
            "aggregate": self._cmd_aggregate,
            "createIndexes": self._cmd_create_indexes,
            "listIndexes": self._cmd_list_indexes,
            "dropIndexes": self._cmd_drop_indexes,
            "deleteIndexes": self._cmd_drop_indexes,
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the server has not been started yet")
        return self._port

    @property
    def url(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    @property
    def running(self) -> bool:
        return self._state is not None

    def start(self) -> MongoWireServer:
        """Listen (on the same port as before, after a stop) and return once listening."""
        if self._state is not None:
            return self
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=loop.run_forever, name=f"mongo-wire-{self._port or 'new'}", daemon=True
        )
        state = _LoopState(loop=loop, thread=thread)
        thread.start()
        try:
            future = asyncio.run_coroutine_threadsafe(self._listen(state), loop)
            future.result(timeout=10)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
            raise
        self._state = state
        return self

    def stop(self) -> None:
        """Close the listening socket and drop every open connection (the driver sees it)."""
        state, self._state = self._state, None
        if state is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(state), state.loop).result(timeout=10)
        finally:
            state.loop.call_soon_threadsafe(state.loop.stop)
            state.thread.join(timeout=10)
            state.loop.close()
            self._cursors.clear()
            self._change_cursors.clear()

    def __enter__(self) -> MongoWireServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def fail_next(self, command_name: str, times: int = 1, *, apply: bool = False) -> None:
        """Make the next `times` `command_name` commands drop their connection unanswered.

        With ``apply=True`` the command runs first (the write lands but its reply is lost).
        """
        self._failures[command_name.lower()] = _Failure(remaining=times, apply=apply)

    async def _listen(self, state: _LoopState) -> None:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = _Connection(id=next(self._connection_ids), writer=writer)
            conn.task = asyncio.current_task()
            state.connections[conn.id] = conn
            try:
                await self._serve(conn, reader)
            except asyncio.CancelledError:
                pass  # stop(): the connection is being dropped on purpose
            finally:
                state.connections.pop(conn.id, None)
                with contextlib.suppress(Exception):
                    writer.transport.abort()

        state.changed = asyncio.Event()
        state.server = await asyncio.start_server(
            on_connect, self.host, self._port, reuse_address=True
        )
        self._port = state.server.sockets[0].getsockname()[1]

    async def _shutdown(self, state: _LoopState) -> None:
        if state.server is not None:
            state.server.close()
        # A connection accepted just before close() reaches `on_connect` a loop turn
        # later; left open it would hold a client waiting for a reply forever. So drop
        # connections until a few turns pass with none left.
        quiet_turns = 0
        while quiet_turns < 5:
            tasks = []
            for conn in list(state.connections.values()):
                conn.writer.transport.abort()
                if conn.task is not None:
                    conn.task.cancel()
                    tasks.append(conn.task)
            await asyncio.gather(*tasks, return_exceptions=True)
            quiet_turns = quiet_turns + 1 if not tasks else 0
            await asyncio.sleep(0.01)
        if state.server is not None:
            await state.server.wait_closed()

    # ------------------------------------------------------------------ protocol

    async def _serve(self, conn: _Connection, reader: asyncio.StreamReader) -> None:
        writer = conn.writer
        while True:
            try:
                header = await reader.readexactly(_HEADER.size)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            length, request_id, _response_to, op_code = _HEADER.unpack(header)
            if length < _HEADER.size or length > MAX_MESSAGE_SIZE:
                log.warning("mongo_wire: bad message length %d, closing", length)
                return
            try:
                body = await reader.readexactly(length - _HEADER.size)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            try:
                reply = self._handle_message(conn, request_id, op_code, body)
                if isinstance(reply, _AwaitEvents):
                    reply = await self._await_events(reply)
            except _DropConnection:
                return
            except Exception:
                log.exception("mongo_wire: cannot handle message with opCode %d", op_code)
                return
            if reply is None:
                continue
            writer.write(reply)
            try:
                await writer.drain()
            except ConnectionError:
                return

    async def _await_events(self, pending: _AwaitEvents) -> bytes | None:
        """A change stream's getMore: answer when events come or its maxTimeMS runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + pending.max_time
        while True:
            state = self._state
            changed = state.changed if state is not None else None
            reply = pending.answer()
            if not isinstance(reply, _AwaitEvents):
                return reply
            remaining = deadline - loop.time()
            if changed is None or remaining <= 0:
                return pending.answer(final=True)  # type: ignore[return-value]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _handle_message(
        self, conn: _Connection, request_id: int, op_code: int, body: bytes
    ) -> bytes | _AwaitEvents | None:
        if op_code == OP_MSG:
            return self._handle_op_msg(conn, request_id, body)
        if op_code == OP_QUERY:
            return self._handle_op_query(conn, request_id, body)
        raise ValueError(f"unsupported opCode {op_code}")

    def _handle_op_msg(
        self, conn: _Connection, request_id: int, body: bytes
    ) -> bytes | _AwaitEvents | None:
        (flags,) = _UINT32.unpack_from(body, 0)
        end = len(body) - 4 if flags & _CHECKSUM_PRESENT else len(body)
        pos = 4
        command: dict[str, Any] | None = None
        sequences: dict[str, list[dict[str, Any]]] = {}
        while pos < end:
            kind = body[pos]
            pos += 1
            if kind == 0:
                command, pos = _decode_one(body, pos)
            elif kind == 1:
                (size,) = _INT32.unpack_from(body, pos)
                section_end = pos + size
                identifier, doc_pos = _cstring(body, pos + 4)
                docs = sequences.setdefault(identifier, [])
                while doc_pos < section_end:
                    doc, doc_pos = _decode_one(body, doc_pos)
                    docs.append(doc)
                pos = section_end
            else:
                raise ValueError(f"unsupported OP_MSG section kind {kind}")
        if command is None:
            raise ValueError("OP_MSG without a body section")
        for identifier, docs in sequences.items():
            command.setdefault(identifier, []).extend(docs)
        db_name = command.get("$db", "admin")

        def answer(final: bool = False) -> bytes | _AwaitEvents | None:
            reply = self._run_command(conn, command, db_name)
            if not final and reply.get("$awaitEvents"):
                return pending
            reply.pop("$awaitEvents", None)
            if flags & _MORE_TO_COME:
                return None
            payload = _UINT32.pack(0) + b"\x00" + bson.encode(reply, codec_options=CODEC)
            return self._frame(request_id, OP_MSG, payload)

        pending = _AwaitEvents(answer, float(command.get("maxTimeMS") or 1000) / 1000)
        return answer()

    def _handle_op_query(self, conn: _Connection, request_id: int, body: bytes) -> bytes:
        pos = 4  # flags
        namespace, pos = _cstring(body, pos)
        pos += 8  # numberToSkip, numberToReturn
        query, pos = _decode_one(body, pos)
        db_name, _, coll_name = namespace.partition(".")
        flags = 0
        if coll_name != "$cmd":
            flags = 2  # QueryFailure
            reply: dict[str, Any] = {"$err": "legacy OP_QUERY find is not supported", "code": 2}
        else:
            if "$query" in query:  # the legacy wrapped form
                query = query["$query"]
            reply = self._run_command(conn, query, db_name)
        payload = struct.pack("<iqii", flags, 0, 0, 1) + bson.encode(reply, codec_options=CODEC)
        return self._frame(request_id, OP_REPLY, payload)

    def _frame(self, response_to: int, op_code: int, payload: bytes) -> bytes:
        header = _HEADER.pack(
            _HEADER.size + len(payload), next(self._request_ids), response_to, op_code
        )
        return header + payload

    # ------------------------------------------------------------------ dispatch

    def _run_command(
        self, conn: _Connection, command: dict[str, Any], db_name: str
    ) -> dict[str, Any]:
        if not command:
            return _error_doc(CommandError("empty command", 9))
        name = next(iter(command))
        failure = self._failures.get(name.lower())
        if failure is not None and failure.remaining > 0:
            failure.remaining -= 1
            if failure.remaining == 0:
                del self._failures[name.lower()]
            if failure.apply:
                self._execute(conn, name, command, db_name)
            raise _DropConnection
        return self._execute(conn, name, command, db_name)

    def _execute(
        self, conn: _Connection, name: str, command: dict[str, Any], db_name: str
    ) -> dict[str, Any]:
        if name.lower() in ("hello", "ismaster"):
            return self._cmd_hello(command, db_name, connection_id=conn.id)
        handler = self._commands.get(name)
        if handler is None:
            return {
                "ok": 0.0,
                "errmsg": f"no such command: '{name}'",
                "code": 59,
                "codeName": "CommandNotFound",
            }
        try:
            with self.lock:
                reply = handler(command, db_name)
        except Exception as exc:
            if not isinstance(exc, (CommandError, PyMongoError)):
                log.debug("mongo_wire: %s failed", name, exc_info=True)
            return _error_doc(exc)
        reply.setdefault("ok", 1.0)
        return reply

    # ------------------------------------------------------------------ helpers

    def _collection(self, command: dict[str, Any], db_name: str) -> Any:
        name = next(iter(command.values()))
        if not isinstance(name, str) or not name:
            raise CommandError(f"collection name must be a string, not {name!r}", 2, "BadValue")
        return self.storage[db_name][name]

    def _collection_exists(self, db_name: str, coll_name: str) -> bool:
        return coll_name in self.storage[db_name].list_collection_names()

    def _open_cursor(
        self,
        ns: str,
        docs: list[dict[str, Any]],
        batch_size: int | None,
        single_batch: bool = False,
    ) -> dict[str, Any]:
        cursor = _Cursor(ns=ns, docs=docs)
        first = self._next_batch(cursor, batch_size if batch_size else _DEFAULT_FIRST_BATCH)
        cursor_id = 0
        if not single_batch and cursor.pos < len(cursor.docs):
            cursor_id = random.randint(1, 2**62)
            self._cursors[cursor_id] = cursor
        return {"cursor": {"firstBatch": first, "id": Int64(cursor_id), "ns": ns}}

    @staticmethod
    def _next_batch(cursor: _Cursor, batch_size: int | None) -> list[RawBSONDocument]:
        batch: list[RawBSONDocument] = []
        total = 0
        while cursor.pos < len(cursor.docs):
            if batch_size and len(batch) >= batch_size:
                break
            raw = bson.encode(cursor.docs[cursor.pos], codec_options=CODEC)
            if batch and total + len(raw) > _BATCH_BYTES:
                break
            batch.append(RawBSONDocument(raw))
            total += len(raw)
            cursor.pos += 1
        return batch

    @staticmethod
    def _check_update(update: Any, multi: bool) -> str:
        """'pipeline', 'operators' or 'replacement'; raises on a malformed update."""
        if isinstance(update, list):
            return "pipeline"
        if not isinstance(update, dict):
            raise CommandError("Update argument must be either an object or an array", 9)
        if update and next(iter(update)).startswith("$"):
            return "operators"
        if multi:
            raise CommandError("multi update is not supported for replacement-style update", 9)
        return "replacement"

    def _apply_update(
        self,
        coll: Any,
        query: dict[str, Any],
        update: Any,
        *,
        upsert: bool,
        multi: bool,
        array_filters: list[Any] | None,
    ) -> dict[str, Any]:
        kind = self._check_update(update, multi)
        before: list[dict[str, Any]] = []
        if self.replica_set is not None:  # what the change events will compare against
            before = list(coll.find(query)) if multi else [d for d in [coll.find_one(query)] if d]
        if kind == "replacement":
            if array_filters:
                raise NotImplementedError("arrayFilters are not implemented in mongomock")
            result = coll.replace_one(query, update, upsert=upsert)
        elif multi:
            result = coll.update_many(query, update, upsert=upsert, array_filters=array_filters)
        else:
            result = coll.update_one(query, update, upsert=upsert, array_filters=array_filters)
        raw = dict(result.raw_result)
        if self.replica_set is not None:
            for old in before:
                new = coll.find_one({"_id": old["_id"]})
                if new is None or new == old:
                    continue
                if kind == "replacement":
                    self._record(coll, "replace", old["_id"], full=new)
                else:
                    self._record(coll, "update", old["_id"], change=_changed_paths(old, new))
            if raw.get("upserted") is not None:
                upserted = coll.find_one({"_id": raw["upserted"]})
                self._record(coll, "insert", raw["upserted"], full=upserted)
        return raw

    # ------------------------------------------------------------------ commands

    def _cmd_ok(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        return {"ok": 1.0}

    def _cmd_hello(
        self, command: dict[str, Any], db_name: str, connection_id: int = 0
    ) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "ismaster": True,
            "isWritablePrimary": True,
            "helloOk": True,
            "maxBsonObjectSize": MAX_BSON_SIZE,
            "maxMessageSizeBytes": MAX_MESSAGE_SIZE,
            "maxWriteBatchSize": 100_000,
            "localTime": dt.datetime.now(dt.UTC),
            "logicalSessionTimeoutMinutes": 30,
            "connectionId": connection_id,
            "minWireVersion": 0,
            "maxWireVersion": MAX_WIRE_VERSION,
            "readOnly": False,
            "ok": 1.0,
        }
        if self.replica_set is not None:
            me = f"{self.host}:{self._port}"
            reply.update(setName=self.replica_set, hosts=[me], primary=me, me=me, setVersion=1,
                         secondary=False, electionId=_ELECTION_ID)  # fmt: skip
        return reply

    def _cmd_build_info(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        return {
            "version": SERVER_VERSION,
            "versionArray": [6, 0, 0, 0],
            "gitVersion": "mongomock",
            "bits": 64,
            "maxBsonObjectSize": MAX_BSON_SIZE,
            "storageEngines": ["mongomock"],
        }

    def _cmd_get_parameter(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "featureCompatibilityVersion": {"version": "6.0"},
            "authenticationMechanisms": [],
            "transactionLifetimeLimitSeconds": 60,
        }
        if command.get("getParameter") == "*":
            return dict(params)
        return {key: params[key] for key in command if key in params}

    def _cmd_start_session(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        return {"id": {"id": Binary(uuid.uuid4().bytes, 4)}, "timeoutMinutes": 30}

    def _cmd_server_status(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        return {
            "host": f"{self.host}:{self._port}",
            "version": SERVER_VERSION,
            "process": "mongo_wire",
            "localTime": dt.datetime.now(dt.UTC),
            "connections": {"current": len(self._state.connections) if self._state else 0},
        }

    def _cmd_connection_status(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        return {"authInfo": {"authenticatedUsers": [], "authenticatedUserRoles": []}}

    def _cmd_db_stats(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        db = self.storage[db_name]
        names = db.list_collection_names()
        objects = sum(db[name].estimated_document_count() for name in names)
        return {"db": db_name, "collections": len(names), "objects": objects}

    def _cmd_list_databases(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        docs = [
            {"name": name, "sizeOnDisk": 0, "empty": False}
            for name in self.storage.list_database_names()
        ]
        query = command.get("filter") or {}
        docs = [doc for doc in docs if filtering.filter_applies(query, doc)]
        if command.get("nameOnly"):
            docs = [{"name": doc["name"]} for doc in docs]
        return {"databases": docs, "totalSize": 0}

    def _cmd_list_collections(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        docs = [
            {
                "name": name,
                "type": "collection",
                "options": {},
                "info": {"readOnly": False},
                "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"},
            }
            for name in sorted(self.storage[db_name].list_collection_names())
        ]
        query = command.get("filter") or {}
        docs = [doc for doc in docs if filtering.filter_applies(query, doc)]
        if command.get("nameOnly"):
            docs = [{"name": doc["name"], "type": doc["type"]} for doc in docs]
        batch_size = (command.get("cursor") or {}).get("batchSize")
        return self._open_cursor(f"{db_name}.$cmd.listCollections", docs, batch_size)

    def _cmd_create(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        name = command["create"]
        try:
            self.storage[db_name].create_collection(name)
        except CollectionInvalid as exc:
            raise CommandError(
                f"Collection {db_name}.{name} already exists.", 48, "NamespaceExists"
            ) from exc
        return {}

    def _cmd_drop(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        name = command["drop"]
        if not self._collection_exists(db_name, name):
            raise CommandError("ns not found", 26, "NamespaceNotFound")
        coll = self.storage[db_name][name]
        indexes = len(coll.index_information())
        self.storage[db_name].drop_collection(name)
        return {"nIndexesWas": indexes, "ns": f"{db_name}.{name}"}

    def _cmd_drop_database(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        self.storage.drop_database(db_name)
        return {"dropped": db_name}

    def _cmd_insert(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        coll = self._collection(command, db_name)
        ordered = command.get("ordered", True)
        inserted = 0
        errors: list[dict[str, Any]] = []
        for index, doc in enumerate(command.get("documents") or []):
            try:
                coll.insert_one(doc)
                inserted += 1
                self._record(coll, "insert", doc["_id"], full=doc)
            except Exception as exc:
                errors.append({"index": index, "code": _error_code(exc), "errmsg": str(exc)})
                if ordered:
                    break
        reply: dict[str, Any] = {"n": inserted}
        if errors:
            reply["writeErrors"] = errors
        return reply

    def _cmd_update(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        coll = self._collection(command, db_name)
        ordered = command.get("ordered", True)
        matched = modified = 0
        upserted: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for index, stmt in enumerate(command.get("updates") or []):
            try:
                if stmt.get("collation") or stmt.get("hint"):
                    raise NotImplementedError("collation and hint are not implemented")
                result = self._apply_update(
                    coll,
                    stmt.get("q") or {},
                    stmt.get("u"),
                    upsert=bool(stmt.get("upsert")),
                    multi=bool(stmt.get("multi")),
                    array_filters=stmt.get("arrayFilters"),
                )
            except Exception as exc:
                errors.append({"index": index, "code": _error_code(exc), "errmsg": str(exc)})
                if ordered:
                    break
                continue
            matched += result.get("n", 0)
            modified += result.get("nModified", 0)
            if result.get("upserted") is not None:
                upserted.append({"index": index, "_id": result["upserted"]})
        reply: dict[str, Any] = {"n": matched, "nModified": modified}
        if upserted:
            reply["upserted"] = upserted
        if errors:
            reply["writeErrors"] = errors
        return reply

    def _cmd_delete(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        coll = self._collection(command, db_name)
        ordered = command.get("ordered", True)
        deleted = 0
        errors: list[dict[str, Any]] = []
        for index, stmt in enumerate(command.get("deletes") or []):
            try:
                query = stmt.get("q") or {}
                one = stmt.get("limit", 0) == 1
                gone = (  # for the change events (replica-set mode)
                    [d["_id"] for d in coll.find(query, {"_id": 1}).limit(1 if one else 0)]
                    if self.replica_set is not None
                    else []
                )
                result = coll.delete_one(query) if one else coll.delete_many(query)
                deleted += result.deleted_count
                for key in gone:
                    self._record(coll, "delete", key)
            except Exception as exc:
                errors.append({"index": index, "code": _error_code(exc), "errmsg": str(exc)})
                if ordered:
                    break
        reply: dict[str, Any] = {"n": deleted}
        if errors:
            reply["writeErrors"] = errors
        return reply

    def _cmd_find_and_modify(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        coll = self._collection(command, db_name)
        query = command.get("query") or {}
        sort = _sort_list(command.get("sort"))
        projection = command.get("fields") or command.get("projection") or None
        remove = bool(command.get("remove"))
        update = command.get("update")
        new = bool(command.get("new"))
        upsert = bool(command.get("upsert"))
        if remove and (update is not None or new or upsert):
            raise CommandError("remove cannot be combined with update, new or upsert", 9)
        if not remove and update is None:
            raise CommandError("Either an update or remove=true must be specified", 9)

        old = coll.find_one(query, sort=sort)
        old_projected = coll.find_one({"_id": old["_id"]}, projection) if old is not None else None
        if remove:
            if old is not None:
                coll.delete_one({"_id": old["_id"]})
                self._record(coll, "delete", old["_id"])
            return {"lastErrorObject": {"n": 1 if old else 0}, "value": old_projected}

        if old is None and not upsert:
            return {"lastErrorObject": {"n": 0, "updatedExisting": False}, "value": None}
        target = {"_id": old["_id"]} if old is not None else query
        result = self._apply_update(
            coll,
            target,
            update,
            upsert=old is None,
            multi=False,
            array_filters=command.get("arrayFilters"),
        )
        last_error: dict[str, Any] = {"n": 1, "updatedExisting": old is not None}
        if old is None:
            last_error["upserted"] = result["upserted"]
            doc_id = result["upserted"]
        else:
            doc_id = old["_id"]
        value = coll.find_one({"_id": doc_id}, projection) if new else old_projected
        return {"lastErrorObject": last_error, "value": value}

    def _cmd_find(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        coll = self._collection(command, db_name)
        for unsupported in ("collation", "hint", "min", "max", "let"):
            if command.get(unsupported):
                raise NotImplementedError(f"find {unsupported!r} is not implemented")
        limit = int(command.get("limit") or 0)
        single_batch = bool(command.get("singleBatch")) or limit < 0
        docs = list(
            coll.find(
                command.get("filter") or {},
                command.get("projection") or None,
                skip=int(command.get("skip") or 0),
                limit=abs(limit),
                sort=_sort_list(command.get("sort")),
            )
        )
        return self._open_cursor(
            coll.full_name, docs, command.get("batchSize"), single_batch=single_batch
        )

    def _cmd_get_more(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        cursor_id = int(command["getMore"])
        stream = self._change_cursors.get(cursor_id)
        if stream is not None:
            batch = self._change_batch(stream, command.get("batchSize"))
            reply: dict[str, Any] = {
                "cursor": {
                    "nextBatch": batch,
                    "postBatchResumeToken": _token(stream.position),
                    "id": Int64(cursor_id),
                    "ns": f"{stream.db}.{stream.coll}",
                }
            }
            if not batch:
                reply["$awaitEvents"] = True  # `_await_events` asks again when events come
            return reply
        cursor = self._cursors.get(cursor_id)
        if cursor is None:
            raise CommandError(f"cursor id {cursor_id} not found", 43, "CursorNotFound")
        batch = self._next_batch(cursor, command.get("batchSize"))
        if cursor.pos >= len(cursor.docs):
            del self._cursors[cursor_id]
            cursor_id = 0
        return {"cursor": {"nextBatch": batch, "id": Int64(cursor_id), "ns": cursor.ns}}

    def _cmd_kill_cursors(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        killed, not_found = [], []
        for cursor_id in command.get("cursors") or []:
            stream = self._change_cursors.pop(int(cursor_id), None)
            if self._cursors.pop(int(cursor_id), None) is not None or stream is not None:
                killed.append(Int64(cursor_id))
            else:
                not_found.append(Int64(cursor_id))
        return {
            "cursorsKilled": killed,
            "cursorsNotFound": not_found,
            "cursorsAlive": [],
            "cursorsUnknown": [],
        }

    def _cmd_count(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        coll = self._collection(command, db_name)
        kwargs: dict[str, Any] = {"skip": int(command.get("skip") or 0)}
        limit = abs(int(command.get("limit") or 0))
        if limit:
            kwargs["limit"] = limit
        return {"n": coll.count_documents(command.get("query") or {}, **kwargs)}

    def _cmd_distinct(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        coll = self._collection(command, db_name)
        return {"values": coll.distinct(command["key"], command.get("query") or None)}

    def _cmd_aggregate(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        if not isinstance(command.get("aggregate"), str):
            raise NotImplementedError("database-level aggregate is not implemented")
        coll = self._collection(command, db_name)
        pipeline = command.get("pipeline") or []
        batch_size = (command.get("cursor") or {}).get("batchSize")
        if pipeline and "$changeStream" in pipeline[0]:
            return self._open_change_stream(coll, pipeline, batch_size)
        docs = list(coll.aggregate(pipeline))
        return self._open_cursor(coll.full_name, docs, batch_size)

    # ------------------------------------------------------------------ change streams

    def _record(self, coll: Any, kind: str, key: Any, *, full: Any = None,
                change: tuple[dict[str, Any], list[str]] | None = None) -> None:  # fmt: skip
        """Log a change event (replica-set mode) and wake the streams waiting for one."""
        if self.replica_set is None:
            return
        now = dt.datetime.now(dt.UTC)
        event: dict[str, Any] = {
            "_id": _token(len(self.events) + 1),
            "operationType": kind,
            "clusterTime": Timestamp(int(now.timestamp()), len(self.events) + 1),
            "wallTime": now,
            "ns": {"db": coll.database.name, "coll": coll.name},
            "documentKey": {"_id": key},
        }
        if full is not None:
            event["fullDocument"] = full
        if change is not None:
            updated, removed = change
            event["updateDescription"] = {
                "updatedFields": updated, "removedFields": removed, "truncatedArrays": []
            }  # fmt: skip
        self.events.append(event)
        state = self._state
        if state is not None and state.changed is not None:
            state.changed.set()
            state.changed = asyncio.Event()

    def _open_change_stream(
        self, coll: Any, pipeline: list[dict[str, Any]], batch_size: int | None
    ) -> dict[str, Any]:
        if self.replica_set is None:
            raise CommandError("The $changeStream stage is only supported on replica sets", 40573)
        options = pipeline[0]["$changeStream"] or {}
        self.streams_opened.append(dict(options))
        token = options.get("resumeAfter") or options.get("startAfter")
        at = options.get("startAtOperationTime")
        if token is not None:
            position = _token_position(token)
            if position > len(self.events):
                raise CommandError(
                    "cannot resume stream; the resume token was not found", _HISTORY_LOST,
                    "ChangeStreamHistoryLost",
                )  # fmt: skip
        elif at is not None:
            position = next(
                (n for n, e in enumerate(self.events) if e["clusterTime"] >= at), len(self.events)
            )
        else:
            position = len(self.events)
        stream = _ChangeCursor(coll.database.name, coll.name, position, pipeline[1:])
        cursor_id = random.randint(1, 2**62)
        self._change_cursors[cursor_id] = stream
        batch = self._change_batch(stream, batch_size)
        now = dt.datetime.now(dt.UTC)
        return {
            "cursor": {
                "firstBatch": batch,
                "postBatchResumeToken": _token(stream.position),
                "id": Int64(cursor_id),
                "ns": coll.full_name,
            },
            "operationTime": Timestamp(int(now.timestamp()), len(self.events) + 1),
        }

    def _change_batch(self, stream: _ChangeCursor, batch_size: int | None) -> list[Any]:
        """The stream's next events that pass its pipeline; moves its position past them."""
        ns = {"db": stream.db, "coll": stream.coll}
        candidates = [e for e in self.events[stream.position :] if e["ns"] == ns]
        passed = candidates
        if stream.pipeline and candidates:
            scratch = self._scratch["events"]
            scratch.delete_many({})
            scratch.insert_many(copy.deepcopy(candidates))
            passed = list(scratch.aggregate(stream.pipeline))
        if batch_size and len(passed) > batch_size:
            passed = passed[:batch_size]
            stream.position = _token_position(passed[-1]["_id"])
        else:
            stream.position = len(self.events)
        return passed

    def _cmd_create_indexes(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        coll = self._collection(command, db_name)
        existed = self._collection_exists(db_name, coll.name)
        before = len(coll.index_information()) if existed else 1
        for spec in command.get("indexes") or []:
            kwargs = {
                key: spec[key]
                for key in ("name", "unique", "sparse", "expireAfterSeconds")
                if key in spec
            }
            if "partialFilterExpression" in spec:
                kwargs["partialFilterExpression"] = spec["partialFilterExpression"]
            coll.create_index(list(spec["key"].items()), **kwargs)
        after = len(coll.index_information())
        return {
            "createdCollectionAutomatically": not existed,
            "numIndexesBefore": before,
            "numIndexesAfter": after,
        }

    def _cmd_list_indexes(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        coll = self._collection(command, db_name)
        if not self._collection_exists(db_name, coll.name):
            raise CommandError(f"ns does not exist: {coll.full_name}", 26, "NamespaceNotFound")
        docs = []
        for name, info in coll.index_information().items():
            doc: dict[str, Any] = {"v": 2, "key": dict(info["key"]), "name": name}
            for option in ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression"):
                if option in info:
                    doc[option] = info[option]
            docs.append(doc)
        batch_size = (command.get("cursor") or {}).get("batchSize")
        return self._open_cursor(coll.full_name, docs, batch_size)

    def _cmd_drop_indexes(self, command: dict[str, Any], db_name: str) -> dict[str, Any]:
        coll = self._collection(command, db_name)
        if not self._collection_exists(db_name, coll.name):
            raise CommandError(f"ns not found {coll.full_name}", 26, "NamespaceNotFound")
        info = coll.index_information()
        index = command.get("index")
        if index == "*":
            coll.drop_indexes()
            return {"nIndexesWas": len(info)}
        names: Iterable[Any] = index if isinstance(index, list) else [index]
        for item in names:
            if isinstance(item, dict):
                key = list(item.items())
                matches = [n for n, i in info.items() if list(i["key"]) == key]
                if not matches:
                    raise CommandError(f"can't find index with key: {item}", 27, "IndexNotFound")
                item = matches[0]
            if item == "_id_":
                raise CommandError("cannot drop _id index", 72, "InvalidOptions")
            if item not in info:
                raise CommandError(f"index not found with name [{item}]", 27, "IndexNotFound")
            coll.drop_index(item)
        return {"nIndexesWas": len(info)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.mongo_wire",
        description="Run the mongomock-backed MongoDB wire-protocol test server.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27017)
    parser.add_argument("--replica-set", metavar="NAME", help="act as a one-member replica set")
    args = parser.parse_args(argv)
    server = MongoWireServer(args.host, args.port, replica_set=args.replica_set).start()
    print(server.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
