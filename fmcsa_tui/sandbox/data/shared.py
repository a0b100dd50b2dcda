"""What every generator builds on: the DOT's key, its own random stream, the snapshot date.

Kept apart so each generator's module can draw from the same rules without importing
another generator.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from fmcsa_tui.sandbox.plan import FaultKind, fault_for

__all__ = ["QC_BASE", "SNAPSHOT", "dot_key", "known_key", "random_day", "rng_for"]

#: Links inside QCMobile content point where the real API points, so content is
#: byte-identical whatever port the sandbox happens to listen on.
QC_BASE = "https://mobile.fmcsa.dot.gov/qc/services"

#: The monthly SMS snapshot all generated records are "as of".
SNAPSHOT = date(2026, 10, 30)


def dot_key(dot: str | int) -> int | None:
    """The DOT number as an int, or None when it cannot be one (1-8 ASCII digits, > 0)."""
    text = str(dot).strip()
    if not (0 < len(text) <= 8 and text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number or None


def known_key(dot: str | int) -> int | None:
    """The DOT's key if the sandbox has a carrier for it (the plan's unknown ones excluded)."""
    key = dot_key(dot)
    if key is None or fault_for(key).kind is FaultKind.UNKNOWN_CARRIER:
        return None
    return key


def rng_for(key: int, part: str = "") -> random.Random:
    """The generator stream `part` of this DOT, independent of every other stream."""
    seed = f"fmcsa-sandbox:{key}" if not part else f"fmcsa-sandbox:{key}:{part}"
    return random.Random(seed)


def random_day(rng: random.Random, start: date, end: date) -> date:
    """A day from `start` to `end`, both included."""
    return start + timedelta(days=rng.randrange((end - start).days + 1))
