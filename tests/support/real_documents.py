"""The two documents of the 64 a real Mongoose backend wrote that were listed `unreadable`.

Issue "Trust at the edges", item 8: their sync status is plain, so they must list by
the status rule. Shaped as the backend writes them: Mongoose timestamps, `__v`, an
`ownerId`, BASIC percentiles with their measures.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

WRITTEN = datetime(2026, 10, 14, 9, 30, 12, 345000, tzinfo=UTC)

#: What fmcsa-tui 0.1 stored in the SQLite columns for them (its `problem` lines).
OLD_PROBLEMS = {
    "null_sync_status": (
        "fmcsaData.syncStatus: Input should be a valid dictionary or instance of SyncStatus"
    ),
    "not_public": (
        "smsBasics.unsafeDriving: Input should be a valid number,"
        " unable to parse string as a number"
    ),
}


def _basics() -> dict[str, Any]:
    return {
        "unsafeDriving": 41.0,
        "unsafeDrivingMeasure": 2.31,
        "hoursOfService": 12.0,
        "hoursOfServiceMeasure": 0.87,
        "driverFitness": None,
        "driverFitnessMeasure": None,
        "controlledSubstances": 0.0,
        "controlledSubstancesMeasure": 0.0,
        "vehicleMaintenance": 63.0,
        "vehicleMaintenanceMeasure": 5.02,
        "crashIndicator": None,
        "crashIndicatorMeasure": None,
        "lastUpdated": WRITTEN - timedelta(days=2),
    }


def _inspections() -> dict[str, Any]:
    return {
        "driverInspections": 14,
        "vehicleInspections": 9,
        "totalInspections": 14,
        "crashes": {"fatal": 0, "injury": 1, "tow": 2, "total": 3},
        "carrier": {"legalName": "PLAIN STATUS LLC", "safetyRating": "S"},
        "lastSync": WRITTEN - timedelta(days=2),
    }


def null_sync_status(dot: str) -> dict[str, Any]:
    """`fmcsaData.syncStatus: null` (the backend reset it): never synced, by the rule."""
    return {
        "_id": ObjectId(),
        "name": "Null Status Freight LLC",
        "dotNumber": dot,
        "mcNumber": "MC-310100",
        "ownerId": ObjectId(),
        "smsBasics": _basics(),
        "fmcsaData": {"inspections": _inspections(), "syncStatus": None},
        "createdAt": WRITTEN - timedelta(days=90),
        "updatedAt": WRITTEN,
        "__v": 0,
    }


def not_public(dot: str, **sync_status: Any) -> dict[str, Any]:
    """`smsBasics.unsafeDriving: "Not Public"`, synced fine: `ok` unless `sync_status`
    says otherwise."""
    basics = _basics()
    basics.update(unsafeDriving="Not Public", unsafeDrivingMeasure=None)
    last_run = WRITTEN - timedelta(hours=3)
    status: dict[str, Any] = {
        "lastRun": last_run,
        "success": True,
        "errors": [],
        "csaScoresLastSync": last_run,
        "violationsLastSync": last_run,
        "inspectionsLastSync": last_run,
        **sync_status,
    }
    return {
        "_id": ObjectId(),
        "name": "Not Public Hauling Inc",
        "dotNumber": dot,
        "ownerId": ObjectId(),
        "smsBasics": basics,
        "fmcsaData": {
            "inspections": _inspections(),
            "lastViolationSync": last_run,
            "syncStatus": status,
        },
        "createdAt": WRITTEN - timedelta(days=400),
        "updatedAt": WRITTEN,
        "__v": 4,
    }
