"""One run's history record: who ran which carrier when, and what each source did.

The engine writes one `RunRecord` per run (`SyncEngine.run`), so no caller can forget;
the stores keep it as the document `RunRecord.to_doc` gives (`fmcsa_tui_runs` in
MongoDB, the `runs` table in SQLite). Records are read back tolerantly
(`RunRecord.from_doc`): another program may have written the collection, so every
field is checked and every text bounded, and a document that is not a record is None.

What a source's outcome means:

- ``ok``: fetched and written; ``failed``: not fetched (or not written), with the
  one-line scrubbed error and the attempts made;
- ``cancelled``: the run was cancelled before the source's outcome was written;
- ``skipped``: a pass (``sync``, a worker's sweep) left the carrier to another process
  that synced it after the pass listed it, or holds its lease (the record's `note`
  says which); nothing was fetched or written. A run refused before it started (no
  valid DOT, the store unreachable, already syncing outside a pass) is not recorded:
  it did nothing, and the process that holds the carrier records its own run.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from fmcsa_tui.models.values import Source

__all__ = ["Origin", "Outcome", "RunRecord", "RunWho", "SourceRun", "at_ms", "bounded_text"]

#: The longest text a record keeps (an error, a summary, a name); longer is cut.
TEXT_LIMIT: Final = 500


class Origin(StrEnum):
    """Which face of fmcsa-tui ran it."""

    DASHBOARD = "dashboard"
    SYNC = "sync"
    WORKER = "worker"


class Outcome(StrEnum):
    """What one source did in a run (see the module docstring)."""

    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


def at_ms(when: datetime) -> datetime:
    """UTC at the millisecond a BSON date keeps (a naive moment is taken as UTC)."""
    moment = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True, slots=True)
class RunWho:
    """The process that ran it: OS user, host, pid, and which face (`Origin`)."""

    user: str
    host: str
    pid: int
    origin: Origin

    @classmethod
    def this_process(cls, origin: Origin) -> RunWho:
        try:
            user = getpass.getuser()
        except Exception:  # no login name (a container without one): say so, never fail
            user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
        return cls(user, socket.gethostname(), os.getpid(), origin)


@dataclass(frozen=True, slots=True)
class SourceRun:
    """One source in one run. `duration` in seconds (None: it never started)."""

    source: Source
    outcome: Outcome
    duration: float | None = None
    attempts: int = 0
    error: str = ""  # the one-line scrubbed error, when failed
    summary: str = ""  # the engine's line for people ("5 BASICs"), when ok


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run of one carrier. Timestamps are UTC to the millisecond."""

    company_id: str
    dot_number: str
    name: str
    started: datetime
    ended: datetime
    who: RunWho
    sources: tuple[SourceRun, ...]
    note: str = ""  # why sources were skipped ("synced elsewhere"), else empty

    @property
    def failed(self) -> bool:
        return any(run.outcome is Outcome.FAILED for run in self.sources)

    def outcome_of(self, source: Source) -> SourceRun | None:
        return next((run for run in self.sources if run.source is source), None)

    def to_doc(self) -> dict[str, Any]:
        """The stored document (MongoDB's field names; SQLite keeps it as BSON)."""
        return {
            "companyId": self.company_id,
            "dotNumber": self.dot_number,
            "name": self.name,
            "startedAt": at_ms(self.started),
            "endedAt": at_ms(self.ended),
            "who": {
                "user": self.who.user,
                "host": self.who.host,
                "pid": self.who.pid,
                "origin": self.who.origin.value,
            },
            "sources": [_source_doc(run) for run in self.sources],
            "note": self.note,
        }

    @classmethod
    def from_doc(cls, doc: Any) -> RunRecord | None:
        """The record a stored document holds, or None when it holds none."""
        if not isinstance(doc, dict):
            return None
        started, ended = doc.get("startedAt"), doc.get("endedAt")
        who = doc.get("who")
        if not isinstance(started, datetime) or not isinstance(ended, datetime):
            return None
        if not isinstance(who, dict) or not isinstance(doc.get("sources"), list):
            return None
        try:
            origin = Origin(str(who.get("origin")))
        except ValueError:
            return None
        pid = who.get("pid")
        sources = tuple(
            run for run in (_source_of(item) for item in doc["sources"][:16]) if run is not None
        )
        return cls(
            company_id=bounded_text(doc.get("companyId")),
            dot_number=bounded_text(doc.get("dotNumber")),
            name=bounded_text(doc.get("name")),
            started=at_ms(started),
            ended=at_ms(ended),
            who=RunWho(
                bounded_text(who.get("user")),
                bounded_text(who.get("host")),
                pid if isinstance(pid, int) and not isinstance(pid, bool) else 0,
                origin,
            ),
            sources=sources,
            note=bounded_text(doc.get("note")),
        )


def _source_doc(run: SourceRun) -> dict[str, Any]:
    doc: dict[str, Any] = {"source": run.source.value, "outcome": run.outcome.value}
    if run.duration is not None:
        doc["durationMs"] = round(run.duration * 1000)
    if run.attempts:
        doc["attempts"] = run.attempts
    if run.error:
        doc["error"] = run.error[:TEXT_LIMIT]
    if run.summary:
        doc["summary"] = run.summary[:TEXT_LIMIT]
    return doc


def _source_of(item: Any) -> SourceRun | None:
    if not isinstance(item, dict):
        return None
    try:
        source, outcome = Source(str(item.get("source"))), Outcome(str(item.get("outcome")))
    except ValueError:
        return None
    millis: Any = item.get("durationMs")
    attempts: Any = item.get("attempts")
    return SourceRun(
        source,
        outcome,
        millis / 1000 if _is_number(millis) and 0 <= millis < 1e12 else None,
        attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 0,
        bounded_text(item.get("error")),
        bounded_text(item.get("summary")),
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def bounded_text(value: Any) -> str:
    """A run record's stored text, cut to `TEXT_LIMIT`; anything not text is nothing
    (unlike `formatting.stored_text`, which shows a company field of any type)."""
    return value[:TEXT_LIMIT] if isinstance(value, str) else ""
