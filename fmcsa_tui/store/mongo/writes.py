"""What MongoDB is asked when writing: guarded updates, inserts, inspections, indexes.

Writes are targeted `$set`s on dotted paths, never a replace. The errors array is
changed by compare-and-set: the update is guarded by the array's value as read (and by
whatever non-document it replaces), and read again and retried on a miss, so writers
that share the collection (the backend's orchestrator, other fmcsa-tui processes) never
lose each other's rows. Inserts are all or nothing, and new companies are shaped and
checked as the backend's Mongoose schema requires.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import bson
from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, OperationFailure

from fmcsa_tui.store.base import AddResult, NewCompany, StoreError
from fmcsa_tui.store.flow import (
    Wanted,
    cannot_insert,
    dot_taken,
    id_taken,
    no_company,
    plan_additions,
)
from fmcsa_tui.store.mongo.errors import brief
from fmcsa_tui.store.mongo.queries import ERROR_SOURCE, LAST_RUN, dot_text, dot_values, id_values
from fmcsa_tui.store.updates import (
    ERRORS_PATH,
    SourceUpdate,
    bumps_version,
    new_company_doc,
    plan_write,
    targeted_sets,
)

__all__ = [
    "OWNER_NEEDED",
    "add_new",
    "compare_and_set",
    "ensure_indexes",
    "guarded_update",
    "insert_all",
    "refuse_collisions",
    "upsert_inspections",
]

Doc = dict[str, Any]
Companies = AsyncCollection[Doc]

OWNER_NEEDED: Final = (
    "MongoDB needs --name and --owner for new companies"
    " (the backend's schema requires name and ownerId)"
)
_CAS_ATTEMPTS: Final = 100  # compare-and-set tries before a write gives up
_ID_BATCH: Final = 1000  # ids per `$in` query


# --- one source's update --------------------------------------------------------------


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


async def compare_and_set(
    companies: Companies,
    company_id: str,
    update: SourceUpdate,
    before_first_write: Callable[[Any], Awaitable[None]],
) -> None:
    """Read, then one guarded `update_one`, again until it lands.

    A failure leaves the company as it was; a miss (someone changed the errors
    meanwhile) reads again and retries. `before_first_write` gets the company's `_id`
    once, after the first read (the idempotent inspections upsert).
    """
    roots = {path.split(".", 1)[0] for path in update.fields} | {"fmcsaData", "name", "__v"}
    projection = dict.fromkeys(sorted(roots), 1)
    for attempt in range(_CAS_ATTEMPTS):
        doc = await companies.find_one({"_id": {"$in": id_values(company_id)}}, projection)
        if doc is None:
            raise no_company(company_id)
        if attempt == 0:
            await before_first_write(doc["_id"])
        guard, change = guarded_update(doc, update)
        result = await companies.update_one(guard, change)
        if result.matched_count:
            return
        await asyncio.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
    raise StoreError(
        f"company {company_id} kept changing during this write ({_CAS_ATTEMPTS} tries)"
    )


async def upsert_inspections(
    inspections: AsyncCollection[Doc], company_oid: Any, docs: list[Doc]
) -> None:
    """`$set` upserts on (companyId, reportNumber): `_id` and extra fields stay."""
    operations = [
        UpdateOne(
            {"companyId": company_oid, "reportNumber": doc["reportNumber"]},
            {"$set": {**{key: value for key, value in doc.items() if key != "_id"},
                      "companyId": company_oid}},
            upsert=True,
        )
        for doc in docs
    ]  # fmt: skip
    await inspections.bulk_write(operations, ordered=True)


# --- inserts --------------------------------------------------------------------------


async def add_new(companies: Companies, wanted: Wanted, now: datetime) -> AddResult:
    """Insert the companies whose DOT is not stored yet, as Mongoose would create them."""
    stored = companies.find(
        {"dotNumber": {"$in": dot_values(d for d, _ in wanted)}}, {"dotNumber": 1}
    )
    present = {dot async for doc in stored if (dot := dot_text(doc.get("dotNumber")))}
    docs, result = plan_additions(wanted, present, _mongoose_company, now)
    await insert_all(companies, docs)
    return result


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


async def refuse_collisions(companies: Companies, docs: list[Doc]) -> None:
    """Refuse, before inserting anything, a DOT or `_id` already taken."""
    dots: dict[str, None] = {}
    for doc in docs:
        dot = dot_text(doc.get("dotNumber"))
        if dot is not None:
            if dot in dots:
                raise dot_taken(dot)
            dots[dot] = None
    ids = [doc["_id"] for doc in docs]
    if len({bson.encode({"v": value}) for value in ids}) < len(ids):
        raise StoreError("two documents share one _id")
    wanted = list(dots)
    for start in range(0, len(wanted), _ID_BATCH):
        query = {"dotNumber": {"$in": dot_values(wanted[start : start + _ID_BATCH])}}
        taken = await companies.find_one(query, {"dotNumber": 1})
        if taken is not None:
            raise dot_taken(dot_text(taken.get("dotNumber")))
    for start in range(0, len(ids), _ID_BATCH):
        taken = await companies.find_one(
            {"_id": {"$in": ids[start : start + _ID_BATCH]}}, {"_id": 1}
        )
        if taken is not None:
            raise id_taken(taken["_id"])


async def insert_all(companies: Companies, docs: list[Doc]) -> None:
    """Insert all or nothing: what an ordered insert put in before failing comes out."""
    if not docs:
        return
    try:
        await companies.insert_many(docs, ordered=True)
    except BulkWriteError as error:
        inserted = docs[: int(error.details.get("nInserted", 0))]
        if inserted:
            await companies.delete_many({"_id": {"$in": [doc["_id"] for doc in inserted]}})
        raise _collision(error, docs) from error


def _collision(error: BulkWriteError, docs: list[Doc]) -> StoreError:
    first = (error.details.get("writeErrors") or [{}])[0]
    doc = docs[first.get("index", 0)] if first.get("index", 0) < len(docs) else {}
    if first.get("code") == 11000:
        message = str(first.get("errmsg", ""))
        if "dotNumber" in message or "dotNumber" in (first.get("keyValue") or {}):
            return dot_taken(dot_text(doc.get("dotNumber")))
        return id_taken(doc.get("_id"))
    return cannot_insert(brief(error))


# --- indexes --------------------------------------------------------------------------

# Indexes the queries need, created only where no index has the same key pattern.
_INDEXES: Final[tuple[tuple[str, tuple[tuple[str, int], ...], dict[str, Any]], ...]] = (
    ("companies", (("updatedAt", 1),), {}),
    ("companies", ((LAST_RUN, 1),), {}),
    ("companies", ((ERROR_SOURCE, 1),), {}),
    ("companies", (("dotNumber", 1),), {}),  # not unique: the backend owns uniqueness
    ("inspections", (("companyId", 1), ("reportNumber", 1)), {"unique": True}),
    ("leases", (("expiresAt", 1),), {"expireAfterSeconds": 0}),
    ("runs", (("companyId", 1), ("startedAt", -1)), {}),  # a carrier's last runs
    ("runs", (("startedAt", -1),), {}),  # the fleet's runs since a moment
)
#: Run records expire this long after they ended (`history_retention`).
RUNS_TTL_KEY: Final = (("endedAt", 1),)
# Index creation the store can live without: no privilege, a clashing name or options,
# or duplicates already in the way of a unique index.
_INDEX_SKIPPABLE: Final = frozenset({11000, 13, 85, 86})


async def ensure_indexes(
    db: AsyncDatabase[Doc], names: dict[str, str], history_retention: timedelta
) -> list[str]:
    """Create the indexes the queries need, only where no index has the same keys.

    `names` maps each role (companies, inspections, leases, runs) to its collection.
    Returns one line per index left as found though it differs from what we would make
    (the run records' TTL index with another `expireAfterSeconds`): worth saying, not
    worth failing over, as whoever made it chose it.
    """
    ttl = max(1, int(history_retention.total_seconds()))
    wanted = (*_INDEXES, ("runs", RUNS_TTL_KEY, {"expireAfterSeconds": ttl}))
    existing: dict[str, dict[tuple[tuple[str, Any], ...], Doc]] = {}
    notes: list[str] = []
    for role, keys, options in wanted:
        collection = db[names[role]]
        if role not in existing:
            cursor = await collection.list_indexes()
            existing[role] = {_key_pattern(index["key"]): dict(index) async for index in cursor}
        found = existing[role].get(keys)
        if found is not None:
            expire = options.get("expireAfterSeconds")
            if expire is not None and found.get("expireAfterSeconds") != expire:
                notes.append(
                    f"{names[role]}: the TTL index on {keys[0][0]} expires after"
                    f" {found.get('expireAfterSeconds')}s, not history_retention's"
                    f" {expire}s; left as it is"
                )
            continue
        try:
            await collection.create_index(list(keys), **options)
        except OperationFailure as error:
            if error.code not in _INDEX_SKIPPABLE:
                raise
        existing[role][keys] = dict(options)
    return notes


def _key_pattern(key: Any) -> tuple[tuple[str, Any], ...]:
    """An index's key pattern, with 1.0 and 1 the same."""
    pattern = []
    for field, direction in dict(key).items():
        if isinstance(direction, float) and direction.is_integer():
            direction = int(direction)
        pattern.append((field, direction))
    return tuple(pattern)
