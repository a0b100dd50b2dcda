"""DataHub's SMS inspections and their violations (datasets ``rbkj-cgst`` and
``8mt8-2mdr``): one drawn list of inspections per carrier, written out as both datasets'
rows, so every violation row cites an inspection row.
"""

# ruff: noqa: E501  (the violation table below keeps one real violation per line)

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from fmcsa_tui.sandbox.data.profile import STATES, profile_of
from fmcsa_tui.sandbox.data.shared import SNAPSHOT, known_key, random_day, rng_for
from fmcsa_tui.sandbox.plan import MANY_PAGES_VIOLATIONS, FaultKind, fault_for

__all__ = [
    "INSPECTION_COLUMNS",
    "VIOLATION_COLUMNS",
    "inspection_rows",
    "sms_date",
    "violation_rows",
]

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
    profile = profile_of(key)
    rng = rng_for(key, "inspections")
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
    days = sorted(random_day(rng, SNAPSHOT - timedelta(days=729), SNAPSHOT) for _ in sizes)
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
    key = known_key(dot)
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
    key = known_key(dot)
    if key is None:
        return []
    profile = profile_of(key)
    rng = rng_for(key, "units")
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
        report_state = profile.state if rng.random() < 0.7 else rng.choice(STATES)
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
            "county_code_state": report_state if rng.random() < 0.9 else rng.choice(STATES),
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
            row["unit_license_state2"] = rng.choice((profile.state, rng.choice(STATES)))
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
