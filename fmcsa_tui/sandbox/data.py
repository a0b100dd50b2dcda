"""Deterministic carrier data in the real FMCSA shapes, a pure function of the DOT number.

Every generator seeds its own ``random.Random`` with a string derived from the DOT number
(string seeds are hashed with SHA-512, not ``hash()``), so the same DOT yields the same
data in every run and process, and no generator disturbs another's stream. Nothing here
reads the clock: records are "as of" the fixed SMS snapshot :data:`SNAPSHOT`.

The functions return fresh objects on each call (callers may mutate them); the app
caches the encoded JSON, which is what the request path needs.

It is longer than the project's other modules on purpose: a third of it is data (word
lists for names and streets, the table of real violation codes) that only reads well
beside the one generator that draws from it; the rest is three generators (carrier,
BASICs, inspections with their violations) sharing one drawn profile per carrier.
"""

# ruff: noqa: E501  (the violation table below keeps one real violation per line)

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from fmcsa_tui.sandbox.plan import MANY_PAGES_VIOLATIONS, FaultKind, fault_for

__all__ = [
    "INSPECTION_COLUMNS",
    "QC_BASE",
    "SNAPSHOT",
    "VIOLATION_COLUMNS",
    "basics",
    "carrier",
    "carrier_content",
    "dot_key",
    "inspection_rows",
    "sms_date",
    "violation_rows",
]

#: Links inside QCMobile content point where the real API points, so content is
#: byte-identical whatever port the sandbox happens to listen on.
QC_BASE = "https://mobile.fmcsa.dot.gov/qc/services"

#: The monthly SMS snapshot all generated records are "as of".
SNAPSHOT = date(2026, 10, 30)
_RUN_DATE = f"{SNAPSHOT.isoformat()}T04:00:00.000+0000"

#: The columns of DataHub ``8mt8-2mdr`` (SMS Input - Violation), in dataset order.
VIOLATION_COLUMNS = (
    "unique_id",
    "insp_date",
    "dot_number",
    "viol_code",
    "basic_desc",
    "oos_indicator",
    "oos_weight",
    "severity_weight",
    "time_weight",
    "total_severity_wght",
    "section_desc",
    "group_desc",
    "viol_unit",
)
#: The columns of DataHub ``rbkj-cgst`` (SMS Input - Inspection), in dataset order.
INSPECTION_COLUMNS = (
    "unique_id",
    "report_number",
    "report_state",
    "dot_number",
    "insp_date",
    "insp_level_id",
    "county_code_state",
    "time_weight",
    "driver_oos_total",
    "vehicle_oos_total",
    "total_hazmat_sent",
    "oos_total",
    "hazmat_oos_total",
    "hazmat_placard_req",
    "unit_type_desc",
    "unit_make",
    "unit_license",
    "unit_license_state",
    "vin",
    "unit_decal_number",
    "unit_type_desc2",
    "unit_make2",
    "unit_license2",
    "unit_license_state2",
    "vin2",
    "unit_decal_number2",
    "unsafe_insp",
    "fatigued_insp",
    "dr_fitness_insp",
    "subt_alcohol_insp",
    "vh_maint_insp",
    "hm_insp",
    "basic_viol",
    "unsafe_viol",
    "fatigued_viol",
    "dr_fitness_viol",
    "subt_alcohol_viol",
    "vh_maint_viol",
    "hm_viol",
)

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def sms_date(day: date) -> str:
    """``DD-MON-YY``, the date format of the DataHub SMS files (``28-AUG-24``)."""
    return f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year % 100:02d}"


def dot_key(dot: str | int) -> int | None:
    """The DOT number as an int, or None when it cannot be one (1-8 ASCII digits, > 0)."""
    text = str(dot).strip()
    if not (0 < len(text) <= 8 and text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number or None


def _known(dot: str | int) -> int | None:
    """The DOT's key if the sandbox has a carrier for it (the plan's unknown ones excluded)."""
    key = dot_key(dot)
    if key is None or fault_for(key).kind is FaultKind.UNKNOWN_CARRIER:
        return None
    return key


def _rng(key: int, part: str = "") -> random.Random:
    seed = f"fmcsa-sandbox:{key}" if not part else f"fmcsa-sandbox:{key}:{part}"
    return random.Random(seed)


# --- the carrier's profile: drawn once, shared by all generators -------------------------


@dataclass(frozen=True, slots=True)
class _Profile:
    passenger: bool
    not_public: bool  # property carrier whose BASIC percentiles are hidden (FAST Act)
    hazmat: bool
    power_units: int
    city: str
    state: str
    zip3: str


_PLACES = (
    ("VAIL", "IA", "514"),
    ("MARINETTE", "WI", "541"),
    ("JOPLIN", "MO", "648"),
    ("AMARILLO", "TX", "791"),
    ("LAREDO", "TX", "780"),
    ("FRESNO", "CA", "937"),
    ("BOISE", "ID", "837"),
    ("SPOKANE", "WA", "992"),
    ("TOLEDO", "OH", "436"),
    ("MACON", "GA", "312"),
    ("GARY", "IN", "464"),
    ("FARGO", "ND", "581"),
    ("BILLINGS", "MT", "591"),
    ("DOTHAN", "AL", "363"),
    ("ERIE", "PA", "165"),
    ("PUEBLO", "CO", "810"),
    ("SALINA", "KS", "674"),
    ("MONROE", "LA", "712"),
    ("ROANOKE", "VA", "240"),
    ("KEARNEY", "NE", "688"),
    ("OCALA", "FL", "344"),
    ("JACKSON", "TN", "383"),
)
_STATES = tuple(sorted({state for _, state, _ in _PLACES}))


@lru_cache(maxsize=8192)
def _profile(key: int) -> _Profile:
    rng = _rng(key)
    not_public = rng.random() < 1 / 3
    passenger = not not_public and rng.random() < 0.35
    hazmat = not passenger and rng.random() < 0.15
    power_units = min(2500, int(rng.expovariate(1 / 30)) + 1)
    city, state, zip3 = rng.choice(_PLACES)
    return _Profile(passenger, not_public, hazmat, power_units, city, state, zip3)


# --- QCMobile: carrier ----------------------------------------------------------------

_NAME_FIRST = (
    "PRAIRIE",
    "SUMMIT",
    "RIVER",
    "EAGLE",
    "LONE STAR",
    "BLUE RIDGE",
    "GREAT LAKES",
    "IRON HORSE",
    "CASCADE",
    "HERITAGE",
    "KEYSTONE",
    "FRONTIER",
    "MIDWEST",
    "COASTAL",
    "GRANITE",
    "TRI-STATE",
    "SILVER",
    "NORTHERN",
    "PIONEER",
    "CARDINAL",
    "HIGH PLAINS",
    "RED ROCK",
    "OZARK",
    "BAYOU",
    "EVERGREEN",
)
_SURNAMES = (
    "SCHROEDER",
    "VERIHA",
    "MARTINEZ",
    "OLSON",
    "KOWALSKI",
    "NGUYEN",
    "HARTMAN",
    "BECKER",
    "DELGADO",
    "MCALLISTER",
    "PETERSEN",
    "WASHINGTON",
)
_PROPERTY_WORDS = (
    "FREIGHT",
    "TRUCKING",
    "TRANSPORT",
    "LOGISTICS",
    "CARRIERS",
    "HAULING",
    "EXPRESS",
    "TRANSIT",
    "LINES",
    "MOTOR FREIGHT",
    "CARTAGE",
    "FARMING",
)
_PASSENGER_WORDS = ("COACH", "BUS LINES", "TOURS", "MOTORCOACH", "CHARTER")
_SUFFIXES = ("LLC", "LLC", "INC", "INC", "CORP", "CO", "LTD")
_STREETS = (
    "HWY 30",
    "MAIN ST",
    "INDUSTRIAL PKWY",
    "CLEVELAND AVE",
    "COUNTY RD 12",
    "COMMERCE DR",
    "RAILROAD ST",
    "W 5TH ST",
    "AIRPORT RD",
    "N DEPOT ST",
)
_OPERATIONS = {
    "A": "Interstate",
    "B": "Intrastate Hazmat",
    "C": "Intrastate Non-Hazmat",
}


def _rate(part: int, whole: int) -> int | float:
    """An out-of-service rate as QCMobile prints it: 0 and 100 are integers."""
    if whole == 0:
        return 0
    value = part * 100 / whole
    return int(value) if value.is_integer() else value


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def carrier(dot: str | int) -> dict[str, Any] | None:
    """The ``carrier`` object of QCMobile's carrier response, or None for an unknown DOT."""
    key = _known(dot)
    if key is None:
        return None
    profile = _profile(key)
    rng = _rng(key, "carrier")

    words = _PASSENGER_WORDS if profile.passenger else _PROPERTY_WORDS
    first = rng.choice(_SURNAMES) if rng.random() < 0.3 else rng.choice(_NAME_FIRST)
    legal_name = f"{first} {rng.choice(words)} {rng.choice(_SUFFIXES)}"
    dba_name = f"{rng.choice(_NAME_FIRST)} {rng.choice(words)}" if rng.random() < 0.15 else None

    units = profile.power_units
    drivers = max(1, units + rng.randint(-units // 4, units // 3))
    driver_insp = int(units * rng.uniform(0.3, 2.5))
    driver_oos = sum(rng.random() < 0.06 for _ in range(min(driver_insp, 200)))
    vehicle_insp = int(driver_insp * rng.uniform(0.4, 0.9))
    vehicle_oos = sum(rng.random() < 0.2 for _ in range(min(vehicle_insp, 200)))
    hazmat_insp = int(driver_insp * rng.uniform(0.05, 0.3)) if profile.hazmat else 0
    hazmat_oos = sum(rng.random() < 0.05 for _ in range(min(hazmat_insp, 200)))
    crash_scale = units / 40
    fatal = int(rng.random() < crash_scale * 0.05)
    injury = int(rng.expovariate(1 / max(crash_scale, 0.01)) * 0.6)
    towaway = int(rng.expovariate(1 / max(crash_scale, 0.01)))

    allowed = rng.random() < 0.92
    operation = "A" if rng.random() < 0.8 else ("B" if profile.hazmat else "C")
    rating = rng.choice(("S", "S", "S", "C", "U", None, None, None))
    review = _day(rng, date(1995, 1, 1), SNAPSHOT) if rating is not None else None
    review_type = rng.choice(("C", "N")) if review is not None else None
    rating_date = review + timedelta(days=rng.randint(1, 20)) if review is not None else None
    required = "5000" if profile.passenger or profile.hazmat else "750"
    on_file = rng.choice((required, "1000", "5000", "0")) if allowed else "0"
    oos_date = _day(rng, date(2015, 1, 1), SNAPSHOT).isoformat() if not allowed else None

    return {
        "allowedToOperate": "Y" if allowed else "N",
        "bipdInsuranceOnFile": on_file,
        "bipdInsuranceRequired": "Y" if operation == "A" else "N",
        "bipdRequiredAmount": required,
        "bondInsuranceOnFile": "0",
        "bondInsuranceRequired": "u",
        "brokerAuthorityStatus": "A" if rng.random() < 0.05 else "N",
        "cargoInsuranceOnFile": "0",
        "cargoInsuranceRequired": "u",
        "carrierOperation": {
            "carrierOperationCode": operation,
            "carrierOperationDesc": _OPERATIONS[operation],
        },
        "censusTypeId": {"censusType": "C", "censusTypeDesc": "CARRIER", "censusTypeId": 1},
        "commonAuthorityStatus": rng.choice(("A", "A", "I", "N")),
        "contractAuthorityStatus": rng.choice(("A", "N", "N")),
        "crashTotal": fatal + injury + towaway,
        "dbaName": dba_name,
        "dotNumber": key,
        "driverInsp": driver_insp,
        "driverOosInsp": driver_oos,
        "driverOosRate": _rate(driver_oos, driver_insp),
        "driverOosRateNationalAverage": "5.51",
        "ein": rng.randint(10**8, 10**9 - 1) if rng.random() < 0.9 else None,
        "fatalCrash": fatal,
        "hazmatInsp": hazmat_insp,
        "hazmatOosInsp": hazmat_oos,
        "hazmatOosRate": _rate(hazmat_oos, hazmat_insp),
        "hazmatOosRateNationalAverage": "4.5",
        "injCrash": injury,
        "isPassengerCarrier": "Y" if profile.passenger else "N",
        "issScore": None,
        "legalName": legal_name,
        "mcs150Outdated": "Y" if rng.random() < 0.1 else "N",
        "oosDate": oos_date,
        "oosRateNationalAverageYear": "2009-2010",
        "phyCity": profile.city,
        "phyCountry": "US",
        "phyState": profile.state,
        "phyStreet": f"{rng.randint(1, 9999)} {rng.choice(_STREETS)}",
        "phyZipcode": f"{profile.zip3}{rng.randint(0, 99):02d}",
        "reviewDate": review.isoformat() if review else None,
        "reviewType": review_type,
        "safetyRating": rating,
        "safetyRatingDate": rating_date.isoformat() if rating_date else None,
        "safetyReviewDate": review.isoformat() if review else None,
        "safetyReviewType": review_type,
        "snapshotDate": None,
        "statusCode": "A" if allowed else "I",
        "totalDrivers": drivers,
        "totalPowerUnits": units,
        "towawayCrash": towaway,
        "vehicleInsp": vehicle_insp,
        "vehicleOosInsp": vehicle_oos,
        "vehicleOosRate": _rate(vehicle_oos, vehicle_insp),
        "vehicleOosRateNationalAverage": "20.72",
    }


def carrier_content(dot: str | int) -> dict[str, Any] | None:
    """The whole ``content`` of the carrier response (``_links`` and ``carrier``)."""
    record = carrier(dot)
    if record is None:
        return None
    base = f"{QC_BASE}/carriers/{record['dotNumber']}"
    return {
        "_links": {
            "basics": {"href": f"{base}/basics"},
            "cargo carried": {"href": f"{base}/cargo-carried"},
            "operation classification": {"href": f"{base}/operation-classification"},
            "docket numbers": {"href": f"{base}/docket-numbers"},
            "carrier active-For-hire authority": {"href": f"{base}/authority"},
            "self": {"href": base},
        },
        "carrier": record,
    }


# --- QCMobile: BASICs -----------------------------------------------------------------

# (basicsId, basicsCode, basicsShortDesc, threshold index: 0 for the 65/50/60 group,
# 1 for the 80/65/75 group). The zero-width space after the slash is in the real data.
_BASICS = (
    (11, "Unsafe Driving", "Unsafe Driving", 0),
    (12, "HOS Compliance", "Hours-of-Service Compliance", 0),
    (13, "Driver Fitness", "Driver Fitness", 1),
    (14, "Drugs/Alcohol", "Controlled Substances/\u200bAlcohol", 1),
    (15, "Vehicle Maint.", "Vehicle Maintenance", 1),
    (16, "Crash Indicator", "Crash Indicator", 0),
)
# Intervention thresholds by carrier type: general, passenger, hazmat.
_THRESHOLDS = {"general": (65, 80), "passenger": (50, 65), "hazmat": (60, 75)}


def _measure(value: float) -> str:
    """``"10.32"``, ``"0.8"``, ``"11"``: two decimals without trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def basics(dot: str | int) -> list[dict[str, Any]]:
    """The ``content`` list of QCMobile's BASICs response; empty for an unknown DOT."""
    key = _known(dot)
    if key is None:
        return []
    profile = _profile(key)
    rng = _rng(key, "basics")
    kind = "passenger" if profile.passenger else "hazmat" if profile.hazmat else "general"
    thresholds = _THRESHOLDS[kind]
    entries = []
    for basic_id, code, short, group in _BASICS:
        threshold = thresholds[group]
        with_violation = int(rng.expovariate(1 / 12)) if rng.random() < 0.7 else 0
        violations = with_violation + rng.randint(0, with_violation)
        measure = _measure(rng.uniform(0.01, 25)) if violations else "0"
        if profile.not_public:
            percentile, exceeded, on_road = "Not Public", "-1", "Not Public"
        else:
            value = rng.randint(1, 99) if violations else 0
            percentile = f"{value}%"
            exceeded = on_road = "Y" if value >= threshold else "N"
        entries.append(
            {
                "basic": {
                    "basicsPercentile": percentile,
                    "basicsRunDate": _RUN_DATE,
                    "basicsType": {
                        "basicsCode": code,
                        "basicsCodeMcmis": None,
                        "basicsId": basic_id,
                        "basicsLongDesc": None,
                        "basicsShortDesc": short,
                    },
                    "basicsViolationThreshold": str(threshold),
                    "exceededFMCSAInterventionThreshold": exceeded,
                    "id": {"basicsId": basic_id, "dotNumber": key},
                    "measureValue": measure,
                    "onRoadPerformanceThresholdViolationIndicator": on_road,
                    "seriousViolationFromInvestigationPast12MonthIndicator": (
                        "Y" if rng.random() < 0.03 else "N"
                    ),
                    "totalInspectionWithViolation": with_violation,
                    "totalViolation": violations,
                },
                "dotNumber": None,
                "_links": {"self": {"href": f"{QC_BASE}/carriers/{key}/basics/{basic_id}"}},
            }
        )
    return entries


# --- DataHub: inspections and their violations ------------------------------------------


class _ViolationType(NamedTuple):
    code: str
    basic: str
    section: str
    group: str
    severity: int
    oos_chance: float
    units: str  # the units it can be cited against: "D" (driver or co-driver), "1", "12"
    frequency: float


# viol_code | basic_desc | section_desc | group_desc | severity | P(OOS) | units | frequency
_VIOLATION_TABLE = """
3922SLLS2|Unsafe Driving|State/Local Laws - Speeding 6-10 miles per hour over the speed limit|Speeding 2|4|0|D|6
3922SLLS4|Unsafe Driving|State/Local Laws - Speeding 15 or more miles per hour over the speed limit|Speeding 4|10|0|D|2
39216|Unsafe Driving|Failing to use seat belt while operating CMV|Seat Belt|7|0|D|3
3922LC|Unsafe Driving|State/Local Laws - Improper lane change|Dangerous Driving|5|0|D|2
3958E|HOS Compliance|False report of driver's record of duty status|False Log|7|0.5|D|2
3958A|HOS Compliance|No driver's record of duty status|Incomplete/Wrong Log|5|0.3|D|4
3953A2|HOS Compliance|Requiring or permitting driver to drive after 14 hour duty period|Hours|7|0.8|D|3
39141A|Driver Fitness|Operating a CMV without a valid medical certificate|Medical Certificate|1|0|D|3
38323A2|Driver Fitness|Operating a CMV without a CDL|License-related: High|8|0.6|D|1
3924A|Drugs/Alcohol|Driver uses or is in possession of drugs|Drugs|10|1|D|0.3
3925A2|Drugs/Alcohol|Possession/use/under influence of alcohol less than 4 hours prior to duty|Alcohol|10|1|D|0.3
3939A|Vehicle Maint.|Inoperable required lamp|Lighting|6|0.1|12|10
39375C|Vehicle Maint.|Tire-other tread depth less than 2/32 of inch|Tires|8|0.2|12|5
39347E|Vehicle Maint.|Clamp or roto-chamber type brake(s) out of adjustment|Brakes, All Others|4|0.3|12|6
39348A|Vehicle Maint.|Inoperative/defective brakes|Brakes, All Others|4|0.5|12|3
39395A|Vehicle Maint.|No/discharged/unsecured fire extinguisher|Emergency Equipment|2|0|1|3
3963A1|Vehicle Maint.|Inspection, repair and maintenance of parts and accessories|General Mechanical|4|0.1|12|5
39617C|Vehicle Maint.|Operating a CMV without proof of a periodic inspection|Inspection Reports|4|0|12|3
177817A|HM Compliance|Shipping paper accuracy|Documentation|3|0|1|2
"""
_VIOLATION_TYPES = tuple(
    _ViolationType(code, basic, section, group, int(sev), float(oos), units, float(freq))
    for code, basic, section, group, sev, oos, units, freq in (
        line.split("|") for line in _VIOLATION_TABLE.strip().splitlines()
    )
)
_HAZMAT_BASIC = "HM Compliance"
_VIOL_COLUMN = {
    "Unsafe Driving": "unsafe_viol",
    "HOS Compliance": "fatigued_viol",
    "Driver Fitness": "dr_fitness_viol",
    "Drugs/Alcohol": "subt_alcohol_viol",
    "Vehicle Maint.": "vh_maint_viol",
    "HM Compliance": "hm_viol",
}
_OOS_WEIGHT = 2  # SMS adds 2 to the severity weight of an out-of-service violation
_MAKES = ("FRHT", "INTL", "KW", "PETE", "VOLV", "MACK", "WSTR")
_TRAILER_MAKES = ("GDAN", "UTIL", "WABA", "HYUN", "STOU")
_BUS_MAKES = ("MCI", "PREV", "VANH", "BLUB")
_VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


@dataclass(slots=True)
class _Violation:
    kind: _ViolationType
    oos: bool
    unit: str


@dataclass(slots=True)
class _Inspection:
    unique_id: str
    day: date
    violations: list[_Violation] = field(default_factory=list)


def _time_weight(day: date) -> int:
    """SMS time weight: 3 within 6 months of the snapshot, 2 within 12, else 1."""
    age = (SNAPSHOT - day).days
    return 3 if age < 183 else 2 if age < 365 else 1


def _inspections(key: int) -> list[_Inspection]:
    """The carrier's inspections over the 24-month SMS window, oldest first.

    Normal carriers have 0-6 inspections with violations (0-12 violations in all) plus
    0-2 clean ones; the plan's many-pages carriers have exactly
    ``MANY_PAGES_VIOLATIONS`` violations.
    """
    profile = _profile(key)
    rng = _rng(key, "inspections")
    if fault_for(key).kind is FaultKind.MANY_PAGES:
        sizes: list[int] = []
        while sum(sizes) < MANY_PAGES_VIOLATIONS:
            sizes.append(rng.randint(1, 5))
        sizes[-1] -= sum(sizes) - MANY_PAGES_VIOLATIONS
    else:
        count = rng.randint(0, 6)
        total = rng.randint(count, 12) if count else 0
        sizes = [1] * count
        for _ in range(total - count):
            sizes[rng.randrange(count)] += 1
    sizes += [0] * rng.randint(0, 2)  # clean inspections
    rng.shuffle(sizes)

    types = [t for t in _VIOLATION_TYPES if profile.hazmat or t.basic != _HAZMAT_BASIC]
    weights = [t.frequency for t in types]
    ids = sorted(rng.sample(range(600_000_000, 900_000_000), len(sizes)))
    days = sorted(_day(rng, SNAPSHOT - timedelta(days=729), SNAPSHOT) for _ in sizes)
    result = []
    for unique_id, day, size in zip(ids, days, sizes, strict=True):
        inspection = _Inspection(str(unique_id), day)
        chosen: list[_ViolationType] = []
        while len(chosen) < size:  # distinct types: no two identical rows in one inspection
            pick = rng.choices(types, weights)[0]
            if pick not in chosen:
                chosen.append(pick)
        for kind in chosen:
            if kind.units == "D":
                unit = "C" if rng.random() < 0.05 else "D"
            else:
                unit = kind.units[0] if rng.random() < 0.8 else kind.units[-1]
            inspection.violations.append(_Violation(kind, rng.random() < kind.oos_chance, unit))
        result.append(inspection)
    return result


def violation_rows(dot: str | int) -> list[dict[str, str]]:
    """The carrier's rows of DataHub ``8mt8-2mdr`` (SMS Input - Violation), in ``:id`` order."""
    key = _known(dot)
    if key is None:
        return []
    dot_text = str(key)
    rows = []
    for inspection in _inspections(key):
        when = sms_date(inspection.day)
        weight = _time_weight(inspection.day)
        for violation in inspection.violations:
            kind = violation.kind
            oos_weight = _OOS_WEIGHT if violation.oos else 0
            rows.append(
                {
                    "unique_id": inspection.unique_id,
                    "insp_date": when,
                    "dot_number": dot_text,
                    "viol_code": kind.code,
                    "basic_desc": kind.basic,
                    "oos_indicator": "true" if violation.oos else "false",
                    "oos_weight": str(oos_weight),
                    "severity_weight": str(kind.severity),
                    "time_weight": str(weight),
                    "total_severity_wght": str(kind.severity + oos_weight),
                    "section_desc": kind.section,
                    "group_desc": kind.group,
                    "viol_unit": violation.unit,
                }
            )
    return rows


def _plate(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return "".join(rng.choices(letters, k=2)) + str(rng.randint(10000, 99999))


def _vin(rng: random.Random) -> str:
    return "".join(rng.choices(_VIN_CHARS, k=17))


def inspection_rows(dot: str | int) -> list[dict[str, str]]:
    """The carrier's rows of DataHub ``rbkj-cgst`` (SMS Input - Inspection), oldest first.

    Exactly the inspections its violation rows cite (same ``unique_id``), plus its clean
    inspections. Flags are ``Y``/``N`` as the dataset's metadata documents, while the
    violation dataset says ``true``/``false``: real consumers must read both.
    """
    key = _known(dot)
    if key is None:
        return []
    profile = _profile(key)
    rng = _rng(key, "units")
    dot_text = str(key)
    inspections = _inspections(key)
    numbers = rng.sample(range(10**10), len(inspections))
    rows = []
    for inspection, number in zip(inspections, numbers, strict=True):
        violations = inspection.violations
        vehicle_cited = any(v.unit in ("1", "2") for v in violations)
        driver_cited = any(v.unit in ("D", "C") for v in violations)
        if vehicle_cited and driver_cited:
            level = rng.choice((1, 2))
        elif vehicle_cited:
            level = rng.choice((1, 2, 2, 5))
        elif driver_cited:
            level = rng.choice((1, 2, 3, 3))
        else:
            level = rng.choice((1, 2, 3))
        report_state = profile.state if rng.random() < 0.7 else rng.choice(_STATES)
        placard = profile.hazmat and rng.random() < 0.5
        driver_level = level in (1, 2, 3, 6)
        vehicle_level = level in (1, 2, 5, 6)
        counts = dict.fromkeys(_VIOL_COLUMN.values(), 0)
        for violation in violations:
            counts[_VIOL_COLUMN[violation.kind.basic]] += 1
        driver_oos = sum(v.oos for v in violations if v.unit in ("D", "C"))
        vehicle_oos = sum(v.oos for v in violations if v.unit in ("1", "2"))
        hazmat_oos = sum(v.oos for v in violations if v.kind.basic == _HAZMAT_BASIC)
        yes = "Y" if driver_level else "N"

        row: dict[str, str] = {
            "unique_id": inspection.unique_id,
            "report_number": f"{report_state}{number:010d}",
            "report_state": report_state,
            "dot_number": dot_text,
            "insp_date": sms_date(inspection.day),
            "insp_level_id": str(level),
            "county_code_state": report_state if rng.random() < 0.9 else rng.choice(_STATES),
            "time_weight": str(_time_weight(inspection.day)),
            "driver_oos_total": str(driver_oos),
            "vehicle_oos_total": str(vehicle_oos),
            "total_hazmat_sent": str(counts["hm_viol"]),
            "oos_total": str(driver_oos + vehicle_oos),
            "hazmat_oos_total": str(hazmat_oos),
            "hazmat_placard_req": "Y" if placard else "N",
        }
        if profile.passenger:
            row["unit_type_desc"] = "MOTORCOACH"
            row["unit_make"] = rng.choice(_BUS_MAKES)
        else:
            row["unit_type_desc"] = rng.choice(("TRUCK TRACTOR", "TRUCK TRACTOR", "STRAIGHT TRUCK"))
            row["unit_make"] = rng.choice(_MAKES)
        row["unit_license"] = _plate(rng)
        row["unit_license_state"] = profile.state
        row["vin"] = _vin(rng)
        if rng.random() < 0.2:
            row["unit_decal_number"] = str(rng.randint(1000000, 9999999))
        if row["unit_type_desc"] == "TRUCK TRACTOR":  # null secondary-unit columns are omitted
            row["unit_type_desc2"] = "SEMI-TRAILER"
            row["unit_make2"] = rng.choice(_TRAILER_MAKES)
            row["unit_license2"] = _plate(rng)
            row["unit_license_state2"] = rng.choice((profile.state, rng.choice(_STATES)))
            row["vin2"] = _vin(rng)
        row |= {
            "unsafe_insp": yes,
            "fatigued_insp": yes,
            "dr_fitness_insp": yes,
            "subt_alcohol_insp": yes,
            "vh_maint_insp": "Y" if vehicle_level else "N",
            "hm_insp": "Y" if placard and vehicle_level else "N",
            "basic_viol": str(len(violations)),
        }
        row |= {column: str(count) for column, count in counts.items()}
        rows.append(row)
    return rows
