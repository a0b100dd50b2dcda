"""How an FMCSA answer becomes document fields: pure functions, tested on real samples.

Every field is written as a dotted path, so fields the backend keeps beside ours in
the same sub-document survive. What comes back is not trusted: a number that is not
finite is a missing value, a text is cut to `MAX_TEXT` characters, and one malformed
element is skipped and counted in the summary (the source fails only when nothing
usable is left).
"""

from __future__ import annotations

import html
import math
import re
import sys
from datetime import UTC, datetime
from typing import Any

from fmcsa_tui.models import BASIC_FIELDS, Source
from fmcsa_tui.store.base import SourceData
from fmcsa_tui.sync.answers import SourceError

QC = "QCMobile"
HUB = "DataHub"
VIOLATION_DATASET = "8mt8-2mdr"
INSPECTION_DATASET = "rbkj-cgst"
#: QCMobile's answer for a DOT it has no carrier for. No DOT in it: the error row is the
#: carrier's own, and the fleet screen counts every unknown carrier under this one text.
NOT_FOUND = "carrier not found: FMCSA has no record of this DOT number"
MAX_TEXT = 256  # longest text kept from an answer; real FMCSA values are far shorter
_MAX_EXACT = 2**53  # beyond this a count is nonsense (and no longer exact as a float)


# --- small tolerant converters -------------------------------------------------------


def _number(value: Any) -> float | None:
    """The one number rule: a finite int, float or numeric string; anything else is missing.

    NaN and ±Infinity (as numbers or as strings) and values past float range are missing
    values, never 0 or 100 and never an exception.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if abs(value) <= _MAX_EXACT else None
    if isinstance(value, float):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and abs(number) <= _MAX_EXACT else None


def _float(value: Any, digits: int = 2) -> float | None:
    number = _number(value)
    return round(number, digits) if number is not None else None


def _text(value: Any) -> str | None:
    """A text field: strings cut to `MAX_TEXT`, whole numbers spelled out, else missing."""
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if abs(value) <= _MAX_EXACT else None
    return None


def _flag(value: Any) -> bool:
    """Socrata yes/no as "true"/"false", "Y"/"N", "1"/"0"."""
    return str(value).strip().lower() in {"true", "y", "yes", "1", "t"}


def _percentile(value: Any) -> int | float | None:
    """ "18%" -> 18; "Not Public", NaN and anything unparseable -> None; clamped to 0-100."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%?\s*", value)
        number = _number(match.group(1)) if match else None
    else:
        number = _number(value)
    if number is None:
        return None
    number = min(100.0, max(0.0, number))
    return int(number) if number.is_integer() else number


_MONTHS = {
    name: number
    for number, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DD_MON_YY = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(\d{2}|\d{4})$")


def parse_socrata_date(value: Any) -> datetime | None:
    """SMS files write ``28-AUG-24``; Socrata timestamps are ISO without zone."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    match = _DD_MON_YY.match(text)
    if match:
        day, month_name, year_text = match.groups()
        month = _MONTHS.get(month_name.upper())
        if month is None:
            return None
        year = int(year_text)
        if year < 100:
            year += 2000 if year < 70 else 1900
        try:
            return datetime(year, month, int(day), tzinfo=UTC)
        except ValueError:
            return None
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# --- csa_scores: QCMobile /carriers/{dot}/basics -------------------------------------

_BASIC_BY_ID = {
    11: "unsafeDriving",
    12: "hoursOfService",
    13: "driverFitness",
    14: "controlledSubstances",
    15: "vehicleMaintenance",
}


def _basic_field(basics_type: dict[str, Any]) -> str | None:
    """Which `smsBasics` field a BASIC fills, by its name first and its id second."""
    names = " ".join(str(basics_type.get(key) or "") for key in ("basicsShortDesc", "basicsCode"))
    text = html.unescape(names).replace("\u200b", "").lower()
    for needle, field in (
        ("unsafe", "unsafeDriving"),
        ("hours-of-service", "hoursOfService"),
        ("hos ", "hoursOfService"),
        ("driver fitness", "driverFitness"),
        ("controlled substances", "controlledSubstances"),
        ("drugs", "controlledSubstances"),
        ("vehicle maint", "vehicleMaintenance"),
        ("crash", "crashIndicator"),
    ):
        if needle in text + " ":
            return field
    if "hazard" in text or "hm " in text + " ":
        return None  # Hazardous Materials Compliance has no field in the document
    basic_id = _int(basics_type.get("basicsId"))
    return _BASIC_BY_ID.get(basic_id) if basic_id is not None else None


def _content(payload: Any, what: str) -> Any:
    if not isinstance(payload, dict) or "content" not in payload:
        raise SourceError(f"{QC} answered an unexpected shape ({what})", permanent=False)
    return payload["content"]


def parse_basics(payload: Any, at: datetime) -> SourceData:
    """`smsBasics.*` from a basics response: every BASIC set, null where not public."""
    content = _content(payload, "basics")
    if content is None:
        raise SourceError(NOT_FOUND, permanent=True)
    if not isinstance(content, list):
        raise SourceError(f"{QC} answered an unexpected shape (basics)", permanent=False)
    fields: dict[str, Any] = {}
    for name in BASIC_FIELDS:
        fields[f"smsBasics.{name}"] = None
        fields[f"smsBasics.{name}Measure"] = None
    found = skipped = 0
    for item in content:
        basic = item.get("basic") if isinstance(item, dict) else None
        basics_type = basic.get("basicsType") if isinstance(basic, dict) else None
        if not isinstance(basic, dict) or not isinstance(basics_type, dict):
            skipped += 1
            continue
        field = _basic_field(basics_type)
        if field is None:
            continue
        found += 1
        fields[f"smsBasics.{field}"] = _percentile(basic.get("basicsPercentile"))
        fields[f"smsBasics.{field}Measure"] = _float(basic.get("measureValue"))
    if skipped and skipped == len(content):
        raise SourceError(
            f"{QC} answered {skipped} BASIC entries, none of them usable (basics)",
            permanent=False,
        )
    fields["smsBasics.lastUpdated"] = at
    public = sum(1 for name in BASIC_FIELDS if fields[f"smsBasics.{name}"] is not None)
    summary = f"{found} BASICs, {public} public" if found else "no BASICs on record"
    return SourceData(Source.CSA_SCORES, fields, summary=summary + _skipped(skipped, "entry"))


def _skipped(count: int, what: str) -> str:
    """The summary's note of malformed elements left out: "; 1 malformed entry skipped"."""
    if not count:
        return ""
    plural = (what[:-1] + "ies" if what.endswith("y") else what + "s") if count > 1 else what
    return f"; {count} malformed {plural} skipped"


# --- inspections: QCMobile /carriers/{dot} -------------------------------------------

_OPERATING = {"Y": "AUTHORIZED", "N": "NOT AUTHORIZED"}


def parse_carrier(payload: Any, dot: str, at: datetime) -> SourceData:
    """`fmcsaData.inspections` from the carrier record; its legal name fills an empty name.

    QCMobile gives no count of distinct inspections: every inspection examines the
    driver, the vehicle or both, so `totalInspections` is the larger of the two counts.
    """
    content = _content(payload, "carrier")
    if content is None:
        raise SourceError(NOT_FOUND, permanent=True)
    carrier = content.get("carrier") if isinstance(content, dict) else None
    if not isinstance(carrier, dict):
        raise SourceError(f"{QC} answered an unexpected shape (carrier)", permanent=False)
    driver, vehicle = _int(carrier.get("driverInsp")), _int(carrier.get("vehicleInsp"))
    prefix = "fmcsaData.inspections."
    values: dict[str, Any] = {
        "driverInspections": driver,
        "driverOOS": _int(carrier.get("driverOosInsp")),
        "driverOOSPercent": _float(carrier.get("driverOosRate")),
        "driverNationalAvg": _float(carrier.get("driverOosRateNationalAverage")),
        "vehicleInspections": vehicle,
        "vehicleOOS": _int(carrier.get("vehicleOosInsp")),
        "vehicleOOSPercent": _float(carrier.get("vehicleOosRate")),
        "vehicleNationalAvg": _float(carrier.get("vehicleOosRateNationalAverage")),
        "hazmatInspections": _int(carrier.get("hazmatInsp")),
        "hazmatOOS": _int(carrier.get("hazmatOosInsp")),
        "totalInspections": max((n for n in (driver, vehicle) if n is not None), default=None),
        "crashes.fatal": _int(carrier.get("fatalCrash")),
        "crashes.injury": _int(carrier.get("injCrash")),
        "crashes.tow": _int(carrier.get("towawayCrash")),
        "crashes.total": _int(carrier.get("crashTotal")),
        "carrier.legalName": _text(carrier.get("legalName")),
        "carrier.dotNumber": _text(carrier.get("dotNumber")) or dot,
        "carrier.safetyRating": _text(carrier.get("safetyRating")),
        "carrier.operatingStatus": _OPERATING.get(
            (_text(carrier.get("allowedToOperate")) or "").upper(),
            _text(carrier.get("allowedToOperate")),
        ),
        "lastSync": at,
    }
    fields = {prefix + key: value for key, value in values.items()}
    legal_name = values["carrier.legalName"]
    total = values["totalInspections"]
    summary = f"{total or 0} inspections, {values['crashes.total'] or 0} crashes"
    return SourceData(
        Source.INSPECTIONS,
        fields,
        legal_name=legal_name if isinstance(legal_name, str) and legal_name.strip() else None,
        summary=summary,
    )


# --- violations: DataHub 8mt8-2mdr joined with rbkj-cgst -----------------------------

#: The fields the parser reads of each dataset's rows (`_violation`, `build_inspections`):
#: every other field of a row is dropped as the row arrives.
VIOLATION_FIELDS = (
    "unique_id",
    "insp_date",
    "viol_code",
    "section_desc",
    "basic_desc",
    "severity_weight",
    "oos_indicator",
    "viol_unit",
)
INSPECTION_FIELDS = (
    "unique_id",
    "report_number",
    "insp_date",
    "report_state",
    "insp_level_id",
    "vehicle_oos_total",
    "driver_oos_total",
    "hazmat_oos_total",
)


def keep_fields(row: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Only the fields the parser reads, each a scalar (texts cut to `MAX_TEXT`).

    A Socrata row carries dozens of columns; holding only these, and one copy of each
    repeated value, keeps a source of `max_rows` rows small (about 34 MB per 100,000
    rows, against 64 MB as parsed) however wide or long-winded the rows are.
    """
    kept: dict[str, Any] = {}
    for name in fields:
        value = row.get(name)
        if isinstance(value, str):
            value = value[:MAX_TEXT]
            # codes, descriptions, dates and states repeat across rows: one copy each
            kept[name] = value if name in _UNIQUE_FIELDS else sys.intern(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            kept[name] = value
    return kept


#: Fields whose values differ from row to row: interning them would only cost.
_UNIQUE_FIELDS = frozenset({"unique_id", "report_number"})


def _violation(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": _text(row.get("viol_code")),
        "description": _text(row.get("section_desc")),
        "basic": _text(row.get("basic_desc")),
        "severityWeight": _int(row.get("severity_weight")),
        "oos": _flag(row.get("oos_indicator")),
        "unit": _text(row.get("viol_unit")),
    }


def _unique_id(row: dict[str, Any]) -> str:
    return (_text(row.get("unique_id")) or "").strip()


def build_inspections(
    violation_rows: list[dict[str, Any]], inspection_rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`fmcsainspections` documents: inspections joined with their violations on unique_id.

    Violations whose inspection row is missing still get a document (keyed by the
    unique_id), and clean inspections get one with no violations.
    """
    by_inspection: dict[str, list[dict[str, Any]]] = {}
    first_row: dict[str, dict[str, Any]] = {}
    for row in violation_rows:
        unique_id = _unique_id(row)
        if not unique_id:
            continue
        by_inspection.setdefault(unique_id, []).append(_violation(row))
        first_row.setdefault(unique_id, row)
    docs: dict[str, dict[str, Any]] = {}
    for row in inspection_rows:
        unique_id = _unique_id(row)
        if not unique_id or unique_id in docs:
            continue
        violations = by_inspection.get(unique_id, [])
        docs[unique_id] = {
            "reportNumber": _text(row.get("report_number")) or unique_id,
            "inspectionDate": parse_socrata_date(row.get("insp_date")),
            "state": _text(row.get("report_state")),
            "inspectionLevel": _int(row.get("insp_level_id")),
            "vehicleOOS": (_int(row.get("vehicle_oos_total")) or 0) > 0,
            "driverOOS": (_int(row.get("driver_oos_total")) or 0) > 0,
            "hazmatOOS": (_int(row.get("hazmat_oos_total")) or 0) > 0,
            "totalViolations": len(violations),
            "violations": violations,
        }
    for unique_id, violations in by_inspection.items():
        if unique_id in docs:
            continue
        oos_units = {v["unit"] for v in violations if v["oos"]}
        docs[unique_id] = {
            "reportNumber": unique_id,
            "inspectionDate": parse_socrata_date(first_row[unique_id].get("insp_date")),
            "state": None,
            "inspectionLevel": None,
            "vehicleOOS": bool(oos_units & {"1", "2"}),
            "driverOOS": bool(oos_units & {"D", "C"}),
            "hazmatOOS": False,
            "totalViolations": len(violations),
            "violations": violations,
        }
    return list(docs.values())


def parse_violations(
    violation_rows: list[dict[str, Any]],
    inspection_rows: list[dict[str, Any]],
    at: datetime,
    skipped: int = 0,
) -> SourceData:
    """The source's data; `skipped` malformed rows are noted, or fail it if nothing is left."""
    if skipped and not violation_rows and not inspection_rows:
        raise SourceError(
            f"{HUB} answered {skipped} rows, none of them usable "
            f"({VIOLATION_DATASET}, {INSPECTION_DATASET})",
            permanent=False,
        )
    inspections = build_inspections(violation_rows, inspection_rows)
    violations = sum(doc["totalViolations"] for doc in inspections)
    return SourceData(
        Source.VIOLATIONS,
        {"fmcsaData.lastViolationSync": at},
        inspections=inspections,
        summary=f"{len(inspections)} inspections, {violations} violations"
        + _skipped(skipped, "row"),
    )
