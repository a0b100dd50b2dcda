"""Generated backend-shaped documents against the status rule, through every reader.

Documents are built like the backend's, then messed up the way real ones are: fields
nulled, missing, of another BSON type (string, int, long, double, boolean, array,
document, date, ObjectId, Decimal128, null), dates as ISO strings and epoch numbers,
`dotNumber` as a number, unknown fields and error sources. Three properties:

(a) the status is the rule applied to the status fields, as `expected_status` below
    restates it from `fmcsa_tui.models`' docstring (it never calls the code under test);
(b) listings (every filter), `show`, `show --json`, `status` and `status --json` never
    fail and list every document, the same on SQLite and MongoDB;
(c) a resync against the sandbox never raises, keeps every field it does not own byte
    for byte and leaves a document whose status is still the rule's, on both stores.

Runs derandomized (the `fmcsa-ci` profile in conftest), so a failure reproduces as is.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
import tempfile
import unicodedata
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymongo
import pytest
from bson import Decimal128, Int64, ObjectId, json_util
from bson.json_util import RELAXED_JSON_OPTIONS
from click.testing import CliRunner
from hypothesis import Phase, event, given, settings
from hypothesis import strategies as st
from rich.console import Console

from fmcsa_tui.cli import cli
from fmcsa_tui.models import BASIC_FIELDS, Company, CompanySummary, Source, summarize
from fmcsa_tui.models.runs import Origin
from fmcsa_tui.sandbox.server import SandboxConfig, SandboxServer
from fmcsa_tui.settings import Settings
from fmcsa_tui.store import CompanyFilter, CompanyStore, MongoStore, SourceData, SqliteStore
from fmcsa_tui.sync.engine import SyncEngine
from fmcsa_tui.sync.events import RunFinished, RunRefused
from fmcsa_tui.ui.widgets import DetailPane
from tests.support.mongo_wire import MongoWireServer

SS = "fmcsaData.syncStatus"
LAST_SYNCS = ("csaScoresLastSync", "violationsLastSync", "inspectionsLastSync")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

# --- the rule, restated from the models' docstring -----------------------------------

_FALSE_TEXT = {"false", "no", "n", "0"}


def is_number(value: Any) -> bool:
    """An int, long or double, as the rule says (never a boolean, never a Decimal128)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def readable_date(value: Any) -> bool:
    """A BSON date, an ISO 8601 string (Z, offset, date only, space for T) or an epoch
    number (milliseconds from 10^10 up, else seconds) that a UTC datetime can hold."""
    try:
        if isinstance(value, datetime):
            moment = value
        elif is_number(value):
            seconds = value / 1000 if abs(value) >= 10**10 else value
            moment = datetime.fromtimestamp(seconds, UTC)
        elif isinstance(value, str) and value.strip():
            text = value.strip()
            if text[-1] in "Zz":
                text = text[:-1] + "+00:00"
            if len(text) > 10 and text[10] == " ":
                text = text[:10] + "T" + text[11:]
            moment = datetime.fromisoformat(text)
        else:
            return False
        if moment.tzinfo is not None:
            moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return False
    return True


def reads_false(value: Any) -> bool:
    """`false`, an int, long or double equal to 0, or false/no/n/0 as text."""
    if isinstance(value, bool):
        return value is False
    if is_number(value):
        return bool(value == 0)
    return isinstance(value, str) and value.strip().lower() in _FALSE_TEXT


def expected_status(doc: dict[str, Any]) -> str:
    """The status rule, applied to the status fields of a raw document."""
    fmcsa_data = doc.get("fmcsaData")
    if fmcsa_data is not None and not isinstance(fmcsa_data, dict):
        return "unreadable"
    sync = (fmcsa_data or {}).get("syncStatus")
    if sync is not None and not isinstance(sync, dict):
        return "unreadable"
    errors = (sync or {}).get("errors")
    if errors is not None and not isinstance(errors, list | dict):
        return "unreadable"
    if not readable_date((sync or {}).get("lastRun")):
        return "never"
    rows = 1 if isinstance(errors, dict) else len(errors or [])
    return "failed" if rows or reads_false((sync or {}).get("success")) else "ok"


# --- generated documents ----------------------------------------------------------------

MISSING = object()  # a field left out of the document
KNOWN = {
    "_id",
    "name",
    "dotNumber",
    "mcNumber",
    "ownerId",
    "smsBasics",
    "fmcsaData",
    "createdAt",
    "updatedAt",
    "__v",
    "syncStatus",
    "inspections",
    "lastViolationSync",
    "lastRun",
    "success",
    "errors",
    "source",
    "error",
    "message",
    "timestamp",
    *LAST_SYNCS,
    *BASIC_FIELDS,
}
# Field names MongoDB stores (no dots, no leading $), among them the models' own
# attribute names: a stray `last_run` must stay an unknown field, never read as lastRun.
keys = st.sampled_from(
    ["last_run", "dot_number", "sync_status", "fmcsa_data", "model_config", "copy", "id"]
) | st.from_regex(r"[a-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(lambda k: k not in KNOWN)
nasty_text = st.sampled_from(
    [
        "[bold red]x[/]",
        "\x1b[31mred\x1b[0m",
        "tab\tbell\x07",
        "東京運輸",
        "Straße",
        "\u202eevil",
        "",
    ]
)
text = st.text(max_size=10) | nasty_text
int64 = st.integers(-(2**63), 2**63 - 1).map(Int64) | st.integers(-(2**31), 2**31 - 1)
doubles = st.floats(allow_nan=True, allow_infinity=True)
dates = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))
object_ids = st.binary(min_size=12, max_size=12).map(ObjectId)
decimals = st.decimals(min_value=-(10**6), max_value=10**6, places=3).map(Decimal128) | (
    st.sampled_from(["NaN", "Infinity", "-0", "0"]).map(lambda t: Decimal128(Decimal(t)))
)
not_arrays = st.booleans() | int64 | doubles | text | dates | object_ids | decimals
values = st.recursive(
    st.none() | not_arrays,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6,
)
not_documents = not_arrays | st.lists(values, max_size=3)


def mostly(strategy: st.SearchStrategy[Any], *others: st.SearchStrategy[Any]) -> Any:
    """`strategy` about two times in three, else one of `others`: real documents are
    mostly as meant, and one needs several fields as meant to reach `ok` or `failed`.
    `strategy` comes first, so a failing example shrinks towards a document as meant."""
    choices = [*[strategy] * (2 * max(len(others), 1)), *others]  # one_of would merge twins
    return st.integers(0, len(choices) - 1).flatmap(choices.__getitem__)


@st.composite
def iso_texts(draw: st.DrawFn) -> str:
    """A date as another writer stored it: ISO 8601 in one of its spellings."""
    moment = draw(dates)
    spelled = draw(st.sampled_from(["T", "Z", "z", "space", "date", "offset", "naive"]))
    if spelled == "offset":
        shift = timezone(timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60))))
        return moment.astimezone(shift).isoformat()
    plain = moment.replace(tzinfo=None).isoformat(timespec="milliseconds")
    return {
        "T": moment.isoformat(),
        "Z": plain + "Z",
        "z": plain + "z",
        "space": plain.replace("T", " ") + "Z",
        "date": moment.date().isoformat(),
        "naive": plain,
    }[spelled]


epochs = (
    dates.map(lambda moment: int(moment.timestamp() * 1000))
    | dates.map(lambda moment: moment.timestamp())
    | dates.map(lambda moment: Int64(int(moment.timestamp())))
)
junk_dates = st.sampled_from(
    ["yesterday", "", "  ", "2024-13-45", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59-01:00"]
)
date_like = mostly(dates, iso_texts(), epochs, junk_dates, values)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field as real documents hold it: mostly as meant, else missing, null or of
    another type."""
    return mostly(strategy, st.just(MISSING), st.none(), values)


def document_of(fields: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    doc = {key: value for key, value in fields.items() if value is not MISSING}
    return {**doc, **extra}  # `_id` first, as MongoDB keeps it


@st.composite
def error_row(draw: st.DrawFn) -> dict[str, Any]:
    sources = st.sampled_from(
        [*(source.value for source in Source), "entity_linking", "orchestrator", " violations "]
    )
    fields = {
        "_id": draw(maybe(object_ids)),
        "source": draw(maybe(sources | text)),
        "error": draw(maybe(text)),
        "timestamp": draw(maybe(date_like)),
    }
    return document_of(fields, draw(st.dictionaries(keys, values, max_size=2)))


successes = st.booleans() | st.sampled_from(
    ["true", "false", " No ", "n", "0", "1", "yes", "maybe", 0, 1, 0.0, -0.0, 2, math.nan]
)


def container(draw: st.DrawFn, shape: str) -> Any:
    """A status container that is not a document: missing, null, or another type."""
    if shape == "missing":
        return MISSING
    return None if shape == "null" else draw(not_documents)


@st.composite
def sync_statuses(draw: st.DrawFn) -> Any:
    shape = draw(mostly(st.just("document"), st.just("missing"), st.just("null"), st.just("odd")))
    if shape != "document":
        return container(draw, shape)
    rows = st.lists(mostly(error_row(), values), max_size=3)
    no_rows = st.sampled_from([[], MISSING, None])
    fields = {
        "lastRun": draw(maybe(date_like)),
        "success": draw(maybe(successes)),
        "errors": draw(mostly(no_rows | rows, not_arrays, error_row())),
        **{field: draw(maybe(date_like)) for field in LAST_SYNCS},
    }
    return document_of(fields, draw(st.dictionaries(keys, values, max_size=2)))


@st.composite
def fmcsa_datas(draw: st.DrawFn) -> Any:
    shape = draw(mostly(st.just("document"), st.just("missing"), st.just("null"), st.just("odd")))
    if shape != "document":
        return container(draw, shape)
    inspections = st.fixed_dictionaries(
        {"totalInspections": int64, "crashes": st.dictionaries(keys, values, max_size=2)}
    )
    fields = {
        "syncStatus": draw(sync_statuses()),
        "inspections": draw(maybe(inspections)),
        "lastViolationSync": draw(maybe(date_like)),
    }
    return document_of(fields, draw(st.dictionaries(keys, values, max_size=2)))


@st.composite
def sms_basics(draw: st.DrawFn) -> Any:
    percentiles = st.floats(0, 100) | st.just("Not Public") | st.integers(0, 100)
    fields = {basic: draw(maybe(percentiles)) for basic in BASIC_FIELDS}
    fields.update({f"{basic}Measure": draw(maybe(doubles)) for basic in BASIC_FIELDS[:2]})
    fields["lastUpdated"] = draw(maybe(date_like))
    return draw(mostly(st.just(document_of(fields, {})), st.just(MISSING), st.none(), values))


#: Sandbox buckets (the DOT's last two digits) that answer quickly: healthy, csa_scores
#: 503, inspections maintenance page, unknown carrier (see fmcsa_tui/sandbox/plan.py).
BUCKETS = (5, 60, 64, 67)


@st.composite
def dot_numbers(draw: st.DrawFn, index: int) -> Any:
    """A DOT as stored, unique within a batch whatever its type (the stores refuse twins)."""
    dot = 3_000_000 + 100 * index + draw(st.sampled_from(BUCKETS))
    valid = st.sampled_from([str(dot), dot, float(dot), Int64(dot), f" {dot} ", f"USDOT {dot}"])
    invalid = st.sampled_from([MISSING, None, True, [dot], {"n": dot}, f"junk#{index}", dot + 0.5])
    return draw(mostly(valid, invalid))


@st.composite
def documents(draw: st.DrawFn, index: int = 0) -> dict[str, Any]:
    """One backend-shaped `companies` document, messed up field by field."""
    fields = {
        "_id": ObjectId(index.to_bytes(12, "big")),
        "name": draw(maybe(text)),
        "dotNumber": draw(dot_numbers(index)),
        "mcNumber": draw(maybe(text)),
        "ownerId": draw(maybe(object_ids)),
        "smsBasics": draw(sms_basics()),
        "fmcsaData": draw(fmcsa_datas()),
        "createdAt": draw(maybe(dates)),
        "updatedAt": draw(maybe(date_like)),
        "__v": draw(maybe(st.integers(0, 50))),
    }
    return document_of(fields, draw(st.dictionaries(keys, values, max_size=3)))


@st.composite
def batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    return [draw(documents(index)) for index in range(draw(st.integers(1, 3)))]


# --- helpers ----------------------------------------------------------------------------


def ej(value: Any) -> str:
    """Extended JSON: the byte-for-byte view of a value."""
    return json_util.dumps(value, json_options=RELAXED_JSON_OPTIONS)


_UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def assert_safe(output: str) -> None:
    """Nothing on screen that a terminal would act on: no control or format characters."""
    unsafe = [char for char in output if char != "\n" and unicodedata.category(char) in _UNSAFE]
    assert not unsafe, unsafe


def pane_text(doc: dict[str, Any]) -> str:
    pane = DetailPane(clock=lambda: NOW)
    pane.document = doc
    console = Console(width=100, record=True, color_system=None, file=io.StringIO())
    console.print(pane.render_body())
    return console.export_text()


@contextlib.contextmanager
def store_urls(mongo_wire: MongoWireServer) -> Iterator[dict[str, str]]:
    """Fresh, empty store locations for one example: a SQLite file and a MongoDB database."""
    database = f"fmcsa_prop_{uuid.uuid4().hex[:12]}"
    mongo_url = mongo_wire.url.replace("/?", f"/{database}?")
    with tempfile.TemporaryDirectory() as folder:
        yield {"sqlite": f"sqlite:///{Path(folder) / 'p.db'}", "mongodb": mongo_url}
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_wire.url)
    with contextlib.closing(client):
        client.drop_database(database)


def store_at(url: str) -> CompanyStore:
    return (
        SqliteStore(Path(url.removeprefix("sqlite:///")))
        if url.startswith("sqlite")
        else (MongoStore(url))
    )


@contextlib.asynccontextmanager
async def opened(url: str) -> AsyncIterator[CompanyStore]:
    store = store_at(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def ids_in_dot_order(rows: list[CompanySummary]) -> list[str]:
    keys_ = [
        (row.dot_number is None, len(row.dot_number or ""), row.dot_number or "") for row in rows
    ]
    assert keys_ == sorted(keys_), "not in DOT order"
    return sorted(row.id for row in rows)


# --- (a) the status is the rule's --------------------------------------------------------


@settings(max_examples=400)
@given(doc=documents())
def test_the_status_is_the_rule_applied_to_the_status_fields(doc: dict[str, Any]) -> None:
    summary = summarize(doc)
    event(summary.status)
    assert summary.status == expected_status(doc)
    assert (summary.problem is not None) == (summary.status == "unreadable")
    if summary.status == "unreadable":
        with pytest.raises(ValueError):
            Company.model_validate(doc)
        return
    status = Company.model_validate(doc).sync_status  # the detail's reading agrees
    assert status.status == summary.status
    assert (status.last_run, status.success) == (summary.last_run, summary.success)
    assert (len(status.errors), status.error_sources) == (
        summary.error_count,
        summary.error_sources,
    )
    for source in Source:
        assert status.last_sync(source) == summary.last_sync(source)


@settings(max_examples=150)
@given(doc=documents())
def test_the_detail_pane_renders_any_document_safely(doc: dict[str, Any]) -> None:
    shown = pane_text(doc)
    assert_safe(shown)
    status = expected_status(doc)
    if status == "unreadable":
        assert "Unreadable document" in shown
    else:
        assert f"Status {status}" in shown


#: Store-backed examples are not shrunk: each opens several stores, and shrinking a
#: failure would take minutes (hypothesis shrinks for up to 5). The example printed is
#: the first that failed; derandomized generation starts small, so it stays readable.
#: `test_the_status_is_the_rule_applied_to_the_status_fields` shrinks rule failures.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


# --- (b) listings and the CLI --------------------------------------------------------------

FILTERS = [
    CompanyFilter(),
    CompanyFilter(text="a"),
    CompanyFilter(text="00"),
    CompanyFilter(text="ß"),
    *(CompanyFilter(status=status) for status in ("never", "ok", "failed")),
    *(CompanyFilter(failed_source=s) for s in ("any", "csa_scores", "entity_linking", "unknown")),
    CompanyFilter(stale_after=timedelta(hours=24)),
    CompanyFilter(text="3", status="failed", stale_after=timedelta(days=365)),
]


async def listings(url: str, docs: list[dict[str, Any]]) -> list[list[CompanySummary]]:
    """Insert `docs` into a fresh store and list them through every filter."""
    async with opened(url) as store:
        await store.insert_documents(docs)
        for doc in docs:  # stored as given, read back as given
            assert ej(await store.get_company(str(doc["_id"]))) == ej(doc)
        return [await store.list_summaries(flt) for flt in FILTERS]


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output
    return result.output


@settings(max_examples=40, phases=NO_SHRINK)
@given(docs=batches())
def test_listings_show_and_status_list_every_document_by_the_rule(
    docs: list[dict[str, Any]], mongo_wire: MongoWireServer
) -> None:
    expected = {str(doc["_id"]): expected_status(doc) for doc in docs}
    for status in expected.values():
        event(status)
    with store_urls(mongo_wire) as urls:
        found = {name: asyncio.run(listings(url, docs)) for name, url in urls.items()}
        everything = found["sqlite"][0]
        assert {row.id: row.status for row in everything} == expected
        assert found["mongodb"][0] == everything  # the same rows, field for field
        for flt, sqlite_rows, mongo_rows in zip(
            FILTERS, found["sqlite"], found["mongodb"], strict=True
        ):
            wanted = sorted(row.id for row in everything if flt.matches(row, datetime.now(UTC)))
            assert ids_in_dot_order(sqlite_rows) == wanted, flt
            assert ids_in_dot_order(mongo_rows) == wanted, flt
            if flt.status is not None and not (flt.text or flt.stale_after):
                assert wanted == sorted(i for i, status in expected.items() if status == flt.status)

        for url in urls.values():
            records = json.loads(run_cli("status", "--json", "--store", url))
            assert {record["id"]: record["status"] for record in records} == expected
            lines = run_cli("status", "--store", url)
            assert_safe(lines)
            companies = [line for line in lines.splitlines() if not line.startswith(" " * 10 + "!")]
            assert len(companies) == len(docs)  # one line each, error rows below it
            first, last = str(docs[0]["_id"]), str(docs[-1]["_id"])
            assert_safe(run_cli("show", first, "--store", url))
            shown = json_util.loads(run_cli("show", last, "--json", "--store", url))
            assert shown["_id"] == docs[-1]["_id"]


# --- (c) a resync --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(hang_seconds=2.0, retry_after=1)) as server:
        yield server


class Recording:
    """TEST WRAPPER: the real store, noting every path a source's write names."""

    def __init__(self, real: CompanyStore) -> None:
        self.real = real
        self.owned: set[str] = {f"{SS}.lastRun", f"{SS}.errors", f"{SS}.success", "updatedAt"}
        self.sources: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def record_success(
        self, company_id: str, run_started: datetime, data: SourceData, at: datetime
    ) -> None:
        self.owned |= {*data.fields, f"{SS}.{data.source.last_sync_field}"}
        if data.legal_name:
            self.owned.add("name")  # filled only where empty: checked below
        self.sources.add(data.source.value)
        await self.real.record_success(company_id, run_started, data, at)

    async def record_failure(
        self, company_id: str, run_started: datetime, source: Source, error: str, at: datetime
    ) -> None:
        self.sources.add(source.value)
        await self.real.record_failure(company_id, run_started, source, error, at)


def leaves(doc: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every value of a document by dotted path, down through non-empty documents."""
    for key, value in doc.items():
        if isinstance(value, dict) and value:
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def at_path(doc: Any, path: str) -> Any:
    for key in path.split("."):
        assert isinstance(doc, dict) and key in doc, f"{path} is gone"
        doc = doc[key]
    return doc


def foreign_rows(doc: dict[str, Any], ran: set[str]) -> list[str]:
    """Error rows a run of `ran` sources must keep as they were, in order."""
    fmcsa_data = doc.get("fmcsaData")
    sync = fmcsa_data.get("syncStatus") if isinstance(fmcsa_data, dict) else None
    errors = sync.get("errors") if isinstance(sync, dict) else None
    if not isinstance(errors, list):
        return []  # the write starts a new list: a lone document or junk is not kept
    pulled = [
        row for row in errors if isinstance(row, dict) and any(row.get("source") == s for s in ran)
    ]
    return [ej(row) for row in errors if not any(row is gone for gone in pulled)]


async def resync(url: str, doc: dict[str, Any], settings_: Settings) -> None:
    async with opened(url) as store:
        await store.insert_documents([doc])
        before = await store.get_company(str(doc["_id"]))
        assert before is not None
        recording = Recording(store)
        async with SyncEngine(recording, settings_, origin=Origin.SYNC) as engine:  # type: ignore[arg-type]
            outcome = await engine.run(summarize(before))
        after = await store.get_company(str(doc["_id"]))
        assert after is not None
        [listed] = await store.list_summaries()

    assert listed.status == summarize(after).status == expected_status(after)
    event(f"{type(outcome).__name__}: {expected_status(before)} -> {listed.status}")
    if isinstance(outcome, RunRefused):
        assert ej(after) == ej(before)  # refused before anything was written
        return
    assert isinstance(outcome, RunFinished) and not outcome.cancelled
    owned = recording.owned | {"__v"}
    if "name" in owned and not (before.get("name") is None or str(before["name"]).strip() == ""):
        owned.discard("name")
    for path, value in leaves(before):
        if any(p == path or p.startswith(f"{path}.") or path.startswith(f"{p}.") for p in owned):
            continue  # written by the run, or a non-document the write had to replace
        assert ej(at_path(after, path)) == ej(value), path
    kept = foreign_rows(before, recording.sources)
    assert foreign_rows(after, recording.sources) == kept
    ok = outcome.success and not kept
    assert expected_status(after) == ("ok" if ok else "failed")


@settings(max_examples=30, phases=NO_SHRINK)
@given(doc=documents())
def test_a_resync_keeps_what_it_does_not_own_and_leaves_the_rule_s_status(
    doc: dict[str, Any], mongo_wire: MongoWireServer, sandbox: SandboxServer
) -> None:
    settings_ = Settings(
        store="sqlite:///unused.db",
        qc_base_url=f"{sandbox.url}/qc/services",
        hub_base_url=sandbox.url,
        webkey="property",
        backoff_base=0.01,
        backoff_max=0.02,
        timeout=1.0,
        max_attempts=3,
        qc_rate_limit=0,
        hub_rate_limit=0,
    )
    with store_urls(mongo_wire) as urls:
        for url in urls.values():
            asyncio.run(resync(url, doc, settings_))
