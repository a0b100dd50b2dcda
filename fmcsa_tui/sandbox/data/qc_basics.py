"""QCMobile's BASICs response (``/carriers/{dot}/basics``): the six SMS BASICs with
percentiles, thresholds and measures, hidden as the FAST Act hides them.
"""

from __future__ import annotations

from typing import Any

from fmcsa_tui.sandbox.data.profile import profile_of
from fmcsa_tui.sandbox.data.shared import QC_BASE, SNAPSHOT, known_key, rng_for

__all__ = ["basics"]

_RUN_DATE = f"{SNAPSHOT.isoformat()}T04:00:00.000+0000"

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
    key = known_key(dot)
    if key is None:
        return []
    profile = profile_of(key)
    rng = rng_for(key, "basics")
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
