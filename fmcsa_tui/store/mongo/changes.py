"""The change stream: which changes a list row cares about, and following them.

`CHANGE_PIPELINE` keeps inserts, replaces, deletes, and updates of the name, DOT, MC or
sync status; `follow_changes` reads the stream, batches the ids it names and resumes
by token after a dropped connection. Change streams need a replica set (or a sharded
cluster); a standalone server is polled instead (see `MongoStore.changes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from pymongo.asynchronous.change_stream import AsyncCollectionChangeStream
from pymongo.errors import ConnectionFailure, OperationFailure

from fmcsa_tui.store.base import StoreError, StoreUnavailable
from fmcsa_tui.store.mongo.errors import brief
from fmcsa_tui.store.updates import SYNC_STATUS

__all__ = ["CHANGE_PIPELINE", "follow_changes"]

Doc = dict[str, Any]

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


async def follow_changes(
    open_stream: Callable[[Any], Awaitable[AsyncCollectionChangeStream[Doc]]],
    emit: Callable[[list[str]], None],
    stop: asyncio.Event,
    hosts: str,
    description: str,
) -> None:
    """Emit the ids of changed companies in batches until `stop` is set.

    `open_stream(token)` opens the stream after a resume token (None: from now). Each
    quiet wait hands on the ids gathered so far. A dropped connection is retried with
    backoff, resuming by token (StoreUnavailable after `_WATCH_ATTEMPTS` failures in a
    row); a lost token starts afresh and emits an empty batch: changes may have been
    missed, reload everything.
    """
    token: Any = None
    failures = 0
    pending: list[str] = []
    while not stop.is_set():
        lost = False
        try:
            async with await open_stream(token) as stream:
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
                reason = f"change stream on {hosts} lost: {brief(error, hosts)}"
                raise StoreUnavailable(reason) from error
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(0.25 * 2**failures, 30.0))
        except OperationFailure as error:
            if error.code not in _RESUME_LOST:
                raise StoreError(f"change stream on {description}: {brief(error)}") from error
            lost = True
        if pending:  # seen before the line dropped: the token is already past them
            emit(pending)
            pending = []
        if lost:
            token = None
            emit([])
