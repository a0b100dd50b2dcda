"""MongoDB specifics: Mongoose documents survive writes byte for byte, indexes are only
added where missing, refusals and outages are one line, and listings agree exactly with
the embedded store on messy documents.

Runs against the wire-protocol test server (`tests.support.mongo_wire`) through the real driver.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import bson
import mongomock
import pymongo
import pytest
from bson import Decimal128, Int64, ObjectId
from pymongo.errors import AutoReconnect

from fmcsa_tui.models import Source
from fmcsa_tui.store import (
    CompanyFilter,
    MongoStore,
    NewCompany,
    SourceData,
    SqliteStore,
    StatusFilter,
    StoreError,
    StoreUnavailable,
    open_store,
)
from fmcsa_tui.store.base import LiveRefresh
from fmcsa_tui.store.mongo import CHANGE_PIPELINE, OWNER_NEEDED, guarded_update
from fmcsa_tui.store.updates import failure_update, set_path, success_update, targeted_sets
from tests.support.mongo_wire import MongoWireServer
from tests.support.waiting import eventually as until

T0 = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
RUN = T0 + timedelta(hours=1)
AT = RUN + timedelta(seconds=5)
SS = "fmcsaData.syncStatus"
T = TypeVar("T")


def with_option(url: str, option: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{option}"


@pytest.fixture
def database() -> str:
    return f"fmcsa_mongo_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def backend(mongo_wire: MongoWireServer, database: str) -> Iterator[Any]:
    """The server as the Node backend sees it: a plain synchronous driver on the database."""
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_wire.url, tz_aware=True)
    yield client[database]
    client.drop_database(database)
    client.close()


@pytest.fixture
async def mongo(
    mongo_wire: MongoWireServer, database: str, backend: Any
) -> AsyncIterator[MongoStore]:
    store = MongoStore(mongo_wire.url, database=database)
    await store.open()
    yield store
    await store.close()


def raw(doc: Any) -> bytes:
    """The exact BSON bytes of a document or a part of it."""
    return bson.encode({"v": doc})


def without(doc: dict[str, Any], *paths: str) -> dict[str, Any]:
    trimmed = copy.deepcopy(doc)
    for path in paths:
        *parents, leaf = path.split(".")
        node = trimmed
        for key in parents:
            node = node.get(key, {})
        if isinstance(node, dict):
            node.pop(leaf, None)
    return trimmed


def mongoose_doc(dot: Any, **changes: Any) -> dict[str, Any]:
    """A company as the Node backend writes it, with the fields fmcsa-tui does not know."""
    doc: dict[str, Any] = {
        "_id": ObjectId(),
        "name": "Mongoose Freight",
        "dotNumber": dot,
        "mcNumber": "MC-1",
        "ownerId": ObjectId(),
        "members": [{"userId": ObjectId(), "role": "admin", "since": T0}],
        "settings": {"alerts": {"email": True, "threshold": Int64(2**40)}, "tz": "US/Central"},
        "billing": {"balance": Decimal128("12.50"), "plan": None},
        "smsBasics": {
            "unsafeDriving": 40.0,
            "unsafeDrivingMeasure": 3.1,
            "hoursOfService": 12,
            "lastUpdated": "2024-04-01T00:00:00.000Z",
            "vendorNote": "keep me",
        },
        "fmcsaData": {
            "inspections": {"totalInspections": 7, "crashes": {"fatal": 0, "total": 1}},
            "lastViolationSync": "2024-04-01T00:00:00Z",
            "entityLinks": [{"entity": "x", "score": 0.5}],
            "syncStatus": {
                "lastRun": "2024-04-30T10:00:00.000Z",
                "success": False,
                "errors": [
                    {
                        "_id": ObjectId(),
                        "source": "csa_scores",
                        "error": "csa down",
                        "timestamp": T0,
                    },
                    {
                        "_id": ObjectId(),
                        "source": "dataq_analysis",
                        "error": "queue",
                        "timestamp": T0,
                    },
                    {
                        "_id": ObjectId(),
                        "source": "orchestrator",
                        "error": "raw",
                        "timestamp": "2024-04-30",
                    },
                ],
                "csaScoresLastSync": "2024-04-01T00:00:00Z",
                "violationsLastSync": T0 - timedelta(days=2),
                "orchestratorRunId": "run-77",
            },
        },
        "createdAt": "2023-01-01T00:00:00.000Z",
        "updatedAt": T0,
        "__v": 5,
    }
    doc.update(changes)
    return doc


CSA_PATHS = ("smsBasics.unsafeDriving", "smsBasics.unsafeDrivingMeasure", "smsBasics.lastUpdated")
STATUS_PATHS = (f"{SS}.lastRun", f"{SS}.errors", f"{SS}.success", "updatedAt", "__v")


def csa_success() -> SourceData:
    return SourceData(
        Source.CSA_SCORES,
        {"smsBasics.unsafeDriving": 55.0, "smsBasics.unsafeDrivingMeasure": None,
         "smsBasics.lastUpdated": AT},
    )  # fmt: skip


# --- Mongoose documents survive writes ------------------------------------------------


@pytest.mark.parametrize("dot", ["1234567", 1234567], ids=["dot-text", "dot-number"])
async def test_a_success_keeps_every_unknown_field_byte_for_byte(
    mongo: MongoStore, backend: Any, dot: Any
) -> None:
    doc = mongoose_doc(dot)
    backend.companies.insert_one(copy.deepcopy(doc))
    before = backend.companies.find_one({"_id": doc["_id"]})

    await mongo.record_success(str(doc["_id"]), RUN, csa_success(), AT)
    after = backend.companies.find_one({"_id": doc["_id"]})

    written = (*CSA_PATHS, f"{SS}.csaScoresLastSync", *STATUS_PATHS)
    assert raw(without(after, *written)) == raw(without(before, *written))
    assert after["dotNumber"] == dot and type(after["dotNumber"]) is type(dot)
    assert after["settings"]["alerts"]["threshold"] == Int64(2**40)
    assert isinstance(after["settings"]["alerts"]["threshold"], Int64)
    assert after["smsBasics"]["vendorNote"] == "keep me"
    status = after["fmcsaData"]["syncStatus"]
    assert [e["source"] for e in status["errors"]] == ["dataq_analysis", "orchestrator"]
    assert raw(status["errors"]) == raw(before["fmcsaData"]["syncStatus"]["errors"][1:])
    assert (status["lastRun"], status["csaScoresLastSync"], status["success"]) == (RUN, AT, False)
    assert after["updatedAt"] == AT and after["__v"] == 6


async def test_a_failure_pushes_an_error_with_an_object_id_and_keeps_the_rest(
    mongo: MongoStore, backend: Any
) -> None:
    doc = mongoose_doc("1234568")
    backend.companies.insert_one(copy.deepcopy(doc))
    before = backend.companies.find_one({"_id": doc["_id"]})

    await mongo.record_failure(str(doc["_id"]), RUN, Source.VIOLATIONS, "HTTP 503", AT)
    await mongo.record_failure(str(doc["_id"]), RUN, Source.INSPECTIONS, "timeout", AT)
    after = backend.companies.find_one({"_id": doc["_id"]})

    assert raw(without(after, *STATUS_PATHS)) == raw(without(before, *STATUS_PATHS))
    errors = after["fmcsaData"]["syncStatus"]["errors"]
    assert raw(errors[:3]) == raw(before["fmcsaData"]["syncStatus"]["errors"])
    assert [(e["source"], e["error"]) for e in errors[3:]] == [
        ("violations", "HTTP 503"),
        ("inspections", "timeout"),
    ]
    assert all(isinstance(e["_id"], ObjectId) for e in errors)
    assert len({e["_id"] for e in errors}) == len(errors)
    assert list(errors[3]) == ["_id", "source", "error", "timestamp"]
    assert after["__v"] == 7  # two changes of the errors array


async def test_version_moves_only_when_the_errors_array_changes(
    mongo: MongoStore, backend: Any
) -> None:
    doc = mongoose_doc("1234569")
    doc["fmcsaData"]["syncStatus"]["errors"] = []
    backend.companies.insert_one(doc)
    company_id = str(doc["_id"])

    async def version() -> int:
        found = await mongo.get_company(company_id)
        assert found is not None
        return int(found["__v"])

    await mongo.record_success(company_id, RUN, csa_success(), AT)
    assert await version() == 5  # no error rows before, none after
    await mongo.record_failure(company_id, RUN, Source.CSA_SCORES, "down", AT)
    assert await version() == 6
    await mongo.record_failure(company_id, RUN, Source.CSA_SCORES, "down again", AT)
    assert await version() == 7  # replaced: a new row, a new _id
    await mongo.record_success(company_id, RUN, SourceData(Source.VIOLATIONS, {}), AT)
    assert await version() == 7  # violations had no row to remove
    await mongo.record_success(company_id, RUN, csa_success(), AT)
    assert await version() == 8


async def test_null_and_scalar_parents_become_documents(mongo: MongoStore, backend: Any) -> None:
    null_basics = mongoose_doc("2000001", smsBasics=None)
    null_status = mongoose_doc("2000002")
    null_status["fmcsaData"]["syncStatus"] = None
    no_version = mongoose_doc("2000003", fmcsaData=None)
    del no_version["__v"]
    backend.companies.insert_many(
        [copy.deepcopy(d) for d in (null_basics, null_status, no_version)]
    )

    await mongo.record_success(str(null_basics["_id"]), RUN, csa_success(), AT)
    after = backend.companies.find_one({"_id": null_basics["_id"]})
    assert after["smsBasics"] == {"unsafeDriving": 55.0, "unsafeDrivingMeasure": None,
                                  "lastUpdated": AT}  # fmt: skip
    written = ("smsBasics", f"{SS}.csaScoresLastSync", *STATUS_PATHS)
    assert raw(without(after, *written)) == raw(without(null_basics, *written))

    await mongo.record_failure(str(null_status["_id"]), RUN, Source.INSPECTIONS, "x", AT)
    status = backend.companies.find_one({"_id": null_status["_id"]})["fmcsaData"]["syncStatus"]
    assert set(status) == {"lastRun", "errors", "success"} and status["success"] is False

    await mongo.record_failure(str(no_version["_id"]), RUN, Source.INSPECTIONS, "x", AT)
    after = backend.companies.find_one({"_id": no_version["_id"]})
    assert after["__v"] == 1 and after["fmcsaData"]["syncStatus"]["errors"][0]["error"] == "x"


def test_the_update_is_targeted_and_guarded_on_what_it_replaces() -> None:
    doc = mongoose_doc("2000004", smsBasics=7, name="")
    update = success_update(RUN, SourceData(Source.CSA_SCORES, {"smsBasics.a": 1,
                            "smsBasics.b": 2}, legal_name="LEGAL"), AT)  # fmt: skip
    guard, change = guarded_update(doc, update)
    assert set(change) == {"$set", "$inc"}
    assert change["$set"]["smsBasics"] == {"a": 1, "b": 2}
    assert change["$set"]["name"] == "LEGAL"
    assert all(key == "smsBasics" or "." in key or key in {"name", "updatedAt"}
               for key in change["$set"])  # fmt: skip
    assert guard["smsBasics"] == {"$eq": 7} and guard["name"] == {"$eq": ""}
    assert guard[f"{SS}.errors"] == {"$eq": doc["fmcsaData"]["syncStatus"]["errors"]}


async def test_a_concurrent_error_change_makes_the_write_retry_not_lose_it(
    mongo: MongoStore, backend: Any
) -> None:
    """The backend's orchestrator adds an error row after our read and before our write:
    the guarded update misses, the store reads again and retries, and both rows stay."""
    doc = mongoose_doc("2000005")
    backend.companies.insert_one(doc)
    company_id = str(doc["_id"])
    guard, change = guarded_update(doc, failure_update(RUN, Source.VIOLATIONS, "late", AT))
    foreign = {"_id": ObjectId(), "source": "entity_linking", "error": "x", "timestamp": T0}
    upsert = mongo._upsert_inspections
    reads_before_write: list[int] = []

    async def upsert_then_race(company_oid: Any, inspections: Any) -> None:
        await upsert(company_oid, inspections)  # runs once, between the first read and write
        backend.companies.update_one({"_id": doc["_id"]}, {"$push": {f"{SS}.errors": foreign}})
        reads_before_write.append(1)

    mongo._upsert_inspections = upsert_then_race  # type: ignore[method-assign]
    data = SourceData(
        Source.VIOLATIONS,
        {"fmcsaData.lastViolationSync": AT},
        inspections=[{"reportNumber": "R9", "inspectionDate": T0}],
    )
    await mongo.record_success(company_id, RUN, data, AT)
    del mongo._upsert_inspections
    assert reads_before_write == [1]
    assert backend.companies.update_one(guard, change).matched_count == 0  # guards do hold
    stored = backend.companies.find_one({"_id": doc["_id"]})
    status = stored["fmcsaData"]["syncStatus"]
    before = [e for e in doc["fmcsaData"]["syncStatus"]["errors"] if e["source"] != "violations"]
    assert [e["_id"] for e in status["errors"]] == [e["_id"] for e in before] + [foreign["_id"]]
    assert status["violationsLastSync"] == AT  # ours landed too, on the retry


async def test_a_write_cut_off_leaves_the_company_whole(
    mongo_wire: MongoWireServer, mongo: MongoStore, backend: Any
) -> None:
    doc = mongoose_doc("2000006")
    backend.companies.insert_one(copy.deepcopy(doc))
    before = raw(backend.companies.find_one({"_id": doc["_id"]}))
    data = SourceData(
        Source.VIOLATIONS,
        {"fmcsaData.lastViolationSync": AT},
        inspections=[{"reportNumber": "R1", "inspectionDate": T0, "state": "TX"}],
    )
    upsert = mongo._upsert_inspections

    async def upsert_then_cut_the_line(company_oid: Any, inspections: Any) -> None:
        await upsert(company_oid, inspections)
        mongo_wire.fail_next("update")  # the company update: its connection drops

    mongo._upsert_inspections = upsert_then_cut_the_line  # type: ignore[method-assign]
    with pytest.raises(StoreError) as caught:
        await mongo.record_success(str(doc["_id"]), RUN, data, AT)
    del mongo._upsert_inspections
    assert "\n" not in str(caught.value)
    assert raw(backend.companies.find_one({"_id": doc["_id"]})) == before
    assert [i["reportNumber"] for i in await mongo.inspections_for(str(doc["_id"]))] == ["R1"]

    await mongo.record_success(str(doc["_id"]), RUN, data, AT)  # again: it all lands once
    assert len(await mongo.inspections_for(str(doc["_id"]))) == 1
    status = backend.companies.find_one({"_id": doc["_id"]})["fmcsaData"]["syncStatus"]
    assert status["violationsLastSync"] == AT


def apply_sets_like_mongodb(doc: dict[str, Any], sets: dict[str, Any]) -> None:
    """`$set` as the server does it: refuses a path through a non-document or overlaps."""
    keys = list(sets)
    for a, b in itertools.permutations(keys, 2):
        assert not b.startswith(a + "."), f"conflicting paths {a} and {b}"
    for path, value in sets.items():
        *parents, leaf = path.split(".")
        node = doc
        for key in parents:
            node = node.setdefault(key, {})
            assert isinstance(node, dict), f"Cannot create field {leaf!r} in {path}"
        node[leaf] = copy.deepcopy(value)


def test_targeted_sets_have_the_effect_of_set_path_in_order() -> None:
    rng = random.Random(7)
    keys = ["a", "b", "c"]
    values: list[Any] = [None, 7, "s", [1], {}, {"a": 1}, {"b": {"c": 2}}]
    for _ in range(3000):
        doc: dict[str, Any] = {}
        for _ in range(rng.randint(0, 4)):
            path = ".".join(rng.choice(keys) for _ in range(rng.randint(1, 3)))
            set_path(doc, path, copy.deepcopy(rng.choice(values)))
        fields = {
            ".".join(rng.choice(keys) for _ in range(rng.randint(1, 3))): rng.choice(values)
            for _ in range(rng.randint(1, 4))
        }
        expected = copy.deepcopy(doc)
        for path, value in fields.items():
            set_path(expected, path, copy.deepcopy(value))
        sets, replaced = targeted_sets(fields, doc)
        actual = copy.deepcopy(doc)
        apply_sets_like_mongodb(actual, sets)
        assert actual == expected, (doc, fields, sets)
        assert not any(isinstance(value, dict) for value in replaced.values())


# --- listings agree with the embedded store -------------------------------------------


def messy_docs() -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    fresh = {f"{s.last_sync_field}": now for s in Source}

    def company(dot: Any, name: Any, status: Any = None, **extra: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {"_id": ObjectId(), "name": name, "dotNumber": dot, **extra}
        if status is not None:
            doc["fmcsaData"] = {"syncStatus": status}
        return doc

    def row(source: Any) -> dict[str, Any]:
        return {"_id": ObjectId(), "source": source, "error": "e", "timestamp": T0}

    docs = [
        company("500001", "Große Straße Logistik", {"lastRun": now, "success": True, **fresh}),
        company("500002", "KELVIN \u212a Lines", {"lastRun": now, "errors": [row(" violations ")]}),
        company("500003", "\ufb01ne Freight", {"lastRun": "yesterday", "errors": [row(5)]}),
        company(500004, "Numbered", {"lastRun": T0, "success": "false", "errors": []}),
        company(500005.0, "Double DOT", {"lastRun": T0, "errors": {"source": "violations"}}),
        company("500006", 12345, {"lastRun": T0, "success": 1, **fresh}, mcNumber=777),
        company("500007", "Null errors", {"lastRun": T0, "errors": None, "success": True}),
        company("500008", "Junk errors", {"lastRun": T0, "errors": ["oops", None]}),
        company("500009", "Bad basics", {"lastRun": T0, **fresh}, smsBasics=7),
        company("500010", "Text percentile", {"lastRun": T0}, smsBasics={"unsafeDriving": "NA"}),
        company("500011", "Numeric text", {"lastRun": T0}, smsBasics={"unsafeDriving": "18.5"}),
        company("500012", "Bad inspections", None, fmcsaData={"inspections": "n/a"}),
        company("500013", "Garbage", None, fmcsaData="garbage"),
        company("500014", "Array data", None, fmcsaData=[{"syncStatus": {}}]),
        company("500015", "Bad status", {"lastRun": T0, "errors": "not a list"}),
        company("500016", "Unknown source", {"lastRun": T0, "errors": [row(None), row("")]}),
        company(
            "500017",
            "String dates",
            {
                "lastRun": "2024-05-01",
                "csaScoresLastSync": "2024-05-01T00:00:00Z",
                "violationsLastSync": now.isoformat(),
                "inspectionsLastSync": now.isoformat(),
            },
            updatedAt="2024-05-01T12:00:00Z",
        ),
        company(" 500018 ", "  padded  ", {"lastRun": now, "success": False, **fresh}),
        company("500019", "Basics list", {"lastRun": T0}, smsBasics={"unsafeDriving": [1]}),
        company(None, "No DOT", {"lastRun": now, "errors": [row("entity_linking")]}),
        company("500020", None, None),
    ]
    stamps: list[Any] = [T0 + timedelta(hours=2), "2024-05-02T00:00:00Z", None, T0, 1714600000000]
    for doc, stamp in zip(docs, itertools.cycle(stamps)):
        doc.setdefault("updatedAt", stamp)
    return docs


FILTER_TEXTS = ["", "ss", "STRASSE", "k", "fi", "500", "5", "777", "mc-", " ", "ß", "numbered"]
STATUSES: list[StatusFilter | None] = [None, "never", "ok", "failed"]
SOURCES = [None, "any", "violations", "unknown", "5", "entity_linking"]


async def test_listings_match_the_embedded_store_exactly(mongo: MongoStore, tmp_path: Path) -> None:
    docs = messy_docs()
    embedded = SqliteStore(tmp_path / "same.db")
    await embedded.open()
    await embedded.insert_documents(copy.deepcopy(docs))
    await mongo.insert_documents(copy.deepcopy(docs))

    everything = await mongo.list_summaries()
    assert everything == await embedded.list_summaries()
    statuses = {row.name: row.status for row in everything}
    unreadable = {name for name, status in statuses.items() if status == "unreadable"}
    assert unreadable == {"Garbage", "Array data", "Bad status"}  # only status fields decide
    assert statuses["Bad basics"] == statuses["Text percentile"] == statuses["Basics list"] == "ok"
    assert statuses["Bad inspections"] == "never"
    assert statuses["Numeric text"] == "ok"  # "18.5" reads as a number

    for limit in (0, 3, 100):
        assert await mongo.list_summaries(limit=limit) == everything[:limit]
    combos = itertools.product(FILTER_TEXTS, STATUSES, SOURCES, [None, timedelta(hours=1)])
    for text, status, source, age in combos:
        flt = CompanyFilter(text=text, status=status, failed_source=source, stale_after=age)
        expected = [row.id for row in await embedded.list_summaries(flt)]
        assert [row.id for row in await mongo.list_summaries(flt)] == expected, flt
    for since in (T0, T0 + timedelta(days=1), datetime.now(UTC) - timedelta(minutes=5)):
        assert await mongo.changed_since(since) == await embedded.changed_since(since)
    await embedded.close()


async def test_get_company_finds_a_dot_stored_as_a_number_or_a_double(
    mongo: MongoStore, backend: Any
) -> None:
    as_int, as_double = mongoose_doc(3000001), mongoose_doc(3000002.0)
    string_id = mongoose_doc("3000003", _id="legacy-id")
    backend.companies.insert_many([as_int, as_double, string_id])
    assert (await mongo.get_company("3000001") or {}).get("_id") == as_int["_id"]
    assert (await mongo.get_company("3000002") or {}).get("_id") == as_double["_id"]
    assert (await mongo.get_company("legacy-id") or {}).get("dotNumber") == "3000003"
    found = await mongo.get_companies([str(as_int["_id"]), "legacy-id", str(ObjectId())])
    assert set(found) == {str(as_int["_id"]), "legacy-id"}


# --- indexes --------------------------------------------------------------------------


def index_keys(collection: Any) -> dict[str, Any]:
    return {name: info for name, info in collection.index_information().items()}


async def test_indexes_are_created_only_where_missing(
    mongo_wire: MongoWireServer, backend: Any, database: str
) -> None:
    backend.companies.create_index([("updatedAt", 1)], name="backend_updated")
    backend.companies.create_index([("dotNumber", 1)], name="dot_unique", unique=True)
    before = index_keys(backend.companies)

    for _ in range(2):  # a second open adds nothing either
        store = MongoStore(mongo_wire.url, database=database)
        await store.open()
        await store.close()

    companies = index_keys(backend.companies)
    assert companies["backend_updated"] == before["backend_updated"]
    assert companies["dot_unique"] == before["dot_unique"]  # still unique, same name
    patterns = [tuple(info["key"]) for info in companies.values()]
    assert len(patterns) == len(set(patterns))  # no key pattern twice
    assert sorted(patterns) == sorted(
        [
            (("_id", 1),),
            (("updatedAt", 1),),
            (("dotNumber", 1),),
            (("fmcsaData.syncStatus.lastRun", 1),),
            (("fmcsaData.syncStatus.errors.source", 1),),
        ]
    )
    [inspections] = [i for n, i in index_keys(backend.fmcsainspections).items() if n != "_id_"]
    assert inspections["key"] == [("companyId", 1), ("reportNumber", 1)] and inspections["unique"]
    [leases] = [i for n, i in index_keys(backend.fmcsa_tui_leases).items() if n != "_id_"]
    assert leases["key"] == [("expiresAt", 1)] and leases["expireAfterSeconds"] == 0


async def test_collection_names_and_database_come_from_arguments_or_url(
    mongo_wire: MongoWireServer, backend: Any, database: str
) -> None:
    url = mongo_wire.url.replace("/?", f"/{database}?")
    store = open_store(url, database="ignored", companies="carriers", leases="locks")
    assert isinstance(store, MongoStore)
    assert store.description == f"127.0.0.1:{mongo_wire.port}/{database}"
    await store.open()
    await store.add_companies([NewCompany("4000001", "Named", extra={"ownerId": ObjectId()})])
    assert await store.acquire_lease("c1", "me", timedelta(minutes=1))
    await store.close()
    assert backend.carriers.count_documents({}) == 1 and backend.locks.count_documents({}) == 1
    assert "companies" not in backend.list_collection_names()


# --- adding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "company",
    [
        NewCompany("4000002"),
        NewCompany("4000002", "Named, no owner"),
        NewCompany("4000002", "  ", extra={"ownerId": ObjectId()}),
        NewCompany("4000002", "Blank owner", extra={"ownerId": ""}),
    ],
)
async def test_add_companies_refuses_without_name_or_owner(
    mongo: MongoStore, company: NewCompany
) -> None:
    ok = NewCompany("4000003", "Fine", extra={"ownerId": ObjectId()})
    with pytest.raises(StoreError) as caught:
        await mongo.add_companies([ok, company])
    assert str(caught.value) == OWNER_NEEDED
    assert await mongo.list_summaries() == []  # nothing added, not even the good one


async def test_add_companies_writes_what_mongoose_writes(mongo: MongoStore, backend: Any) -> None:
    owner = ObjectId()
    backend.companies.insert_one(mongoose_doc(4000004))  # an existing DOT, stored as a number
    result = await mongo.add_companies(
        [
            NewCompany("4000004", "Again", extra={"ownerId": owner}),
            NewCompany("4000005", "Text owner", extra={"ownerId": str(owner), "plan": "pro"}),
        ]
    )
    assert (result.added, result.existing) == (["4000005"], ["4000004"])
    doc = backend.companies.find_one({"dotNumber": "4000005"})
    assert list(doc) == ["_id", "name", "dotNumber", "ownerId", "plan", "createdAt", "updatedAt",
                         "__v"]  # fmt: skip
    assert doc["ownerId"] == owner and isinstance(doc["_id"], ObjectId) and doc["__v"] == 0
    with pytest.raises(StoreError, match="ObjectId"):
        await mongo.add_companies([NewCompany("4000006", "X", extra={"ownerId": "bob"})])
    with pytest.raises(StoreError, match="5-8 digits"):
        await mongo.add_companies([NewCompany("123", "X", extra={"ownerId": owner})])


# --- reachability ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    port = free_port()
    url = f"mongodb://ops:hunter2@127.0.0.1:{port}/fleet?serverSelectionTimeoutMS=300"
    store = open_store(url)
    assert store.description == f"127.0.0.1:{port}/fleet"
    with pytest.raises(StoreUnavailable) as caught:
        await store.open()
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "\n" not in message
    assert "hunter2" not in message and "ops" not in message
    with pytest.raises(StoreError, match="not open"):
        await store.list_summaries()


async def test_a_url_without_a_database_is_refused(mongo_wire: MongoWireServer) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        await MongoStore(mongo_wire.url).open()
    assert str(caught.value) == "no database in the store URL: use mongodb://HOST/DBNAME"


async def test_the_default_server_selection_timeout(mongo: MongoStore) -> None:
    assert mongo._client is not None
    assert mongo._client.options.server_selection_timeout == 5


async def once_reachable(
    call: Callable[[], Awaitable[T]], errors: type[Exception], limit: float
) -> T:
    """`call` again until it stops failing with `errors` (a restarted server's first
    calls may meet pooled connections the restart closed); re-raise after `limit` s."""
    deadline = time.monotonic() + limit
    while True:
        try:
            return await call()
        except errors:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_a_server_restart_fails_calls_while_down_and_recovers_after() -> None:
    server = MongoWireServer().start()
    try:
        url = with_option(server.url, "serverSelectionTimeoutMS=400")
        store = MongoStore(url, database="restart")
        await store.open()
        doc = mongoose_doc("5000001")
        await store.insert_documents([doc])

        server.stop()
        with pytest.raises(StoreError) as caught:
            await store.list_summaries()
        assert "\n" not in str(caught.value) and f"127.0.0.1:{server.port}" in str(caught.value)
        with pytest.raises(StoreError):
            await store.record_failure(str(doc["_id"]), RUN, Source.CSA_SCORES, "x", AT)

        server.start()
        rows = await once_reachable(store.list_summaries, StoreError, limit=15)
        assert [row.dot_number for row in rows] == ["5000001"]
        await store.record_failure(str(doc["_id"]), RUN, Source.CSA_SCORES, "x", AT)
        assert (await store.list_summaries())[0].status == "failed"
        await store.close()
    finally:
        server.stop()


async def test_a_cancelled_caller_leaves_the_driver_call_to_end_by_itself() -> None:
    """Cancelling a caller (`x`, quitting, a lease keeper stopping) never cancels PyMongo
    itself: on Python 3.11 a cancel inside its server selection could leave the
    client's topology lock held by a finished task, and every later call hung."""
    server = MongoWireServer().start()
    try:
        store = MongoStore(with_option(server.url, "serverSelectionTimeoutMS=2000"), database="c")
        await store.open()
        doc = mongoose_doc("5000002")
        await store.insert_documents([doc])
        assert await store.acquire_lease(str(doc["_id"]), "me", timedelta(minutes=5))
        server.stop()
        with contextlib.suppress(StoreUnavailable):  # clears pooled connections the stop closed
            await store.leased_ids()
        caller = asyncio.create_task(store.release_lease(str(doc["_id"]), "me"))
        await until(lambda: len(store._in_flight) == 1)  # the driver call, waiting for a server
        assert not caller.done()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        (driver_call,) = store._in_flight  # still running, not cancelled
        assert not driver_call.done()
        server.start()
        await asyncio.wait_for(asyncio.wait([driver_call]), timeout=30)
        assert not driver_call.cancelled() and driver_call.exception() is None
        assert await store.leased_ids() == set()  # the release landed after all
        await store.close()
    finally:
        server.stop()


# --- live refresh ---------------------------------------------------------------------


async def test_a_standalone_server_means_polling(mongo: MongoStore, tmp_path: Path) -> None:
    assert mongo.live_refresh is LiveRefresh.POLLING
    assert SqliteStore(tmp_path / "x.db").live_refresh is LiveRefresh.POLLING
    with pytest.raises(StoreError, match="not a replica set"):
        await anext(aiter(mongo.watch_changes()))


def test_the_change_filter_keeps_only_what_a_list_row_shows() -> None:
    events = mongomock.MongoClient().db.events

    def update(key: str, *fields: str, removed: tuple[str, ...] = ()) -> dict[str, Any]:
        return {
            "operationType": "update",
            "documentKey": {"_id": key},
            "updateDescription": {"updatedFields": dict.fromkeys(fields, 1),
                                  "removedFields": list(removed)},
        }  # fmt: skip

    events.insert_many(
        [
            update("status", f"{SS}.lastRun", "updatedAt"),
            update("errors-item", f"{SS}.errors.3"),
            update("whole-data", "fmcsaData"),
            update("name", "name", "updatedAt"),
            update("mc-removed", "updatedAt", removed=("mcNumber",)),
            update("basics-only", "smsBasics.unsafeDriving", "updatedAt"),
            update("inspections-only", "fmcsaData.inspections.totalInspections"),
            update("look-alike", f"{SS}Extra", "nameplate"),
            {"operationType": "insert", "documentKey": {"_id": "inserted"}},
            {"operationType": "delete", "documentKey": {"_id": "deleted"}},
        ]
    )
    kept = [event["documentKey"]["_id"] for event in events.aggregate(CHANGE_PIPELINE)]
    assert kept == ["status", "errors-item", "whole-data", "name", "mc-removed", "inserted",
                    "deleted"]  # fmt: skip


class FakeStream:
    """Enough of an `AsyncChangeStream`: hands out events, then maybe drops the line."""

    def __init__(self, events: list[dict[str, Any]], then_drop: bool) -> None:
        self.events = events
        self.then_drop = then_drop
        self.resume_token: Any = None
        self.alive = True

    async def __aenter__(self) -> FakeStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.alive = False

    async def try_next(self) -> dict[str, Any] | None:
        await asyncio.sleep(0)
        if self.events:
            event = self.events.pop(0)
            self.resume_token = event["_id"]
            return event
        if self.then_drop:
            raise AutoReconnect("connection reset")
        return None


async def test_watch_changes_batches_ids_and_resumes_after_a_dropped_connection(
    mongo: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def event(token: str, key: str, kind: str = "update") -> dict[str, Any]:
        return {"_id": {"_data": token}, "operationType": kind, "documentKey": {"_id": key}}

    streams = [
        FakeStream([event("t1", "a"), event("t2", "b"), event("t3", "a")], then_drop=True),
        FakeStream([event("t4", "c")], then_drop=False),
    ]
    tokens: list[Any] = []

    async def open_stream(token: Any) -> FakeStream:
        tokens.append(token)
        return streams.pop(0)

    monkeypatch.setattr(mongo, "_change_streams", True)
    monkeypatch.setattr(mongo, "_open_change_stream", open_stream)
    assert mongo.live_refresh is LiveRefresh.CHANGE_STREAM

    changes = mongo.watch_changes()
    assert await anext(changes) == ["a", "b"]  # one batch, each id once
    assert await anext(changes) == ["c"]
    assert tokens == [None, {"_data": "t3"}]  # resumed after the last event seen
    await changes.aclose()


# --- change streams, for real: the wire server as a one-member replica set -------------


@pytest.fixture
def replica_set() -> Iterator[MongoWireServer]:
    with MongoWireServer(replica_set="rs0") as server:
        yield server


async def next_ids(changes: AsyncIterator[list[str]], wanted: set[str]) -> set[str]:
    """Every id the stream hands out until all of `wanted` came (10 s at most)."""
    seen: set[str] = set()
    while not wanted <= seen:
        seen.update(await asyncio.wait_for(anext(changes), timeout=10))
    return seen


async def test_a_replica_set_streams_list_changes_and_nothing_else(
    replica_set: MongoWireServer,
) -> None:
    url = replica_set.url.replace("/?", "/live?")
    store, writer = MongoStore(url), MongoStore(url)
    await store.open()
    await writer.open()
    assert store.live_refresh is LiveRefresh.CHANGE_STREAM
    first, second = mongoose_doc("5000011"), mongoose_doc("5000012")
    await writer.insert_documents([first, second])
    client: pymongo.AsyncMongoClient[dict[str, Any]] = pymongo.AsyncMongoClient(url)
    changes = store.watch_changes()
    try:
        pending = asyncio.ensure_future(next_ids(changes, {str(first["_id"])}))
        await until(lambda: len(replica_set.streams_opened) == 1)  # the stream listens
        # the backend touching what no list row shows: not streamed
        await client.live.companies.update_one(
            {"_id": second["_id"]}, {"$set": {"address.city": "Lincoln", "updatedAt": AT}}
        )
        await writer.record_failure(str(first["_id"]), RUN, Source.VIOLATIONS, "503", AT)
        assert await pending == {str(first["_id"])}
        third = mongoose_doc("5000013")
        await writer.insert_documents([third])
        assert await next_ids(changes, {str(third["_id"])}) == {str(third["_id"])}
        assert any(  # the address change was an event; the filter kept it out
            e["operationType"] == "update" and e["documentKey"]["_id"] == second["_id"]
            for e in replica_set.events
        )
    finally:
        await changes.aclose()
        await client.close()
        await store.close()
        await writer.close()


async def test_a_change_stream_resumes_by_token_after_a_restart(
    replica_set: MongoWireServer,
) -> None:
    url = with_option(replica_set.url.replace("/?", "/resume?"), "serverSelectionTimeoutMS=1000")
    store, writer = MongoStore(url), MongoStore(url)
    await store.open()
    await writer.open()
    first, second = mongoose_doc("5000021"), mongoose_doc("5000022")
    await writer.insert_documents([first, second])
    changes = store.watch_changes()
    try:
        pending = asyncio.ensure_future(next_ids(changes, {str(first["_id"])}))
        await until(lambda: len(replica_set.streams_opened) == 1)  # the stream listens
        await writer.record_failure(str(first["_id"]), RUN, Source.CSA_SCORES, "x", AT)
        assert await pending == {str(first["_id"])}
        seen_first = len(replica_set.events)

        await asyncio.to_thread(replica_set.stop)
        await asyncio.sleep(1.5)  # an outage that long: the stream notices and backs off
        await asyncio.to_thread(replica_set.start)
        await once_reachable(
            lambda: writer.record_failure(str(second["_id"]), RUN, Source.CSA_SCORES, "y", AT),
            StoreUnavailable,
            limit=20,
        )
        # the second company's change comes; the first one's is not handed out again
        assert await next_ids(changes, {str(second["_id"])}) == {str(second["_id"])}
        reopened = replica_set.streams_opened[-1]
        assert reopened.get("resumeAfter") == {"_data": f"{seen_first:016X}"}
    finally:
        await changes.aclose()
        await store.close()
        await writer.close()


async def test_a_standalone_refuses_a_change_stream_in_one_line(mongo: MongoStore) -> None:
    mongo._change_streams = True  # as if hello had said replica set
    with pytest.raises(StoreError) as caught:
        await anext(aiter(mongo.watch_changes()))
    assert "only supported on replica sets" in str(caught.value)
    assert "\n" not in str(caught.value)


# --- timeouts the README promises ------------------------------------------------------


async def test_the_client_gets_bounded_timeouts_unless_the_url_sets_its_own(
    mongo_wire: MongoWireServer, database: str
) -> None:
    """Finding a server 5 s, connecting 5 s, a reply or a pooled connection 30 s: a server
    that stops answering shows as an error, never a hang. The URL's own values win."""
    defaults = MongoStore(mongo_wire.url, database=database)
    await defaults.open()
    chosen = MongoStore(
        f"{mongo_wire.url}&serverSelectionTimeoutMS=4000&connectTimeoutMS=1000"
        f"&socketTimeoutMS=2000&waitQueueTimeoutMS=3000",
        database=database,
    )
    await chosen.open()
    try:
        for store, expected in ((defaults, (5, 5, 30, 30)), (chosen, (4, 1, 2, 3))):
            options = store._client.options  # type: ignore[union-attr]
            pool = options.pool_options
            got = (
                options.server_selection_timeout,
                pool.connect_timeout,
                pool.socket_timeout,
                pool.wait_queue_timeout,
            )
            assert got == expected
            assert options.timeout is None  # no overall `timeoutMS` unless the URL asks
    finally:
        await defaults.close()
        await chosen.close()
