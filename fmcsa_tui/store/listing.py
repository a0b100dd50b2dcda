"""What a listing holds and in which order, written once for both stores and the list.

The filter rule: a `CompanyFilter` means the conjunction of its `conditions`. Each
`Condition` compares one *fact* of a list row with a value by one *test*; `FACTS` and
`TESTS` say what every fact and test is, and `Condition.holds` is the rule in Python.
Nothing else says what a filter means: SQLite renders each condition as SQL over the
columns that hold the facts, MongoDB as a query that only narrows what comes over the
wire, and the list model applies the tests to its cached columns of facts. A renderer
that cannot say a condition exactly narrows instead, and `holds` decides.

The DOT order: `dot_order` is the one sort key of a DOT number (`DOT_ORDER_SQL` is the
same order in SQL, for the embedded store's index).
"""

from __future__ import annotations

import operator
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from fmcsa_tui.models import CompanySummary, Status

__all__ = [
    "DOT_ORDER_SQL",
    "FACTS",
    "NO_TIME",
    "SCAN_BATCH_MOST",
    "SEARCH_SEPARATOR",
    "STATUSES",
    "TESTS",
    "CompanyFilter",
    "Condition",
    "Fact",
    "ListColumns",
    "ListRow",
    "StatusFilter",
    "Test",
    "all_hold",
    "changed_since",
    "columns_of",
    "dot_order",
    "first_rows",
    "in_dot_order",
    "joined_search_decides",
    "kept_text",
    "list_row",
    "micros",
    "moment",
    "scan_batches",
    "search_fields",
    "search_text",
    "shown_fields",
    "sources_of",
    "sources_text",
    "summary_of_list_row",
]

StatusFilter = Literal["never", "ok", "failed"]

#: What a condition looks at in a list row (see `FACTS`).
Fact = Literal[
    "id", "search", "status", "error_sources", "oldest_success", "last_run", "updated_at"
]
#: How a condition compares that fact with its value (see `TESTS`).
Test = Literal["has_text", "is", "is_not", "has", "one_of", "missing_or_before", "at_or_after"]

#: Between the fields of a search text; never typed by people.
SEARCH_SEPARATOR: Final = "\x1f"


def search_fields(summary: CompanySummary) -> tuple[str, ...]:
    """Where the text filter looks: the DOT, name and MC number, casefolded."""
    fields = (summary.dot_number, summary.name, summary.mc_number)
    return tuple(field.casefold() for field in fields if field)


def search_text(summary: CompanySummary) -> str:
    """The search fields as one string to scan: the three joined by `SEARCH_SEPARATOR`,
    then casefolded (casefolding is character by character, so this is the same as
    joining the folded fields, and three times faster for 100,000 rows)."""
    fields = (summary.dot_number or "", summary.name or "", summary.mc_number or "")
    return SEARCH_SEPARATOR.join(fields).casefold()


def joined_search_decides(needle: str) -> bool:
    """Whether `needle in search_text(row)` is the text test itself: it is for a needle
    without the separator, whose every match lies inside one field."""
    return SEARCH_SEPARATOR not in needle


def _has_text(fields: tuple[str, ...], needle: str) -> bool:
    return any(needle in field for field in fields)


def _missing_or_before(moment: datetime | None, cutoff: datetime) -> bool:
    return moment is None or moment < cutoff


def _at_or_after(moment: datetime | None, since: datetime) -> bool:
    return moment is not None and moment >= since


FACTS: Final[dict[Fact, Callable[[CompanySummary], Any]]] = {
    "id": operator.attrgetter("id"),
    "search": search_fields,
    "status": operator.attrgetter("status"),
    "error_sources": operator.attrgetter("error_sources"),
    "oldest_success": operator.attrgetter("oldest_success"),
    "last_run": operator.attrgetter("last_run"),
    "updated_at": operator.attrgetter("updated_at"),
}
#: Each test takes the fact first and the condition's value second.
TESTS: Final[dict[Test, Callable[[Any, Any], bool]]] = {
    "has_text": _has_text,  # the (casefolded) value is part of one search field
    "is": operator.eq,
    "is_not": operator.ne,
    "has": operator.contains,  # the value is one of a set
    "one_of": lambda fact, values: fact in values,  # the fact is one of the value's set
    "missing_or_before": _missing_or_before,
    "at_or_after": _at_or_after,
}


@dataclass(frozen=True, slots=True)
class Condition:
    """One part of the filter rule: `TESTS[test](FACTS[fact](row), value)`."""

    fact: Fact
    test: Test
    value: Any

    def holds(self, summary: CompanySummary) -> bool:
        return TESTS[self.test](FACTS[self.fact](summary), self.value)


def all_hold(conditions: Sequence[Condition], summary: CompanySummary) -> bool:
    return all(condition.holds(summary) for condition in conditions)


@dataclass(frozen=True, slots=True)
class CompanyFilter:
    """What a listing asks for. Every field narrows; the default lists everything."""

    text: str = ""  # case-insensitive substring of DOT, name or MC number
    status: StatusFilter | None = None
    failed_source: str | None = None  # "any", or a source name (enum or not)
    stale_after: timedelta | None = None  # some source without success for longer
    due_after: timedelta | None = None  # no run for longer (or never): due for a sync
    company_ids: frozenset[str] | None = None  # only these (the fleet screen's error)

    def conditions(self, now: datetime | None) -> tuple[Condition, ...]:
        """The filter rule: what each field means, as conditions that must all hold.

        An unreadable document has no sync dates to judge, so it is never stale nor
        due (and cannot be synced). `now` is needed only by a stale or due filter.
        """
        found: list[Condition] = []
        if self.company_ids is not None:
            found.append(Condition("id", "one_of", self.company_ids))
        if self.text:
            found.append(Condition("search", "has_text", self.text.casefold()))
        if self.status is not None:
            found.append(Condition("status", "is", self.status))
        if self.failed_source == "any":
            found.append(Condition("status", "is", "failed"))
        elif self.failed_source is not None:
            found.append(Condition("error_sources", "has", self.failed_source))
        if self.stale_after is not None or self.due_after is not None:
            if now is None:
                raise ValueError("a stale or due filter needs the time")
            found.append(Condition("status", "is_not", "unreadable"))
        if self.stale_after is not None and now is not None:
            found.append(Condition("oldest_success", "missing_or_before", now - self.stale_after))
        if self.due_after is not None and now is not None:
            found.append(Condition("last_run", "missing_or_before", now - self.due_after))
        return tuple(found)

    def matches(self, summary: CompanySummary, now: datetime) -> bool:
        """Whether one row passes; listings apply `conditions` once for all rows."""
        return all_hold(self.conditions(now), summary)


def changed_since(since: datetime) -> Condition:
    """The change feed's question: written at or after `since`."""
    return Condition("updated_at", "at_or_after", since)


def dot_order(dot: str) -> str:
    """A DOT number's sort key: shorter first, then character by character, so DOT
    numbers (digits, no leading zero) sort numerically and any other text still has one
    place. Text, because 100,000 strings sort three times faster than tuples; a row
    without a DOT goes last."""
    return str(len(dot)).zfill(10) + dot


#: `dot_order` in SQL over a ``dot`` column, rows without a DOT last (the embedded
#: store's index and ORDER BY; the contract tests hold both stores to `dot_order`).
DOT_ORDER_SQL: Final = "dot IS NULL, length(dot), dot"


def in_dot_order(rows: list[CompanySummary]) -> list[CompanySummary]:
    """Rows in the listing order: by `dot_order`, rows without a DOT last (stable)."""
    dotted = [row for row in rows if row.dot_number is not None]
    dotted.sort(key=lambda row: dot_order(row.dot_number or ""))
    return dotted + [row for row in rows if row.dot_number is None]


def first_rows(rows: list[CompanySummary], limit: int | None) -> list[CompanySummary]:
    """The first `limit` rows; None or a negative limit (SQLite's "no limit") keeps all."""
    return rows if limit is None or limit < 0 else rows[:limit]


# --- list rows: what a store scan hands the dashboard's list, without objects per row --

#: A list row as plain values, in this order: id, search text, dot, name, mc (each of
#: the three None when `shown_text` gives it back from the search text), status,
#: success (0, 1, or 2 for none), last run, CSA, violations, inspections (times as
#: `micros`), error sources (`sources_text`), error count, updated at, problem.
#: A store's scan yields these in the listing order (`dot_order`), so the SQLite store
#: reads them straight from its columns and the list keeps them as packed columns.
ListRow = tuple[
    str, str, str | None, str | None, str | None, Status, int,
    int, int, int, int, str, int, int, str | None,
]  # fmt: skip
#: A missing time in a list row: below every real one, so "missing or before" is `<`
#: and the oldest of several times is their `min`.
NO_TIME: Final = -(2**63)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_SUCCESS_CODE: Final = {None: 2, False: 0, True: 1}
_SUCCESS_OF: Final = (False, True, None)


def micros(when: datetime | None) -> int:
    """A time as whole microseconds since the epoch (exact), `NO_TIME` for none."""
    return NO_TIME if when is None else (when - _EPOCH) // _MICROSECOND


def moment(value: int) -> datetime | None:
    """`micros` undone."""
    return None if value == NO_TIME else _EPOCH + value * _MICROSECOND


def sources_text(sources: frozenset[str]) -> str:
    """Error sources as ``|a|b|`` (sorted): a source matches as ``|name|``."""
    return f"|{'|'.join(sorted(sources))}|" if sources else ""


_SOURCES_CACHE: dict[str, frozenset[str]] = {}


def sources_of(text: str) -> frozenset[str]:
    """`sources_text` undone; parsed once per distinct text (a census shares a handful)."""
    found = _SOURCES_CACHE.get(text)
    if found is None:
        found = frozenset(part for part in text.split("|") if part)
        if len(_SOURCES_CACHE) < 4096:  # bounded: documents are hostile
            _SOURCES_CACHE[text] = found
    return found


def kept_text(text: str | None) -> str | None:
    """A display field as a list row keeps it: None when `shown_text` gives it back from
    its casefolded form (FMCSA's upper-case names, DOT and MC numbers), else itself."""
    if text and SEARCH_SEPARATOR not in text and text.casefold().upper() == text:
        return None
    return text


def shown_fields(
    search: str, kept: tuple[str | None, str | None, str | None]
) -> tuple[str | None, ...]:
    """The DOT, name and MC number of a list row, from what it kept and its search text
    (a kept field's part of the search text is its casefold; a dropped one holds no
    separator, so it ends at the next)."""
    shown: list[str | None] = []
    start = 0
    for field in kept:
        if field is not None:
            start += len(field.casefold()) + 1
            shown.append(field)
            continue
        end = search.find(SEARCH_SEPARATOR, start)
        end = len(search) if end < 0 else end
        shown.append(search[start:end].upper() or None)
        start = end + 1
    return tuple(shown)


def list_row(summary: CompanySummary) -> ListRow:
    """A summary as a list row (the SQLite store builds the same in SQL)."""
    return (
        summary.id,
        search_text(summary),
        kept_text(summary.dot_number),
        kept_text(summary.name),
        kept_text(summary.mc_number),
        summary.status,
        _SUCCESS_CODE[summary.success],
        micros(summary.last_run),
        micros(summary.csa_scores_last_sync),
        micros(summary.violations_last_sync),
        micros(summary.inspections_last_sync),
        sources_text(summary.error_sources),
        summary.error_count,
        micros(summary.updated_at),
        summary.problem,
    )


def summary_of_list_row(row: ListRow) -> CompanySummary:
    """`list_row` undone: the summary exactly as it was."""
    (id_, search, dot, name, mc, status, success, last_run, csa, viol, insp, sources, count, updated, problem) = row  # fmt: skip  # noqa: E501
    shown_dot, shown_name, shown_mc = shown_fields(search, (dot, name, mc))
    return CompanySummary(
        id_,
        shown_dot,
        shown_name,
        shown_mc,
        status,
        moment(last_run),
        _SUCCESS_OF[success],
        moment(csa),
        moment(viol),
        moment(insp),
        sources_of(sources),
        count,
        moment(updated),
        problem,
    )


#: Status codes of `ListColumns.statuses`, worst first (the list's sort by status).
STATUSES: Final[tuple[Status, ...]] = ("failed", "unreadable", "never", "ok")
_STATUS_CODE: Final = {status: code for code, status in enumerate(STATUSES)}


@dataclass(frozen=True, slots=True, eq=True)
class ListColumns:
    """List rows as columns, in the listing order: what a store scan hands the list, a
    batch at a time (1,000,000 rows without a tuple each; the list extends its own
    columns from these in C). Row `i` of the batch is every column's item `i`; the
    fields mean what `ListRow`'s do. `columns_of` makes one from `ListRow`s: the only
    other maker is a store reading its own columns, held to the same rows by tests."""

    ids: list[str]
    search: list[str]
    dots: list[str | None]  # kept (`kept_text`): None when the search text gives it
    names: list[str | None]
    mcs: list[str | None]
    statuses: bytes  # `STATUSES` codes
    success: bytes  # 0, 1, or 2 for none
    last_run: array[int]  # `micros`, typecode "q", as each time below
    csa: array[int]
    viol: array[int]
    insp: array[int]
    updated: array[int]
    sources: list[str]  # `sources_text`
    error_counts: array[int]  # typecode "i"
    problems: list[str | None]

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> list[ListRow]:
        """`columns_of` undone: a `ListRow` per row (a few rows, tests)."""
        return list(
            zip(
                self.ids, self.search, self.dots, self.names, self.mcs,
                map(STATUSES.__getitem__, self.statuses), self.success,
                self.last_run, self.csa, self.viol, self.insp, self.sources,
                self.error_counts, self.updated, self.problems,
                strict=True,
            )
        )  # fmt: skip

    def part(self, start: int, stop: int) -> ListColumns:
        """Rows `start` to `stop` (slices: copied in C)."""
        return ListColumns(*(getattr(self, field.name)[start:stop] for field in _FIELDS))


_FIELDS: Final = fields(ListColumns)


def _no_times() -> tuple[array[int], array[int], array[int], array[int], array[int]]:
    return array("q"), array("q"), array("q"), array("q"), array("q")


def columns_of(rows: Sequence[ListRow]) -> ListColumns:
    """`ListRow`s as `ListColumns`: the one rule (a store without a scan of its own, live
    updates, tests)."""
    if not rows:
        return ListColumns([], [], [], [], [], b"", b"", *_no_times(), [], array("i"), [])
    (ids, search, dots, names, mcs, statuses, success, last_run, csa, viol, insp, sources,
     counts, updated, problems) = zip(*rows, strict=True)  # fmt: skip
    return ListColumns(
        list(ids),
        list(search),
        list(dots),
        list(names),
        list(mcs),
        bytes(map(_STATUS_CODE.__getitem__, statuses)),
        bytes(success),
        array("q", last_run),
        array("q", csa),
        array("q", viol),
        array("q", insp),
        array("q", updated),
        list(sources),
        array("i", counts),
        list(problems),
    )


#: The most rows a scan's batch holds: each column of a batch is split or decoded by one
#: C call holding the GIL, which the dashboard's thread then waits for (a batch of
#: 262,144 rows took 170-195 ms to decode in all on a busy machine).
SCAN_BATCH_MOST: Final = 1 << 17


def scan_batches(first: int) -> Iterator[int]:
    """The sizes of a store scan's batches: `first` rows (the first screen), then twice
    as many each time up to `SCAN_BATCH_MOST`: few batches, the first one quick."""
    size = max(1, first)
    while True:
        yield size
        size = min(2 * size, max(first, SCAN_BATCH_MOST))
