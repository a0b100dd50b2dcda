"""The company list's data model: rows, sort and filter, without any widget.

The filter is the stores' rule (`fmcsa_tui.store.listing`): the model applies each of
the filter's conditions, with the rule's own facts and tests, to its rows.

Built for 100,000 rows. Everything a keystroke needs is precomputed per row: the
search text (`search_text`) and, per sort column and per fact on first use, the sort
key or the fact. Sorting sorts row indices; filtering runs C-level loops
(`map`/`compress`) over those columns, the search texts kept in display order. A text
filter that contains a recent one (the operator typed another character) narrows that
one's result instead of scanning every row, and a recent text (backspace) is answered
from its cached result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import compress, repeat
from operator import attrgetter, contains
from typing import Any, Final, Literal

from fmcsa_tui.models import CompanySummary, Source, Status
from fmcsa_tui.store.listing import (
    FACTS,
    TESTS,
    CompanyFilter,
    Condition,
    Fact,
    dot_order,
    joined_search_decides,
    search_text,
)

__all__ = [
    "COLUMNS",
    "SORT_COLUMNS",
    "STATUS_RANK",
    "Column",
    "CompanyRows",
    "column_widths",
]

Align = Literal["left", "right"]
MissingPlace = Literal["last", "oldest"]


@dataclass(frozen=True, slots=True)
class Column:
    """One list column. `width` 0 means "the rest of the line" (at least `min_width`)."""

    key: str
    title: str
    width: int
    align: Align = "left"
    min_width: int = 0


COLUMNS: Final = (
    Column("dot", "DOT", 8, "right"),
    Column("name", "Name", 0, min_width=16),
    Column("status", "Status", 10),
    Column("last_run", "Last run", 8),
    Column(Source.CSA_SCORES.value, "CSA", 11),
    Column(Source.VIOLATIONS.value, "Violations", 11),
    Column(Source.INSPECTIONS.value, "Inspections", 11),
)
#: Column keys, which are also the sort keys, in display order.
SORT_COLUMNS: Final = tuple(column.key for column in COLUMNS)
#: Cells between two columns.
GAP: Final = 1
#: Sorting by status puts the worst first.
STATUS_RANK: Final[dict[Status, int]] = {"failed": 0, "unreadable": 1, "never": 2, "ok": 3}

#: How many recent text filters keep their result (for backspace and narrowing).
_TEXT_CACHE_SIZE: Final = 8

_FIXED_WIDTH = sum(column.width for column in COLUMNS) + GAP * (len(COLUMNS) - 1)


def column_widths(width: int) -> tuple[int, ...]:
    """The width of every column for a line `width` cells wide (may exceed it)."""
    return tuple(column.width or max(column.min_width, width - _FIXED_WIDTH) for column in COLUMNS)


def _dot_key(summary: CompanySummary) -> str | None:
    dot = summary.dot_number
    return None if dot is None else dot_order(dot)


def _name_key(summary: CompanySummary) -> str | None:
    return summary.name.casefold() if summary.name else None


def _status_key(summary: CompanySummary) -> int:
    return STATUS_RANK.get(summary.status, len(STATUS_RANK))


def _timestamp_of(field: str) -> Callable[[CompanySummary], float | None]:
    get = attrgetter(field)

    def key(summary: CompanySummary) -> float | None:
        stamp: datetime | None = get(summary)
        return None if stamp is None else stamp.timestamp()  # floats sort fastest

    return key


#: Per sort column: the key of a row, and where rows whose key is None go:
#: "last" in both directions, or "oldest" (first ascending, last descending).
_SORT_KEYS: Final[dict[str, tuple[Callable[[CompanySummary], Any], MissingPlace]]] = {
    "dot": (_dot_key, "last"),
    "name": (_name_key, "last"),
    "status": (_status_key, "last"),
    "last_run": (_timestamp_of("last_run"), "last"),
    Source.CSA_SCORES.value: (_timestamp_of("csa_scores_last_sync"), "oldest"),
    Source.VIOLATIONS.value: (_timestamp_of("violations_last_sync"), "oldest"),
    Source.INSPECTIONS.value: (_timestamp_of("inspections_last_sync"), "oldest"),
}


def sort_key(column: str, summary: CompanySummary) -> Any:
    """The row's key for `column`, or None for a missing value."""
    return _SORT_KEYS[column][0](summary)


class CompanyRows:
    """Company summaries in sort order, and the filtered view of them.

    `view` lists row indices (into the internal row list) in display order; read rows
    with `at(position)`. Lists are replaced, never mutated, so a caller may keep one.
    """

    def __init__(self) -> None:
        self._rows: list[CompanySummary] = []
        self._index: dict[str, int] = {}  # company id -> row index
        self._search: list[str] = []
        self._keys: dict[str, list[Any]] = {}  # sort column -> key per row, built lazily
        self._facts: dict[Fact, list[Any]] = {}  # filter fact -> value per row, built lazily
        self._order: list[int] = []  # every row, in sort order
        self._order_search: list[str] = []  # search texts in `_order` order (copies)
        self._position: list[int] | None = None  # row index -> place in `_order`, lazily
        # Recent text filters' results, oldest first: row indices and their search texts.
        self._text_cache: dict[str, tuple[list[int], list[str]]] = {}
        self._filter = CompanyFilter()
        self._now: datetime | None = None
        self.sort_column: str = "dot"
        self.sort_reverse: bool = False
        self.view: list[int] = []
        #: How many rows have each status, kept as rows change (a header must not walk
        #: 100,000 rows on every run event).
        self.status_counts: Counter[str] = Counter()

    # -- reading

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def filter(self) -> CompanyFilter:
        return self._filter

    def at(self, position: int) -> CompanySummary:
        """The summary shown at `position` of the view."""
        return self._rows[self.view[position]]

    def get(self, company_id: str) -> CompanySummary | None:
        index = self._index.get(company_id)
        return None if index is None else self._rows[index]

    def position_of(self, company_id: str) -> int | None:
        """Where the company is in the view, or None (unknown or filtered out)."""
        index = self._index.get(company_id)
        if index is None:
            return None
        try:
            return self.view.index(index)
        except ValueError:
            return None

    def visible_summaries(self) -> list[CompanySummary]:
        rows = self._rows
        return [rows[index] for index in self.view]

    # -- changing the data

    def set_rows(self, summaries: Iterable[CompanySummary]) -> None:
        """Replace every row. A repeated id keeps its last summary, at its first place."""
        rows = list(summaries)
        index = {summary.id: at for at, summary in enumerate(rows)}
        self.status_counts = Counter()
        self._keys = {}
        self._facts = {}
        if len(index) == len(rows):
            self._rows, self._index = rows, index
            self._search = list(map(search_text, rows))
            self.status_counts = Counter(summary.status for summary in rows)
        else:  # repeated ids: the slow path
            self._rows, self._index, self._search = [], {}, []
            self._add(rows)
        self._order = self._sorted(list(range(len(self._rows))))
        self._order_changed()

    def upsert(self, summaries: Iterable[CompanySummary]) -> None:
        """Add or replace rows by id; changed and new rows move to their sorted place."""
        summaries = list(summaries)
        if not summaries:
            return
        count = len(self._rows)
        key_changed = self._add(summaries)
        added = list(range(count, len(self._rows)))
        if not added and not key_changed:  # the usual live update: same rows, same order
            self._texts_changed(summaries)
            return
        order = self._order + added if added else self._order
        if added or key_changed:
            order = self._sorted(order)
        self._order = order
        self._order_changed()

    def remove(self, ids: Iterable[str]) -> None:
        doomed = {self._index[company_id] for company_id in ids if company_id in self._index}
        if not doomed:
            return
        for index in doomed:
            self.status_counts[self._rows[index].status] -= 1
        keep = [index for index in range(len(self._rows)) if index not in doomed]
        new_index = [-1] * len(self._rows)
        for new, old in enumerate(keep):
            new_index[old] = new

        def kept(values: list[Any]) -> list[Any]:
            return [values[old] for old in keep]

        self._rows = kept(self._rows)
        self._search = kept(self._search)
        self._keys = {column: kept(keys) for column, keys in self._keys.items()}
        self._facts = {fact: kept(values) for fact, values in self._facts.items()}
        self._index = {summary.id: new for new, summary in enumerate(self._rows)}
        self._order = [new_index[old] for old in self._order if new_index[old] >= 0]
        self._order_changed()

    def _add(self, summaries: Iterable[CompanySummary]) -> bool:
        """Append new rows, replace known ones; True when a replaced row's sort key changed."""
        rows, index, search = self._rows, self._index, self._search
        keys = self._keys.get(self.sort_column)
        get_key = _SORT_KEYS[self.sort_column][0]
        # every other column built so far, sort keys and filter facts alike
        other_columns = [
            (_SORT_KEYS[column][0], values)
            for column, values in self._keys.items()
            if column != self.sort_column
        ]
        other_columns += [(FACTS[fact], values) for fact, values in self._facts.items()]
        key_changed = False
        counts = self.status_counts
        for summary in summaries:
            at = index.get(summary.id)
            counts[summary.status] += 1
            if at is None:
                index[summary.id] = len(rows)
                rows.append(summary)
                search.append(search_text(summary))
                if keys is not None:
                    keys.append(get_key(summary))
                for key_of, values in other_columns:
                    values.append(key_of(summary))
                continue
            counts[rows[at].status] -= 1
            rows[at] = summary
            search[at] = search_text(summary)
            if keys is not None:
                key = get_key(summary)
                if key != keys[at]:
                    keys[at] = key
                    key_changed = True
            for key_of, values in other_columns:
                values[at] = key_of(summary)
        return key_changed

    # -- sorting

    def set_sort(self, column: str, reverse: bool) -> None:
        if column not in _SORT_KEYS:
            raise ValueError(f"unknown sort column {column!r}")
        if (column, reverse) == (self.sort_column, self.sort_reverse):
            return
        self.sort_column, self.sort_reverse = column, reverse
        self._order = self._sorted(self._order)
        self._order_changed()

    def _sorted(self, order: list[int]) -> list[int]:
        """`order` sorted by the sort column; ties keep their order in `order` (stable)."""
        column, reverse = self.sort_column, self.sort_reverse
        key_of, missing_place = _SORT_KEYS[column]
        keys = self._keys.get(column)
        if keys is None:
            keys = self._keys[column] = list(map(key_of, self._rows))
        present = [index for index in order if keys[index] is not None]
        present.sort(key=keys.__getitem__, reverse=reverse)
        if len(present) == len(order):
            return present
        missing = [index for index in order if keys[index] is None]
        if missing_place == "oldest" and not reverse:
            return missing + present
        return present + missing

    # -- filtering

    def set_filter(self, flt: CompanyFilter, now: datetime) -> None:
        self._filter, self._now = flt, now
        self.view = self._filtered()

    def refilter(self, now: datetime) -> None:
        """Apply the filter again at a new time (the stale rule depends on it)."""
        self._now = now
        self.view = self._filtered()

    def _order_changed(self) -> None:
        # Fresh copies, allocated in display order: a scan then reads memory in order,
        # 2-3 times faster than following 100,000 scattered strings. The copies end in
        # \x1f, which no needle scanned here contains, so they match exactly as well.
        search = self._search
        self._order_search = [search[index] + "\x1f" for index in self._order]
        self._position = None
        self._text_cache = {}
        self.view = self._filtered()

    def _texts_changed(self, summaries: list[CompanySummary]) -> None:
        """Rows replaced in place: patch their copies instead of rebuilding 100,000
        (a bulk run replaces a few rows four times a second)."""
        if self._position is None:
            position = [0] * len(self._order)
            for place, index in enumerate(self._order):
                position[index] = place
            self._position = position
        order_search = list(self._order_search)  # a new list: callers may hold the old one
        for summary in summaries:
            at = self._index[summary.id]
            order_search[self._position[at]] = self._search[at] + "\x1f"
        self._order_search = order_search
        self._text_cache = {}
        self.view = self._filtered()

    def _text_filtered(self, needle: str) -> list[int]:
        """`_order` narrowed to the rows whose search text holds `needle` (see
        `joined_search_decides`), from the cache of recent texts when it can."""
        cache = self._text_cache
        if needle in cache:  # back to an earlier text (backspace)
            cache[needle] = cache.pop(needle)
            return cache[needle][0]
        # Narrow the result of the longest earlier text inside this one, if any.
        indices, texts = self._order, self._order_search
        narrowest = max((known for known in cache if known in needle), key=len, default=None)
        if narrowest is not None:
            indices, texts = cache[narrowest]
        hits = list(map(contains, texts, repeat(needle)))
        cache[needle] = (list(compress(indices, hits)), list(compress(texts, hits)))
        while len(cache) > _TEXT_CACHE_SIZE:
            del cache[next(iter(cache))]
        return cache[needle][0]

    def _filtered(self) -> list[int]:
        """The view: `_order` narrowed by every condition of the filter.

        A text the joined search texts decide goes first, through the cache; every
        other condition is its test over the column of its fact.
        """
        conditions = self._filter.conditions(self._now)
        text = next((c for c in conditions if _joined_text(c)), None)
        view = self._order if text is None else self._text_filtered(text.value)
        for condition in conditions:
            if condition is not text:
                facts = self._fact_column(condition.fact)
                test, value = TESTS[condition.test], condition.value
                view = list(compress(view, map(test, map(facts.__getitem__, view), repeat(value))))
        return view

    def _fact_column(self, fact: Fact) -> list[Any]:
        """The fact of every row, by row index; kept up to date once built."""
        values = self._facts.get(fact)
        if values is None:
            values = self._facts[fact] = list(map(FACTS[fact], self._rows))
        return values


def _joined_text(condition: Condition) -> bool:
    return condition.test == "has_text" and joined_search_decides(condition.value)
