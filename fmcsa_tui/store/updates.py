"""Backend-neutral description of one source's write, and how it applies to a document.

The orchestrator's write is a handful of `$set`s, a `$pull` of the source's error rows
and, on failure, a `$push`. `SourceUpdate` names those pieces once so every backend
applies the same rule: SQLite with `apply_update` on the decoded document, MongoDB by
translating the same fields into an update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

from fmcsa_tui.models import Source
from fmcsa_tui.store.base import NewCompany, SourceData

SYNC_STATUS = "fmcsaData.syncStatus"
ERRORS_PATH = f"{SYNC_STATUS}.errors"


def as_utc(moment: datetime) -> datetime:
    """Aware UTC datetimes only: a naive one is taken as UTC, as BSON dates are."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class SourceUpdate:
    """One source's outcome as the targeted operations it stands for."""

    source: str
    fields: dict[str, Any]  # dotted path -> value: data, lastRun, the source's LastSync
    new_error: dict[str, Any] | None  # the row pushed after pulling the source's rows
    legal_name: str | None  # fills `name` only where it is empty
    at: datetime  # the write time (`updatedAt`, the error's timestamp)


def success_update(run_started: datetime, data: SourceData, at: datetime) -> SourceUpdate:
    """Data fields, lastRun and only this source's LastSync; its error rows go away."""
    at = as_utc(at)
    fields = dict(data.fields)
    fields[f"{SYNC_STATUS}.lastRun"] = as_utc(run_started)
    fields[f"{SYNC_STATUS}.{data.source.last_sync_field}"] = at
    legal = data.legal_name.strip() if data.legal_name else None
    return SourceUpdate(str(data.source), fields, None, legal or None, at)


def failure_update(run_started: datetime, source: Source, error: str, at: datetime) -> SourceUpdate:
    """Only lastRun moves; previous data and LastSync stay; one fresh error row."""
    at = as_utc(at)
    row = {"_id": ObjectId(), "source": str(source), "error": error, "timestamp": at}
    fields = {f"{SYNC_STATUS}.lastRun": as_utc(run_started)}
    return SourceUpdate(str(source), fields, row, None, at)


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """`$set` on a dotted path; a missing or non-document intermediate becomes `{}`."""
    *parents, leaf = path.split(".")
    node = doc
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[leaf] = value


def get_path(doc: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, or None when any step is missing or not a document."""
    node: Any = doc
    for key in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def remaining_errors(current: Any, source: str) -> list[Any]:
    """Error rows left after pulling `source`'s; a non-list `errors` counts as empty."""
    if not isinstance(current, list):
        return []
    return [row for row in current if not (isinstance(row, dict) and row.get("source") == source)]


def apply_update(doc: dict[str, Any], update: SourceUpdate) -> None:
    """Apply the update in place; every path it does not name stays as it was."""
    for path, value in update.fields.items():
        set_path(doc, path, value)
    current = get_path(doc, ERRORS_PATH)
    errors = remaining_errors(current, update.source)
    if update.new_error is not None:
        errors.append(update.new_error)
    set_path(doc, ERRORS_PATH, errors)
    set_path(doc, f"{SYNC_STATUS}.success", not errors)
    doc["updatedAt"] = update.at
    if errors != (current if isinstance(current, list) else []):
        _bump_version(doc)
    if update.legal_name and _name_is_empty(doc.get("name")):
        doc["name"] = update.legal_name


def _bump_version(doc: dict[str, Any]) -> None:
    """Mongoose bumps `__v` when an array changes; a non-numeric `__v` is left alone."""
    version = doc.get("__v")
    if version is None:
        doc["__v"] = 1
    elif isinstance(version, int) and not isinstance(version, bool):
        doc["__v"] = version + 1


def _name_is_empty(name: Any) -> bool:
    return name is None or (isinstance(name, str) and not name.strip())


def new_company_doc(company: NewCompany, now: datetime) -> dict[str, Any]:
    """A company as Mongoose creates it: never synced, so no `fmcsaData` yet."""
    now = as_utc(now)
    doc: dict[str, Any] = {
        "_id": ObjectId(),
        "name": company.name.strip(),
        "dotNumber": company.dot_number.strip(),
    }
    if company.mc_number and company.mc_number.strip():
        doc["mcNumber"] = company.mc_number.strip()
    for key, value in company.extra.items():
        doc.setdefault(key, value)  # the core fields win over a clashing extra
    doc.update(createdAt=now, updatedAt=now, __v=0)
    return doc
