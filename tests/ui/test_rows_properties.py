"""The compact list model against a straightforward one, on randomized fleets.

`CompanyRows` keeps packed columns, patches its view in place on a live update and
narrows cached text results; `Reference` below is the plain version: a dict of
`CompanySummary`, Python's `sorted` by the sort rule, and `CompanyFilter.matches`
(`store.listing`'s rule) per row. A state machine interleaves batched loading,
upserts, removals and filter, sort and time changes, and after every step the two
must agree on the rows in the view, their order (the sort keys in sequence, and which
rows share each key: ties may come in either order), the status counts and every
row's values. Searches test two texts a step (`scan_step`), and the operator's search may
stop at the first rows found (`first`, pending): the view is then the first rows of the
reference's, and the rest come from `advance` or any later change. Runs derandomized
(the `fmcsa-ci` profile in conftest).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from fmcsa_tui.models import CompanySummary, Source
from fmcsa_tui.store.listing import CompanyFilter, columns_of, in_dot_order, list_row
from fmcsa_tui.ui.rows import SORT_COLUMNS, CompanyRows

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
STATUSES = ("never", "ok", "failed", "unreadable")
SOURCES = tuple(source.value for source in Source)
#: Sorting by status puts the worst first (restated from the dashboard's docs).
STATUS_ORDER = {"failed": 0, "unreadable": 1, "never": 2, "ok": 3}
#: Source columns put a never-synced row first ascending ("oldest"), the rest last.
OLDEST_FIRST = set(SOURCES)
TIME_OF = {
    "last_run": "last_run",
    Source.CSA_SCORES.value: "csa_scores_last_sync",
    Source.VIOLATIONS.value: "violations_last_sync",
    Source.INSPECTIONS.value: "inspections_last_sync",
}

# Few distinct values, so ties, repeated names and shared prefixes are common.
times = st.one_of(
    st.none(),
    st.sampled_from(
        [NOW - timedelta(days=d, microseconds=m) for d in (0, 1, 9, 40) for m in (0, 7)]
    ),
)
dots = st.one_of(
    st.none(),
    st.sampled_from(["7", "10", "99", "100", "1000805", "1000812", "x9", "0"]),
    st.text(alphabet="0123456789", min_size=1, max_size=8),
)
names = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(["ACME TRUCKING", "Acme Trucking", "acme", "ÉTOILE", "Straße Co", "ZED"]),
    st.text(alphabet="abAB ßé\x1fİ", max_size=6),
)
mcs = st.one_of(st.none(), st.sampled_from(["MC-1", "MC1000", "mc-7", "ab"]))


@st.composite
def summaries(draw: st.DrawFn, company_id: str) -> CompanySummary:
    status = draw(st.sampled_from(STATUSES))
    errors = draw(st.frozensets(st.sampled_from((*SOURCES, "other")), max_size=2))
    return CompanySummary(
        company_id,
        draw(dots),
        draw(names),
        draw(mcs),
        status,
        draw(times),
        draw(st.sampled_from((None, True, False))),
        draw(times),
        draw(times),
        draw(times),
        errors,
        len(errors),
        draw(times),
        "bad document" if status == "unreadable" else None,
    )


ids = st.sampled_from([f"c{n:02d}" for n in range(40)])
fleets = st.lists(ids, max_size=30, unique=True)
filters = st.builds(
    CompanyFilter,
    text=st.sampled_from(["", "a", "ac", "acme", "acme t", "1", "10", "mc", "é", "ss", "\x1f"]),
    status=st.sampled_from([None, "never", "ok", "failed"]),
    failed_source=st.sampled_from([None, "any", *SOURCES, "other"]),
    stale_after=st.sampled_from([None, timedelta(days=2), timedelta(days=30)]),
    due_after=st.sampled_from([None, timedelta(hours=1), timedelta(days=10)]),
)


def sort_key(column: str, summary: CompanySummary) -> Any:
    """The plain sort key of a row, None when missing."""
    if column == "dot":
        dot = summary.dot_number
        return None if dot is None else (len(dot), dot)
    if column == "name":
        return summary.name.casefold() if summary.name else None
    if column == "status":
        return STATUS_ORDER[summary.status]
    return getattr(summary, TIME_OF[column])


class Reference:
    """The list done the obvious way: every summary, sorted and filtered on each look."""

    def __init__(self) -> None:
        self.rows: dict[str, CompanySummary] = {}
        self.filter = CompanyFilter()
        self.now = NOW
        self.sort = ("dot", False)

    def view(self) -> list[CompanySummary]:
        column, reverse = self.sort
        shown = [row for row in self.rows.values() if self.filter.matches(row, self.now)]
        present = [row for row in shown if sort_key(column, row) is not None]
        missing = [row for row in shown if sort_key(column, row) is None]
        present.sort(key=lambda row: sort_key(column, row), reverse=reverse)
        if column in OLDEST_FIRST and not reverse:
            return missing + present
        return present + missing


class ListModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.model = CompanyRows(scan_step=2)
        self.reference = Reference()

    @initialize(data=st.data(), fleet=fleets, batch=st.integers(1, 8))
    def load_in_batches(self, data: st.DataObject, fleet: list[str], batch: int) -> None:
        """A store scan: list rows in the listing order, a batch at a time."""
        rows = [data.draw(summaries(company_id)) for company_id in fleet]
        scanned = [list_row(row) for row in in_dot_order(rows)]
        self.model.clear()
        for start in range(0, len(scanned), batch):
            self.model.extend(columns_of(scanned[start : start + batch]))
        self.model.settle()  # the end of the scan
        self.reference.rows = {row.id: row for row in rows}

    @rule(data=st.data(), changed=st.lists(ids, max_size=5, unique=True))
    def upsert(self, data: st.DataObject, changed: list[str]) -> None:
        rows = [data.draw(summaries(company_id)) for company_id in changed]
        self.model.upsert(rows)
        self.reference.rows.update((row.id, row) for row in rows)

    @rule(data=st.data(), changed=st.lists(ids, max_size=5, unique=True))
    def upsert_unchanged_keys(self, data: st.DataObject, changed: list[str]) -> None:
        """A live update that keeps the sort key (patched in place, not moved)."""
        known = [company_id for company_id in changed if company_id in self.reference.rows]
        rows = []
        for company_id in known:
            old = self.reference.rows[company_id]
            new = data.draw(summaries(company_id))
            column = self.reference.sort[0]
            attribute = {"dot": "dot_number", "name": "name", "status": "status"}.get(
                column, TIME_OF.get(column)
            )
            rows.append(_with(new, **{attribute: getattr(old, attribute)}))
        self.model.upsert(rows)
        self.reference.rows.update((row.id, row) for row in rows)

    @rule(data=st.data(), fleet=fleets, batch=st.integers(1, 8))
    def load_more(self, data: st.DataObject, fleet: list[str], batch: int) -> None:
        """More batches of a scan, some of them rows already known (a reload)."""
        rows = [data.draw(summaries(company_id)) for company_id in fleet]
        scanned = [list_row(row) for row in in_dot_order(rows)]
        for start in range(0, len(scanned), batch):
            self.model.extend(columns_of(scanned[start : start + batch]))
        self.model.settle()  # the end of the scan
        self.reference.rows.update((row.id, row) for row in rows)

    @rule(data=st.data(), fleet=st.lists(ids, min_size=2, max_size=12), batch=st.integers(1, 8))
    def load_repeated_ids(self, data: st.DataObject, fleet: list[str], batch: int) -> None:
        """A scan that repeats ids (another program's ids that read alike), in a batch or
        across batches: the last in the scan's order wins."""
        rows = [data.draw(summaries(company_id)) for company_id in fleet]
        scanned = in_dot_order(rows)
        columns = [list_row(row) for row in scanned]
        for start in range(0, len(columns), batch):
            self.model.extend(columns_of(columns[start : start + batch]))
        self.model.settle()  # the end of the scan
        self.reference.rows.update((row.id, row) for row in scanned)

    @rule(gone=st.lists(ids, max_size=6))
    def remove(self, gone: list[str]) -> None:
        self.model.remove(gone)
        for company_id in gone:
            self.reference.rows.pop(company_id, None)

    @rule(flt=filters)
    def set_filter(self, flt: CompanyFilter) -> None:
        self.model.set_filter(flt, self.reference.now)
        self.reference.filter = flt

    @rule(extra=st.sampled_from(["m", "e", " t", "x"]))
    def type_a_character(self, extra: str) -> None:
        """Typing narrows the cached result of the text before."""
        flt = CompanyFilter(
            text=self.reference.filter.text + extra,
            status=self.reference.filter.status,
            failed_source=self.reference.filter.failed_source,
        )
        self.set_filter(flt)

    @rule(extra=st.sampled_from(["a", "c", "m", "1", " "]), first=st.integers(0, 3))
    def search_as_typed(self, extra: str, first: int) -> None:
        """The operator's search: stops at the first rows found, the rest pending."""
        flt = CompanyFilter(
            text=self.reference.filter.text + extra, status=self.reference.filter.status
        )
        self.model.set_filter(flt, self.reference.now, first=first)
        self.reference.filter = flt
        assert len(self.model.view) >= first or not self.model.pending

    @rule()
    def advance(self) -> None:
        self.model.advance()

    @rule(company_id=ids)
    def find_a_row(self, company_id: str) -> None:
        """Where a row is (the cursor's carrier after a search): found past the rows a
        search under way has found so far too."""
        position = self.model.position_of(company_id)
        shown = {row.id for row in self.reference.view()}
        assert (position is not None) == (company_id in shown)
        assert position is None or self.model.id_at(position) == company_id

    @rule(column=st.sampled_from(SORT_COLUMNS), reverse=st.booleans())
    def set_sort(self, column: str, reverse: bool) -> None:
        self.model.set_sort(column, reverse)
        self.reference.sort = (column, reverse)

    @rule(later=st.sampled_from([timedelta(0), timedelta(days=1), timedelta(days=20)]))
    def time_passes(self, later: timedelta) -> None:
        self.reference.now += later
        self.model.refilter(self.reference.now)

    @rule(data=st.data(), fleet=fleets, batch=st.integers(1, 8))
    def load_part_of_a_scan(self, data: st.DataObject, fleet: list[str], batch: int) -> None:
        """Batches of a scan still running: with a sort other than DOT's, they may wait
        unsorted at the end of the order (`settle`), until anything else needs it sorted."""
        fresh = [company_id for company_id in fleet if company_id not in self.reference.rows]
        rows = [data.draw(summaries(company_id)) for company_id in fresh]
        columns = [list_row(row) for row in in_dot_order(rows)]
        for start in range(0, len(columns), batch):
            self.model.extend(columns_of(columns[start : start + batch]))
        self.reference.rows.update((row.id, row) for row in rows)

    @invariant()
    def same_rows_order_and_counts(self) -> None:
        model, reference = self.model, self.reference
        expected = reference.view()
        shown = [model.at(position) for position in range(len(model.view))]
        column = reference.sort[0]
        if model.pending:  # the rows found so far: the first of the view
            if model.settled:
                assert [sort_key(column, row) for row in shown] == [
                    sort_key(column, row) for row in expected[: len(shown)]
                ]
            assert {row.id for row in shown} <= {row.id for row in expected}
            assert [model.position_of(row.id) for row in shown] == list(range(len(shown)))
            return
        if model.settled:
            assert [sort_key(column, row) for row in shown] == [
                sort_key(column, row) for row in expected
            ]
            assert _groups(column, shown) == _groups(column, expected)  # ties in any order
        else:  # mid-scan, rows waiting unsorted at the end: the same rows, in any order
            assert sorted(row.id for row in shown) == sorted(row.id for row in expected)
        assert model.visible_ids() == [row.id for row in shown]
        assert [model.position_of(row.id) for row in shown] == list(range(len(shown)))
        assert len(model) == len(reference.rows)
        statuses = Counter(row.status for row in reference.rows.values())
        assert +model.status_counts == +statuses
        for company_id, row in reference.rows.items():
            assert model.get(company_id) == row
        assert model.get("nobody") is None


def _with(summary: CompanySummary, **changes: Any) -> CompanySummary:
    values = {name: getattr(summary, name) for name in CompanySummary.__dataclass_fields__}
    return CompanySummary(**(values | changes))


def _groups(column: str, rows: list[CompanySummary]) -> list[set[str]]:
    """The ids of each run of rows with the same sort key, in order."""
    return [
        {row.id for row in run} for _, run in groupby(rows, key=lambda row: sort_key(column, row))
    ]


ListModel.TestCase.settings = settings(max_examples=300, stateful_step_count=30)
test_list_model_agrees_with_the_plain_rule = ListModel.TestCase


def test_dot_order_after_live_updates_and_resorts() -> None:
    """Sorting by DOT reads the scan's order when the rows are still in it: a live update
    that changes a DOT, or adds a row out of order, must make it sort by the keys."""
    loaded = [
        CompanySummary(
            f"c{n:02d}",
            str(100 + n),
            f"Company {n}",
            None,
            "never",
            None,
            None,
            None,
            None,
            None,
            frozenset(),
            0,
            None,
        )
        for n in range(6)
    ]
    for change in (
        [_with(loaded[1], dot_number="999")],  # an update moves a DOT past the others
        [_with(loaded[0], id="new", dot_number="1")],  # a new row before every other
        [_with(loaded[2], id="new", dot_number=None), _with(loaded[3], dot_number="99")],
    ):
        model, reference = CompanyRows(), Reference()
        model.extend(columns_of([list_row(summary) for summary in loaded]))
        reference.rows = {summary.id: summary for summary in loaded}
        model.upsert(change)
        reference.rows.update((summary.id, summary) for summary in change)
        for column, reverse in (("name", False), ("dot", False), ("dot", True)):
            model.set_sort(column, reverse)
            reference.sort = (column, reverse)
            if column == "dot":  # no two rows share a DOT: one order
                shown = [model.at(position) for position in range(len(model.view))]
                assert [row.id for row in shown] == [row.id for row in reference.view()]


def test_name_order_of_upper_case_names_read_from_the_search_text() -> None:
    """FMCSA's upper-case names are read back from the search text, split in C: a DOT
    that holds the separator itself (kept, as it is) must not shift the name's field."""

    def carrier(n: int, dot: str, name: str) -> CompanySummary:
        return CompanySummary(
            f"c{n}", dot, name, None, "ok", None, None, None, None, None, frozenset(), 0, None
        )

    rows = [
        carrier(0, "1\x1fZZZ", "BETA LINES"),
        carrier(1, "2", "ALPHA FREIGHT"),
        carrier(2, "3", "CHARLIE CO"),
        carrier(3, "4", ""),
    ]
    model, reference = CompanyRows(), Reference()
    model.extend(columns_of([list_row(row) for row in in_dot_order(rows)]))
    reference.rows = {row.id: row for row in rows}
    for reverse in (False, True):
        model.set_sort("name", reverse)
        reference.sort = ("name", reverse)
        assert model.visible_ids() == [row.id for row in reference.view()]


def test_a_search_stopped_at_the_first_rows_finds_any_row_asked_for() -> None:
    """The operator's search stops once the screen is full; where a matching row further
    down is (the highlighted carrier) is still found, and the rest come with `advance`."""
    blank = dict.fromkeys(CompanySummary.__dataclass_fields__)
    blank.update(status="ok", error_sources=frozenset(), error_count=0)
    rows = [
        CompanySummary(
            **blank | {"id": f"c{n:03d}", "dot_number": str(1000 + n), "name": f"Co {n % 3}"}
        )
        for n in range(300)
    ]
    model = CompanyRows(scan_step=16)
    model.set_rows(rows)
    model.set_filter(CompanyFilter(text="co 1"), NOW, first=5)
    assert model.pending and 5 <= len(model.view) < 100
    assert model.position_of("c298") == 99
    assert model.id_at(99) == "c298" and model.position_of("c299") is None
    model.complete()
    assert not model.pending
    assert model.visible_ids() == [row.id for row in rows if row.name == "Co 1"]
