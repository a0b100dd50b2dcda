"""The Data tab: what the last successful syncs wrote, read from the document as stored.

The BASICs (`smsBasics`), the inspection and crash summary (`fmcsaData.inspections`) and
the latest inspections of `fmcsainspections` with their violations. Every value is shown
as stored, whatever its type (`stored_line`); a section that is absent says it was never
synced. Nothing here decides a status: these are display fields.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from fmcsa_tui.formatting import utc_text
from fmcsa_tui.models import BASIC_FIELDS
from fmcsa_tui.ui.detail.stored import field, stored_line
from fmcsa_tui.ui.detail.sync_tab import BASIC_LABELS

CarrierKind = Literal["general", "passenger", "hazmat"]

#: FMCSA's BASIC intervention thresholds (percentiles) by carrier kind, from the SMS
#: methodology ("SMS Methodology: BASIC Prioritization Status", section "BASIC
#: Intervention Thresholds", FMCSA, v3.12, 2021; also J. J. Keller's "What are the
#: intervention thresholds?"): Unsafe Driving, HOS Compliance, Crash Indicator 65/50/60
#: (general/passenger/hazmat); Vehicle Maintenance, Controlled Substances/Alcohol, Driver
#: Fitness 80/65/75. (Hazardous Materials Compliance, 80 for all, has no field in the
#: document.) A percentile at or above its threshold is highlighted.
THRESHOLDS: dict[str, dict[CarrierKind, int]] = {
    "unsafeDriving": {"general": 65, "passenger": 50, "hazmat": 60},
    "hoursOfService": {"general": 65, "passenger": 50, "hazmat": 60},
    "crashIndicator": {"general": 65, "passenger": 50, "hazmat": 60},
    "vehicleMaintenance": {"general": 80, "passenger": 65, "hazmat": 75},
    "controlledSubstances": {"general": 80, "passenger": 65, "hazmat": 75},
    "driverFitness": {"general": 80, "passenger": 65, "hazmat": 75},
}

#: The most recent inspections the tab lists, and violations shown per inspection.
MAX_INSPECTIONS = 50
MAX_VIOLATIONS = 30

_YES = {"y", "yes", "true", "1"}
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%?\s*")


def carrier_kind(doc: dict[str, Any]) -> CarrierKind:
    """Which thresholds apply: passenger or hazmat only when the document says so (a
    ``pcFlag``/``isPassengerCarrier`` or ``hmFlag`` of Y under
    `fmcsaData.inspections.carrier`, as other writers may keep FMCSA's census flags;
    this engine writes neither), else FMCSA's figures for all other carriers."""
    carrier = field(doc, "fmcsaData", "inspections", "carrier")

    def says(*names: str) -> bool:
        return any(str(field(carrier, name)).strip().lower() in _YES for name in names)

    if says("pcFlag", "isPassengerCarrier"):
        return "passenger"
    if says("hmFlag", "hazmatFlag"):
        return "hazmat"
    return "general"


def percentile_value(value: Any) -> float | None:
    """A stored percentile as a number to compare with a threshold: a finite number, or a
    text of one ("72", "72%"); "Not Public", null and anything else are no number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        match = _PERCENT.fullmatch(value)
        return float(match.group(1)) if match else None
    return None


def over_threshold(doc: dict[str, Any]) -> list[str]:
    """The BASICs (`BASIC_FIELDS` names) whose stored percentile is at or above FMCSA's
    intervention threshold for this carrier's kind: the ones the tab highlights."""
    basics = doc.get("smsBasics")
    if not isinstance(basics, dict):
        return []
    kind = carrier_kind(doc)
    return [
        name
        for name in BASIC_FIELDS
        if (number := percentile_value(basics.get(name))) is not None
        and number >= THRESHOLDS[name][kind]
    ]


def _value(value: Any, absent: str = "-") -> Text:
    shown = stored_line(value)
    return Text(shown) if shown else Text(absent, style="dim")


def _heading(text: str, note: str = "") -> Text:
    return Text.assemble((text, "bold"), (f" · {note}" if note else "", "dim"))


def basics_section(doc: dict[str, Any]) -> list[RenderableType]:
    basics = doc.get("smsBasics")
    kind = carrier_kind(doc)
    parts: list[RenderableType] = [_heading("BASICs", f"threshold: {kind} carriers")]
    if basics is None:
        return [*parts, Text("never synced (csa_scores)", style="dim")]
    if not isinstance(basics, dict):
        return [*parts, _value(basics)]
    table = Table(box=None, expand=True, padding=(0, 1), show_edge=False)
    table.add_column("BASIC", no_wrap=True)
    table.add_column("Percentile", justify="right", no_wrap=True)
    table.add_column("Threshold", justify="right", no_wrap=True)
    table.add_column("Measure", justify="right", ratio=1)
    flagged = over_threshold(doc)
    for name, label in zip(BASIC_FIELDS, BASIC_LABELS, strict=True):
        stored = basics.get(name)
        threshold = THRESHOLDS[name][kind]
        over = name in flagged
        shown = stored_line(stored)
        percentile = Text(shown or "none", style="bold red" if over else "", justify="right")
        if not shown:
            percentile.stylize("dim")
        table.add_row(
            Text(("▲ " if over else "  ") + label, style="bold red" if over else ""),
            percentile,
            f"{threshold}%",
            _value(basics.get(f"{name}Measure")),
        )
    parts.append(table)
    updated = basics.get("lastUpdated")
    if updated is not None:
        shown = utc_text(updated) if isinstance(updated, datetime) else stored_line(updated)
        parts.append(Text(f"updated {shown}", style="dim"))
    return parts


def _oos_row(summary: dict[str, Any], label: str, key: str) -> tuple[Text, ...]:
    rate, national = summary.get(f"{key}OOSPercent"), summary.get(f"{key}NationalAvg")
    worse = (
        isinstance(rate, int | float)
        and isinstance(national, int | float)
        and not isinstance(rate, bool)
        and not isinstance(national, bool)
        and rate > national
    )
    return (
        Text(label),
        _value(summary.get(f"{key}Inspections")),
        _value(summary.get(f"{key}OOS")),
        Text(
            stored_line(rate) + "%" if stored_line(rate) else "-", style="bold red" if worse else ""
        ),
        Text(stored_line(national) + "%" if stored_line(national) else "-", style="dim"),
    )


def inspections_section(doc: dict[str, Any]) -> list[RenderableType]:
    """`fmcsaData.inspections`: counts, out-of-service rates against the national
    averages (a rate above its average in red), crashes by severity, the carrier."""
    summary = field(doc, "fmcsaData", "inspections")
    parts: list[RenderableType] = [_heading("Inspections and crashes", "24 months, FMCSA")]
    if summary is None:
        return [*parts, Text("never synced (inspections)", style="dim")]
    if not isinstance(summary, dict):
        return [*parts, _value(summary)]
    table = Table(box=None, expand=True, padding=(0, 1), show_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("Inspected", justify="right", no_wrap=True)
    table.add_column("OOS", justify="right", no_wrap=True)
    table.add_column("OOS rate", justify="right", no_wrap=True)
    table.add_column("National", justify="right", ratio=1)
    table.add_row(*_oos_row(summary, "vehicle", "vehicle"))
    table.add_row(*_oos_row(summary, "driver", "driver"))
    table.add_row(
        Text("hazmat"),
        _value(summary.get("hazmatInspections")),
        _value(summary.get("hazmatOOS")),
        Text("-", style="dim"),
        Text(""),
    )
    parts += [
        table,
        Text.assemble(("total inspections ", "dim"), _value(summary.get("totalInspections"))),
    ]
    crashes = summary.get("crashes")
    line = Text("crashes ", style="dim")
    if isinstance(crashes, dict):
        for index, key in enumerate(("fatal", "injury", "tow", "total")):
            line.append((" · " if index else "") + f"{key} ", style="dim")
            line.append_text(_value(crashes.get(key)))
    else:
        line.append_text(_value(crashes))
    parts.append(line)
    carrier = summary.get("carrier")
    if isinstance(carrier, dict):
        parts.append(
            Text.assemble(
                ("rating ", "dim"),
                _value(carrier.get("safetyRating")),
                ("   operating ", "dim"),
                _value(carrier.get("operatingStatus")),
            )
        )
    elif carrier is not None:
        parts.append(Text.assemble(("carrier ", "dim"), _value(carrier)))
    synced = summary.get("lastSync")
    if synced is not None:
        shown = utc_text(synced) if isinstance(synced, datetime) else stored_line(synced)
        parts.append(Text(f"synced {shown}", style="dim"))
    return parts


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.strftime("%Y-%m-%d")
    return stored_line(value) or "no date"


def _oos_units(inspection: dict[str, Any]) -> str:
    units = [
        unit for unit in ("vehicle", "driver", "hazmat") if inspection.get(f"{unit}OOS") is True
    ]
    return "OOS " + "+".join(units) if units else ""


def _inspection(inspection: Any) -> list[RenderableType]:
    if not isinstance(inspection, dict):
        return [Text(stored_line(inspection) or "-")]
    violations = inspection.get("violations")
    level = stored_line(inspection.get("inspectionLevel"))
    head = Text.assemble(
        (_date(inspection.get("inspectionDate")), "bold"),
        "  ",
        stored_line(inspection.get("state")) or "--",
        ("  level ", "dim"),
        level or "-",
        "  ",
        (_oos_units(inspection), "bold red"),
        ("  report ", "dim"),
        stored_line(inspection.get("reportNumber")) or "-",
    )
    parts: list[RenderableType] = [head]
    if not isinstance(violations, list):
        if violations is not None:
            parts.append(Padding(Text(stored_line(violations)), (0, 0, 0, 2)))
        return parts
    if not violations:
        parts.append(Padding(Text("no violations", style="dim"), (0, 0, 0, 2)))
    for violation in violations[:MAX_VIOLATIONS]:
        if not isinstance(violation, dict):
            parts.append(Padding(Text(stored_line(violation) or "-"), (0, 0, 0, 2)))
            continue
        oos = violation.get("oos") is True
        parts.append(
            Padding(
                Text.assemble(
                    (stored_line(violation.get("code")) or "?", "bold"),
                    ("  OOS" if oos else "", "bold red"),
                    "  ",
                    stored_line(violation.get("description")),
                ),
                (0, 0, 0, 2),
            )
        )
    if len(violations) > MAX_VIOLATIONS:
        more = len(violations) - MAX_VIOLATIONS
        parts.append(Padding(Text(f"… {more} more violations", style="dim"), (0, 0, 0, 2)))
    return parts


def recent_section(doc: dict[str, Any], inspections: Sequence[Any] | None) -> list[RenderableType]:
    """The latest `MAX_INSPECTIONS` of `fmcsainspections` (newest first, as the store
    reads them), each with its violations; None: not read yet."""
    parts: list[RenderableType] = [_heading("Recent inspections", "fmcsainspections, newest first")]
    if inspections is None:
        return [*parts, Text("reading…", style="dim italic")]
    if not inspections:
        synced = field(doc, "fmcsaData", "lastViolationSync") is not None
        said = "none on record" if synced else "never synced (violations)"
        return [*parts, Text(said, style="dim")]
    shown = inspections[:MAX_INSPECTIONS]
    if len(inspections) > len(shown):
        parts.append(Text(f"the latest {len(shown)} of {len(inspections):,}", style="dim"))
    for inspection in shown:
        parts += _inspection(inspection)
    return parts


def data_body(doc: dict[str, Any], inspections: Sequence[Any] | None) -> RenderableType:
    """The whole tab for `doc` and its inspections (None while they are being read)."""
    return Group(
        *basics_section(doc),
        Text(""),
        *inspections_section(doc),
        Text(""),
        *recent_section(doc, inspections),
    )
