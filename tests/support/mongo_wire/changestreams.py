"""Change streams (replica-set mode only): the event log, stream cursors, resume tokens.

Every write that arrives over the wire records an event (`ChangeStreams._record`); the
log is kept for the server's whole life, so a stream resumes by token after a
``stop()``/``start()``. A resume token is the number of events before it, in hex. A
stream's pipeline after ``$changeStream`` runs in mongomock over a scratch collection
of the candidate events. A getMore that finds none is answered with ``$awaitEvents``,
and the server answers it again when an event comes or ``maxTimeMS`` runs out.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import mongomock
from bson.int64 import Int64
from bson.timestamp import Timestamp

from tests.support.mongo_wire.errors import CommandError

_HISTORY_LOST = 286  # ChangeStreamHistoryLost


def _token(seen: int) -> dict[str, str]:
    """The resume token that means "after the first `seen` events"."""
    return {"_data": f"{seen:016X}"}


def _token_position(token: Any) -> int:
    try:
        return int(token["_data"], 16)
    except (TypeError, KeyError, ValueError) as exc:
        raise CommandError(f"bad resume token {token!r}", _HISTORY_LOST) from exc


def changed_paths(
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
                more, gone = changed_paths(old[key], value, f"{path}.")
                updated.update(more)
                removed.extend(gone)
            else:
                updated[path] = value
    removed.extend(f"{prefix}{key}" for key in old if key not in new)
    return updated, removed


@dataclass
class _ChangeCursor:
    """A change stream: the next event to look at, and what to run over the events."""

    db: str
    coll: str
    position: int
    pipeline: list[dict[str, Any]]


class ChangeStreams:
    """The change-stream part of `MongoWireServer`: its events and its stream cursors."""

    def __init__(self, replica_set: str | None) -> None:
        self.replica_set = replica_set
        #: Change events (replica-set mode only), oldest first; a token is an index here.
        self.events: list[dict[str, Any]] = []
        self._change_cursors: dict[int, _ChangeCursor] = {}
        #: The ``$changeStream`` options of every stream opened, in order.
        self.streams_opened: list[dict[str, Any]] = []
        self._scratch = mongomock.MongoClient(tz_aware=True).changes

    def _wake_change_streams(self) -> None:
        """An event was recorded: answer the getMores waiting for one (the server does)."""

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
        self._wake_change_streams()

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

    def _change_stream_more(
        self, cursor_id: int, stream: _ChangeCursor, batch_size: int | None
    ) -> dict[str, Any]:
        """A getMore on a change stream; with no events yet it asks to be awaited."""
        batch = self._change_batch(stream, batch_size)
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
