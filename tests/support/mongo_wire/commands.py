"""The command handlers: dispatch by name, and every command that is not CRUD.

`Commands._execute` runs one command under the storage lock and turns an exception into
MongoDB's ``{ok: 0, ...}`` answer. Here are the handshake and server commands (hello,
buildInfo, serverStatus...), databases and collections (listCollections, create,
drop...) and indexes; reads and writes are in `crud`, change streams in `changestreams`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import bson
from bson.binary import Binary
from mongomock import filtering
from pymongo.errors import CollectionInvalid, PyMongoError

from tests.support.mongo_wire.crud import Crud
from tests.support.mongo_wire.errors import CommandError, error_doc
from tests.support.mongo_wire.framing import MAX_BSON_SIZE, MAX_MESSAGE_SIZE

log = logging.getLogger(__name__)

SERVER_VERSION = "6.0.0-mongomock"
_ELECTION_ID = bson.ObjectId("7fffffff0000000000000001")
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


#: What a user with only the `read` role may not run (`refuse_writes`).
_WRITE_COMMANDS = frozenset({
    "insert", "update", "delete", "findAndModify", "findandmodify", "create", "drop",
    "dropDatabase", "createIndexes", "dropIndexes", "deleteIndexes",
})  # fmt: skip


class Commands(Crud):
    """Every command `MongoWireServer` answers, by name."""

    #: The server's address, for hello and serverStatus (`MongoWireServer` sets them).
    host: str
    _port: int

    def __init__(self, replica_set: str | None, *, refuse_writes: bool = False) -> None:
        super().__init__(replica_set)
        #: Answer every write as MongoDB does for a user with only the `read` role.
        self.refuse_writes = refuse_writes
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

    def _connection_count(self) -> int:
        """How many connections are open (the server knows)."""
        return 0

    def _execute(
        self, connection_id: int, name: str, command: dict[str, Any], db_name: str
    ) -> dict[str, Any]:
        if name.lower() in ("hello", "ismaster"):
            return self._cmd_hello(command, db_name, connection_id=connection_id)
        if self.refuse_writes and name in _WRITE_COMMANDS:
            return {
                "ok": 0.0,
                "errmsg": f"not authorized on {db_name} to execute command"
                f" {{ {name}: {command.get(name)!r}, ... }}",
                "code": 13,
                "codeName": "Unauthorized",
            }
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
            return error_doc(exc)
        reply.setdefault("ok", 1.0)
        return reply

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
            "connections": {"current": self._connection_count()},
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

    # ------------------------------------------------------------------ indexes

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
