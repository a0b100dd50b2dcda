"""The `CompanyStore` contract: every backend must pass this file unchanged.

Tests use only the protocol (through the `store` / `other_store` fixtures), except the
last section, which covers store URLs and what opening a bad SQLite path says.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId, json_util
from bson.json_util import RELAXED_JSON_OPTIONS

from fmcsa_tui.models import CompanySummary, Source
from fmcsa_tui.store import (
    CompanyFilter,
    CompanyStore,
    MongoStore,
    NewCompany,
    SourceData,
    SqliteStore,
    StatusFilter,
    StoreError,
    StoreUnavailable,
    open_store,
    redact_url,
)
from fmcsa_tui.store.listing import summary_of_list_row
from fmcsa_tui.store.sqlite import SCHEMA_VERSION
from fmcsa_tui.ui.rows import CompanyRows
from tests.support import real_documents

# Millisecond precision throughout: BSON dates hold no more, so documents compare exactly.
T0 = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
RUN = T0 + timedelta(hours=1)
AT = RUN + timedelta(seconds=5)
SS = "fmcsaData.syncStatus"


def ej(value: Any) -> str:
    """Extended JSON: the byte-for-byte view of a document or a part of it."""
    return json_util.dumps(value, json_options=RELAXED_JSON_OPTIONS)


def get(doc: Any, path: str) -> Any:
    for key in path.split("."):
        doc = doc[key]
    return doc


def without(doc: dict[str, Any], *paths: str) -> dict[str, Any]:
    """A copy with the dotted paths removed: what a write must leave exactly as it was."""
    trimmed = copy.deepcopy(doc)
    for path in paths:
        *parents, leaf = path.split(".")
        node = trimmed
        for key in parents:
            node = node.get(key, {})
        node.pop(leaf, None)
    return trimmed


def error_row(source: str, text: str = "boom", when: datetime = T0) -> dict[str, Any]:
    return {"_id": ObjectId(), "source": source, "error": text, "timestamp": when}


def synced_doc(dot: str, **changes: Any) -> dict[str, Any]:
    """A company the backend has synced before, with data, errors and unknown fields."""
    doc: dict[str, Any] = {
        "_id": ObjectId(),
        "name": f"Carrier {dot}",
        "dotNumber": dot,
        "mcNumber": f"MC-{dot}",
        "ownerId": ObjectId(),
        "tags": ["reefer", {"nested": [1, 2.5, None]}],
        "smsBasics": {
            "unsafeDriving": 40.0,
            "unsafeDrivingMeasure": 3.1,
            "hoursOfService": 12.0,
            "lastUpdated": T0,
        },
        "fmcsaData": {
            "inspections": {"totalInspections": 7, "carrier": {"legalName": "OLD LLC"}},
            "lastViolationSync": "2024-04-01T00:00:00Z",
            "customFlag": True,
            "syncStatus": {
                "lastRun": T0,
                "success": False,
                "errors": [
                    error_row("csa_scores", "csa down"),
                    error_row("entity_linking", "no match"),
                    error_row("violations", "old failure"),
                    error_row("violation_scanner", "raw update"),
                ],
                "csaScoresLastSync": T0 - timedelta(days=3),
                "violationsLastSync": "2024-04-01T00:00:00Z",
                "inspectionsLastSync": T0 - timedelta(days=1),
            },
        },
        "createdAt": T0 - timedelta(days=30),
        "updatedAt": T0,
        "__v": 3,
    }
    doc.update(changes)
    return doc


def owned(dot: str, name: str, mc: str | None = None) -> NewCompany:
    """A new company with what every backend's schema accepts: a name and an owner."""
    return NewCompany(dot, name, mc, extra={"ownerId": ObjectId()})


async def one(store: CompanyStore, ref: str) -> dict[str, Any]:
    doc = await store.get_company(ref)
    assert doc is not None, ref
    return doc


async def summary_of(store: CompanyStore, company_id: str) -> CompanySummary:
    [row] = [s for s in await store.list_summaries() if s.id == company_id]
    return row


def csa_data(**fields: Any) -> SourceData:
    return SourceData(Source.CSA_SCORES, fields or {"smsBasics.unsafeDriving": 55.0})


# --- open / describe ------------------------------------------------------------------


async def test_open_is_idempotent_and_description_names_the_store(store: CompanyStore) -> None:
    await store.open()
    assert store.description.strip()
    assert await store.list_summaries() == []
    assert isinstance(store, CompanyStore)


async def test_calls_after_close_say_the_store_is_not_open(store_maker: Any) -> None:
    closed = store_maker()
    await closed.open()
    await closed.close()
    await closed.close()  # closing twice is harmless
    with pytest.raises(StoreError):
        await closed.list_summaries()


# --- add / insert / get ---------------------------------------------------------------


async def test_add_companies_writes_mongoose_shaped_documents(store: CompanyStore) -> None:
    owner = ObjectId()
    before = datetime.now(UTC) - timedelta(seconds=1)
    result = await store.add_companies(
        [
            NewCompany(" 1234567 ", "Acme Freight", "MC-42", extra={"ownerId": owner}),
            owned("7654321", "Second Carrier"),
        ]
    )
    assert result.added == ["1234567", "7654321"] and result.existing == []

    doc = await one(store, "1234567")
    assert isinstance(doc["_id"], ObjectId)
    assert (doc["name"], doc["dotNumber"], doc["mcNumber"]) == ("Acme Freight", "1234567", "MC-42")
    assert doc["ownerId"] == owner and doc["__v"] == 0
    assert doc["createdAt"] == doc["updatedAt"] and doc["createdAt"] >= before
    assert doc["createdAt"].tzinfo is not None
    assert "fmcsaData" not in doc
    second = await one(store, "7654321")
    assert second["name"] == "Second Carrier" and "mcNumber" not in second

    summary = await summary_of(store, str(doc["_id"]))
    assert (summary.status, summary.dot_number, summary.mc_number) == ("never", "1234567", "MC-42")


async def test_add_companies_reports_existing_dots_and_leaves_them_untouched(
    store: CompanyStore,
) -> None:
    await store.insert_documents([synced_doc("123456")])
    original = await one(store, "123456")
    result = await store.add_companies(
        [owned("123456", "Renamed"), owned("222222", "New"), owned("222222", "Dup")]
    )
    assert result.added == ["222222"]
    assert result.existing == ["123456", "222222"]
    assert ej(await one(store, "123456")) == ej(original)
    assert (await one(store, "222222"))["name"] == "New"


@pytest.mark.parametrize(
    "dot",
    [
        "1234",
        "123456789",
        "12a456",
        "\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits: \\d, not ASCII
        "\uff11\uff12\uff13\uff14\uff15\uff16",  # full-width digits
    ],
)
async def test_add_companies_refuses_dots_the_backend_would_not_store(
    store: CompanyStore, dot: str
) -> None:
    with pytest.raises(StoreError, match="5-8 digits"):
        await store.add_companies([owned("333333", "Good"), owned(dot, "Bad")])
    assert await store.list_summaries() == []  # all or nothing


async def test_insert_documents_stores_raw_documents_exactly(store: CompanyStore) -> None:
    raw = synced_doc("100001", unknownTopLevel={"a": [1, {"b": "c"}]}, legacy=None)
    no_id = {"name": "No id yet", "dotNumber": "100002", "weird": [T0, "x"]}
    assert await store.insert_documents([raw, no_id]) == 2

    assert ej(await one(store, "100001")) == ej(raw)
    assert "_id" not in no_id  # the caller's document is not modified
    stored = await one(store, "100002")
    assert isinstance(stored["_id"], ObjectId)
    assert ej(without(stored, "_id")) == ej(no_id)
    assert ej(await one(store, str(raw["_id"]))) == ej(raw)
    assert await store.get_company("999999") is None
    assert await store.get_company(str(ObjectId())) is None


async def test_a_dot_stored_as_a_number_reads_and_finds_as_text(store: CompanyStore) -> None:
    await store.insert_documents([synced_doc("x", dotNumber=123456)])
    doc = await one(store, " 123456 ")
    assert doc["dotNumber"] == 123456  # still a number in the document
    [row] = await store.list_summaries()
    assert row.dot_number == "123456"
    with pytest.raises(StoreError):
        await store.insert_documents([synced_doc("123456")])


async def test_insert_collision_is_one_line_and_inserts_nothing(store: CompanyStore) -> None:
    await store.insert_documents([synced_doc("300000")])
    with pytest.raises(StoreError) as caught:
        await store.insert_documents([synced_doc("300001"), synced_doc("300000")])
    assert "300000" in str(caught.value) and "\n" not in str(caught.value)
    assert await store.get_company("300001") is None
    assert len(await store.list_summaries()) == 1


# --- messy documents and the status rule ----------------------------------------------


def messy_docs() -> dict[str, dict[str, Any]]:
    return {
        "no_sync_status": {"_id": ObjectId(), "name": "Bare", "dotNumber": "500001"},
        "errors_no_success": {
            "_id": ObjectId(),
            "name": "Errors only",
            "dotNumber": "500002",
            "fmcsaData": {"syncStatus": {"lastRun": T0, "errors": [error_row("violations")]}},
        },
        "false_no_errors": {
            "_id": ObjectId(),
            "name": "Said false",
            "dotNumber": "500003",
            "fmcsaData": {"syncStatus": {"lastRun": T0, "success": False, "errors": []}},
        },
        "string_dates_ok": {
            "_id": ObjectId(),
            "name": "[bold]x[/] Trucking",
            "dotNumber": "500004",
            "fmcsaData": {
                "syncStatus": {
                    "lastRun": "2024-05-01T12:00:00Z",
                    "success": True,
                    "errors": [],
                    "csaScoresLastSync": "2024-05-01T12:00:00Z",
                    "violationsLastSync": "2024-05-01 12:00:00",
                    "inspectionsLastSync": "2024-05-01",
                }
            },
            "updatedAt": "2024-05-01T12:00:00Z",
        },
        "foreign_sources": {
            "_id": ObjectId(),
            "name": "Foreign errors",
            "dotNumber": "500005",
            "fmcsaData": {
                "syncStatus": {
                    "lastRun": T0,
                    "success": False,
                    "errors": [error_row("entity_linking"), error_row("violation_scanner")],
                }
            },
        },
        "garbage": {
            "_id": ObjectId(),
            "name": "Broken",
            "dotNumber": "500006",
            "fmcsaData": "garbage",
        },
    }


async def test_messy_documents_list_with_the_status_rule(store: CompanyStore) -> None:
    docs = messy_docs()
    await store.insert_documents(list(docs.values()))
    rows = {row.id: row for row in await store.list_summaries()}
    by_name = {name: rows[str(doc["_id"])] for name, doc in docs.items()}

    assert by_name["no_sync_status"].status == "never"
    assert by_name["errors_no_success"].status == "failed"
    assert by_name["errors_no_success"].success is None
    assert by_name["false_no_errors"].status == "failed"
    ok = by_name["string_dates_ok"]
    assert (ok.status, ok.name) == ("ok", "[bold]x[/] Trucking")
    assert ok.inspections_last_sync == datetime(2024, 5, 1, tzinfo=UTC)
    assert ok.updated_at == datetime(2024, 5, 1, 12, tzinfo=UTC)
    foreign = by_name["foreign_sources"]
    assert foreign.error_sources == {"entity_linking", "violation_scanner"}
    assert foreign.error_count == 2
    broken = by_name["garbage"]
    assert broken.status == "unreadable" and broken.problem
    assert broken.dot_number == "500006"
    # dates stored as strings stay strings
    raw = await one(store, "500004")
    assert raw["fmcsaData"]["syncStatus"]["inspectionsLastSync"] == "2024-05-01"
    assert (await one(store, "500006"))["fmcsaData"] == "garbage"


async def test_a_null_sync_status_is_an_absent_one(store: CompanyStore) -> None:
    """A real backend's document (issue 8): `syncStatus: null` lists as never synced."""
    doc = real_documents.null_sync_status("3101001")
    await store.insert_documents([doc])
    [row] = await store.list_summaries()
    assert (row.status, row.problem, row.name) == ("never", None, "Null Status Freight LLC")
    assert (row.last_run, row.success, row.error_count) == (None, None, 0)
    assert [r.id for r in await store.list_summaries(CompanyFilter(status="never"))] == [row.id]
    stale = await store.list_summaries(CompanyFilter(stale_after=timedelta(hours=1)))
    assert [r.id for r in stale] == [row.id]  # no source has succeeded: stale, not hidden
    assert ej(await one(store, "3101001")) == ej(doc)


async def test_a_basic_stored_as_text_never_makes_a_carrier_unreadable(
    store: CompanyStore,
) -> None:
    """A real backend's document (issue 8): `"Not Public"` percentile; the status fields
    alone decide (ok here, failed with an error row)."""
    plain = real_documents.not_public("3101002")
    failing = real_documents.not_public(
        "3101003", success=False, errors=[error_row("csa_scores", "HTTP 503")]
    )
    await store.insert_documents([plain, failing])
    rows = {row.dot_number: row for row in await store.list_summaries()}
    assert rows["3101002"].status == "ok" and rows["3101002"].problem is None
    assert rows["3101002"].last_run == plain["fmcsaData"]["syncStatus"]["lastRun"]
    assert rows["3101003"].status == "failed"
    assert rows["3101003"].error_sources == {"csa_scores"}
    ok = await store.list_summaries(CompanyFilter(status="ok"))
    assert [r.dot_number for r in ok] == ["3101002"]
    failed = await store.list_summaries(CompanyFilter(failed_source="csa_scores"))
    assert [r.dot_number for r in failed] == ["3101003"]
    assert [r.dot_number for r in await store.list_summaries(CompanyFilter(text="not pub"))] == [
        "3101002",
        "3101003",
    ]
    stored = await one(store, "3101002")
    assert stored["smsBasics"]["unsafeDriving"] == "Not Public"  # shown as stored
    assert ej(stored) == ej(plain)


async def test_listing_is_in_numeric_dot_order(store: CompanyStore) -> None:
    dots: list[Any] = ["1000000", "99999", "100000", 123456, "20000", "ABC12", "00123", " 042"]
    await store.insert_documents([synced_doc("x", dotNumber=dot) for dot in dots])
    await store.insert_documents([{"name": "No DOT at all"}])
    rows = await store.list_summaries()
    listed = [row.dot_number for row in rows]
    # shorter first, then character by character: numbers numerically, text in its place
    assert listed == [
        "042", "00123", "20000", "99999", "ABC12", "100000", "123456", "1000000", None
    ]  # fmt: skip
    model = CompanyRows()  # the dashboard's list sorts by DOT the same way
    model.set_rows(reversed(rows))
    assert model.visible_summaries() == rows


async def test_the_list_scan_is_the_listing_in_batches_and_the_count_says_how_many(
    store: CompanyStore,
) -> None:
    """What the dashboard loads: `scan_rows` gives every company of the listing, in its
    order, `batch` rows first then twice as many each time, as the summaries
    `list_summaries` gives (messy documents too), and `count_companies` says how many
    are coming."""
    dots: list[Any] = ["1000000", "99999", "100000", 123456, "20000", "ABC12", "00123"]
    await store.insert_documents([synced_doc("x", dotNumber=dot) for dot in dots])
    await store.insert_documents([{"name": "No DOT at all"}, *messy_docs().values()])
    listed = await store.list_summaries()
    batches = [batch async for batch in store.scan_rows(3)]
    sizes = [len(batch) for batch in batches]
    assert sizes[:-1] == [3 * 2**n for n in range(len(sizes) - 1)]  # the first small, then more
    assert 1 <= sizes[-1] <= 3 * 2 ** (len(sizes) - 1)
    assert [summary_of_list_row(row) for batch in batches for row in batch.rows()] == listed
    assert await store.count_companies() == len(listed)


def hostile_list_docs() -> list[dict[str, Any]]:
    """Names and ids holding the separators the scan splits on, names a list row keeps
    or reads back from the search text, problems, error counts."""
    return [
        synced_doc("7001", name="Sep\x1eName"),
        synced_doc("7002", name="Unit\x1fSep\x1e"),
        {"_id": "id\x1ewith\x1fseparators", "name": "ÉTOILE", "dotNumber": "7003"},
        synced_doc("7004", name="UPPER CASE LINES", mcNumber="MC-12"),
        synced_doc("7005", name="", mcNumber="mc-7"),
        {"_id": ObjectId(), "dotNumber": "7006"},
        {"_id": ObjectId(), "name": "No DOT\x1e", "fmcsaData": "garbage"},
        *messy_docs().values(),
    ]


@pytest.mark.parametrize("first", [1, 2, 5])
async def test_the_list_scan_reads_hostile_values_exactly(store: CompanyStore, first: int) -> None:
    """Values holding the scan's separators (its batch is read again row by row), kept
    and dropped display fields, None against "": the rows are the listing's, exactly."""
    await store.insert_documents(hostile_list_docs())
    await store.insert_documents([synced_doc(str(8000 + n), name=f"Fill {n}") for n in range(20)])
    listed = await store.list_summaries()
    async with contextlib.aclosing(store.scan_rows(first)) as scan:
        batches = [batch async for batch in scan]
    assert [summary_of_list_row(row) for batch in batches for row in batch.rows()] == listed
    model = CompanyRows()
    for batch in batches:
        model.extend(batch)
    assert model.visible_summaries() == listed


async def test_a_write_during_the_list_scan_is_not_half_seen(
    store: CompanyStore, other_store: CompanyStore
) -> None:
    """The scan reads one snapshot: a company added while it runs (another process) does
    not shift the batches after it (no row twice, none lost)."""
    await store.insert_documents([synced_doc(str(5000 + n)) for n in range(40)])
    listed = await store.list_summaries()
    batches = []
    async with contextlib.aclosing(store.scan_rows(1)) as scan:
        async for batch in scan:
            if not batches:  # before the reader can be past its fourth batch
                await other_store.insert_documents([synced_doc("1", name="First now")])
            batches.append(batch)
    assert len(batches) > 4
    scanned = [summary_of_list_row(row) for batch in batches for row in batch.rows()]
    assert [row.id for row in scanned] == [row.id for row in listed]


# --- filters --------------------------------------------------------------------------


async def seed_for_filters(store: CompanyStore) -> dict[str, str]:
    """Named companies covering every filter; returns name -> id."""
    now = datetime.now(UTC)
    fresh = {
        "csaScoresLastSync": now,
        "violationsLastSync": now,
        "inspectionsLastSync": now,
    }
    docs = messy_docs()
    docs["fresh_ok"] = {
        "_id": ObjectId(),
        "name": "Große Straße Logistik",
        "dotNumber": "600001",
        "mcNumber": "MC-777",
        "fmcsaData": {"syncStatus": {"lastRun": now, "success": True, "errors": [], **fresh}},
    }
    docs["fresh_failed"] = {
        "_id": ObjectId(),
        "name": "100%_Real\\Freight",
        "dotNumber": "600002",
        "fmcsaData": {
            "syncStatus": {
                "lastRun": now,
                "success": False,
                "errors": [error_row("csa_scores")],
                **fresh,
            }
        },
    }
    docs["old_ok"] = {
        "_id": ObjectId(),
        "name": "Plain Carrier",
        "dotNumber": "600003",
        "fmcsaData": {
            "syncStatus": {
                "lastRun": now,
                "success": True,
                "errors": [],
                **fresh,
                "violationsLastSync": now - timedelta(days=3),
            }
        },
    }
    await store.insert_documents(list(docs.values()))
    return {name: str(doc["_id"]) for name, doc in docs.items()}


async def listed(store: CompanyStore, ids: dict[str, str], **flt: Any) -> set[str]:
    names = {value: key for key, value in ids.items()}
    return {names[row.id] for row in await store.list_summaries(CompanyFilter(**flt))}


async def test_text_filter_is_a_casefolded_substring_of_dot_name_or_mc(
    store: CompanyStore,
) -> None:
    ids = await seed_for_filters(store)
    assert await listed(store, ids, text="STRASSE") == {"fresh_ok"}  # ß casefolds to ss
    assert await listed(store, ids, text="mc-77") == {"fresh_ok"}
    assert await listed(store, ids, text="60000") == {"fresh_ok", "fresh_failed", "old_ok"}
    assert await listed(store, ids, text="[bold]") == {"string_dates_ok"}
    assert await listed(store, ids, text="BROKEN") == {"garbage"}  # unreadable still listed


async def test_text_filter_treats_like_wildcards_literally(store: CompanyStore) -> None:
    ids = await seed_for_filters(store)
    assert await listed(store, ids, text="%") == {"fresh_failed"}
    assert await listed(store, ids, text="0%_r") == {"fresh_failed"}
    assert await listed(store, ids, text="_") == {"fresh_failed"}
    assert await listed(store, ids, text="\\") == {"fresh_failed"}
    assert await listed(store, ids, text="l\\f") == {"fresh_failed"}
    assert await listed(store, ids, text="e_S") == set()  # "_" is not "any character"


async def test_status_and_failed_source_filters(store: CompanyStore) -> None:
    ids = await seed_for_filters(store)
    assert await listed(store, ids, status="never") == {"no_sync_status"}
    assert await listed(store, ids, status="ok") == {"string_dates_ok", "fresh_ok", "old_ok"}
    failed = {"errors_no_success", "false_no_errors", "foreign_sources", "fresh_failed"}
    assert await listed(store, ids, status="failed") == failed
    assert await listed(store, ids, failed_source="any") == failed
    assert await listed(store, ids, failed_source="violations") == {"errors_no_success"}
    assert await listed(store, ids, failed_source="entity_linking") == {"foreign_sources"}
    assert await listed(store, ids, failed_source="violation_scanner") == {"foreign_sources"}
    assert await listed(store, ids, failed_source="violation") == set()
    assert await listed(store, ids, failed_source="csa_scores", text="real") == {"fresh_failed"}


async def test_company_ids_filter_lists_exactly_those_and_agrees_with_the_list_model(
    store: CompanyStore,
) -> None:
    """The fleet screen's "carriers with this error": ids the store does not hold are
    ignored, an empty set lists nothing, and it narrows together with other fields."""
    ids = await seed_for_filters(store)
    wanted = frozenset({ids["fresh_ok"], ids["fresh_failed"], ids["garbage"], "no such id"})
    assert await listed(store, ids, company_ids=wanted) == {"fresh_ok", "fresh_failed", "garbage"}
    assert await listed(store, ids, company_ids=wanted, status="failed") == {"fresh_failed"}
    assert await listed(store, ids, company_ids=frozenset()) == set()
    everything = await store.list_summaries()
    model = CompanyRows()
    model.set_rows(everything)
    model.set_filter(CompanyFilter(company_ids=wanted), datetime.now(UTC))
    assert {row.id for row in model.visible_summaries()} == wanted - {"no such id"}


async def test_stale_filter_and_unreadable_documents_dropping_out(store: CompanyStore) -> None:
    ids = await seed_for_filters(store)
    fresh = {"fresh_ok", "fresh_failed"}
    stale = await listed(store, ids, stale_after=timedelta(hours=24))
    assert stale == set(ids) - fresh - {"garbage"}
    assert await listed(store, ids, stale_after=timedelta(days=5000)) == {
        "no_sync_status",
        "errors_no_success",
        "false_no_errors",
        "foreign_sources",
    }  # never-synced sources count as stale; string dates are read as dates
    assert await listed(store, ids, stale_after=timedelta(hours=24), status="ok") == {
        "string_dates_ok",
        "old_ok",
    }


async def test_due_filter_picks_never_run_and_long_unrun_but_never_unreadable(
    store: CompanyStore,
) -> None:
    ids = await seed_for_filters(store)
    run_today = {"fresh_ok", "fresh_failed", "old_ok"}  # old_ok: a stale source, a fresh run
    assert await listed(store, ids, due_after=timedelta(hours=24)) == (
        set(ids) - run_today - {"garbage"}
    )
    # a lastRun stored as text is read as a date; only the never-run stay due this long
    assert await listed(store, ids, due_after=timedelta(days=5000)) == {"no_sync_status"}
    assert await listed(store, ids, due_after=timedelta(hours=24), status="failed") == {
        "errors_no_success",
        "false_no_errors",
        "foreign_sources",
    }


async def test_due_filter_agrees_with_the_in_memory_rule(store: CompanyStore) -> None:
    await seed_for_filters(store)
    everything = await store.list_summaries()
    model = CompanyRows()
    model.set_rows(everything)
    statuses: list[StatusFilter | None] = [None, "never", "ok", "failed"]
    ages = [timedelta(seconds=1), timedelta(hours=24), timedelta(days=5000)]
    for status, age in itertools.product(statuses, ages):
        flt = CompanyFilter(status=status, due_after=age, stale_after=timedelta(hours=1))
        now = datetime.now(UTC)
        expected = [row.id for row in everything if flt.matches(row, now)]
        assert [row.id for row in await store.list_summaries(flt)] == expected, flt
        model.set_filter(flt, now)
        assert [row.id for row in model.visible_summaries()] == expected, flt


async def test_last_run_of_reads_what_the_listing_reads(store: CompanyStore) -> None:
    """A pass compares the two: they must agree on every document, messy ones too."""
    await seed_for_filters(store)
    for row in await store.list_summaries():
        assert await store.last_run_of(row.id) == row.last_run, row
    assert await store.last_run_of(str(ObjectId())) is None
    await store.add_companies([owned("777001", "New")])
    company_id = str((await one(store, "777001"))["_id"])
    assert await store.last_run_of(company_id) is None
    await store.record_success(company_id, RUN, csa_data(), AT)
    assert await store.last_run_of(company_id) == RUN
    assert (await summary_of(store, company_id)).last_run == RUN


async def test_store_filters_agree_with_the_in_memory_rule(store: CompanyStore) -> None:
    await seed_for_filters(store)
    everything = await store.list_summaries()
    statuses: list[StatusFilter | None] = [None, "never", "ok", "failed"]
    choices = itertools.product(
        ["", "carrier", "6000", "%", "\x1f", "1\x1fg"],  # a separator: SQL only narrows
        statuses,
        [None, "any", "csa_scores", "entity_linking", "a|b"],
        [None, timedelta(hours=24)],
    )
    model = CompanyRows()  # the dashboard's list filters by the same rule
    model.set_rows(everything)
    for text, status, source, age in choices:
        flt = CompanyFilter(text=text, status=status, failed_source=source, stale_after=age)
        now = datetime.now(UTC)
        expected = [row.id for row in everything if flt.matches(row, now)]
        assert [row.id for row in await store.list_summaries(flt)] == expected, flt
        model.set_filter(flt, now)
        assert [row.id for row in model.visible_summaries()] == expected, flt


# --- record_success / record_failure --------------------------------------------------


async def test_record_success_writes_only_its_paths(store: CompanyStore) -> None:
    doc = synced_doc("700001")
    await store.insert_documents([doc])
    before = await one(store, "700001")
    data = SourceData(
        Source.CSA_SCORES,
        {"smsBasics.unsafeDriving": 55.0, "smsBasics.unsafeDrivingMeasure": None},
        summary="5 BASICs",
    )
    await store.record_success(str(doc["_id"]), RUN, data, AT)
    after = await one(store, "700001")

    assert after["smsBasics"]["unsafeDriving"] == 55.0
    assert after["smsBasics"]["unsafeDrivingMeasure"] is None
    status = after["fmcsaData"]["syncStatus"]
    assert status["lastRun"] == RUN
    assert status["csaScoresLastSync"] == AT
    assert [e["source"] for e in status["errors"]] == [
        "entity_linking",
        "violations",
        "violation_scanner",
    ]
    assert ej(status["errors"]) == ej(before["fmcsaData"]["syncStatus"]["errors"][1:])
    assert status["success"] is False
    assert after["updatedAt"] == AT
    assert after["__v"] == 4
    written = (
        "smsBasics.unsafeDriving",
        "smsBasics.unsafeDrivingMeasure",
        f"{SS}.lastRun",
        f"{SS}.csaScoresLastSync",
        f"{SS}.errors",
        f"{SS}.success",
        "updatedAt",
        "__v",
    )
    assert ej(without(after, *written)) == ej(without(before, *written))


async def test_record_failure_keeps_data_and_replaces_its_error_row(store: CompanyStore) -> None:
    doc = synced_doc("700002")
    await store.insert_documents([doc])
    before = await one(store, "700002")
    await store.record_failure(str(doc["_id"]), RUN, Source.VIOLATIONS, "HTTP 503", AT)
    after = await one(store, "700002")

    status = after["fmcsaData"]["syncStatus"]
    assert status["lastRun"] == RUN
    assert status["violationsLastSync"] == "2024-04-01T00:00:00Z"  # not advanced
    assert status["success"] is False
    assert [e["source"] for e in status["errors"]] == [
        "csa_scores",
        "entity_linking",
        "violation_scanner",
        "violations",
    ]
    new = status["errors"][-1]
    assert isinstance(new["_id"], ObjectId)
    assert (new["error"], new["timestamp"]) == ("HTTP 503", AT)
    assert after["updatedAt"] == AT and after["__v"] == 4
    written = (f"{SS}.lastRun", f"{SS}.errors", f"{SS}.success", "updatedAt", "__v")
    assert ej(without(after, *written)) == ej(without(before, *written))

    row = await summary_of(store, str(doc["_id"]))
    assert row.status == "failed" and "violations" in row.error_sources
    assert row.last_run == RUN and row.updated_at == AT


async def test_success_is_recomputed_from_the_errors_left(store: CompanyStore) -> None:
    doc = synced_doc("700003")
    doc["fmcsaData"]["syncStatus"]["errors"] = [error_row("inspections")]
    await store.insert_documents([doc])
    company_id = str(doc["_id"])
    data = SourceData(Source.INSPECTIONS, {"fmcsaData.inspections.totalInspections": 9})
    await store.record_success(company_id, RUN, data, AT)
    after = await one(store, company_id)
    status = after["fmcsaData"]["syncStatus"]
    assert status["success"] is True and status["errors"] == []
    assert status["inspectionsLastSync"] == AT
    assert after["fmcsaData"]["inspections"] == {
        "totalInspections": 9,
        "carrier": {"legalName": "OLD LLC"},
    }
    assert (await summary_of(store, company_id)).status == "ok"

    later = AT + timedelta(minutes=1)
    await store.record_failure(company_id, RUN, Source.CSA_SCORES, "timeout", later)
    assert (await summary_of(store, company_id)).status == "failed"
    await store.record_success(company_id, RUN, csa_data(), later)
    row = await summary_of(store, company_id)
    assert (row.status, row.success, row.error_count) == ("ok", True, 0)


async def test_failure_then_success_keeps_previous_data(store: CompanyStore) -> None:
    doc = synced_doc("700004")
    await store.insert_documents([doc])
    company_id = str(doc["_id"])
    await store.record_failure(company_id, RUN, Source.CSA_SCORES, "boom", AT)
    after = await one(store, company_id)
    assert ej(after["smsBasics"]) == ej(doc["smsBasics"])
    assert after["fmcsaData"]["syncStatus"]["csaScoresLastSync"] == T0 - timedelta(days=3)


async def test_a_first_sync_builds_missing_structure(store: CompanyStore) -> None:
    result = await store.add_companies([owned("710000", "New Co")])
    company_id = str((await one(store, result.added[0]))["_id"])
    await store.record_success(company_id, RUN, csa_data(), AT)
    doc = await one(store, company_id)
    assert doc["smsBasics"] == {"unsafeDriving": 55.0}
    status = doc["fmcsaData"]["syncStatus"]
    assert (status["success"], status["errors"], status["lastRun"]) == (True, [], RUN)
    assert set(status) == {"lastRun", "csaScoresLastSync", "errors", "success"}
    assert doc["__v"] == 0  # the errors array did not change


async def test_non_document_intermediates_and_non_list_errors_are_replaced(
    store: CompanyStore,
) -> None:
    broken = {"_id": ObjectId(), "name": "B", "dotNumber": "720000", "fmcsaData": "garbage"}
    odd = synced_doc("720001", smsBasics=7)
    odd["fmcsaData"]["syncStatus"]["errors"] = "not a list"
    await store.insert_documents([broken, odd])

    await store.record_failure(str(broken["_id"]), RUN, Source.VIOLATIONS, "down", AT)
    row = await summary_of(store, str(broken["_id"]))
    assert (row.status, row.error_sources) == ("failed", {"violations"})

    await store.record_success(str(odd["_id"]), RUN, csa_data(), AT)
    doc = await one(store, str(odd["_id"]))
    assert doc["smsBasics"] == {"unsafeDriving": 55.0}
    assert doc["fmcsaData"]["syncStatus"]["errors"] == []
    assert doc["fmcsaData"]["syncStatus"]["success"] is True


@pytest.mark.parametrize(
    ("stored", "expected"),
    [("", "NEW LEGAL LLC"), ("   ", "NEW LEGAL LLC"), (None, "NEW LEGAL LLC"), ("Kept", "Kept")],
)
async def test_legal_name_fills_only_an_empty_name(
    store: CompanyStore, stored: str | None, expected: str
) -> None:
    doc = synced_doc("730000", name=stored)
    if stored is None:
        del doc["name"]
    await store.insert_documents([doc])
    data = SourceData(
        Source.INSPECTIONS,
        {"fmcsaData.inspections.totalInspections": 1},
        legal_name="NEW LEGAL LLC",
    )
    await store.record_success(str(doc["_id"]), RUN, data, AT)
    assert (await one(store, "730000"))["name"] == expected
    assert (await summary_of(store, str(doc["_id"]))).name == expected


def inspection(number: str, day: int, **extra: Any) -> dict[str, Any]:
    return {
        "reportNumber": number,
        "inspectionDate": datetime(2024, 3, day, tzinfo=UTC),
        "state": "TX",
        "violations": [{"code": "393.9", "oos": False}],
        **extra,
    }


async def test_inspections_upsert_without_duplicates(store: CompanyStore) -> None:
    doc, other = synced_doc("740000"), synced_doc("740001")
    await store.insert_documents([doc, other])
    company_id = str(doc["_id"])
    first = SourceData(
        Source.VIOLATIONS, {}, inspections=[inspection("A1", 1), inspection("B2", 5)]
    )
    await store.record_success(company_id, RUN, first, AT)
    stored = await store.inspections_for(company_id)
    assert [i["reportNumber"] for i in stored] == ["B2", "A1"]  # newest first
    assert all(i["companyId"] == doc["_id"] for i in stored)
    a1_id = stored[1]["_id"]

    again = [inspection("A1", 1, state="OK"), inspection("C3", 9)]
    await store.record_success(company_id, RUN, SourceData(Source.VIOLATIONS, {}, again), AT)
    stored = await store.inspections_for(company_id)
    assert [i["reportNumber"] for i in stored] == ["C3", "B2", "A1"]
    assert stored[2]["_id"] == a1_id and stored[2]["state"] == "OK"
    assert await store.inspections_for(str(other["_id"])) == []
    assert (await one(store, company_id))["fmcsaData"]["syncStatus"]["violationsLastSync"] == AT


async def test_inspections_are_newest_first_undated_last_then_by_report_number(
    store: CompanyStore,
) -> None:
    doc = synced_doc("740002")
    await store.insert_documents([doc])
    batch = [
        inspection("R1", 3),
        inspection("R3", 3),
        {**inspection("R2", 1), "inspectionDate": "2024-03-07"},  # a date as text
        {**inspection("R9", 1), "inspectionDate": None},
        {**inspection("R8", 1), "inspectionDate": "not a date"},
    ]
    data = SourceData(Source.VIOLATIONS, {}, inspections=batch)
    await store.record_success(str(doc["_id"]), RUN, data, AT)
    stored = await store.inspections_for(str(doc["_id"]))
    assert [i["reportNumber"] for i in stored] == ["R2", "R3", "R1", "R9", "R8"]


async def test_a_rejected_write_changes_nothing(store: CompanyStore) -> None:
    doc = synced_doc("750000")
    await store.insert_documents([doc])
    before = ej(await one(store, "750000"))
    bad = SourceData(
        Source.VIOLATIONS, {"x": 1}, inspections=[inspection("ok", 1), {"state": "TX"}]
    )
    with pytest.raises(StoreError):
        await store.record_success(str(doc["_id"]), RUN, bad, AT)
    assert ej(await one(store, "750000")) == before
    assert await store.inspections_for(str(doc["_id"])) == []


async def test_writes_to_an_unknown_company_raise(store: CompanyStore) -> None:
    with pytest.raises(StoreError):
        await store.record_success(str(ObjectId()), RUN, csa_data(), AT)
    with pytest.raises(StoreError):
        await store.record_failure(str(ObjectId()), RUN, Source.CSA_SCORES, "x", AT)


async def test_twenty_concurrent_writes_all_land(store: CompanyStore) -> None:
    docs = [synced_doc(str(800000 + i)) for i in range(20)]
    await store.insert_documents(docs)
    writes = [
        store.record_success(str(doc["_id"]), RUN, csa_data(), AT)
        if i % 2
        else store.record_failure(str(doc["_id"]), RUN, Source.VIOLATIONS, f"fail {i}", AT)
        for i, doc in enumerate(docs)
    ]
    await asyncio.gather(*writes)
    for i, doc in enumerate(docs):
        status = (await one(store, str(doc["_id"])))["fmcsaData"]["syncStatus"]
        assert status["lastRun"] == RUN
        if i % 2:
            assert status["csaScoresLastSync"] == AT
        else:
            assert status["errors"][-1]["error"] == f"fail {i}"


ROUNDS = 20


async def test_concurrent_sources_on_one_company_from_two_processes_all_land(
    store: CompanyStore, other_store: CompanyStore
) -> None:
    doc = synced_doc("810000")
    await store.insert_documents([doc])
    company_id = str(doc["_id"])
    for _ in range(ROUNDS):
        await asyncio.gather(
            store.record_success(company_id, RUN, csa_data(), AT),
            other_store.record_failure(company_id, RUN, Source.VIOLATIONS, "v", AT),
            store.record_failure(company_id, RUN, Source.INSPECTIONS, "i", AT),
            other_store.record_success(
                company_id,
                RUN,
                SourceData(Source.CSA_SCORES, {"smsBasics.hoursOfService": 1.0}),
                AT,
            ),
        )
    doc = await one(store, company_id)
    status = doc["fmcsaData"]["syncStatus"]
    assert sorted(e["source"] for e in status["errors"]) == [
        "entity_linking",
        "inspections",
        "violation_scanner",
        "violations",
    ]
    assert (doc["smsBasics"]["unsafeDriving"], doc["smsBasics"]["hoursOfService"]) == (55.0, 1.0)
    # Every failure changes the errors array, and the first csa success removes the stored
    # csa_scores row: 2 failures a round + 1 bumps of __v, none lost to a race.
    assert doc["__v"] == 3 + 2 * ROUNDS + 1


# --- changed_since --------------------------------------------------------------------


async def test_changed_since_returns_companies_written_at_or_after(store: CompanyStore) -> None:
    docs = [synced_doc("900000"), synced_doc("900001")]
    await store.insert_documents(docs)
    assert {row.id for row in await store.changed_since(T0)} == {str(d["_id"]) for d in docs}
    assert await store.changed_since(AT) == []

    await store.record_failure(str(docs[1]["_id"]), RUN, Source.CSA_SCORES, "x", AT)
    [row] = await store.changed_since(AT)
    assert row.id == str(docs[1]["_id"]) and row.status == "failed"
    assert await store.changed_since(AT + timedelta(milliseconds=1)) == []

    since = datetime.now(UTC) - timedelta(seconds=1)
    await store.add_companies([owned("900002", "Fresh")])
    assert [row.dot_number for row in await store.changed_since(since)] == ["900002"]


async def test_the_change_feed_brings_what_another_writer_wrote(
    store: CompanyStore, other_store: CompanyStore
) -> None:
    """The one change feed every store has: polled (SQLite, a standalone MongoDB) or
    pushed (a replica set); either way another process's write arrives as a batch."""
    await store.insert_documents([synced_doc("910000")])
    feed = store.changes(datetime.now(UTC), 0.05)
    try:
        next_batch = asyncio.ensure_future(anext(feed))
        await other_store.add_companies([owned("910001", "Written Elsewhere")])
        batch = await asyncio.wait_for(next_batch, timeout=15)
        while not batch.summaries:  # a push may say "look again" before the write lands
            batch = await asyncio.wait_for(anext(feed), timeout=15)
    finally:
        await feed.aclose()
    assert [row.dot_number for row in batch.summaries] == ["910001"]
    assert not batch.everything


# --- leases ---------------------------------------------------------------------------


async def test_lease_is_exclusive_renewable_and_released_by_its_owner(store: CompanyStore) -> None:
    ttl = timedelta(minutes=1)
    assert await store.acquire_lease("c1", "alpha", ttl)
    assert not await store.acquire_lease("c1", "beta", ttl)
    assert await store.acquire_lease("c1", "alpha", ttl)  # re-acquire renews
    assert await store.renew_lease("c1", "alpha", ttl)
    assert not await store.renew_lease("c1", "beta", ttl)
    assert not await store.renew_lease("c2", "alpha", ttl)
    assert await store.leased_ids() == {"c1"}

    await store.release_lease("c1", "beta")  # not the owner: ignored
    assert await store.leased_ids() == {"c1"}
    assert not await store.acquire_lease("c1", "beta", ttl)
    await store.release_lease("c1", "alpha")
    assert await store.leased_ids() == set()
    assert await store.acquire_lease("c1", "beta", ttl)


async def test_leased_ids_can_leave_out_one_owners_leases(store: CompanyStore) -> None:
    ttl = timedelta(minutes=1)
    assert await store.acquire_lease("mine", "dashboard", ttl)
    assert await store.acquire_lease("theirs", "scheduler", ttl)
    assert await store.leased_ids() == {"mine", "theirs"}
    assert await store.leased_ids(exclude_owner="dashboard") == {"theirs"}
    assert await store.leased_ids(exclude_owner="nobody") == {"mine", "theirs"}


async def test_an_expired_lease_is_taken_over(store: CompanyStore) -> None:
    assert await store.acquire_lease("c1", "alpha", timedelta(milliseconds=30))
    assert await store.acquire_lease("c2", "alpha", timedelta(minutes=1))
    await asyncio.sleep(0.06)
    assert await store.leased_ids() == {"c2"}
    assert await store.acquire_lease("c1", "beta", timedelta(minutes=1))
    assert not await store.renew_lease("c1", "alpha", timedelta(minutes=1))
    assert await store.leased_ids() == {"c1", "c2"}


async def test_leases_are_shared_between_processes(
    store: CompanyStore, other_store: CompanyStore
) -> None:
    ttl = timedelta(minutes=1)
    assert await store.acquire_lease("c1", "process-a", ttl)
    assert await other_store.leased_ids() == {"c1"}
    assert not await other_store.acquire_lease("c1", "process-b", ttl)
    results = await asyncio.gather(
        *(s.acquire_lease("c9", f"owner-{i}", ttl) for i, s in enumerate([store, other_store] * 3))
    )
    assert results.count(True) == 1
    await store.release_lease("c1", "process-a")
    assert await other_store.acquire_lease("c1", "process-b", ttl)


# --- store URLs and opening (SQLite specifics) ----------------------------------------


def test_open_store_parses_sqlite_urls(tmp_path: Path) -> None:
    relative = open_store("sqlite:///data/fmcsa.db")
    assert isinstance(relative, SqliteStore)
    assert relative.description == str(Path("data/fmcsa.db"))
    absolute = open_store(f"sqlite:///{tmp_path}/x.db")  # four slashes: tmp_path is absolute
    assert absolute.description == str(tmp_path / "x.db")
    assert open_store("sqlite:///~/x.db").description == str(Path("~/x.db").expanduser())


def test_open_store_parses_mongodb_urls() -> None:
    plain = open_store("mongodb://localhost/fleet")
    assert isinstance(plain, MongoStore)
    assert plain.description == "localhost:27017/fleet"
    secret = open_store("mongodb+srv://u:pw@cluster.example/db?retryWrites=true")
    assert isinstance(secret, MongoStore)
    assert secret.description == "cluster.example/db"
    named = open_store("mongodb://u:pw@h1:27018,h2/?replicaSet=rs", database="fleet")
    assert named.description == "h1:27018,h2:27017/fleet"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/plain/path.db", "no scheme"),
        ("sqlite://relative.db", "three slashes"),
        ("sqlite:///", "names no file"),
        (
            "postgres://h/db",
            "unknown store scheme 'postgres' in postgres://h/db; use sqlite:///PATH",
        ),
    ],
)
def test_open_store_rejects_what_it_cannot_use(url: str, message: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert message in str(caught.value)


def test_store_errors_never_echo_a_password() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("redis://admin:hunter2@cache:6379/0")
    assert "hunter2" not in str(caught.value)
    assert "admin:***@cache" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        (
            "mongodb://u:p%40ss@h1,h2:27017/db?replicaSet=rs",
            "mongodb://u:***@h1,h2:27017/db?replicaSet=rs",
        ),
        ("mongodb://u:pa/ss@h/db", "mongodb://u:***@h/db"),
        (
            "mongodb://h/db?tlsCertificateKeyFilePassword=s3cret&x=1",
            "mongodb://h/db?tlsCertificateKeyFilePassword=***&x=1",
        ),
        ("mongodb://user@h/db", "mongodb://user@h/db"),
        ("sqlite:///a:b@c.db", "sqlite:///a:b@c.db"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


async def test_sqlite_adds_a_company_without_name_or_owner(tmp_path: Path) -> None:
    """The embedded store takes a bare DOT (the first sync fills the name); MongoDB
    refuses it, as its schema requires a name and an owner (see test_mongo_store)."""
    store = SqliteStore(tmp_path / "x.db")
    await store.open()
    result = await store.add_companies([NewCompany("7654321")])
    assert result.added == ["7654321"] and result.existing == []
    bare = await one(store, "7654321")
    assert bare["name"] == "" and "mcNumber" not in bare
    assert isinstance(bare["_id"], ObjectId) and bare["__v"] == 0
    await store.close()


async def test_a_directory_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        await SqliteStore(tmp_path).open()
    assert str(tmp_path) in str(caught.value) and "\n" not in str(caught.value)


async def test_a_file_that_is_not_sqlite_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are not the pages you are looking for\n" * 200)
    store = SqliteStore(path)
    with pytest.raises(StoreUnavailable) as caught:
        await store.open()
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(StoreError):
        await store.list_summaries()  # a failed open leaves nothing half-running


async def test_a_parent_that_is_a_file_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    path = tmp_path / "file" / "sub" / "x.db"
    with pytest.raises(StoreUnavailable) as caught:
        await SqliteStore(path).open()
    assert str(caught.value).startswith(f"cannot open store {path}: ")


async def test_open_creates_the_parent_directory_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "x.db"
    first = SqliteStore(path)
    await first.open()
    await first.add_companies([NewCompany("123456", "Kept")])
    await first.close()
    again = SqliteStore(path)
    await again.open()
    assert [row.name for row in await again.list_summaries()] == ["Kept"]
    await again.close()


async def test_limit_gives_the_first_rows_in_dot_order(store: CompanyStore) -> None:
    dots = ["90000", "100000", "20000", "3000000", "55555"]
    await store.add_companies([owned(dot, f"Carrier {dot}") for dot in dots])
    first = await store.list_summaries(limit=3)
    assert [s.dot_number for s in first] == ["20000", "55555", "90000"]
    assert len(await store.list_summaries(limit=10)) == 5


async def test_a_file_of_an_older_schema_is_summarized_again_on_open(tmp_path: Path) -> None:
    """Rows an older fmcsa-tui summarized by an older rule (the two real documents it
    listed as unreadable) are derived again when the file is opened, documents intact."""
    path = tmp_path / "old.db"
    null_status = real_documents.null_sync_status("3101001")
    text_basic = real_documents.not_public("3101002")
    store = SqliteStore(path)
    await store.open()
    await store.insert_documents([null_status, text_basic])
    await store.close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:  # as version 1 wrote them
        for dot, problem in zip(
            ("3101001", "3101002"), real_documents.OLD_PROBLEMS.values(), strict=True
        ):
            conn.execute(
                "UPDATE companies SET status = 'unreadable', last_run = NULL, success = NULL,"
                " csa_last_sync = NULL, viol_last_sync = NULL, insp_last_sync = NULL,"
                " error_sources = '', error_count = 0, updated_at = NULL, problem = ?"
                " WHERE dot = ?",
                (problem, dot),
            )
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        written = dict(conn.execute("SELECT dot, doc FROM companies"))

    reopened = SqliteStore(path)
    await reopened.open()
    rows = {row.dot_number: row for row in await reopened.list_summaries()}
    assert (rows["3101001"].status, rows["3101002"].status) == ("never", "ok")
    assert rows["3101002"].updated_at == real_documents.WRITTEN
    assert all(row.problem is None for row in rows.values())
    assert [r.dot_number for r in await reopened.list_summaries(CompanyFilter(status="ok"))] == [
        "3101002"
    ]
    await reopened.close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert dict(conn.execute("SELECT dot, doc FROM companies")) == written  # untouched
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
        assert version.fetchone() == (str(SCHEMA_VERSION),)


async def test_a_version_4_file_gains_the_list_columns_on_open(tmp_path: Path) -> None:
    """Version 5's list columns, filled from a version 4 file's own columns in SQL: the
    list scan gives the listing exactly (hostile values too)."""
    path = tmp_path / "v4.db"
    store = SqliteStore(path)
    await store.open()
    await store.insert_documents(hostile_list_docs())
    listed = await store.list_summaries()
    await store.close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:  # as version 4 wrote it
        conn.execute("ALTER TABLE companies DROP COLUMN list_kept")
        conn.execute("ALTER TABLE companies DROP COLUMN list_hex")
        conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    reopened = SqliteStore(path)
    await reopened.open()
    try:
        assert await reopened.list_summaries() == listed
        scanned = [row async for batch in reopened.scan_rows(2) for row in batch.rows()]
        assert [summary_of_list_row(row) for row in scanned] == listed
    finally:
        await reopened.close()


#: The tables as version 2 wrote them: documents as Relaxed Extended JSON text.
_V2_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE companies (
        id TEXT NOT NULL UNIQUE, dot TEXT UNIQUE, name TEXT, mc TEXT, search TEXT NOT NULL,
        status TEXT NOT NULL, last_run TEXT, success INTEGER, csa_last_sync TEXT,
        viol_last_sync TEXT, insp_last_sync TEXT, error_sources TEXT NOT NULL,
        error_count INTEGER NOT NULL, updated_at TEXT, problem TEXT, doc TEXT NOT NULL
    )""",
    """CREATE TABLE fmcsainspections (
        company_id TEXT NOT NULL, report_number TEXT NOT NULL, doc TEXT NOT NULL,
        inspection_date TEXT, UNIQUE (company_id, report_number)
    )""",
    "CREATE TABLE leases (company_id TEXT PRIMARY KEY, owner TEXT NOT NULL,"
    " expires_at TEXT NOT NULL)",
    "INSERT INTO meta (key, value) VALUES ('schema_version', '2')",
)


async def test_a_version_2_file_of_extended_json_is_converted_on_open(tmp_path: Path) -> None:
    """Documents and inspections written as text by version 2 read back the same, with
    their types (ObjectIds, dates), list by the rule, and resync in place."""
    path = tmp_path / "v2.db"
    doc = synced_doc("760000")
    kept = {"_id": ObjectId(), **inspection("K1", 2), "companyId": doc["_id"], "note": "x"}
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        for statement in _V2_SCHEMA:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO companies (id, dot, name, search, status, error_sources, error_count,"
            " doc) VALUES (?, '760000', 'stale', '', 'never', '', 0, ?)",
            (str(doc["_id"]), ej(doc)),
        )
        conn.execute(
            "INSERT INTO fmcsainspections (company_id, report_number, doc) VALUES (?, 'K1', ?)",
            (str(doc["_id"]), ej(kept)),
        )

    store = SqliteStore(path)
    await store.open()
    try:
        assert ej(await one(store, "760000")) == ej(doc)
        assert ej(await store.inspections_for(str(doc["_id"]))) == ej([kept])
        [row] = await store.list_summaries()
        assert (row.name, row.status, row.error_count) == ("Carrier 760000", "failed", 4)
        # version 4's integer times were filled on open: the list scan reads them
        scanned = [r async for batch in store.scan_rows(10) for r in batch.rows()]
        assert [summary_of_list_row(r) for r in scanned] == [row]
        assert row.last_run is not None
        again = SourceData(Source.VIOLATIONS, {}, inspections=[inspection("K1", 2, state="OK")])
        await store.record_success(str(doc["_id"]), RUN, again, AT)
        [resynced] = await store.inspections_for(str(doc["_id"]))
        assert ej(resynced) == ej({**kept, "state": "OK"})  # its _id and extras kept
    finally:
        await store.close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        types = conn.execute(
            "SELECT typeof(doc) FROM companies UNION SELECT typeof(doc) FROM fmcsainspections"
        )
        assert types.fetchall() == [("blob",)]
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
        assert version.fetchone() == (str(SCHEMA_VERSION),) == ("5",)


async def test_a_resync_of_unchanged_inspections_leaves_them_as_they_were(
    tmp_path: Path,
) -> None:
    """The digest of what an upsert set lets an unchanged inspection be skipped: the row
    is the same, byte for byte, and a changed one is merged as before."""
    store = SqliteStore(tmp_path / "s.db")
    await store.open()
    try:
        doc = synced_doc("770000")
        await store.insert_documents([doc])
        batch = [inspection("U1", 1), inspection("U2", 2)]
        await store.record_success(
            str(doc["_id"]), RUN, SourceData(Source.VIOLATIONS, {}, batch), AT
        )
        before = {i["reportNumber"]: ej(i) for i in await store.inspections_for(str(doc["_id"]))}
        batch = [inspection("U1", 1), inspection("U2", 2, state="OK")]
        later = AT + timedelta(hours=1)
        await store.record_success(
            str(doc["_id"]), RUN, SourceData(Source.VIOLATIONS, {}, batch), later
        )
        after = {i["reportNumber"]: i for i in await store.inspections_for(str(doc["_id"]))}
    finally:
        await store.close()
    assert ej(after["U1"]) == before["U1"]
    assert after["U2"]["state"] == "OK" and ej(after["U2"]) != before["U2"]
