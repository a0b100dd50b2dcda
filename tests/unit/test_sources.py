"""The source adapters against real FMCSA responses (copied from ../shared/fmcsa-samples)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from fmcsa_tui.models import Source
from fmcsa_tui.settings import Settings
from fmcsa_tui.sync.answers import Answer, SourceError, decode, parse_json, retry_after_seconds
from fmcsa_tui.sync.parsing import (
    INSPECTION_FIELDS,
    MAX_TEXT,
    NOT_FOUND,
    VIOLATION_FIELDS,
    build_inspections,
    keep_fields,
    parse_basics,
    parse_carrier,
    parse_socrata_date,
    parse_violations,
)

SAMPLES = Path(__file__).parents[1] / "samples"
AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def test_numeric_percentiles_and_measures_from_2021_basics() -> None:
    data = parse_basics(sample("qcmobile-2021/basics.json"), AT)
    fields = data.fields
    assert data.source is Source.CSA_SCORES
    assert fields["smsBasics.unsafeDriving"] == 18
    assert fields["smsBasics.hoursOfService"] == 57
    assert fields["smsBasics.driverFitness"] == 28
    # the BASIC name holds a real zero-width space: "Controlled Substances/\u200bAlcohol"
    assert fields["smsBasics.controlledSubstances"] == 0
    assert fields["smsBasics.vehicleMaintenance"] == 19
    assert fields["smsBasics.vehicleMaintenanceMeasure"] == 1.37
    assert fields["smsBasics.unsafeDrivingMeasure"] == 1.02
    # no Crash Indicator in the response: written as null, not left stale
    assert fields["smsBasics.crashIndicator"] is None
    assert fields["smsBasics.lastUpdated"] == AT
    assert data.summary == "5 BASICs, 5 public"


def test_not_public_percentiles_are_null_but_measures_kept() -> None:
    data = parse_basics(sample("qcmobile/1000986_basics.json"), AT)
    fields = data.fields
    for basic in ("unsafeDriving", "hoursOfService", "driverFitness", "vehicleMaintenance"):
        assert fields[f"smsBasics.{basic}"] is None
    assert fields["smsBasics.unsafeDrivingMeasure"] == 10.32
    assert fields["smsBasics.vehicleMaintenanceMeasure"] == 11.0
    # "Controlled Substances/&#8203;Alcohol" with the entity written out still maps
    assert fields["smsBasics.controlledSubstancesMeasure"] == 0.0
    assert data.summary == "5 BASICs, 0 public"


def test_unknown_carrier_basics_is_an_empty_list_not_an_error() -> None:
    data = parse_basics(sample("qcmobile/9900001_basics.json"), AT)
    assert data.summary == "no BASICs on record"
    assert all(
        value is None for key, value in data.fields.items() if key != "smsBasics.lastUpdated"
    )


def test_carrier_record_fills_inspection_stats() -> None:
    data = parse_carrier(sample("qcmobile-2021/carrier.json"), "158121", AT)
    fields = data.fields
    assert fields["fmcsaData.inspections.driverInspections"] == 259
    assert fields["fmcsaData.inspections.driverOOS"] == 3
    assert fields["fmcsaData.inspections.driverOOSPercent"] == 1.16
    assert fields["fmcsaData.inspections.driverNationalAvg"] == 5.51
    assert fields["fmcsaData.inspections.vehicleInspections"] == 124
    assert fields["fmcsaData.inspections.vehicleOOSPercent"] == 13.71
    assert fields["fmcsaData.inspections.hazmatInspections"] == 10
    assert fields["fmcsaData.inspections.totalInspections"] == 259
    assert fields["fmcsaData.inspections.crashes.total"] == 15
    assert fields["fmcsaData.inspections.crashes.injury"] == 3
    assert fields["fmcsaData.inspections.crashes.tow"] == 12
    assert fields["fmcsaData.inspections.carrier.legalName"] == "VERIHA TRUCKING INC"
    assert fields["fmcsaData.inspections.carrier.dotNumber"] == "158121"
    assert fields["fmcsaData.inspections.carrier.safetyRating"] == "S"
    assert fields["fmcsaData.inspections.carrier.operatingStatus"] == "AUTHORIZED"
    assert fields["fmcsaData.inspections.lastSync"] == AT
    assert data.legal_name == "VERIHA TRUCKING INC"
    assert all(key.startswith("fmcsaData.inspections.") for key in fields)


def test_unknown_carrier_is_a_permanent_not_found() -> None:
    with pytest.raises(SourceError) as caught:
        parse_carrier(sample("qcmobile/9900001_carrier.json"), "9900001", AT)
    assert caught.value.permanent
    # The same text for every unknown carrier (the fleet screen counts them as one);
    # the carrier is named by whoever shows it (its row, the CLI's "DOT n" prefix).
    assert caught.value.message == NOT_FOUND
    assert "9900001" not in caught.value.message


def test_violation_row_joins_into_an_inspection_document() -> None:
    violations = sample("socrata/8mt8-2mdr_1.json")
    inspections = [
        {
            "unique_id": "742527801",
            "report_number": "WA1234000001",
            "report_state": "WA",
            "insp_date": "28-AUG-24",
            "insp_level_id": "3",
            "driver_oos_total": "0",
            "vehicle_oos_total": "1",
            "hazmat_oos_total": "0",
        },
        {"unique_id": "742527999", "report_number": "WA1234000002", "insp_date": "01-SEP-24"},
    ]
    docs = {doc["reportNumber"]: doc for doc in build_inspections(violations, inspections)}
    first = docs["WA1234000001"]
    assert first["inspectionDate"] == datetime(2024, 8, 28, tzinfo=UTC)
    assert first["state"] == "WA"
    assert first["inspectionLevel"] == 3
    assert (first["vehicleOOS"], first["driverOOS"], first["hazmatOOS"]) == (True, False, False)
    assert first["totalViolations"] == 1
    assert first["violations"] == [
        {
            "code": "3922SLLS4",
            "description": "State/Local Laws - Speeding 15 or more miles per hour over the "
            "speed limit",
            "basic": "Unsafe Driving",
            "severityWeight": 10,
            "oos": False,
            "unit": "D",
        }
    ]
    assert docs["WA1234000002"]["totalViolations"] == 0


def test_violations_without_an_inspection_row_still_get_a_document() -> None:
    rows = [
        {"unique_id": "9", "insp_date": "02-JAN-25", "viol_code": "392.2", "oos_indicator": "Y",
         "viol_unit": "1", "severity_weight": "5"},
        {"unique_id": "9", "insp_date": "02-JAN-25", "viol_code": "395.8", "oos_indicator": "N",
         "viol_unit": "D", "severity_weight": "3"},
    ]  # fmt: skip
    data = parse_violations(rows, [], AT)
    assert data.fields == {"fmcsaData.lastViolationSync": AT}
    assert data.inspections is not None
    [doc] = data.inspections
    assert doc["reportNumber"] == "9"
    assert doc["vehicleOOS"] is True and doc["driverOOS"] is False
    assert [v["oos"] for v in doc["violations"]] == [True, False]
    assert data.summary == "1 inspections, 2 violations"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("28-AUG-24", datetime(2024, 8, 28, tzinfo=UTC)),
        ("5-jan-99", datetime(1999, 1, 5, tzinfo=UTC)),
        ("2024-08-28T00:00:00.000", datetime(2024, 8, 28, tzinfo=UTC)),
        ("20240828", datetime(2024, 8, 28, tzinfo=UTC)),
        ("31-FEB-24", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_socrata_dates(text: str, expected: datetime | None) -> None:
    assert parse_socrata_date(text) == expected


def _response(
    status: int, body: bytes, content_type: str = "application/json", **headers: str
) -> Answer:
    return Answer(status, httpx.Headers({"content-type": content_type, **headers}), body)


def test_bad_webkey_404_is_permanent_and_names_the_setting() -> None:
    body = (SAMPLES / "errors/webkey-not-found_brandenc40-qcmobile.json").read_bytes()
    with pytest.raises(SourceError) as caught:
        decode(_response(404, body), "QCMobile", "basics")
    assert caught.value.permanent
    assert "Webkey not found" in caught.value.message and "webkey" in caught.value.message


def test_missing_webkey_404_is_permanent() -> None:
    body = (SAMPLES / "errors/must-provide-webkey_dot76830_2026-08-19.json").read_bytes()
    with pytest.raises(SourceError) as caught:
        decode(_response(404, body), "QCMobile", "carrier")
    assert caught.value.permanent and "Must provide Webkey" in caught.value.message


def test_maintenance_page_is_transient_even_with_http_200() -> None:
    title = (SAMPLES / "errors/fmcsa-maintenance-title-indicator.txt").read_text().strip()
    page = f"<!DOCTYPE html><html><head>{title}</head><body>Back soon</body></html>".encode()
    with pytest.raises(SourceError) as caught:
        decode(_response(200, page, "text/html; charset=utf-8"), "QCMobile", "carrier")
    assert not caught.value.permanent
    assert "maintenance" in caught.value.message


def test_throttling_is_transient_and_carries_retry_after() -> None:
    with pytest.raises(SourceError) as caught:
        decode(_response(429, b"{}", **{"retry-after": "7"}), "DataHub", "8mt8-2mdr page 1")
    assert not caught.value.permanent and caught.value.retry_after == 7.0


def test_soql_query_error_is_permanent() -> None:
    body = json.dumps(
        {"message": "No such column: dotnumber", "errorCode": "query.soql.no-such-column"}
    ).encode()
    with pytest.raises(SourceError) as caught:
        decode(_response(400, body), "DataHub", "8mt8-2mdr page 1")
    assert caught.value.permanent and "query.soql.no-such-column" in caught.value.message


def test_server_errors_are_transient_and_json_is_decoded() -> None:
    with pytest.raises(SourceError) as caught:
        decode(_response(503, b"Service Unavailable", "text/plain"), "QCMobile", "basics")
    assert not caught.value.permanent and "HTTP 503" in caught.value.message
    assert decode(_response(200, b'{"content": []}'), "QCMobile", "basics") == {"content": []}


# --- numbers that are not numbers, elements that are not elements ----------------------

NON_FINITE = [
    float("nan"),
    float("inf"),
    float("-inf"),
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    " 1e999 ",
    10**400,
]


def _basics_with(**changes: Any) -> dict[str, Any]:
    """The real 2021 basics answer with Unsafe Driving's values replaced."""
    payload = sample("qcmobile-2021/basics.json")
    payload["content"][0]["basic"].update(changes)
    return payload


@pytest.mark.parametrize("value", NON_FINITE, ids=repr)
def test_a_non_finite_percentile_or_measure_is_missing_never_0_or_100(value: Any) -> None:
    fields = parse_basics(_basics_with(basicsPercentile=value, measureValue=value), AT).fields
    assert fields["smsBasics.unsafeDriving"] is None
    assert fields["smsBasics.unsafeDrivingMeasure"] is None
    assert fields["smsBasics.hoursOfService"] == 57  # the other BASICs are untouched


@pytest.mark.parametrize("value", NON_FINITE, ids=repr)
def test_a_non_finite_count_or_rate_is_missing_never_an_exception(value: Any) -> None:
    payload = sample("qcmobile-2021/carrier.json")
    carrier = payload["content"]["carrier"]
    for key in ("driverInsp", "crashTotal", "driverOosRate", "hazmatInsp"):
        carrier[key] = value
    fields = parse_carrier(payload, "158121", AT).fields
    prefix = "fmcsaData.inspections."
    assert fields[prefix + "driverInspections"] is None
    assert fields[prefix + "crashes.total"] is None
    assert fields[prefix + "driverOOSPercent"] is None
    assert fields[prefix + "hazmatInspections"] is None
    assert fields[prefix + "totalInspections"] == 124  # the larger of the counts still known
    assert fields[prefix + "vehicleInspections"] == 124


@pytest.mark.parametrize(
    ("value", "expected"),
    [("18%", 18), (" 7.5 % ", 7.5), (57, 57), (140, 100), (-3, 0), ("Not Public", None),
     ("9" * 400, None), (True, None), ({"value": 1}, None), (None, None)],
)  # fmt: skip
def test_percentile_rules(value: Any, expected: Any) -> None:
    fields = parse_basics(_basics_with(basicsPercentile=value), AT).fields
    assert fields["smsBasics.unsafeDriving"] == expected


def test_json_nan_and_infinity_and_overflow_decode_as_missing_values() -> None:
    body = b'{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e999, "e": -1e999, "f": 1.5}'
    assert parse_json(body, "QCMobile", "carrier") == {
        "a": None, "b": None, "c": None, "d": None, "e": None, "f": 1.5
    }  # fmt: skip


def test_one_malformed_basic_is_skipped_and_noted() -> None:
    payload = sample("qcmobile-2021/basics.json")
    payload["content"][1] = "HOS Compliance"  # an entry that is a string
    data = parse_basics(payload, AT)
    assert data.summary == "4 BASICs, 4 public; 1 malformed entry skipped"
    assert data.fields["smsBasics.unsafeDriving"] == 18
    assert data.fields["smsBasics.hoursOfService"] is None


def test_malformed_basics_of_every_kind_are_skipped() -> None:
    payload = sample("qcmobile-2021/basics.json")
    payload["content"][0]["basic"]["basicsType"] = "Unsafe Driving"  # was: 'str'.get
    payload["content"][1]["basic"] = ["not", "an", "object"]
    payload["content"].append(None)
    data = parse_basics(payload, AT)
    assert data.summary == "3 BASICs, 3 public; 3 malformed entries skipped"


def test_basics_with_nothing_usable_left_fail_in_one_line() -> None:
    with pytest.raises(SourceError) as caught:
        parse_basics({"content": ["a", 1, None]}, AT)
    assert caught.value.message == "QCMobile answered 3 BASIC entries, none of them usable (basics)"
    assert not caught.value.permanent


def test_texts_are_cut_and_non_texts_dropped() -> None:
    payload = sample("qcmobile-2021/carrier.json")
    carrier = payload["content"]["carrier"]
    carrier["legalName"] = "X" * 10_000
    carrier["safetyRating"] = {"nested": ["junk"] * 1000}
    carrier["dotNumber"] = 158121
    data = parse_carrier(payload, "158121", AT)
    prefix = "fmcsaData.inspections.carrier."
    assert data.fields[prefix + "legalName"] == "X" * MAX_TEXT
    assert data.fields[prefix + "safetyRating"] is None
    assert data.fields[prefix + "dotNumber"] == "158121"


def test_rows_kept_with_only_the_parsed_fields_build_the_same_documents() -> None:
    """`keep_fields` keeps every field `build_inspections` reads: the same documents."""
    from fmcsa_tui.sandbox.data import inspection_rows, violation_rows

    dot = "1000099"
    violations = [*violation_rows(dot), *sample("socrata/8mt8-2mdr_1.json")]
    inspections = inspection_rows(dot)
    kept_violations = [keep_fields(row, VIOLATION_FIELDS) for row in violations]
    kept_inspections = [keep_fields(row, INSPECTION_FIELDS) for row in inspections]
    assert all(len(row) <= len(VIOLATION_FIELDS) for row in kept_violations)
    assert build_inspections(kept_violations, kept_inspections) == build_inspections(
        violations, inspections
    )


def test_malformed_rows_are_noted_or_fail_when_nothing_is_left() -> None:
    rows = [{"unique_id": "9", "viol_code": "392.2", "viol_unit": "1", "oos_indicator": "Y"}]
    data = parse_violations(rows, [], AT, skipped=2)
    assert data.summary == "1 inspections, 1 violations; 2 malformed rows skipped"
    with pytest.raises(SourceError) as caught:
        parse_violations([], [], AT, skipped=3)
    assert caught.value.message == (
        "DataHub answered 3 rows, none of them usable (8mt8-2mdr, rbkj-cgst)"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), ("0.5", 0.5), ("-5", 0.0), ("999999", 999999.0),
     ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0), ("soon", None), ("nan", None), ("inf", None),
     ("", None), (None, None)],
)  # fmt: skip
def test_retry_after_as_seconds(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value) == expected


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    seconds = retry_after_seconds("Fri, 31 Dec 2999 23:59:59 GMT")
    assert seconds is not None and seconds > 365 * 24 * 3600


def test_a_503_carries_its_retry_after_too() -> None:
    with pytest.raises(SourceError) as caught:
        decode(_response(503, b"", "text/plain", **{"retry-after": "30"}), "QCMobile", "basics")
    assert not caught.value.permanent and caught.value.retry_after == 30.0


def test_the_new_bounds_come_from_the_environment_within_sane_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FMCSA_TUI_MAX_RESPONSE_BYTES", "1048576")
    monkeypatch.setenv("FMCSA_TUI_MAX_ROWS", "5000")
    monkeypatch.setenv("FMCSA_TUI_SOURCE_DEADLINE", "60")
    settings = Settings()
    assert (settings.max_response_bytes, settings.max_rows, settings.source_deadline) == (
        1 << 20, 5000, 60.0
    )  # fmt: skip
    monkeypatch.delenv("FMCSA_TUI_MAX_RESPONSE_BYTES")
    assert Settings().max_response_bytes == 8 << 20
    for bad in ({"max_response_bytes": 100}, {"max_rows": 0}, {"source_deadline": 0}):
        with pytest.raises(ValidationError):
            Settings(**bad)
