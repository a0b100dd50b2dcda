"""QCMobile's carrier response (``/carriers/{dot}``): the census, inspection and crash
figures, authority and insurance, drawn from the carrier's profile.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fmcsa_tui.sandbox.data.profile import profile_of
from fmcsa_tui.sandbox.data.shared import QC_BASE, SNAPSHOT, known_key, random_day, rng_for

__all__ = ["carrier", "carrier_content"]

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


def carrier(dot: str | int) -> dict[str, Any] | None:
    """The ``carrier`` object of QCMobile's carrier response, or None for an unknown DOT."""
    key = known_key(dot)
    if key is None:
        return None
    profile = profile_of(key)
    rng = rng_for(key, "carrier")

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
    review = random_day(rng, date(1995, 1, 1), SNAPSHOT) if rating is not None else None
    review_type = rng.choice(("C", "N")) if review is not None else None
    rating_date = review + timedelta(days=rng.randint(1, 20)) if review is not None else None
    required = "5000" if profile.passenger or profile.hazmat else "750"
    on_file = rng.choice((required, "1000", "5000", "0")) if allowed else "0"
    oos_date = random_day(rng, date(2015, 1, 1), SNAPSHOT).isoformat() if not allowed else None

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
