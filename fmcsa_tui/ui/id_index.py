"""Company id -> row index for the list model, without an int object per row.

A dict from id to row index holds one int object per row (32 bytes each: 32 MB at
1,000,000 rows, a tenth of the list). This dict maps an id to its row's *bucket* of
`BUCKET` rows instead, one shared int per bucket, and finds the row inside the bucket
with the ids list's own `index` (in C: a few microseconds). A removed row keeps its id
in the list (rows keep their indices), so the search skips rows the model says are gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import repeat
from operator import floordiv
from typing import Final

__all__ = ["BUCKET", "IdIndex"]

BUCKET: Final = 256  # rows per bucket: the longest search, a few microseconds


class IdIndex:
    """Where each id's row is, among `ids` (the model's ids by row index, which this
    reads but never changes); `gone(row)` says a row was removed."""

    def __init__(self, ids: list[str], gone: Callable[[int], bool]) -> None:
        self._ids = ids
        self._gone = gone
        self._buckets: dict[str, int] = {}
        self._shared: list[int] = []  # bucket numbers, one object each

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, company_id: object) -> bool:
        return company_id in self._buckets

    def get(self, company_id: str) -> int | None:
        bucket = self._buckets.get(company_id)
        return None if bucket is None else self._row_in(company_id, bucket)

    def pop(self, company_id: str) -> int:
        """The id's row, and the id forgotten (KeyError when unknown)."""
        row = self._row_in(company_id, self._buckets[company_id])
        del self._buckets[company_id]
        return row

    def add(self, ids: Iterable[str], rows: Iterable[int], rows_total: int) -> None:
        """Each id at its row (an id known already moves to its new row); `rows_total`
        is one past the highest row. In C: no call per row."""
        shared = self._shared
        shared.extend(range(len(shared), (rows_total - 1) // BUCKET + 1))
        buckets = map(shared.__getitem__, map(floordiv, rows, repeat(BUCKET)))
        self._buckets.update(zip(ids, buckets, strict=True))

    def _row_in(self, company_id: str, bucket: int) -> int:
        start, stop = bucket * BUCKET, (bucket + 1) * BUCKET
        while True:  # an earlier, removed row of the same id is skipped
            row = self._ids.index(company_id, start, stop)
            if not self._gone(row):
                return row
            start = row + 1
