"""Reading and writing documents: the CRUD commands over mongomock, and their cursors.

find, getMore, killCursors, aggregate, count, distinct; insert, update, delete,
findAndModify. Query, update and aggregation semantics are mongomock's (see the package
docstring for its gaps). A cursor is materialised when it is opened and paged out in
batches of at most `_BATCH_BYTES`. In replica-set mode every write records its change
events (`ChangeStreams._record`).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

import bson
import mongomock
from bson.int64 import Int64
from bson.raw_bson import RawBSONDocument

from tests.support.mongo_wire.changestreams import ChangeStreams, changed_paths
from tests.support.mongo_wire.errors import CommandError, error_code
from tests.support.mongo_wire.framing import CODEC, MAX_BSON_SIZE

#: Room left in a reply for the cursor envelope around a batch of documents.
_BATCH_BYTES = MAX_BSON_SIZE - 64 * 1024
_DEFAULT_FIRST_BATCH = 101


def _sort_list(sort: Any) -> list[tuple[str, Any]] | None:
    if not sort:
        return None
    if isinstance(sort, dict):
        return list(sort.items())
    return [tuple(item) for item in sort]


@dataclass
class _Cursor:
    ns: str
    docs: list[dict[str, Any]]
    pos: int = 0


class Crud(ChangeStreams):
    """The CRUD part of `MongoWireServer`: its storage and its (non-stream) cursors."""

    def __init__(self, replica_set: str | None) -> None:
        super().__init__(replica_set)
        self.storage = mongomock.MongoClient(tz_aware=True)
        #: Guards ``storage``: hold it to read or seed the data from another thread.
        self.lock = threading.Lock()
        self._cursors: dict[int, _Cursor] = {}

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
                    self._record(coll, "update", old["_id"], change=changed_paths(old, new))
            if raw.get("upserted") is not None:
                upserted = coll.find_one({"_id": raw["upserted"]})
                self._record(coll, "insert", raw["upserted"], full=upserted)
        return raw

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
                errors.append({"index": index, "code": error_code(exc), "errmsg": str(exc)})
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
                errors.append({"index": index, "code": error_code(exc), "errmsg": str(exc)})
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
                errors.append({"index": index, "code": error_code(exc), "errmsg": str(exc)})
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
            return self._change_stream_more(cursor_id, stream, command.get("batchSize"))
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
