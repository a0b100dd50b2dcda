"""The company list's data model: rows, sort and filter, without any widget.

The filter is the stores' rule (`fmcsa_tui.store.listing`): the model applies each of
the filter's conditions to packed columns of the facts it tests, and `Condition.holds`
itself to a few rows (a live update) or to a condition it has no column for.

Built for a census (1,000,000 rows): no object per carrier. Rows are `ListRow`s kept
as columns by row index (a row index never changes; a removed row is a tombstone):
ids and search texts as lists of strings, names interned, a DOT or MC number only
when its search text cannot give it back (`listing.kept_text`), statuses and success
as bytes, times as `array('q')` of microseconds. `summary(row)` builds a
`CompanySummary` when one is wanted (a row on screen, the highlighted one).

Sorting computes a permutation of row indices (`_order`) by the column's key, sorting
the rows themselves by a key column indexed by row (names as their rank among the
distinct names: ints sort faster than text); while the rows are in a scan's DOT order
(`_in_dot_order`, checked as rows come and change) sorting by DOT is that order, in C.
A fact a filter tests is copied into display order when a filter first
needs it after a sort (and kept up to date after), so a filter is a C-level loop
(`map`/`compress`) over one column and a sort copies nothing it does not need. The
view is a sorted sequence of display positions. A text filter that contains a recent
one (another character typed) narrows that one's result, and a recent text (backspace)
is answered from the cache. The operator's search can stop once the screen is full
(`set_filter(first=)`): the rest is found a step at a time (`advance`, see
`fmcsa_tui.ui.text_scan`), and every other change completes it first. A live update
patches its rows in place (or moves them to their sorted place) and patches the view,
never rebuilding the columns.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import compress, count, repeat
from operator import and_, attrgetter, contains, eq, gt, is_, itemgetter, lt, ne, not_
from typing import Any, Final, Literal

from fmcsa_tui.models import CompanySummary, Source, Status
from fmcsa_tui.store.listing import (
    NO_TIME,
    SEARCH_SEPARATOR,
    STATUSES,
    CompanyFilter,
    Condition,
    ListColumns,
    ListRow,
    all_hold,
    columns_of,
    dot_order,
    joined_search_decides,
    list_row,
    micros,
    moment,
    shown_fields,
    sources_of,
)
from fmcsa_tui.ui.id_index import IdIndex
from fmcsa_tui.ui.text_scan import TextScan

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
#: Sorting by status puts the worst first (`listing.STATUSES`' order, whose codes a
#: store's scan gives).
STATUS_RANK: Final[dict[Status, int]] = {status: code for code, status in enumerate(STATUSES)}

#: How many recent text filters keep their result (for backspace and narrowing).
_TEXT_CACHE_SIZE: Final = 8
#: Search texts a search tests per step (`CompanyRows.advance`): 2-7 ms of C. A search
#: of no more texts is done at once even when asked for its first rows (one frame, no
#: count to come).
SCAN_STEP: Final = 65_536
#: The first step of a search that looks for a screen of rows.
_FIRST_STEP: Final = 512

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


_STATUS_OF: Final[tuple[Status, ...]] = STATUSES
_REMOVED: Final = len(STATUS_RANK)  # a removed row's status code: in no order, no count
_SUCCESS_OF: Final = (False, True, None)
#: The time columns of a list row, by their place in `ListRow`.
_TIME_FIELDS: Final = ("last_run", "csa", "viol", "insp", "updated")
#: A sort column's time column.
_SORT_TIMES: Final = {
    "last_run": "last_run",
    Source.CSA_SCORES.value: "csa",
    Source.VIOLATIONS.value: "viol",
    Source.INSPECTIONS.value: "insp",
}
#: Facts the filters test that get a display-order column (besides the search text).
_ORDERED_FACTS: Final = ("status", "error_sources", "oldest_success", "last_run")


class CompanyRows:
    """Company rows in sort order, and the filtered view of them.

    `view` lists display positions (sorted) of the rows that pass the filter; read rows
    with `at(position)` or `id_at(position)`. A view is replaced, never mutated, so a
    caller may keep one. While a search is `pending` the view holds the rows found so
    far (the first ones in display order).
    """

    def __init__(self, scan_step: int = SCAN_STEP) -> None:
        # By row index; rows are only appended (a removed one keeps its index).
        self._ids: list[str] = []
        self._index = IdIndex(self._ids, self._removed)  # company id -> row index
        self._search: list[str] = []
        self._names: list[str | None] = []  # interned
        self._kept: dict[int, tuple[str | None, str | None]] = {}  # a kept DOT, MC number
        self._status = bytearray()  # STATUS_RANK codes, _REMOVED
        self._success = bytearray()  # 0, 1, 2 for none
        self._times = {field: array("q") for field in _TIME_FIELDS}
        self._sources = array("H")  # code into _source_sets
        self._source_sets: list[str] = []  # `sources_text` per code
        self._source_codes: dict[str, int] = {}
        self._error_counts = array("i")
        self._problems: dict[int, str] = {}
        self._interned: dict[str | None, str | None] = {}
        # Whether the row indices are in the DOT order (rows without a DOT last), as a
        # store scan gives them: then sorting by DOT needs no keys (`_dot_order`).
        self._in_dot_order = True
        # Display order, and the filtered facts in it.
        self._order = array("i")
        # Built when a filter first needs one after a sort (`_ordered`), then kept.
        self._order_facts: dict[str, Any] = {}
        self._text_cache: dict[str, tuple[array[int], list[str]]] = {}
        # The operator's search under way, and the filter's other conditions.
        self._scan: TextScan | None = None
        self._scan_rest: list[Condition] = []
        self.scan_step = scan_step
        self._counts: Counter[str] | None = None
        self._filter = CompanyFilter()
        self._now: datetime | None = None
        self.sort_column: str = "dot"
        self.sort_reverse: bool = False
        self.view: Sequence[int] = range(0)
        # Display places from here on hold a load's rows not sorted yet (in the scan's
        # order, at the end): sorted once they are as many as the rows before, and by
        # `settle` (the load's end) or any change that needs the order sorted.
        self._unsorted_from: int | None = None

    # -- reading

    def __len__(self) -> int:
        return len(self._order)

    @property
    def filter(self) -> CompanyFilter:
        return self._filter

    @property
    def pending(self) -> bool:
        """Whether a search is still finding rows (`advance`): the view holds those
        found so far."""
        return self._scan is not None

    @property
    def status_counts(self) -> Counter[str]:
        """How many rows have each status (all rows, whatever the filter): counted in
        C over one byte per row, once per change of the rows (the header asks after
        every keystroke: 4 ms at 1,000,000 rows)."""
        if self._counts is None:
            statuses = self._status  # by row index: a removed row's code is counted nowhere
            self._counts = Counter(
                {status: statuses.count(code) for code, status in enumerate(_STATUS_OF)}
            )
        return Counter(self._counts)

    def at(self, position: int) -> CompanySummary:
        """The summary shown at `position` of the view."""
        return self.summary(self._order[self.view[position]])

    def id_at(self, position: int) -> str:
        return self._ids[self._order[self.view[position]]]

    def get(self, company_id: str) -> CompanySummary | None:
        row = self._index.get(company_id)
        return None if row is None else self.summary(row)

    def position_of(self, company_id: str) -> int | None:
        """Where the company is in the view, or None (unknown or filtered out)."""
        row = self._index.get(company_id)
        if row is None:
            return None
        place = self._order.index(row)
        while self._scan is not None and self._scan.frontier(len(self._order)) <= place:
            self.advance()  # a search under way finds the rows up to it first
        at = bisect_left(self.view, place)
        return at if at < len(self.view) and self.view[at] == place else None

    def visible_ids(self) -> list[str]:
        self.complete()
        ids, order = self._ids, self._order
        return [ids[order[place]] for place in self.view]

    def visible_summaries(self) -> list[CompanySummary]:
        self.complete()
        order = self._order
        return [self.summary(order[place]) for place in self.view]

    def list_row(self, row: int) -> ListRow:
        kept_dot, kept_mc = self._kept.get(row, (None, None))
        times = self._times
        return (
            self._ids[row],
            self._search[row],
            kept_dot,
            self._names[row],
            kept_mc,
            _STATUS_OF[self._status[row]],
            self._success[row],
            times["last_run"][row],
            times["csa"][row],
            times["viol"][row],
            times["insp"][row],
            self._source_sets[self._sources[row]],
            self._error_counts[row],
            times["updated"][row],
            self._problems.get(row),
        )

    def summary(self, row: int) -> CompanySummary:
        """The row as the `CompanySummary` it was given as."""
        search = self._search[row]
        kept_dot, kept_mc = self._kept.get(row, (None, None))
        dot, name, mc = shown_fields(search, (kept_dot, self._names[row], kept_mc))
        times = self._times
        return CompanySummary(
            self._ids[row],
            dot,
            name,
            mc,
            _STATUS_OF[self._status[row]],
            moment(times["last_run"][row]),
            _SUCCESS_OF[self._success[row]],
            moment(times["csa"][row]),
            moment(times["viol"][row]),
            moment(times["insp"][row]),
            sources_of(self._source_sets[self._sources[row]]),
            self._error_counts[row],
            moment(times["updated"][row]),
            self._problems.get(row),
        )

    # -- changing the data

    def set_rows(self, summaries: Iterable[CompanySummary]) -> None:
        """Replace every row. A repeated id keeps its last summary, at its first place."""
        self.clear()
        latest = {summary.id: list_row(summary) for summary in summaries}
        self._append(columns_of(list(latest.values())))
        self._in_dot_order = len(latest) <= 1  # in any order: not checked
        self._resort(range(len(self._ids)))

    def clear(self) -> None:
        """No rows; the sort and the filter stay."""
        sort, flt, now = (self.sort_column, self.sort_reverse), self._filter, self._now
        self.__init__(self.scan_step)  # type: ignore[misc]
        self.sort_column, self.sort_reverse = sort
        self._filter, self._now = flt, now

    def extend(self, columns: ListColumns) -> None:
        """Add rows as a store scan gives them (in DOT order), a batch at a time while
        loading, each column extended in C; a known id among them is an update."""
        self.complete()
        ids, index, first = columns.ids, self._index, len(self._ids)
        had = len(index)
        index.add(ids, range(first, first + len(ids)), first + len(ids))  # no check first
        if len(index) != had + len(ids):  # rare: a known or repeated id
            self._reindex()
            self._extend_rows(columns.rows())  # row by row
            return
        self._place_appended(columns, indexed=True)

    def _removed(self, row: int) -> bool:
        return self._status[row] == _REMOVED

    def _reindex(self) -> None:
        """The index of every row there is (a batch's ids put in it taken out again)."""
        alive = list(map(ne, self._status, repeat(_REMOVED)))
        rows = range(len(self._status))
        self._index = IdIndex(self._ids, self._removed)
        self._index.add(compress(self._ids, alive), compress(rows, alive), len(rows))

    def _extend_rows(self, rows: list[ListRow]) -> None:
        """`extend` when some ids are known (updates) or repeated (the last wins)."""
        ids = list(map(itemgetter(0), rows))
        seen = list(map(self._index.__contains__, ids))
        known = list(compress(rows, seen)) if any(seen) else []
        fresh = list(compress(rows, map(not_, seen))) if known else rows
        repeated = len(set(ids)) != len(ids)
        if repeated:  # the last wins, at the first's place: the rows' order is not checked
            fresh = list({row[0]: row for row in fresh}.values())
            self._in_dot_order = False
        self._place_appended(columns_of(fresh), in_order=not repeated)
        if known:
            self.upsert_rows(known)

    def _place_appended(
        self, columns: ListColumns, *, indexed: bool = False, in_order: bool = True
    ) -> None:
        """New rows onto the columns, then into the order: at its end when they follow
        it (a scan's next batch `in_order` of DOT, sorted by DOT), else by sorting."""
        first, placed = len(self._ids), len(self._order)  # removed rows make these differ
        self._append(columns, indexed=indexed)
        if len(self._ids) > first:
            if not in_order:
                self._resort(range(first, len(self._ids)))
                return
            appended = self._appends_in_order(first)
            self._order.extend(range(first, len(self._ids)))
            self._arrange(placed)
            self.view = self._extended_view(placed)
            if not appended:  # another sort: sorting every part of a load cost 400 ms each
                sorted_up_to = placed if self._unsorted_from is None else self._unsorted_from
                self._unsorted_from = sorted_up_to
                if len(self._order) >= 2 * sorted_up_to:  # as many as before: sort them
                    self._resort()

    @property
    def settled(self) -> bool:
        """Whether every row is in its sorted place (no load's rows wait at the end)."""
        return self._unsorted_from is None

    def settle(self) -> None:
        """Sort the rows a load left at the end of the order (see `_unsorted_from`)."""
        if self._unsorted_from is not None:
            self._resort()

    def upsert(self, summaries: Iterable[CompanySummary]) -> None:
        """Add or replace rows by id; changed and new rows move to their sorted place."""
        self.upsert_rows([list_row(summary) for summary in summaries])

    def upsert_rows(self, rows: list[ListRow]) -> None:
        """A live update: each row is patched in place, or moved to its sorted place
        when its sort key changed (or it is new); the view is patched, not rebuilt,
        unless rows moved."""
        latest = {row[0]: row for row in rows}
        if not latest:
            return
        self.complete()
        self._counts = None
        self.settle()
        moved: list[tuple[int, bool]] = []
        patched: list[int] = []
        for company_id, row in latest.items():
            at = self._index.get(company_id)
            if at is None:
                self._append(columns_of([row]))
                moved.append((len(self._ids) - 1, False))
                continue
            before = self._sort_value(at)
            self._replace(at, row)
            if self._sort_value(at) == before:
                patched.append(at)
            else:
                moved.append((at, True))
        for at, placed in moved:  # out first: a binary search needs the rest in order
            if placed:
                self._unplace(self._order.index(at))
        for at, _ in moved:
            self._place(at)
        if moved:
            for at in patched:
                self._repaint(at, self._order.index(at))
            self._text_cache = {}
            self.view = self._filtered()
            return
        self._patch(patched)

    def remove(self, ids: Iterable[str]) -> None:
        self.settle()
        doomed = [
            self._index.pop(company_id) for company_id in set(ids) if company_id in self._index
        ]
        if not doomed:
            return
        self.complete()
        self._counts = None
        for row in doomed:
            self._status[row] = _REMOVED
            self._unplace(self._order.index(row))
        self._text_cache = {}
        self.view = self._filtered()

    # -- the columns

    def _append(self, columns: ListColumns, *, indexed: bool = False) -> None:
        """New rows onto every column, each extended in C from the batch's column (its
        status codes are ours), and into the index unless they are `indexed` already.
        Rows come in the DOT order (a scan's batch, or one row): the first is checked
        against the last row before them."""
        if not len(columns):
            return
        self._counts = None
        first = len(self._ids)
        if self._in_dot_order and first:
            after = _dot_key_of(columns.search[0], columns.dots[0])
            self._in_dot_order = _dot_in_order(self._dot_value(first - 1), after)
        ids = columns.ids
        self._ids.extend(ids)
        if not indexed:
            self._index.add(ids, range(first, first + len(ids)), first + len(ids))
        self._search.extend(columns.search)
        names = columns.names
        self._names.extend(map(self._interned.setdefault, names, names))
        dots, mcs = columns.dots, columns.mcs
        if dots.count(None) != len(dots) or mcs.count(None) != len(mcs):  # rare: skip in C
            for at, (dot, mc) in enumerate(zip(dots, mcs, strict=True), start=first):
                if dot is not None or mc is not None:
                    self._kept[at] = (dot, mc)
        self._status.extend(columns.statuses)
        self._success.extend(columns.success)
        for field, column in self._times.items():
            column.extend(getattr(columns, field))
        sources = columns.sources
        for text in set(sources).difference(self._source_codes):  # a census has a handful
            self._source_code(text)
        self._sources.extend(map(self._source_codes.__getitem__, sources))
        self._error_counts.extend(columns.error_counts)
        problems = columns.problems
        if problems.count(None) != len(problems):
            for at, problem in enumerate(problems, start=first):
                if problem is not None:
                    self._problems[at] = problem

    def _source_code(self, text: str) -> int:
        code = self._source_codes.get(text)
        if code is None:
            code = self._source_codes[text] = len(self._source_sets)
            self._source_sets.append(text)
        return code

    def _replace(self, at: int, row: ListRow) -> None:
        """One known row's values, in place."""
        (_, search, dot, name, mc, status, success, last_run, csa, viol, insp, sources,
         count, updated, problem) = row  # fmt: skip
        if self._in_dot_order and _dot_key_of(search, dot) != self._dot_value(at):
            self._in_dot_order = False
        self._search[at] = search
        self._names[at] = None if name is None else self._interned.setdefault(name, name)
        if dot is not None or mc is not None:
            self._kept[at] = (dot, mc)
        else:
            self._kept.pop(at, None)
        self._status[at] = STATUS_RANK[status]
        self._success[at] = success
        for field, value in zip(_TIME_FIELDS, (last_run, csa, viol, insp, updated), strict=True):
            self._times[field][at] = value
        self._sources[at] = self._source_code(sources)
        self._error_counts[at] = count
        if problem is None:
            self._problems.pop(at, None)
        else:
            self._problems[at] = problem

    def _fact_values(self, fact: str, rows: Iterable[int]) -> Iterator[Any]:
        """A filtered fact of these rows, as its display-order column holds it."""
        if fact == "search":
            return map(self._search.__getitem__, rows)
        if fact == "status":
            return map(self._status.__getitem__, rows)
        if fact == "error_sources":
            return map(self._sources.__getitem__, rows)
        if fact == "oldest_success":  # the oldest of the three sources' (NO_TIME: one has none)
            rows = rows if isinstance(rows, Sequence) else list(rows)
            times = self._times
            csa, viol, insp = (map(times[t].__getitem__, rows) for t in ("csa", "viol", "insp"))
            return map(min, csa, viol, insp)
        return map(self._times["last_run"].__getitem__, rows)

    def _arrange(self, start: int = 0) -> None:
        """The display-order columns from `_order[start:]` (all of them from 0)."""
        self._text_cache, self._scan = {}, None
        if not start:  # a new order: each column is built when a filter needs it
            self._order_facts = {}
            return
        tail = self._order[start:]
        for fact, column in self._order_facts.items():
            column.extend(self._fact_values(fact, tail))
        self._ordered("search")  # while loading: ready before the first keystroke

    def _ordered(self, fact: str) -> Any:
        """A fact's display-order column (the search text too), built on first use."""
        column = self._order_facts.get(fact)
        if column is None:
            column = self._order_facts[fact] = _no_facts()[fact]
            column.extend(self._fact_values(fact, self._order))
        return column

    # -- sorting

    def set_sort(self, column: str, reverse: bool) -> None:
        if column not in _SORT_KEYS:
            raise ValueError(f"unknown sort column {column!r}")
        if (column, reverse) == (self.sort_column, self.sort_reverse):
            return
        self.sort_column, self.sort_reverse = column, reverse
        self._resort()

    def _resort(self, added: Sequence[int] = ()) -> None:
        """Sort the order (and `added` rows after it) by the sort column: stable, so
        ties keep their order (sort by name, then by status: names in order within
        each status); rows without a key go last, or first ascending for "oldest"."""
        self._unsorted_from = None
        base = array("i", self._order)
        base.extend(added)
        column, reverse = self.sort_column, self.sort_reverse
        if column == "dot" and self._in_dot_order and len(base) == len(self._index):
            present, missing = self._dot_order()
            if reverse:
                present.reverse()  # ties (one DOT twice) reversed too: ties come in any order
        elif column == "status":  # four codes: a counting sort, in C
            codes = bytes(map(self._status.__getitem__, base))
            present = array("i")
            for code in sorted(range(len(_STATUS_OF)), reverse=reverse):
                present.extend(compress(base, map(eq, codes, repeat(code))))
            missing = array("i")
        else:
            # Keys by row index, so the rows themselves are sorted (a sort of positions
            # would then gather the rows from all over `base`: slower than the sort).
            keys: Sequence[Any]
            if column in _SORT_TIMES:
                keys, none = self._times[_SORT_TIMES[column]], NO_TIME
            elif column == "name":
                keys, none = self._name_ranks(range(len(self._ids))), None
            else:
                keys, none = [*map(self._key_of(column), range(len(self._ids)))], None
            if none in keys:  # some row (maybe a removed one) has no key
                has = list(map(ne, map(keys.__getitem__, base), repeat(none)))
                rows = list(compress(base, has))
                missing = array("i", compress(base, map(not_, has)))
            else:
                rows, missing = base.tolist(), array("i")
            rows.sort(key=keys.__getitem__, reverse=reverse)  # type: ignore[arg-type]
            present = array("i", rows)
        if _SORT_KEYS[column][1] == "oldest" and not reverse:
            self._order = missing + present
        else:
            self._order = present + missing
        self._arrange()
        self.view = self._filtered()

    def _dot_order(self) -> tuple[array[int], array[int]]:
        """Every row with a DOT, then every row without, in row-index order, which is the
        DOT order (`_in_dot_order`): in C, no key per row. A DOT is missing when its
        search-text field is empty and no DOT is kept (an empty kept DOT is a DOT)."""
        rows = range(len(self._ids))
        missing_dot = list(map(str.startswith, self._search, repeat(SEARCH_SEPARATOR)))
        for row, (dot, _) in self._kept.items():
            if dot is not None:
                missing_dot[row] = False
        alive = list(map(ne, self._status, repeat(_REMOVED)))
        present = array("i", compress(rows, map(gt, alive, missing_dot)))
        missing = array("i", compress(rows, map(and_, alive, missing_dot)))
        return present, missing

    def _dot_value(self, row: int) -> str | None:
        """The row's DOT sort key (`dot_order`), None when it has none (a removed row's
        too)."""
        kept_dot = self._kept.get(row, (None, None))[0]
        return _dot_key_of(self._search[row], kept_dot)

    def _name_ranks(self, rows: Sequence[int]) -> list[int | None]:
        """Each row's place among the distinct name keys (None when it has none): ints
        sort over twice as fast as the keys. Each distinct (interned) name is folded and
        ranked once, then looked up by `map` in C."""
        names = list(map(self._names.__getitem__, rows))
        folded: dict[str | None, str | None] = {
            name: name.casefold() or None for name in set(names) if name is not None
        }
        nameless = list(compress(range(len(names)), map(is_, names, repeat(None))))
        fields = self._name_fields([rows[at] for at in nameless])
        distinct = {*folded.values(), *fields}
        rank: dict[str | None, int | None] = {None: None, "": None}
        rank.update(zip(sorted(filter(None, distinct)), count()))
        field_ranks = list(map(rank.__getitem__, fields))
        if len(nameless) == len(names):  # every name upper case (a census)
            return field_ranks
        by_name = {name: rank[key] for name, key in folded.items()}
        by_name[None] = None
        keys = list(map(by_name.__getitem__, names))
        for at, field_rank in zip(nameless, field_ranks, strict=True):
            keys[at] = field_rank
        return keys

    def _name_keys(self, rows: Sequence[int]) -> list[str | None]:
        """The name key of each row (casefolded, None when missing), in C for kept
        names: each distinct name (interned) is folded once, then looked up by `map`."""
        names = list(map(self._names.__getitem__, rows))
        folded: dict[str | None, str | None] = {
            name: name.casefold() or None for name in set(names) if name is not None
        }
        folded[None] = None
        keys = list(map(folded.__getitem__, names))
        for at in compress(range(len(names)), map(is_, names, repeat(None))):
            keys[at] = self._folded_name_field(rows[at])
        return keys

    def _name_fields(self, rows: list[int]) -> list[str | None]:
        """The name field of these rows' search texts (`_folded_name_field`), split in C
        (FMCSA's upper-case names keep no name of their own: a census's every row), each
        row with a kept DOT (which may hold the separator) on its own."""
        search = map(self._search.__getitem__, rows)
        parts = map(str.split, search, repeat(SEARCH_SEPARATOR), repeat(2))
        fields: list[str | None] = list(map(itemgetter(1), parts))
        dotted = [row for row, (dot, _) in self._kept.items() if dot is not None]
        if dotted:
            where = dict(zip(rows, count()))
            for row in filter(where.__contains__, dotted):
                fields[where[row]] = self._folded_name_field(row)
        return fields

    def _folded_name_field(self, row: int) -> str | None:
        """An upper-case name's key: its casefold, which is the search text's field
        after the DOT's (a kept DOT says where that ends; a dropped one holds no
        separator)."""
        kept = self._kept.get(row)
        dot = kept[0] if kept is not None else None
        search = self._search[row]
        start = search.find(SEARCH_SEPARATOR) + 1 if dot is None else len(dot.casefold()) + 1
        end = search.find(SEARCH_SEPARATOR, start)
        return search[start : end if end >= 0 else len(search)] or None

    def _key_of(self, column: str) -> Callable[[int], Any]:
        """A text column's key of a row: `dot_order`, or the casefolded name."""
        if column == "name":
            return lambda row: self._name_keys((row,))[0]

        return self._dot_value

    def _sort_value(self, row: int) -> Any:
        """The row's key for the sort column (None or NO_TIME when missing)."""
        column = self.sort_column
        if column == "status":
            return self._status[row]
        if column in _SORT_TIMES:
            return self._times[_SORT_TIMES[column]][row]
        return self._key_of(column)(row)

    def _before(self, row: int, other: int) -> bool:
        """Whether `row` goes before `other` in the display order (the sort rule)."""
        mine, theirs = self._sort_value(row), self._sort_value(other)
        missing = (None, NO_TIME) if self.sort_column != "status" else ()
        if (mine in missing) != (theirs in missing):
            oldest_first = _SORT_KEYS[self.sort_column][1] == "oldest" and not self.sort_reverse
            return (mine in missing) == oldest_first
        if mine in missing or mine == theirs:
            return (row < other) != (self.sort_reverse and mine not in missing)
        return (mine < theirs) != self.sort_reverse

    def _place(self, row: int) -> None:
        """Put one row (not in the order) at its sorted place, shifting the columns in C."""
        order = self._order
        low, high = 0, len(order)
        while low < high:
            middle = (low + high) // 2
            if self._before(order[middle], row):
                low = middle + 1
            else:
                high = middle
        order.insert(low, row)
        for fact, column in self._order_facts.items():
            column.insert(low, next(self._fact_values(fact, (row,))))

    def _unplace(self, place: int) -> None:
        del self._order[place]
        for column in self._order_facts.values():
            del column[place]

    def _appends_in_order(self, first: int) -> bool:
        """Whether rows from `first` on go after every row already in order (a scan's
        next batch in the DOT order), so the order grows at its end."""
        if self.sort_column != "dot" or self.sort_reverse:
            return False
        return not self._order or not self._before(first, self._order[-1])

    # -- filtering

    def set_filter(self, flt: CompanyFilter, now: datetime, first: int | None = None) -> None:
        """Filter the rows; with `first`, a search stops once it has found that many rows
        to show (`pending`), and `advance` finds the rest."""
        self._filter, self._now = flt, now
        self.view = self._filtered(first)

    def refilter(self, now: datetime) -> None:
        """Apply the filter again at a new time (the stale rule depends on it)."""
        self._now = now
        self.view = self._filtered()

    def advance(self, size: int | None = None) -> bool:
        """Find the rows of one more step of the search under way (`size` texts, by
        default `scan_step`); whether one is still under way."""
        scan = self._scan
        if scan is None:
            return False
        added = self._narrowed(scan.step(size or self.scan_step), self._scan_rest)
        if added:
            self.view = array("i", self.view) + array("i", added)
        if scan.done:
            self._scan = None
            self._cache_text(scan.needle, (scan.places, scan.texts))
        return self._scan is not None

    def reach(self, count: int) -> None:
        """Advance the search under way until the view has `count` rows (or it is done),
        in steps growing from `_FIRST_STEP` (a screen's rows are usually near)."""
        size = min(_FIRST_STEP, self.scan_step)
        while len(self.view) < count and self.advance(size):
            size = min(2 * size, self.scan_step)

    def complete(self) -> None:
        """Finish the search under way, if any."""
        while self.advance():
            pass

    def _patch(self, rows: list[int]) -> None:
        """Rows changed in place: their display-order values, the view and the cached
        text results, each patched at the row's place."""
        conditions = self._filter.conditions(self._now)
        view = _copy(self.view) if isinstance(self.view, list | array) else None
        cache = self._text_cache = {
            needle: (array("i", places), list(texts))
            for needle, (places, texts) in self._text_cache.items()
        }  # copies: a caller may hold the old view, which is one of these
        for row in rows:
            place = self._order.index(row)
            text = self._search[row]
            self._repaint(row, place)
            if view is not None:
                _keep(view, None, place, text, all_hold(conditions, self.summary(row)))
            for needle, (places, texts) in cache.items():
                _keep(places, texts, place, text, needle in text)
        if view is not None:
            self.view = view
        elif conditions:
            self.view = self._filtered()

    def _repaint(self, row: int, place: int) -> None:
        """A row changed in place: its values in the display-order columns."""
        for fact, column in self._order_facts.items():
            column[place] = next(self._fact_values(fact, (row,)))

    def _text_scan(self, needle: str, under_way: TextScan | None) -> TextScan:
        """A search for `needle` (see `joined_search_decides`) narrowing the longest
        recent text inside it (another character typed), or the search under way."""
        cache = self._text_cache
        narrowest = max((known for known in cache if known in needle), key=len, default=None)
        if (
            under_way is not None
            and under_way.needle in needle
            and (narrowest is None or len(under_way.needle) >= len(narrowest))
        ):
            return under_way.narrowed(needle)
        if narrowest is not None:
            places, texts = cache[narrowest]
            return TextScan(needle, [(places, texts, 0)])
        return TextScan(needle, [(range(len(self._order)), self._ordered("search"), 0)])

    def _cache_text(self, needle: str, found: tuple[array[int], list[str]]) -> None:
        cache = self._text_cache
        cache.pop(needle, None)
        cache[needle] = found
        while len(cache) > _TEXT_CACHE_SIZE:
            del cache[next(iter(cache))]

    def _filtered(self, first: int | None = None) -> Sequence[int]:
        """The view: every display position, narrowed by each condition of the filter.

        A text the joined search texts decide goes first: a recent one from the cache,
        else a search (until `first` rows are found, or to the end); each other
        condition runs over its display-order column, or `Condition.holds` decides."""
        under_way, self._scan = self._scan, None
        conditions = self._filter.conditions(self._now)
        text = next((c for c in conditions if _joined_text(c)), None)
        rest = [condition for condition in conditions if condition is not text]
        if text is None:
            return self._narrowed(range(len(self._order)), rest)
        found = self._text_cache.get(text.value)
        if found is not None:  # back to an earlier text (backspace)
            self._cache_text(text.value, found)
            return self._narrowed(found[0], rest)
        self._scan, self._scan_rest = self._text_scan(text.value, under_way), rest
        self.view = array("i")
        if first is None or self._scan.untested <= self.scan_step:
            self.complete()
        else:
            self.reach(first)
        return self.view

    def _narrowed(self, view: Sequence[int], conditions: list[Condition]) -> Sequence[int]:
        for condition in conditions:
            view = list(compress(view, self._holds(condition, view)))
        return view

    def _extended_view(self, start: int) -> Sequence[int]:
        """The view after rows were added at the end of the order, from `start` on:
        only the new places are tested."""
        conditions = self._filter.conditions(self._now)
        if not conditions:
            return range(len(self._order))
        added: Sequence[int] = range(start, len(self._order))
        for condition in conditions:
            if _joined_text(condition):
                needle = condition.value
                texts = map(self._ordered("search").__getitem__, added)
                added = list(compress(added, map(contains, texts, repeat(needle))))
            else:
                added = list(compress(added, self._holds(condition, added)))
        return [*self.view, *added]

    def _holds(self, condition: Condition, places: Sequence[int]) -> Iterable[Any]:
        """Whether the condition holds at each display place, from its column in C when
        there is one, else by `Condition.holds` on the row's summary."""
        value = condition.value
        facts = self._ordered(condition.fact) if condition.fact in _ORDERED_FACTS else None
        column = facts if facts is not None else ()
        values = map(column.__getitem__, places) if facts is not None else iter(())
        match (condition.fact, condition.test):
            case ("status", "is" | "is_not"):
                code = STATUS_RANK.get(value, -1)
                return map(eq if condition.test == "is" else ne, values, repeat(code))
            case ("error_sources", "has"):
                table = [f"|{value}|" in text for text in self._source_sets]
                return map(table.__getitem__, values)
            case ("oldest_success" | "last_run", "missing_or_before"):
                return map(lt, values, repeat(micros(value)))
        order, summary = self._order, self.summary
        return (condition.holds(summary(order[place])) for place in places)


def _no_facts() -> dict[str, Any]:
    return {
        "search": [],
        "status": bytearray(),
        "error_sources": array("H"),
        "oldest_success": array("q"),
        "last_run": array("q"),
    }


def _copy(view: list[int] | array[int]) -> list[int] | array[int]:
    return array("i", view) if isinstance(view, array) else list(view)


def _keep(
    places: list[int] | array[int], texts: list[str] | None, place: int, text: str, wanted: bool
) -> None:
    """Put `place` in (or take it out of) a sorted list of places, and its text beside it."""
    at = bisect_left(places, place)
    there = at < len(places) and places[at] == place
    if wanted and not there:
        places.insert(at, place)
        if texts is not None:
            texts.insert(at, text)
    elif there and not wanted:
        del places[at]
        if texts is not None:
            del texts[at]
    elif there and texts is not None:
        texts[at] = text


def _joined_text(condition: Condition) -> bool:
    return condition.test == "has_text" and joined_search_decides(condition.value)


def _dot_key_of(search: str, kept_dot: str | None) -> str | None:
    """A row's DOT sort key (`dot_order`), None when it has none: the kept DOT, or the
    search text's first field upper-cased (as `shown_fields` gives it back)."""
    dot = kept_dot
    if dot is None:
        dot = search[: search.find(SEARCH_SEPARATOR)].upper() or None
    return None if dot is None else dot_order(dot)


def _dot_in_order(before: str | None, after: str | None) -> bool:
    """Whether a row with DOT key `after` may follow one with `before` in the DOT order
    (rows without a DOT last)."""
    return after is None or (before is not None and before <= after)
