"""The values a document holds, read tolerantly: sources, DOT numbers, dates, texts.

`parse_dot` is the one DOT rule and `parse_when` the one date rule; the small readers
below them turn whatever a field holds into text, a boolean or an id, or None.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal


class Source(StrEnum):
    """The three FMCSA sources this engine runs, as the backend names them."""

    CSA_SCORES = "csa_scores"
    VIOLATIONS = "violations"
    INSPECTIONS = "inspections"

    @property
    def last_sync_field(self) -> str:
        """The `fmcsaData.syncStatus` field that records this source's last success."""
        return _LAST_SYNC_FIELD[self]

    @property
    def last_sync_attribute(self) -> str:
        """The Python attribute for that field in the models (``csa_scores_last_sync``)."""
        return f"{self.value}_last_sync"

    @property
    def label(self) -> str:
        return _LABEL[self]


_LAST_SYNC_FIELD = {
    Source.CSA_SCORES: "csaScoresLastSync",
    Source.VIOLATIONS: "violationsLastSync",
    Source.INSPECTIONS: "inspectionsLastSync",
}
_LABEL = {
    Source.CSA_SCORES: "CSA scores",
    Source.VIOLATIONS: "violations",
    Source.INSPECTIONS: "inspections",
}

Status = Literal["never", "ok", "failed", "unreadable"]

#: The six BASIC categories of `smsBasics`, in display order.
BASIC_FIELDS = (
    "unsafeDriving",
    "hoursOfService",
    "driverFitness",
    "controlledSubstances",
    "vehicleMaintenance",
    "crashIndicator",
)


def utcnow() -> datetime:
    """Now, in UTC, at the millisecond precision a BSON date keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


#: A DOT number as FMCSA issues it: ASCII digits only (``\\d`` would also take ``١٢٣٤٥``
#: and full-width digits), at most 8 of them.
_DOT_DIGITS = re.compile(r"[0-9]{1,8}")
#: The backend's schema for a new company: ``^\\d{5,8}$`` in JavaScript, which is ASCII.
NEW_DOT_LENGTHS = range(5, 9)


def parse_dot(text: str | None, *, new: bool = False) -> str | None:
    """The one DOT rule: `text` as a DOT number, or None when it is not one.

    Surrounding spaces and a ``USDOT`` prefix are dropped. ``new=True`` applies the
    backend's rule for companies it creates (5-8 digits); otherwise any number FMCSA
    issues (1-8 digits) passes, as older documents hold short ones.
    """
    if text is None:
        return None
    candidate = text.strip()
    if candidate[:5].upper() == "USDOT":
        candidate = candidate[5:].strip()
    if not _DOT_DIGITS.fullmatch(candidate):
        return None
    if new and len(candidate) not in NEW_DOT_LENGTHS:
        return None
    return candidate


_EPOCH_MS_FLOOR = 10_000_000_000  # numbers above this are milliseconds, as JS writes them
_SPACE_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d)")


def parse_when(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from whatever a real document holds, or None.

    Accepts datetimes (naive ones are UTC, as BSON dates are), ISO 8601 strings
    (``Z``, offsets, date-only, a space instead of ``T``), ints, longs and doubles as
    JavaScript epochs (milliseconds from 10^10 up, else seconds; never booleans) and
    Extended JSON ``{"$date": ...}``.
    Anything else, and a date outside what a datetime holds in UTC, reads as "no date".
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _in_utc(value)
    if isinstance(value, dict) and "$date" in value:
        inner = value["$date"]
        if isinstance(inner, dict) and "$numberLong" in inner:
            try:
                inner = int(inner["$numberLong"])
            except (TypeError, ValueError):
                return None
        return parse_when(inner)
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _EPOCH_MS_FLOOR else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        text = _SPACE_DATETIME.sub(r"\1T\2", text)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return _in_utc(parsed)
    return None


def _in_utc(moment: datetime) -> datetime | None:
    """Naive is UTC; an offset near year 1 or 9999 can fall outside datetime's range."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def _text_or_none(value: Any) -> str | None:
    """Strings stay, numbers become their digits, empty and structured values are None."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _id_text(value: Any) -> str | None:
    """ObjectId, Extended JSON ``{"$oid": ...}`` or plain value, as its string form."""
    if isinstance(value, dict) and "$oid" in value:
        return str(value["$oid"])
    return None if value is None else str(value)


_TRUE_TEXT = frozenset({"true", "yes", "y", "1"})
_FALSE_TEXT = frozenset({"false", "no", "n", "0"})


def _bool_or_none(value: Any) -> bool | None:
    """`success` as the rule reads it: booleans, ints, longs and doubles (0 is false) and
    yes/no text; anything else (a Decimal128 included) is neither true nor false."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE_TEXT:
            return True
        if lowered in _FALSE_TEXT:
            return False
        return None
    if isinstance(value, int | float):
        return bool(value)
    return None


def _source_text(value: Any) -> str:
    """An error row's source as text; a row without a usable one is ``unknown``."""
    return _text_or_none(value) or "unknown"
