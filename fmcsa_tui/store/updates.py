"""Backend-neutral description of one source's write, and how it applies to a document.

The orchestrator's write is a handful of `$set`s, a `$pull` of the source's error rows
and, on failure, a `$push`. `SourceUpdate` names those pieces once so every backend
applies the same rule: SQLite with `apply_update` on the decoded document, MongoDB by
translating the same fields into an update.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

from fmcsa_tui.models import Source, parse_dot
from fmcsa_tui.store.base import NewCompany, SourceData, StoreError

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


@dataclass(frozen=True, slots=True)
class DocumentWrite:
    """What one source's update does to one document as read, for every backend.

    `fields` are all the dotted paths to `$set`, in order: the source's data, lastRun,
    its LastSync, errors, success, updatedAt and, where it is empty, name.
    `errors_changed` says whether the errors array changed, so `__v` moves.
    """

    fields: dict[str, Any]
    errors_changed: bool


def plan_write(doc: dict[str, Any], update: SourceUpdate) -> DocumentWrite:
    """The write `update` makes to `doc`: that source's error rows replaced, others kept."""
    current = get_path(doc, ERRORS_PATH)
    errors = remaining_errors(current, update.source)
    if update.new_error is not None:
        errors.append(update.new_error)
    fields = dict(update.fields)
    fields[ERRORS_PATH] = errors
    fields[f"{SYNC_STATUS}.success"] = not errors
    fields["updatedAt"] = update.at
    if update.legal_name and _name_is_empty(doc.get("name")):
        fields["name"] = update.legal_name
    changed = errors != (current if isinstance(current, list) else [])
    return DocumentWrite(fields, changed)


def apply_update(doc: dict[str, Any], update: SourceUpdate) -> None:
    """Apply the update in place; every path it does not name stays as it was."""
    write = plan_write(doc, update)
    for path, value in write.fields.items():
        set_path(doc, path, value)
    if write.errors_changed:
        _bump_version(doc)


def bumps_version(version: Any) -> bool:
    """Mongoose bumps `__v` when an array changes; a non-numeric `__v` is left alone."""
    return version is None or (isinstance(version, int) and not isinstance(version, bool))


def _bump_version(doc: dict[str, Any]) -> None:
    version = doc.get("__v")
    if bumps_version(version):
        doc["__v"] = 1 if version is None else version + 1


def targeted_sets(
    fields: dict[str, Any], doc: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`fields` as `$set`s MongoDB accepts, with the effect of `set_path` applied in order.

    MongoDB refuses to set a path through a non-document ("Cannot create field") and to
    set a path and its parent in one update. So a path through an existing null, scalar
    or array sets that value's own path to a new document holding the value, and
    overlapping paths merge into the outermost one. Returns the `$set`s and the
    non-documents they replace, by path, for the caller to guard its update on.
    """
    sets: dict[str, Any] = {}
    replaced: dict[str, Any] = {}
    for path, value in fields.items():
        outer = next((key for key in sets if path.startswith(key + ".")), None)
        if outer is not None:
            holder = {"v": copy.deepcopy(sets[outer])}
            set_path(holder, "v." + path[len(outer) + 1 :], value)
            sets[outer] = holder["v"]
            continue
        for key in [key for key in sets if key.startswith(path + ".")]:
            del sets[key]  # a later write of a parent wins, as with set_path
        target, value = _through_non_document(doc, path, value, replaced)
        sets[target] = value
    return sets, replaced


def _through_non_document(
    doc: dict[str, Any], path: str, value: Any, replaced: dict[str, Any]
) -> tuple[str, Any]:
    """Where a `$set` of `path` lands in `doc`: the path itself, or the first existing
    non-document on the way, set to a new document that holds the value."""
    parts = path.split(".")
    node = doc
    for depth, key in enumerate(parts[:-1], start=1):
        if key not in node:
            return path, value  # the server creates missing documents on the way
        child = node[key]
        if not isinstance(child, dict):
            prefix = ".".join(parts[:depth])
            replaced.setdefault(prefix, child)
            holder: dict[str, Any] = {}
            set_path(holder, ".".join(parts[depth:]), value)
            return prefix, holder
        node = child
    return path, value


def _name_is_empty(name: Any) -> bool:
    return name is None or (isinstance(name, str) and not name.strip())


def report_number(inspection: dict[str, Any]) -> str:
    """An inspection's key within its company; refuses one without it (before any write)."""
    value = inspection.get("reportNumber")
    text = "" if value is None or isinstance(value, bool | dict | list) else str(value).strip()
    if not text:
        raise StoreError("an inspection without a reportNumber cannot be stored")
    return text


def checked_dot(dot_number: str) -> str:
    """A new company's DOT number, trimmed; refused unless 5-8 digits, as the backend
    requires of the companies it creates."""
    dot = dot_number.strip()
    if not dot:
        raise StoreError("a company needs a DOT number")
    if parse_dot(dot, new=True) != dot:
        raise StoreError(f"DOT number {dot!r} is not 5-8 digits, as the backend requires")
    return dot


def new_company_doc(company: NewCompany, now: datetime) -> dict[str, Any]:
    """A company as Mongoose creates it: never synced, so no `fmcsaData` yet."""
    dot = checked_dot(company.dot_number)
    now = as_utc(now)
    doc: dict[str, Any] = {
        "_id": ObjectId(),
        "name": company.name.strip(),
        "dotNumber": dot,
    }
    if company.mc_number and company.mc_number.strip():
        doc["mcNumber"] = company.mc_number.strip()
    for key, value in company.extra.items():
        doc.setdefault(key, value)  # the core fields win over a clashing extra
    doc.update(createdAt=now, updatedAt=now, __v=0)
    return doc
