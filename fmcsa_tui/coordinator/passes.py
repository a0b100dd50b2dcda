"""A pass: one `sync` invocation or one sweep of a worker over what is due, run exactly once
across processes. No Textual.

Every process sharing a store lists its carriers, then runs each as a pass's target
(`Target.in_pass`): under the carrier's lease the engine skips one that another process
ran after the listing ("synced elsewhere") or holds now ("syncing elsewhere"). A carrier
already leased elsewhere when the pass lists it is skipped at once: that run may have
written some sources before the listing, so its `lastRun` could not tell it apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from fmcsa_tui.models import CompanySummary
from fmcsa_tui.store import CompanyStore
from fmcsa_tui.sync.engine import Target

__all__ = ["Pass", "most_overdue_first", "plan_pass"]


@dataclass(frozen=True, slots=True)
class Pass:
    """What a pass runs, and what it leaves to the processes syncing it already."""

    targets: list[Target]
    syncing_elsewhere: list[CompanySummary]


async def plan_pass(store: CompanyStore, owner: str, listed: Iterable[CompanySummary]) -> Pass:
    """The pass of carriers just `listed` (unreadable ones are never picked); the lease
    look comes after the listing, so every run in flight when it was read is seen."""
    readable = [summary for summary in listed if summary.status != "unreadable"]
    busy = await store.leased_ids(exclude_owner=owner) if readable else set()
    return Pass(
        [Target.in_pass(summary) for summary in readable if summary.id not in busy],
        [summary for summary in readable if summary.id in busy],
    )


def most_overdue_first(summaries: Iterable[CompanySummary]) -> list[CompanySummary]:
    """Never-run carriers first (in listing order), then the oldest `lastRun` first."""
    return sorted(summaries, key=_overdue_key)


def _overdue_key(summary: CompanySummary) -> datetime:
    return summary.last_run or _NEVER


_NEVER = datetime.min.replace(tzinfo=UTC)
