"""The Data and History tabs' content, rendered without an app, from hostile documents:
every value as stored, escapes made visible, thresholds by FMCSA's table."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from rich.console import Console, RenderableType

from fmcsa_tui.ui.detail.data_tab import MAX_INSPECTIONS, carrier_kind, data_body, over_threshold
from fmcsa_tui.ui.detail.history_tab import NO_HISTORY, history_body
from tests.support import real_documents

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def text_of(renderable: RenderableType, width: int = 100) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def inspection(days: int, **extra: Any) -> dict[str, Any]:
    return {
        "companyId": "c",
        "reportNumber": f"TX{days:06d}",
        "inspectionDate": NOW - timedelta(days=days),
        "state": "TX",
        "inspectionLevel": 1,
        "vehicleOOS": days == 3,
        "driverOOS": False,
        "hazmatOOS": False,
        "totalViolations": 1,
        "violations": [
            {
                "code": "393.9A",
                "description": "Inoperable lamp",
                "basic": "Vehicle Maint.",
                "severityWeight": 6,
                "oos": days == 3,
                "unit": "1",
            }
        ],
        **extra,
    }


def test_percentiles_at_or_above_fmcsa_thresholds_are_flagged_general_carrier() -> None:
    doc = real_documents.not_public("3101002")
    doc["smsBasics"].update(
        unsafeDriving=65,
        hoursOfService="64",
        vehicleMaintenance=80.0,
        driverFitness="81%",
        controlledSubstances=79.9,
    )
    assert carrier_kind(doc) == "general"
    assert over_threshold(doc) == ["unsafeDriving", "driverFitness", "vehicleMaintenance"]
    shown = text_of(data_body(doc, []))
    assert "threshold: general carriers" in shown
    assert "▲ unsafe driving" in shown and "▲ driver fitness" in shown
    assert "▲ hours of service" not in shown and "  hours of service" in shown
    assert "81%" in shown  # as stored, the text included


def test_passenger_and_hazmat_carriers_use_their_lower_thresholds() -> None:
    doc = real_documents.not_public("3101002")
    doc["smsBasics"].update(unsafeDriving=55, vehicleMaintenance=70)
    doc["fmcsaData"]["inspections"]["carrier"]["pcFlag"] = "Y"
    assert carrier_kind(doc) == "passenger"
    assert over_threshold(doc) == ["unsafeDriving", "vehicleMaintenance"]
    doc["fmcsaData"]["inspections"]["carrier"] = {"hmFlag": "Y"}
    assert carrier_kind(doc) == "hazmat"
    assert over_threshold(doc) == []  # 55 < 60, 70 < 75
    shown = text_of(data_body(doc, []))
    assert "threshold: hazmat carriers" in shown and "60%" in shown and "75%" in shown


def test_every_value_shows_as_stored_whatever_its_type_and_escapes_are_visible() -> None:
    doc = real_documents.not_public("3101002")
    doc["smsBasics"].update(
        unsafeDriving={"$junk": [1, "\x1b[31m"]},
        crashIndicator=True,
        hoursOfServiceMeasure="\u202eevil",
        driverFitness=float("nan"),
    )
    doc["fmcsaData"]["inspections"].update(
        vehicleOOSPercent="12.5",
        vehicleNationalAvg=20.72,
        driverOOSPercent=9.0,
        driverNationalAvg=5.51,
        crashes="\x07bell",
        carrier=["x"],
    )
    hostile = inspection(
        1,
        state="\x1b]0;pwned\x07",
        inspectionDate="last tuesday",
        violations=[None, {"code": 42, "description": "\u202eRTL", "oos": "yes"}],
    )
    shown = text_of(data_body(doc, [hostile, "not a document", inspection(3)]))
    assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
    assert '{"$junk": [1, "\\u001b[31m"]}' in shown and "true" in shown
    assert "\\u202eevil" in shown and "␇bell" in shown and '["x"]' in shown
    assert "last tuesday  ␛]0;pwned␇" in shown and "42  \\u202eRTL" in shown
    assert "not a document" in shown
    assert "OOS vehicle" in shown and "393.9A  OOS  Inoperable lamp" in shown
    assert over_threshold(doc) == []  # a document, a boolean and NaN are no percentile


def test_missing_sections_say_they_were_never_synced() -> None:
    doc = {"_id": ObjectId(), "name": "Bare Co", "dotNumber": "1000001"}
    shown = text_of(data_body(doc, []))
    assert "never synced (csa_scores)" in shown
    assert "never synced (inspections)" in shown
    assert "never synced (violations)" in shown
    doc["fmcsaData"] = {"lastViolationSync": NOW}
    assert "none on record" in text_of(data_body(doc, []))
    assert "reading…" in text_of(data_body(doc, None))


def test_recent_inspections_are_bounded_and_keep_the_stores_newest_first_order() -> None:
    doc = real_documents.not_public("3101002")
    inspections = [inspection(days) for days in range(1, 61)]  # newest first, as read
    shown = text_of(data_body(doc, inspections), width=120)
    assert f"the latest {MAX_INSPECTIONS} of 60" in shown
    assert "TX000001" in shown and "TX000050" in shown and "TX000051" not in shown
    assert shown.index("TX000001") < shown.index("TX000002") < shown.index("TX000050")


def run(started: datetime, outcomes: dict[str, str], **who: Any) -> dict[str, Any]:
    sources = [
        {
            "source": name,
            "outcome": outcome,
            "duration": 1.25,
            "attempts": 3,
            "error": "HTTP 503 \x1b[2J" if outcome == "failed" else None,
            "summary": "5 BASICs, 3 public",
        }
        for name, outcome in outcomes.items()
    ]
    return {
        "startedAt": started,
        "endedAt": started + timedelta(seconds=4),
        "sources": sources,
        "who": {"user": "ops", "host": "box", "pid": 4242, "origin": "dashboard", **who},
    }


def test_history_lists_runs_newest_first_with_outcomes_and_a_strip() -> None:
    records = [
        run(NOW, {"csa_scores": "failed", "violations": "ok", "inspections": "ok"}),
        run(NOW - timedelta(hours=1), {"csa_scores": "ok"}, origin="sync"),
        run(NOW - timedelta(hours=2), {"csa_scores": "cancelled", "violations": "skipped"}),
    ]
    shown = text_of(history_body(records))
    lines = [line.rstrip() for line in shown.splitlines()]
    assert "csa_scores   ○✓✗" in lines  # oldest on the left
    assert "violations   -·✓" in lines and "inspections  ··✓" in lines
    first, second = shown.index("2026-11-28 12:00:00 UTC"), shown.index("2026-11-28 11:00:00 UTC")
    assert first < second
    assert "4.0s  dashboard  ops@box  pid 4242" in shown and "sync  ops@box" in shown
    assert "failed 1.25s (3 attempts)  HTTP 503 ␛[2J" in shown
    assert "ok 1.25s  5 BASICs, 3 public" in shown
    assert "\x1b" not in shown


def test_history_states_empty_and_unsupported_stores() -> None:
    assert NO_HISTORY in text_of(history_body(None, supported=False))
    assert "No runs recorded" in text_of(history_body([]))
    junk = text_of(history_body([{"startedAt": "yesterday", "sources": {"csa_scores": "ok"}}, 7]))
    assert "yesterday" in junk and "csa_scores   ok" in junk
