"""`MongoWireServer`: the asyncio server on its own thread, its connections, start and stop.

``start()`` runs an event loop on a daemon thread and listens; each connection reads
whole messages (`framing`), runs their command (`commands`) and writes the answer.
``stop()`` closes the socket and drops every connection, as a server going away does,
and keeps the data: ``start()`` listens again on the same port. ``fail_next`` drops the
connection of the next few commands of a name, unanswered, to test a lost reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.mongo_wire.commands import Commands
from tests.support.mongo_wire.errors import CommandError, error_doc
from tests.support.mongo_wire.framing import (
    HEADER,
    MAX_MESSAGE_SIZE,
    OP_MSG,
    OP_QUERY,
    OP_REPLY,
    decode_op_msg,
    decode_op_query,
    encode_op_msg,
    encode_op_reply,
    frame,
)

__all__ = ["MongoWireServer"]

log = logging.getLogger(__name__)


@dataclass
class _AwaitEvents:
    """A change stream's getMore found no events: `answer` again once some come."""

    answer: Callable[..., Any]
    max_time: float


class _DropConnection(Exception):
    """Raised by the fail_next hook: close the connection without replying."""


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


class MongoWireServer(Commands):
    """A MongoDB wire-protocol server over mongomock storage, on a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        replica_set: str | None = None,
        refuse_writes: bool = False,
    ) -> None:
        super().__init__(replica_set, refuse_writes=refuse_writes)
        self.host = host
        self._port = port
        self._failures: dict[str, _Failure] = {}
        self._state: _LoopState | None = None
        self._connection_ids = itertools.count(1)
        self._request_ids = itertools.count(1)

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

    def _wake_change_streams(self) -> None:
        state = self._state
        if state is not None and state.changed is not None:
            state.changed.set()
            state.changed = asyncio.Event()

    def _connection_count(self) -> int:
        return len(self._state.connections) if self._state else 0

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
                header = await reader.readexactly(HEADER.size)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            length, request_id, _response_to, op_code = HEADER.unpack(header)
            if length < HEADER.size or length > MAX_MESSAGE_SIZE:
                log.warning("mongo_wire: bad message length %d, closing", length)
                return
            try:
                body = await reader.readexactly(length - HEADER.size)
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
        command, more_to_come = decode_op_msg(body)
        db_name = command.get("$db", "admin")

        def answer(final: bool = False) -> bytes | _AwaitEvents | None:
            reply = self._run_command(conn, command, db_name)
            if not final and reply.get("$awaitEvents"):
                return pending
            reply.pop("$awaitEvents", None)
            if more_to_come:
                return None
            return self._frame(request_id, OP_MSG, encode_op_msg(reply))

        pending = _AwaitEvents(answer, float(command.get("maxTimeMS") or 1000) / 1000)
        return answer()

    def _handle_op_query(self, conn: _Connection, request_id: int, body: bytes) -> bytes:
        namespace, query = decode_op_query(body)
        db_name, _, coll_name = namespace.partition(".")
        flags = 0
        if coll_name != "$cmd":
            flags = 2  # QueryFailure
            reply: dict[str, Any] = {"$err": "legacy OP_QUERY find is not supported", "code": 2}
        else:
            if "$query" in query:  # the legacy wrapped form
                query = query["$query"]
            reply = self._run_command(conn, query, db_name)
        return self._frame(request_id, OP_REPLY, encode_op_reply(flags, reply))

    def _frame(self, response_to: int, op_code: int, payload: bytes) -> bytes:
        return frame(next(self._request_ids), response_to, op_code, payload)

    # ------------------------------------------------------------------ dispatch

    def _run_command(
        self, conn: _Connection, command: dict[str, Any], db_name: str
    ) -> dict[str, Any]:
        if not command:
            return error_doc(CommandError("empty command", 9))
        name = next(iter(command))
        failure = self._failures.get(name.lower())
        if failure is not None and failure.remaining > 0:
            failure.remaining -= 1
            if failure.remaining == 0:
                del self._failures[name.lower()]
            if failure.apply:
                self._execute(conn.id, name, command, db_name)
            raise _DropConnection
        return self._execute(conn.id, name, command, db_name)
