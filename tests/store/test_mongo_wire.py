"""The MongoDB wire-protocol test server, driven by the real PyMongo clients."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import struct
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import bson
import pymongo
import pytest
from bson import Binary, ObjectId
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    OperationFailure,
    WriteError,
)
from pymongo.write_concern import WriteConcern

from tests.support.mongo_wire import MongoWireServer

UTC = dt.UTC


@pytest.fixture
def server() -> Iterator[MongoWireServer]:
    with MongoWireServer() as running:
        yield running


@pytest.fixture
async def client(server: MongoWireServer) -> AsyncIterator[AsyncMongoClient]:
    opened: AsyncMongoClient = AsyncMongoClient(
        server.url, tz_aware=True, serverSelectionTimeoutMS=3000
    )
    yield opened
    await opened.close()


async def test_hello_and_build_info(client: AsyncMongoClient) -> None:
    hello = await client.admin.command("hello")
    assert hello["isWritablePrimary"] is True
    assert hello["maxWireVersion"] == 17
    assert "setName" not in hello
    info = await client.server_info()
    assert info["version"] == "6.0.0-mongomock"
    assert (await client.admin.command("ping"))["ok"] == 1.0


async def test_insert_find_round_trip_keeps_types(client: AsyncMongoClient) -> None:
    coll = client.fmcsa.companies
    when = dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    ref = ObjectId()
    key = Binary.from_uuid(uuid.uuid4())  # the client has no uuidRepresentation set
    result = await coll.insert_one(
        {"dot": 42, "seen": when, "ref": ref, "key": key, "nested": {"a": [1, 2.5, None]}}
    )
    doc = await coll.find_one({"_id": result.inserted_id})
    assert doc is not None
    assert doc["_id"] == result.inserted_id
    assert doc["seen"] == when
    assert doc["seen"].tzinfo is not None
    assert doc["ref"] == ref
    assert doc["key"] == key
    assert doc["nested"] == {"a": [1, 2.5, None]}
    assert await coll.find_one({"seen": {"$gte": when}}) is not None
    assert await coll.find_one({"dot": 43}) is None


async def test_native_uuids_round_trip(server: MongoWireServer) -> None:
    client: AsyncMongoClient = AsyncMongoClient(
        server.url, uuidRepresentation="standard", serverSelectionTimeoutMS=3000
    )
    try:
        key = uuid.uuid4()
        await client.fmcsa.runs.insert_one({"_id": key, "of": [key]})
        assert await client.fmcsa.runs.find_one({"of": key}) == {"_id": key, "of": [key]}
    finally:
        await client.close()


async def test_find_projection_sort_skip_limit(client: AsyncMongoClient) -> None:
    coll = client.fmcsa.companies
    await coll.insert_many([{"dot": n, "name": f"c{n}", "extra": n * 2} for n in range(20)])
    docs = await coll.find(
        {"dot": {"$gte": 5}}, {"_id": 0, "name": 1}, sort=[("dot", -1)], skip=2, limit=3
    ).to_list()
    assert docs == [{"name": "c17"}, {"name": "c16"}, {"name": "c15"}]


async def test_cursor_paging_over_many_documents(
    server: MongoWireServer, client: AsyncMongoClient
) -> None:
    coll = client.fmcsa.companies
    await coll.insert_many([{"dot": n} for n in range(1000)])
    cursor = coll.find({}, {"dot": 1, "_id": 0}, sort=[("dot", 1)], batch_size=37)
    seen = [doc["dot"] async for doc in cursor]
    assert seen == list(range(1000))
    assert server._cursors == {}  # exhausted cursors are gone

    # A cursor closed early is killed on the server.
    cursor = coll.find({}, batch_size=10)
    await cursor.next()
    assert len(server._cursors) == 1
    await cursor.close()
    assert server._cursors == {}


async def test_update_operators_and_upsert(client: AsyncMongoClient) -> None:
    coll = client.fmcsa.companies
    await coll.insert_one({"_id": 1, "tags": ["a", "b"], "scores": [1, 5, 9], "n": 1})
    result = await coll.update_one(
        {"_id": 1},
        {
            "$set": {"address.city": "Austin", "address.state": "TX"},
            "$push": {"tags": "c"},
            "$pull": {"scores": {"$gte": 5}},
            "$inc": {"n": 2},
        },
    )
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert await coll.find_one({"_id": 1}) == {
        "_id": 1,
        "tags": ["a", "b", "c"],
        "scores": [1],
        "n": 3,
        "address": {"city": "Austin", "state": "TX"},
    }

    result = await coll.update_one({"dot": 7}, {"$set": {"name": "new"}}, upsert=True)
    assert result.upserted_id is not None
    assert result.matched_count == 0
    assert await coll.find_one({"_id": result.upserted_id}, {"_id": 0}) == {
        "dot": 7,
        "name": "new",
    }

    many = await coll.update_many({}, {"$set": {"flag": True}})
    assert (many.matched_count, many.modified_count) == (2, 2)
    replaced = await coll.replace_one({"_id": 1}, {"only": "this"})
    assert replaced.modified_count == 1
    assert await coll.find_one({"_id": 1}) == {"_id": 1, "only": "this"}


async def test_pipeline_update_works_array_filters_do_not(client: AsyncMongoClient) -> None:
    coll = client.fmcsa.companies
    await coll.insert_one({"_id": 1, "a": 2, "items": [{"k": 1}, {"k": 2}]})
    await coll.update_one({"_id": 1}, [{"$set": {"b": {"$multiply": ["$a", 10]}}}])
    assert (await coll.find_one({"_id": 1}))["b"] == 20
    with pytest.raises(WriteError) as caught:
        await coll.update_one({"_id": 1}, {"$set": {"items.$[i].k": 0}}, array_filters=[{"i.k": 1}])
    assert caught.value.code == 238


async def test_find_one_and_update(client: AsyncMongoClient) -> None:
    coll = client.fmcsa.companies
    await coll.insert_many([{"dot": 1, "v": 1}, {"dot": 2, "v": 5}])
    after = await coll.find_one_and_update(
        {"dot": 1},
        {"$inc": {"v": 1}},
        projection={"_id": 0},
        return_document=ReturnDocument.AFTER,
    )
    assert after == {"dot": 1, "v": 2}
    before = await coll.find_one_and_update(
        {}, {"$set": {"v": 0}}, sort=[("v", -1)], projection={"_id": 0, "dot": 1}
    )
    assert before == {"dot": 2}
    upserted = await coll.find_one_and_update(
        {"dot": 3},
        {"$set": {"v": 9}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert upserted is not None
    assert (upserted["dot"], upserted["v"]) == (3, 9)
    assert await coll.find_one_and_update({"dot": 99}, {"$set": {"v": 1}}) is None
    removed = await coll.find_one_and_delete({"dot": 3})
    assert removed is not None
    assert removed["v"] == 9
    assert await coll.count_documents({}) == 2


async def test_unique_index_and_list_indexes(client: AsyncMongoClient) -> None:
    coll = client.fmcsa.companies
    name = await coll.create_index([("dot", 1)], unique=True)
    await coll.create_index([("updatedAt", -1)], name="by_update")
    await coll.insert_one({"dot": 1})
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"dot": 1})
    await coll.insert_one({"dot": 2})
    with pytest.raises(DuplicateKeyError):
        await coll.update_one({"dot": 2}, {"$set": {"dot": 1}})
    with pytest.raises(DuplicateKeyError):
        await coll.find_one_and_update({"dot": 2}, {"$set": {"dot": 1}})
    indexes = {ix["name"]: ix async for ix in await coll.list_indexes()}
    assert set(indexes) == {"_id_", name, "by_update"}
    assert indexes[name]["unique"] is True
    assert dict(indexes[name]["key"]) == {"dot": 1}
    assert dict(indexes["by_update"]["key"]) == {"updatedAt": -1}
    await coll.drop_index("by_update")
    assert "by_update" not in await coll.index_information()
    assert await client.fmcsa.missing.index_information() == {}


async def test_count_distinct_aggregate_delete(client: AsyncMongoClient) -> None:
    coll = client.fmcsa.companies
    await coll.insert_many(
        [{"state": s, "units": u} for s, u in [("TX", 3), ("TX", 4), ("OK", 1), ("CA", 10)]]
    )
    assert await coll.count_documents({"state": "TX"}) == 2
    assert await coll.estimated_document_count() == 4
    assert sorted(await coll.distinct("state")) == ["CA", "OK", "TX"]
    groups = await (
        await coll.aggregate(
            [
                {"$match": {"units": {"$gte": 2}}},
                {"$group": {"_id": "$state", "total": {"$sum": "$units"}}},
                {"$sort": {"total": -1}},
            ]
        )
    ).to_list()
    assert groups == [{"_id": "CA", "total": 10}, {"_id": "TX", "total": 7}]
    counted = await (await coll.aggregate([{"$count": "n"}])).to_list()
    assert counted == [{"n": 4}]
    assert (await coll.delete_one({"state": "TX"})).deleted_count == 1
    assert (await coll.delete_many({"units": {"$lt": 5}})).deleted_count == 2
    assert await coll.count_documents({}) == 1


async def test_collections_databases_and_errors(client: AsyncMongoClient) -> None:
    db = client.fmcsa
    await db.create_collection("companies")
    await db.other.insert_one({"x": 1})
    assert await db.list_collection_names() == ["companies", "other"]
    assert await db.list_collection_names(filter={"name": "other"}) == ["other"]
    assert "fmcsa" in await client.list_database_names()
    await db.drop_collection("other")
    await db.drop_collection("never-existed")  # the driver ignores "ns not found"
    assert await db.list_collection_names() == ["companies"]
    with pytest.raises(OperationFailure) as caught:
        await db.command("noSuchThing")
    assert caught.value.code == 59
    with pytest.raises(OperationFailure) as caught:
        await db.companies.find_one({"a": {"$bogus": 1}})
    assert caught.value.code != 0


async def test_unacknowledged_write(client: AsyncMongoClient) -> None:
    coll = client.fmcsa.get_collection("companies", write_concern=WriteConcern(w=0))
    result = await coll.insert_one({"dot": 5})
    assert not result.acknowledged
    assert await client.fmcsa.companies.count_documents({"dot": 5}) == 1


async def test_stop_drops_connections_and_start_recovers(server: MongoWireServer) -> None:
    client: AsyncMongoClient = AsyncMongoClient(
        server.url, tz_aware=True, serverSelectionTimeoutMS=1000
    )
    try:
        coll = client.fmcsa.companies
        await coll.insert_one({"dot": 1})
        port = server.port
        server.stop()
        with pytest.raises(AutoReconnect):  # ServerSelectionTimeoutError is one too
            await coll.find_one({"dot": 1})
        server.start()
        assert server.port == port
        assert (await coll.find_one({"dot": 1}, {"_id": 0})) == {"dot": 1}
    finally:
        await client.close()


async def test_fail_next_drops_the_connection(
    server: MongoWireServer, client: AsyncMongoClient
) -> None:
    coll = client.fmcsa.companies
    await coll.insert_one({"dot": 1})
    server.fail_next("insert")
    with pytest.raises(AutoReconnect):
        await coll.insert_one({"dot": 2})
    assert await coll.count_documents({}) == 1
    server.fail_next("update", apply=True)
    with pytest.raises(AutoReconnect):
        await coll.update_one({"dot": 1}, {"$set": {"done": True}})
    assert await coll.count_documents({"done": True}) == 1  # applied, reply lost
    await coll.insert_one({"dot": 3})
    assert await coll.count_documents({}) == 2


def _exchange(sock: socket.socket, op_code: int, payload: bytes) -> tuple[int, bytes]:
    sock.sendall(struct.pack("<iiii", 16 + len(payload), 7, 0, op_code) + payload)
    header = sock.recv(16, socket.MSG_WAITALL)
    length, _request_id, response_to, reply_op = struct.unpack("<iiii", header)
    assert response_to == 7
    return reply_op, sock.recv(length - 16, socket.MSG_WAITALL)


def test_raw_op_query_handshake_and_op_msg_sequences(server: MongoWireServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        query = b"admin.$cmd\x00" + struct.pack("<ii", 0, -1) + bson.encode({"isMaster": 1})
        op, body = _exchange(sock, 2004, struct.pack("<i", 0) + query)
        assert op == 1  # OP_REPLY
        flags, cursor_id, _start, returned = struct.unpack_from("<iqii", body)
        assert (flags, cursor_id, returned) == (0, 0, 1)
        assert bson.decode(body[20:])["ismaster"] is True

        # OP_MSG with a kind-1 document sequence and a (bogus, ignored) checksum.
        docs = b"".join(bson.encode({"n": n}) for n in range(3))
        sequence = b"documents\x00" + docs
        msg = (
            struct.pack("<I", 1)
            + b"\x00"
            + bson.encode({"insert": "raw", "$db": "t"})
            + b"\x01"
            + struct.pack("<i", 4 + len(sequence))
            + sequence
            + b"CRC!"
        )
        op, body = _exchange(sock, 2013, msg)
        assert op == 2013
        assert body[4] == 0
        assert bson.decode(body[5:]) == {"n": 3, "ok": 1.0}


async def test_many_concurrent_operations(client: AsyncMongoClient) -> None:
    coll = client.fmcsa.companies
    await asyncio.gather(*(coll.insert_one({"k": n}) for n in range(100)))
    found = await asyncio.gather(*(coll.find_one({"k": n}) for n in range(100)))
    assert all(doc is not None and doc["k"] == n for n, doc in enumerate(found))


def test_sync_client_works(server: MongoWireServer) -> None:
    with pymongo.MongoClient(server.url, tz_aware=True, serverSelectionTimeoutMS=3000) as client:
        coll = client.fmcsa.companies
        coll.insert_many([{"dot": n} for n in range(250)])
        assert [d["dot"] for d in coll.find({}, batch_size=50).sort("dot", -1)][:3] == [
            249,
            248,
            247,
        ]
        assert coll.count_documents({"dot": {"$lt": 10}}) == 10


def test_storage_is_shared_with_the_test(server: MongoWireServer) -> None:
    with server.lock:
        server.storage.fmcsa.companies.insert_one({"dot": 8})
    with pymongo.MongoClient(server.url, serverSelectionTimeoutMS=3000) as client:
        assert client.fmcsa.companies.find_one({}, {"_id": 0}) == {"dot": 8}


def test_runs_standalone() -> None:
    root = Path(__file__).resolve().parents[2]
    with subprocess.Popen(
        [sys.executable, "-m", "tests.support.mongo_wire", "--port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert url.startswith("mongodb://127.0.0.1:")
            with pymongo.MongoClient(url, serverSelectionTimeoutMS=3000) as client:
                assert client.admin.command("ping")["ok"] == 1.0
        finally:
            proc.terminate()
            proc.wait(timeout=10)
