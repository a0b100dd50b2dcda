"""The sandbox over real HTTP: real FMCSA shapes, determinism, and every fault in the plan."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiolimiter import AsyncLimiter

from fmcsa_tui.sandbox import SandboxConfig, SandboxServer, data
from fmcsa_tui.sandbox.app import RateLimit, create_app
from fmcsa_tui.sandbox.plan import (
    MANY_PAGES_VIOLATIONS,
    Endpoint,
    FaultKind,
    fault_for,
    injected_fault,
)

SAMPLES = Path(__file__).parents[1] / "samples"
RETRIEVAL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
SMS_DATE = re.compile(r"^\d{2}-(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)-\d{2}$")
HANG = 0.3
RETRY_AFTER = 2
OUTAGE = 3
KEY = "sandbox-key"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def documented_columns(name: str) -> list[str]:
    """The SODA field names listed in a ``*_columns.md`` sample."""
    text = (SAMPLES / "socrata" / name).read_text(encoding="utf-8")
    return re.findall(r"^\| \d+ \| `[^`]+` \| `([a-z0-9_]+)` \|", text, flags=re.M)


def carrier_path(dot: int | str) -> str:
    return f"/qc/services/carriers/{dot}?webKey=any"


def basics_path(dot: int | str) -> str:
    return f"/qc/services/carriers/{dot}/basics?webKey=any"


def violations_path(dot: int | str, limit: int = 1000, offset: int = 0) -> str:
    return f"/resource/8mt8-2mdr.json?dot_number={dot}&$limit={limit}&$offset={offset}&$order=:id"


def inspections_path(dot: int | str, limit: int = 1000, offset: int = 0) -> str:
    return f"/resource/rbkj-cgst.json?dot_number={dot}&$limit={limit}&$offset={offset}&$order=:id"


PATH_OF = {
    Endpoint.CARRIER: carrier_path,
    Endpoint.BASICS: basics_path,
    Endpoint.VIOLATIONS: violations_path,
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(hang_seconds=HANG, retry_after=RETRY_AFTER, outage_requests=OUTAGE)
    with SandboxServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def keyed() -> Iterator[SandboxServer]:
    """A second, independent instance that requires a webKey."""
    with SandboxServer(SandboxConfig(webkey=KEY)) as server:
        yield server


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=5) as http:
        yield http


async def statuses(client: httpx.AsyncClient, path: str, count: int) -> list[int]:
    return [(await client.get(path)).status_code for _ in range(count)]


def without_date(body: bytes) -> bytes:
    return re.sub(rb'"retrievalDate":"[^"]*"', b'"retrievalDate":""', body)


# --- shapes ----------------------------------------------------------------------------


async def test_carrier_has_the_real_shape(client: httpx.AsyncClient) -> None:
    real = sample("qcmobile/1000986_carrier.json")
    response = await client.get(carrier_path(1000001))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body.keys() == real.keys()
    assert RETRIEVAL_DATE.match(body["retrievalDate"])
    content, real_content = body["content"], real["content"]
    assert content.keys() == real_content.keys()
    assert content["_links"].keys() == real_content["_links"].keys()
    assert content["_links"]["self"]["href"].endswith("/carriers/1000001")
    ours, theirs = content["carrier"], real_content["carrier"]
    assert ours.keys() == theirs.keys()
    for nested in ("carrierOperation", "censusTypeId"):
        assert ours[nested].keys() == theirs[nested].keys()
    assert ours["dotNumber"] == 1000001
    assert ours["driverOosRateNationalAverage"] == "5.51"
    assert ours["vehicleOosRateNationalAverage"] == "20.72"
    assert re.fullmatch(r"[A-Z][A-Z .&-]+ (LLC|INC|CORP|CO|LTD)", ours["legalName"])


def test_carrier_values_are_consistent_across_many_dots() -> None:
    for dot in range(2_000_000, 2_000_300):
        record = data.carrier(dot)
        if fault_for(dot).kind is FaultKind.UNKNOWN_CARRIER:
            assert record is None
            continue
        assert record is not None
        crashes = record["fatalCrash"] + record["injCrash"] + record["towawayCrash"]
        assert record["crashTotal"] == crashes
        assert record["safetyRating"] in {"S", "C", "U", None}
        assert (record["safetyRatingDate"] is None) == (record["safetyRating"] is None)
        assert record["allowedToOperate"] in {"Y", "N"}
        assert record["statusCode"] in {"A", "I"}
        for kind in ("driver", "vehicle", "hazmat"):
            inspections, oos = record[f"{kind}Insp"], record[f"{kind}OosInsp"]
            assert 0 <= oos <= inspections
            rate = record[f"{kind}OosRate"]
            assert isinstance(rate, int | float)
            assert rate == pytest.approx(100 * oos / inspections if inspections else 0)


async def test_basics_have_the_real_shape(client: httpx.AsyncClient) -> None:
    real = sample("qcmobile-2021/basics.json")
    real_by_id = {entry["basic"]["basicsType"]["basicsId"]: entry for entry in real["content"]}
    body = (await client.get(basics_path(1000001))).json()
    assert body.keys() == real.keys()
    entries = body["content"]
    assert [e["basic"]["basicsType"]["basicsId"] for e in entries] == [11, 12, 13, 14, 15, 16]
    template = real["content"][0]
    for entry in entries:
        basic = entry["basic"]
        basic_id = basic["basicsType"]["basicsId"]
        assert entry.keys() == template.keys()
        assert entry["dotNumber"] is None
        assert entry["_links"]["self"]["href"].endswith(f"/carriers/1000001/basics/{basic_id}")
        assert basic.keys() == template["basic"].keys()
        assert basic["basicsType"].keys() == template["basic"]["basicsType"].keys()
        assert basic["id"] == {"basicsId": basic_id, "dotNumber": 1000001}
        float(basic["measureValue"])
        assert re.fullmatch(r"\d{1,2}%|Not Public", basic["basicsPercentile"])
        if basic_id in real_by_id:  # the real sample has 11-15; names must be the real ones
            real_type = real_by_id[basic_id]["basic"]["basicsType"]
            assert basic["basicsType"] == real_type
        else:
            assert basic["basicsType"]["basicsCode"] == "Crash Indicator"
            assert basic["basicsType"]["basicsShortDesc"] == "Crash Indicator"
    assert "\u200b" in entries[3]["basic"]["basicsType"]["basicsShortDesc"]


def test_about_a_third_of_carriers_hide_their_percentiles() -> None:
    hidden = 0
    dots = [d for d in range(3_000_000, 3_000_400) if data.carrier(d) is not None]
    for dot in dots:
        percentiles = {entry["basic"]["basicsPercentile"] for entry in data.basics(dot)}
        if "Not Public" in percentiles:
            hidden += 1
            assert percentiles == {"Not Public"}
            carrier = data.carrier(dot)
            assert carrier is not None and carrier["isPassengerCarrier"] == "N"
    assert 0.2 < hidden / len(dots) < 0.45


async def test_violation_and_inspection_rows_have_the_documented_columns(
    client: httpx.AsyncClient,
) -> None:
    violation_columns = documented_columns("8mt8-2mdr_columns.md")
    inspection_columns = documented_columns("rbkj-cgst_columns.md")
    assert len(violation_columns) == 13 and len(inspection_columns) == 39
    real_row = sample("socrata/8mt8-2mdr_1.json")[0]
    assert list(real_row) == violation_columns

    seen_rows = 0
    for dot in range(1_000_000, 1_000_060):  # the plan's healthy buckets
        violations = (await client.get(violations_path(dot))).json()
        inspections = (await client.get(inspections_path(dot))).json()
        assert len(violations) <= 12
        assert len({row["unique_id"] for row in violations}) <= 6
        for row in violations:
            assert list(row) == violation_columns  # no nulls in violation rows
            assert all(isinstance(value, str) for value in row.values())
            assert row["dot_number"] == str(dot)
            assert SMS_DATE.match(row["insp_date"])
            assert row["oos_indicator"] in {"true", "false"}
            assert row["viol_unit"] in {"D", "1", "2", "C"}
            weights = int(row["severity_weight"]) + int(row["oos_weight"])
            assert int(row["total_severity_wght"]) == weights
        for row in inspections:
            assert set(row) <= set(inspection_columns)
            assert [c for c in inspection_columns if c in row] == list(row)
            assert all(isinstance(value, str) for value in row.values())
            assert re.fullmatch(r"[A-Z]{2}\d{10}", row["report_number"])
            assert row["report_number"].startswith(row["report_state"])
            assert SMS_DATE.match(row["insp_date"])
        seen_rows += len(violations)
    assert seen_rows > 100  # the healthy carriers are not all empty


async def test_inspections_are_exactly_those_cited_plus_up_to_two_clean_ones(
    client: httpx.AsyncClient,
) -> None:
    for dot in range(1_000_100, 1_000_140):
        violations = (await client.get(violations_path(dot))).json()
        inspections = (await client.get(inspections_path(dot))).json()
        cited = Counter(row["unique_id"] for row in violations)
        by_id = {row["unique_id"]: row for row in inspections}
        assert len(by_id) == len(inspections)
        assert set(cited) <= set(by_id)
        clean = [row for uid, row in by_id.items() if uid not in cited]
        assert len(clean) <= 2
        assert all(row["basic_viol"] == "0" for row in clean)
        for uid, count in cited.items():
            assert by_id[uid]["basic_viol"] == str(count)
            dates = {row["insp_date"] for row in violations if row["unique_id"] == uid}
            assert dates == {by_id[uid]["insp_date"]}


# --- determinism -----------------------------------------------------------------------


async def test_same_dot_same_content_and_a_second_instance_agrees(
    client: httpx.AsyncClient, keyed: SandboxServer
) -> None:
    paths = [carrier_path(1000002), basics_path(1000002), violations_path(1000002)]
    async with httpx.AsyncClient(base_url=keyed.url, timeout=5) as other:
        for path in paths:
            first = (await client.get(path)).content
            again = (await client.get(path)).content
            elsewhere = (await other.get(path.replace("webKey=any", f"webKey={KEY}"))).content
            assert without_date(first) == without_date(again) == without_date(elsewhere)
    different = (await client.get(carrier_path(1000003))).content
    assert without_date(different) != without_date(first)


def test_data_is_identical_in_another_process_with_another_hash_seed() -> None:
    script = (
        "import hashlib, json\n"
        "from fmcsa_tui.sandbox import data\n"
        "blob = json.dumps([[data.carrier(d), data.basics(d), data.violation_rows(d),"
        " data.inspection_rows(d)] for d in (1000004, 1000005, 1000099, 2024)])\n"
        "print(hashlib.sha256(blob.encode()).hexdigest())\n"
    )
    blob = json.dumps(
        [
            [data.carrier(d), data.basics(d), data.violation_rows(d), data.inspection_rows(d)]
            for d in (1000004, 1000005, 1000099, 2024)
        ]
    )
    env = os.environ | {"PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == hashlib.sha256(blob.encode()).hexdigest()


# --- QCMobile errors and unknown carriers ----------------------------------------------


async def test_missing_webkey_is_404_with_the_real_message(client: httpx.AsyncClient) -> None:
    real = sample("errors/must-provide-webkey_dot76830_2026-08-19.json")
    for path in (
        "/qc/services/carriers/1000006",
        "/qc/services/carriers/1000006?webKey=",
        "/qc/services/carriers/1000006/basics",
    ):
        response = await client.get(path)
        assert response.status_code == 404
        body = response.json()
        assert body.keys() == real.keys()
        assert body["content"] == real["content"] == "Must provide Webkey"
        assert RETRIEVAL_DATE.match(body["retrievalDate"])


async def test_wrong_webkey_is_404_when_a_key_is_required(keyed: SandboxServer) -> None:
    real = sample("errors/webkey-not-found_brandenc40-qcmobile.json")
    async with httpx.AsyncClient(base_url=keyed.url, timeout=5) as http:
        wrong = await http.get("/qc/services/carriers/1000007/basics?webKey=nope")
        assert wrong.status_code == 404
        body = wrong.json()
        assert body.keys() == real.keys()
        assert body["content"] == "Webkey not found"
        assert body["_links"].keys() == real["_links"].keys()
        right = await http.get(f"/qc/services/carriers/1000007/basics?webKey={KEY}")
        assert right.status_code == 200 and len(right.json()["content"]) == 6


async def test_unknown_carrier_is_null_content_and_no_rows(client: httpx.AsyncClient) -> None:
    dot = 1000067
    assert fault_for(dot).kind is FaultKind.UNKNOWN_CARRIER
    carrier = await client.get(carrier_path(dot))
    assert carrier.status_code == 200
    assert carrier.json()["content"] is None
    assert carrier.json().keys() == sample("qcmobile/9900001_carrier.json").keys()
    basics = await client.get(basics_path(dot))
    assert basics.status_code == 200 and basics.json()["content"] == []
    assert (await client.get(violations_path(dot))).json() == []
    assert (await client.get(inspections_path(dot))).json() == []
    # a DOT that cannot be one is unknown too, not an error
    assert (await client.get(carrier_path("not-a-dot"))).json()["content"] is None


# --- faults ----------------------------------------------------------------------------


async def test_persistent_503_on_csa_scores_only(client: httpx.AsyncClient) -> None:
    assert await statuses(client, basics_path(1000060), 4) == [503] * 4
    assert await statuses(client, carrier_path(1000060), 2) == [200, 200]
    assert await statuses(client, violations_path(1000060), 2) == [200, 200]


async def test_maintenance_page_on_inspections(client: httpx.AsyncClient) -> None:
    title = (SAMPLES / "errors/fmcsa-maintenance-title-indicator.txt").read_text().strip()
    for _ in range(2):
        response = await client.get(carrier_path(1000064))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert title in response.text
    basics = await client.get(basics_path(1000064))
    assert basics.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    ("dot", "endpoint"),
    [
        (1000070, Endpoint.BASICS),
        (1000071, Endpoint.VIOLATIONS),
        (1000072, Endpoint.CARRIER),
        (1000073, Endpoint.BASICS),
    ],
)
async def test_transient_5xx_cycles_503_502_ok(
    client: httpx.AsyncClient, dot: int, endpoint: Endpoint
) -> None:
    path = PATH_OF[endpoint](dot)
    assert await statuses(client, path, 6) == [503, 502, 200, 503, 502, 200]
    for other in set(PATH_OF) - {endpoint}:
        assert await statuses(client, PATH_OF[other](dot), 2) == [200, 200]


async def test_joined_inspection_dataset_is_never_faulted(client: httpx.AsyncClient) -> None:
    for dot in (1000071, 1000074, 1000077, 1000080):
        assert await statuses(client, inspections_path(dot), 3) == [200, 200, 200]
    for bucket in range(100):
        assert injected_fault(5_000_000 + bucket, Endpoint.INSPECTIONS) is FaultKind.NONE


async def test_transient_timeout_hangs_then_succeeds(client: httpx.AsyncClient) -> None:
    # The client gives up before the hang ends, as the engine's would; the retry succeeds.
    with pytest.raises(httpx.TimeoutException):
        await client.get(violations_path(1000074), timeout=0.1)
    ok = await client.get(violations_path(1000074))
    assert ok.status_code == 200 and isinstance(ok.json(), list)

    # A patient client sees the hang end in a 504, then success.
    started = time.perf_counter()
    hung = await client.get(carrier_path(1000175))
    assert hung.status_code == 504
    assert time.perf_counter() - started >= HANG
    assert (await client.get(carrier_path(1000175))).status_code == 200
    with pytest.raises(httpx.TimeoutException):  # the next cycle hangs again
        await client.get(carrier_path(1000175), timeout=0.1)


@pytest.mark.parametrize(
    ("dot", "endpoint"),
    [(1000076, Endpoint.BASICS), (1000077, Endpoint.VIOLATIONS), (1000078, Endpoint.CARRIER)],
)
async def test_throttled_answers_429_with_retry_after_every_other_request(
    client: httpx.AsyncClient, dot: int, endpoint: Endpoint
) -> None:
    responses = [await client.get(PATH_OF[endpoint](dot)) for _ in range(4)]
    assert [r.status_code for r in responses] == [429, 200, 429, 200]
    assert responses[0].headers["Retry-After"] == str(RETRY_AFTER)
    assert "Retry-After" not in responses[1].headers


@pytest.mark.parametrize(
    ("dot", "endpoint"),
    [(1000079, Endpoint.BASICS), (1000080, Endpoint.VIOLATIONS), (1000081, Endpoint.CARRIER)],
)
async def test_outage_fails_the_first_requests_then_is_over(
    client: httpx.AsyncClient, dot: int, endpoint: Endpoint
) -> None:
    path = PATH_OF[endpoint](dot)
    assert await statuses(client, path, OUTAGE + 3) == [503] * OUTAGE + [200] * 3


async def test_a_fresh_sandbox_starts_every_cycle_from_the_beginning(
    client: httpx.AsyncClient, keyed: SandboxServer
) -> None:
    path = "/qc/services/carriers/1000170/basics?webKey="
    assert (await client.get(path + "any")).status_code == 503
    async with httpx.AsyncClient(base_url=keyed.url, timeout=5) as other:
        assert (await other.get(path + KEY)).status_code == 503
    assert (await client.get(path + "any")).status_code == 502


async def test_latency_is_applied_to_every_request() -> None:
    async with (
        SandboxServer(SandboxConfig(latency=0.2)) as slow,
        httpx.AsyncClient(base_url=slow.url, timeout=5) as http,
    ):
        for path in (carrier_path(1000008), violations_path(1000008)):
            started = time.perf_counter()
            response = await http.get(path)
            assert response.status_code == 200
            assert time.perf_counter() - started >= 0.2


async def test_concurrent_requests_wait_side_by_side_not_in_a_queue() -> None:
    """Five requests sent at once are all in the sandbox's latency together (counted by
    a test-side ASGI wrapper around the real app, in-process: no clock involved)."""
    app = create_app(SandboxConfig(latency=1.0))
    inside = peak = 0

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        nonlocal inside, peak
        if scope["type"] != "http":
            return await app(scope, receive, send)
        inside += 1
        peak = max(peak, inside)
        try:
            await app(scope, receive, send)
        finally:
            inside -= 1

    transport = httpx.ASGITransport(app=counting)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        answers = await asyncio.gather(*(http.get(basics_path(1000010 + i)) for i in range(5)))
    assert [answer.status_code for answer in answers] == [200] * 5
    assert peak == 5


# --- DataHub paging and SoQL errors ----------------------------------------------------


async def test_many_pages_carrier_pages_in_stable_order(client: httpx.AsyncClient) -> None:
    dot = 1000099
    pages: list[list[dict[str, str]]] = []
    offset = 0
    while True:
        page = (await client.get(violations_path(dot, 1000, offset))).json()
        pages.append(page)
        if len(page) < 1000:
            break
        offset += 1000
    assert [len(page) for page in pages] == [1000, 1000, 500]
    rows = [row for page in pages for row in page]
    assert len(rows) == MANY_PAGES_VIOLATIONS
    keys = [(row["unique_id"], row["viol_code"]) for row in rows]
    assert len(set(keys)) == len(keys)

    again = await client.get(violations_path(dot, 1000, 1000))
    assert again.json() == pages[1]
    whole = (await client.get(violations_path(dot, 5000, 0))).json()
    assert whole == rows
    assert (await client.get(violations_path(dot, 1000, 2500))).json() == []
    default = await client.get(f"/resource/8mt8-2mdr.json?dot_number={dot}")
    assert len(default.json()) == 1000

    inspection_ids: set[str] = set()
    offset = 0
    while True:
        page = (await client.get(inspections_path(dot, 1000, offset))).json()
        inspection_ids |= {row["unique_id"] for row in page}
        if len(page) < 1000:
            break
        offset += 1000
    assert {row["unique_id"] for row in rows} <= inspection_ids


async def test_select_and_descending_order(client: httpx.AsyncClient) -> None:
    base = "/resource/8mt8-2mdr.json?dot_number=1000099&$limit=5"
    selected = (await client.get(base + "&$select=unique_id, viol_code")).json()
    assert all(list(row) == ["unique_id", "viol_code"] for row in selected)
    forward = (await client.get(base + "&$order=:id")).json()
    backward = await client.get(base.replace("$limit=5", "$limit=5000") + "&$order=:id DESC")
    assert backward.json()[::-1][:5] == forward


@pytest.mark.parametrize(
    ("query", "code", "column"),
    [
        ("dot_number=1000001&bogus=1", "query.soql.no-such-column", "bogus"),
        ("dot_number=1000001&$bogus=1", "query.soql.no-such-column", "$bogus"),
        ("dot_number=1000001&$select=unique_id,nope", "query.soql.no-such-column", "nope"),
        ("dot_number=1000001&$order=nope", "query.soql.no-such-column", "nope"),
        ("dot_number=1000001&$limit=ten", "query.soql.type-mismatch", None),
        ("dot_number=1000001&$offset=1.5", "query.soql.type-mismatch", None),
    ],
)
async def test_bad_queries_are_400_soql_errors(
    client: httpx.AsyncClient, query: str, code: str, column: str | None
) -> None:
    for dataset in ("8mt8-2mdr", "rbkj-cgst"):
        response = await client.get(f"/resource/{dataset}.json?{query}")
        assert response.status_code == 400
        body = response.json()
        assert body.keys() == {"message", "errorCode", "data"}
        assert body["errorCode"] == code
        if column is not None:
            assert body["data"]["column"] == column


# --- batched DataHub queries: $where=dot_number in(...) ---------------------------------


def in_list(dots: list[str]) -> str:
    return "dot_number in(" + ",".join("'" + d.replace("'", "''") + "'" for d in dots) + ")"


async def batch(
    client: httpx.AsyncClient,
    dots: list[str],
    *,
    dataset: str = "8mt8-2mdr",
    limit: int = 1000,
    offset: int = 0,
    order: str = "dot_number,:id",
    **extra: str,
) -> httpx.Response:
    params = {"$where": in_list(dots), "$order": order, "$limit": limit, "$offset": offset}
    return await client.get(f"/resource/{dataset}.json", params=params | extra)


async def every_page(client: httpx.AsyncClient, dots: list[str], page: int, **kw: Any) -> list[Any]:
    rows: list[Any] = []
    while True:
        got = await batch(client, dots, limit=page, offset=len(rows), **kw)
        assert got.status_code == 200
        rows += got.json()
        if len(got.json()) < page:
            return rows


async def plain_rows(client: httpx.AsyncClient, dot: str, dataset: str = "8mt8-2mdr") -> Any:
    return (await client.get(f"/resource/{dataset}.json?dot_number={dot}&$limit=50000")).json()


# Healthy carriers, one with 2,500 violations, one unknown, one that is not how DataHub
# writes a DOT, a repeat; numeric and text order differ (999 sorts after 2000099).
BATCH = ["2000003", "999", "2000099", "2000001", "2000067", "02000002", "2000003", "2000010"]


@pytest.mark.parametrize("dataset", ["8mt8-2mdr", "rbkj-cgst"])
async def test_in_list_is_the_plain_queries_concatenated_in_dot_number_order(
    client: httpx.AsyncClient, dataset: str
) -> None:
    expected: list[Any] = []
    for dot in sorted({d for d in BATCH if d == d.lstrip("0")}):  # text order
        expected += await plain_rows(client, dot, dataset)
    assert len({row["dot_number"] for row in expected}) >= 4  # several carriers have rows
    if dataset == "8mt8-2mdr":
        assert len(expected) > MANY_PAGES_VIOLATIONS
    assert [row["dot_number"] for row in expected] == sorted(r["dot_number"] for r in expected)
    # Pages of 1,000 cut bucket 99's rows; pages of 7 cut every carrier's boundary.
    for page in (1000, 7):
        assert await every_page(client, BATCH, page, dataset=dataset) == expected
    for order in (":id", "dot_number ASC, :id ASC", "dot_number"):
        whole = await batch(client, BATCH, dataset=dataset, limit=50000, order=order)
        assert whole.json() == expected, order


async def test_in_list_descending_orders_and_select(client: httpx.AsyncClient) -> None:
    dots = ["2000011", "2000012", "2000013"]
    forward = (await batch(client, dots)).json()
    per_dot = [await plain_rows(client, dot) for dot in dots]
    assert all(per_dot) and forward == [row for rows in per_dot for row in rows]
    assert (await batch(client, dots, order=":id DESC")).json() == forward[::-1]
    by_dot_desc = (await batch(client, dots, order="dot_number DESC,:id")).json()
    assert by_dot_desc == [row for rows in per_dot[::-1] for row in rows]
    selected = (
        await batch(client, dots, order="dot_number,:id", **{"$select": "viol_code"})
    ).json()
    assert selected == [{"viol_code": row["viol_code"]} for row in forward]
    by_code = (await batch(client, dots, order="viol_code DESC,dot_number,:id")).json()
    assert [row["viol_code"] for row in by_code] == sorted(
        (row["viol_code"] for row in forward), reverse=True
    )
    assert sorted(map(json.dumps, by_code)) == sorted(map(json.dumps, forward))


async def test_in_list_syntax_and_the_plain_filter_together(client: httpx.AsyncClient) -> None:
    dots = ["2000021", "2000022"]
    expected = [row for dot in dots for row in await plain_rows(client, dot)]
    assert expected
    path = "/resource/8mt8-2mdr.json"
    for where in (
        "dot_number in('2000021','2000022')",
        "  DOT_NUMBER IN ( '2000022' ,  '2000021' )  ",
        "dot_number In('2000021', 'it''s', '2000022', '')",
    ):
        got = await client.get(path, params={"$where": where, "$order": "dot_number,:id"})
        assert got.status_code == 200 and got.json() == expected, where
    both = {"$where": in_list(dots), "dot_number": "2000022", "$order": "dot_number,:id"}
    assert (await client.get(path, params=both)).json() == await plain_rows(client, "2000022")
    other = both | {"dot_number": "2000023"}  # not in the list: AND means nothing
    assert (await client.get(path, params=other)).json() == []
    at_bound = [str(3_000_001 + 100 * i) for i in range(1000)]  # healthy, at the bound
    assert (await batch(client, at_bound, limit=1)).status_code == 200


@pytest.mark.parametrize(
    ("params", "code", "column"),
    [
        ({"$where": "dot_number='2000001'"}, "query.soql.malformed", None),
        ({"$where": "dot_number in('2000001',)"}, "query.soql.malformed", None),
        ({"$where": "dot_number in()"}, "query.soql.malformed", None),
        ({"$where": "dot_number in(2000001)"}, "query.soql.malformed", None),
        ({"$where": "dot_number in('2000001') or 1=1"}, "query.soql.malformed", None),
        ({"$where": "dot_number in('2000001''"}, "query.soql.malformed", None),
        ({"$where": "unique_id in('2000001')"}, "query.soql.malformed", None),
        ({"$where": ""}, "query.soql.malformed", None),
        ({"$where": in_list([str(d) for d in range(1001)])}, "query.soql.malformed", None),
        ({"$where": in_list(["1" * 40_000])}, "query.soql.malformed", None),
        ({"$order": "dot_number,nope"}, "query.soql.no-such-column", "nope"),
        ({"$order": "dot_number,,:id"}, "query.soql.malformed", None),
        ({"$order": "dot_number,:id sideways"}, "query.soql.malformed", None),
    ],
)
async def test_bad_batched_queries_are_400_soql_errors(
    client: httpx.AsyncClient, params: dict[str, str], code: str, column: str | None
) -> None:
    query = {"$where": in_list(["2000001"]), "$order": "dot_number,:id"} | params
    for dataset in ("8mt8-2mdr", "rbkj-cgst"):
        response = await client.get(f"/resource/{dataset}.json", params=query)
        assert response.status_code == 400, params
        body = response.json()
        assert body.keys() == {"message", "errorCode", "data"}
        assert body["errorCode"] == code
        if column is not None:
            assert body["data"]["column"] == column


async def test_a_batch_with_an_outage_carrier_fails_while_the_outage_lasts(
    client: httpx.AsyncClient,
) -> None:
    healthy = ["2000031", "2000099", "2000060", "2000064"]  # faults elsewhere do not count
    outage = "2000080"
    assert await statuses_of(client, [*healthy, outage], OUTAGE + 2) == [503] * OUTAGE + [200] * 2
    assert (await client.get(violations_path(outage))).status_code == 200  # over for good
    assert await statuses_of(client, healthy, 6) == [200] * 6


async def test_every_faulted_carrier_in_a_batch_counts_its_own_attempts(
    client: httpx.AsyncClient,
) -> None:
    early, late = "2000180", "2000280"  # outages on violations
    assert (await client.get(violations_path(early))).status_code == 503  # early is ahead
    assert await statuses_of(client, [late, early], OUTAGE + 1) == [503] * OUTAGE + [200]
    assert (await client.get(violations_path(early))).status_code == 200
    assert (await client.get(violations_path(late))).status_code == 200


async def test_transient_faults_ride_through_a_batch_with_retries(
    client: httpx.AsyncClient,
) -> None:
    assert await statuses_of(client, ["2000041", "2000071"], 3) == [503, 502, 200]
    throttled = [await batch(client, ["2000042", "2000077"]) for _ in range(2)]
    assert [r.status_code for r in throttled] == [429, 200]
    assert throttled[0].headers["Retry-After"] == str(RETRY_AFTER)
    expected = data.violation_rows("2000042") + data.violation_rows("2000077")
    assert expected and throttled[1].json() == expected


async def statuses_of(client: httpx.AsyncClient, dots: list[str], count: int) -> list[int]:
    return [(await batch(client, dots)).status_code for _ in range(count)]


# --- request counts ----------------------------------------------------------------------


def no_requests() -> dict[str, Any]:
    zero = {"qcmobile": 0, "datahub": 0}
    return {"total": 0, "apis": zero, "throttled": zero, "dots": {}}


async def test_requests_are_counted_per_api_and_per_dot_and_reset() -> None:
    async with (
        SandboxServer() as server,
        httpx.AsyncClient(base_url=server.url, timeout=5) as http,
    ):
        assert (await http.get("/sandbox/requests")).json() == no_requests()
        assert (await http.get(carrier_path(2000001))).status_code == 200
        assert (await http.get(basics_path(2000001))).status_code == 200
        assert (await http.get(violations_path(2000001))).status_code == 200
        assert (await http.get(inspections_path(2000002))).status_code == 200
        # once per DOT selected: a repeat, a leading zero and a non-DOT add nothing
        selected = ["2000001", "2000003", "2000003", "02000003", "x", "2000067"]
        assert (await batch(http, selected)).status_code == 200
        assert (await batch(http, ["2000004"], dot_number="2000005")).json() == []
        assert (await http.get(violations_path(2000077))).status_code == 429  # the plan's
        bad = await http.get("/resource/8mt8-2mdr.json", params={"$where": "1=1"})
        assert bad.status_code == 400
        assert (await http.get("/resource/nope-nope.json")).status_code == 404
        for own in ("/", "/sandbox/plan/2000001", "/sandbox/requests"):  # not the APIs
            assert (await http.get(own)).status_code == 200

        counted = (await http.get("/sandbox/requests")).json()
        assert counted == {
            "total": 9,
            "apis": {"qcmobile": 2, "datahub": 7},
            "throttled": {"qcmobile": 0, "datahub": 0},
            "dots": {
                "2000001": {"qcmobile": 2, "datahub": 2},
                "2000002": {"qcmobile": 0, "datahub": 1},
                "2000003": {"qcmobile": 0, "datahub": 1},
                "2000067": {"qcmobile": 0, "datahub": 1},
                "2000077": {"qcmobile": 0, "datahub": 1},
            },
        }
        assert server.requests() == counted

        reset = await http.delete("/sandbox/requests")
        assert reset.status_code == 204
        assert (await http.get("/sandbox/requests")).json() == no_requests()
        assert (await http.get(basics_path(2000009))).status_code == 200
        after = server.requests()
        assert after["total"] == 1 and after["dots"] == {"2000009": {"qcmobile": 1, "datahub": 0}}
        server.reset_requests()
        assert server.requests() == no_requests()
        index = (await http.get("/")).json()
        assert index["requests"] == f"{server.url}/sandbox/requests"


# --- per-API rate limits -----------------------------------------------------------------


class FakeClock:
    """A hand-moved clock for RateLimit's model (a fake, in tests only)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def admitted(limit: RateLimit, tries: int) -> list[int | None]:
    return [limit.take() for _ in range(tries)]


def test_rate_limit_is_the_clients_leaky_bucket_plus_a_little_tolerance() -> None:
    clock = FakeClock()
    limit = RateLimit(40, clock)  # capacity 40, draining 40/s, tolerance 4 (0.1 s)
    assert admitted(limit, 44) == [None] * 44
    assert admitted(limit, 3) == [1, 1, 1]  # refused without filling the bucket
    clock.now += 0.125  # 5 requests drained
    assert admitted(limit, 6) == [None] * 5 + [1]
    clock.now += 10
    assert admitted(limit, 45) == [None] * 44 + [1]

    few = RateLimit(5, clock)  # tolerance at least one request
    assert admitted(few, 7) == [None] * 6 + [1]

    slow = RateLimit(0.5, clock)  # capacity 1 (the client's limiter allows one at least)
    assert slow.capacity == slow.tolerance == 1
    assert admitted(slow, 3) == [None, None, 4]  # 4 s until a request fits the capacity
    clock.now += 2
    assert admitted(slow, 2) == [None, 4]
    with pytest.raises(ValueError, match="qc_rate"):
        SandboxConfig(qc_rate=0)
    with pytest.raises(ValueError, match="hub_rate"):
        SandboxConfig(hub_rate=float("nan"))


async def test_a_burst_beyond_the_rate_gets_429_with_retry_after_and_no_work() -> None:
    # So slow a rate that nothing drains during the burst: the count is exact.
    config = SandboxConfig(qc_rate=0.01)  # capacity 1, +1 request tolerance
    k = 20
    async with (
        SandboxServer(config) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        burst = await asyncio.gather(*(http.get(basics_path(2000050 + i)) for i in range(1 + k)))
        refused = [r for r in burst if r.status_code == 429]
        assert len(refused) == k - 1
        assert [r.status_code for r in burst if r not in refused] == [200, 200]
        assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
        assert all(re.fullmatch(r"\d+", r.headers["Retry-After"]) for r in refused)
        # DataHub has its own budget (none here), though both share one origin
        assert await statuses(http, violations_path(2000050), 5) == [200] * 5
        counts = server.requests()
        assert counts["throttled"] == {"qcmobile": k - 1, "datahub": 0}
        assert counts["apis"] == {"qcmobile": 2, "datahub": 5}
        assert counts["total"] == 1 + k + 5
        served = sum(per_api["qcmobile"] for per_api in counts["dots"].values())
        assert served == 2  # a refused request did no work, so no DOT was asked for


async def test_a_client_paced_within_the_limit_is_never_refused() -> None:
    """Over real HTTP, a client paced by `AsyncLimiter` a fifth below the sandbox's rate
    gets no 429. (At exactly the rate, only `ARRIVAL_SKEW` of lateness is forgiven, which
    a loaded machine can exceed: that bound is pinned on a hand-moved clock above, and
    the bulk benchmark reports the 429s of a client at the exact limits.)"""
    rate = 10.0
    config = SandboxConfig(qc_rate=rate, hub_rate=rate)
    count = 25  # a burst, then paced: about 2 s per API, side by side
    async with (
        SandboxServer(config) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        pace = rate * 0.8
        limiters = {"qc": AsyncLimiter(pace, 1.0), "hub": AsyncLimiter(pace, 1.0)}

        async def paced(api: str, path: str) -> int:
            async with limiters[api]:
                return (await http.get(path)).status_code

        answers = await asyncio.gather(
            *(paced("qc", carrier_path(2000100 + i)) for i in range(count)),
            *(paced("hub", violations_path(2000100 + i)) for i in range(count)),
        )
        assert answers == [200] * (2 * count)
        counts = server.requests()
        assert counts["throttled"] == {"qcmobile": 0, "datahub": 0}
        assert counts["apis"] == {"qcmobile": count, "datahub": count}
        index = (await http.get("/")).json()
        assert index["config"]["qc_rate"] == index["config"]["hub_rate"] == rate


def test_sandbox_command_serves_with_rate_limits_and_refuses_bad_ones() -> None:
    command = [sys.executable, "-m", "fmcsa_tui", "sandbox", "--port", "0"]
    for bad in ("0", "-1", "nan", "inf", "fast"):
        result = subprocess.run(
            [*command, "--qc-rate", bad], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 2, (bad, result.stderr)
        assert "--qc-rate" in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    rates = ["--qc-rate", "2.5", "--hub-rate", "40"]
    with subprocess.Popen(
        [*command, *rates], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            url = re.search(r"http://\S+", line)
            assert url is not None, line
            config = httpx.get(url.group(0) + "/", timeout=10).json()["config"]
            assert (config["qc_rate"], config["hub_rate"]) == (2.5, 40.0)
        finally:
            process.terminate()
            process.wait(timeout=10)


# --- the sandbox's own endpoints and the server ----------------------------------------


async def test_plan_and_index(client: httpx.AsyncClient) -> None:
    assert (await client.get("/sandbox/plan/1000070")).json() == {
        "dot": "1000070",
        "fault": "transient_5xx",
        "source": "csa_scores",
    }
    assert (await client.get("/sandbox/plan/1000099")).json()["fault"] == "many_pages"
    assert (await client.get("/sandbox/plan/1000001")).json() == {
        "dot": "1000001",
        "fault": "none",
        "source": None,
    }
    index = (await client.get("/")).json()
    assert index["plan"].startswith(str(client.base_url).rstrip("/") + "/sandbox/plan/")


def test_faults_land_on_the_endpoint_of_their_source() -> None:
    assert injected_fault(1000071, Endpoint.VIOLATIONS) is FaultKind.TRANSIENT_5XX
    assert injected_fault(1000071, Endpoint.BASICS) is FaultKind.NONE
    assert injected_fault(1000066, Endpoint.CARRIER) is FaultKind.MAINTENANCE
    assert injected_fault(1000067, Endpoint.CARRIER) is FaultKind.NONE  # data, not HTTP
    assert injected_fault(1000099, Endpoint.VIOLATIONS) is FaultKind.NONE  # data, not HTTP


async def test_server_reports_its_real_port_and_stops() -> None:
    async with SandboxServer() as server:
        port = int(server.url.rsplit(":", 1)[1])
        assert server.url == f"http://127.0.0.1:{port}" and port > 0
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/")).status_code == 200
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.get(f"http://127.0.0.1:{port}/")
    with pytest.raises(RuntimeError):
        _ = server.url
