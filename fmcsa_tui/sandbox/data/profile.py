"""The carrier's profile: drawn once per DOT, so its carrier record, BASICs and
inspections agree (a passenger carrier has motorcoaches and passenger thresholds).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from fmcsa_tui.sandbox.data.shared import rng_for

__all__ = ["STATES", "Profile", "profile_of"]


@dataclass(frozen=True, slots=True)
class Profile:
    """What kind of carrier a DOT is; every generator branches on it."""

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
STATES = tuple(sorted({state for _, state, _ in _PLACES}))


@lru_cache(maxsize=8192)
def profile_of(key: int) -> Profile:
    """The DOT's profile (cached: every generator asks for it)."""
    rng = rng_for(key)
    not_public = rng.random() < 1 / 3
    passenger = not not_public and rng.random() < 0.35
    hazmat = not passenger and rng.random() < 0.15
    power_units = min(2500, int(rng.expovariate(1 / 30)) + 1)
    city, state, zip3 = rng.choice(_PLACES)
    return Profile(passenger, not_public, hazmat, power_units, city, state, zip3)
