"""DataHub's (Socrata's) answers: a query's page of rows. Kept lean because benchmarks
ask for thousands a second: the orders the engine asks for are served from each
carrier's rows encoded once and cached; any other order or ``$select`` is built per query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from starlette.responses import Response

from fmcsa_tui.sandbox import data
from fmcsa_tui.sandbox.app.encoding import JSON, dumps
from fmcsa_tui.sandbox.app.soql import Order, parse_query
from fmcsa_tui.sandbox.plan import Endpoint

__all__ = ["DATASETS", "dataset_not_found", "rows_page"]

#: DataHub datasets the sandbox serves, with the fault counter each one uses.
DATASETS = {
    "8mt8-2mdr": Endpoint.VIOLATIONS,
    "rbkj-cgst": Endpoint.INSPECTIONS,
}
_ROWS: dict[str, Callable[[str], list[dict[str, str]]]] = {
    "8mt8-2mdr": data.violation_rows,
    "rbkj-cgst": data.inspection_rows,
}
_COLUMNS = {
    "8mt8-2mdr": data.VIOLATION_COLUMNS,
    "rbkj-cgst": data.INSPECTION_COLUMNS,
}
# Orders the cached path serves. :id orders rows by carrier (dot_number as text), then by
# each carrier's own row order, so these all give the same rows, one way or the other.
_FORWARD: frozenset[Order] = frozenset(
    {((":id", False),), (("dot_number", False),), (("dot_number", False), (":id", False))}
)
_BACKWARD: frozenset[Order] = frozenset({((":id", True),), (("dot_number", True), (":id", True))})


# Module-level cache: the data is a pure function of the DOT, so every app instance may
# share it. Bounded, so a bulk run over 100,000 carriers cannot grow it without limit.
@lru_cache(maxsize=1024)
def _encoded_rows(dataset: str, dot: str) -> tuple[bytes, ...]:
    """Each row encoded once, so a page is a slice and a join, however many pages."""
    return tuple(dumps(row) for row in _ROWS[dataset](dot))


def dataset_not_found(dataset: str) -> Response:
    body = {"message": f"Dataset {dataset} not found", "errorCode": "not_found"}
    return Response(dumps(body | {"data": {}}), 404, media_type=JSON)


def rows_page(dataset: str, dots: list[str], params: Any) -> Response:
    """The page of `dataset`'s rows for `dots` the query asks for (or a ``SoqlError``)."""
    query = parse_query(dataset, params, _COLUMNS[dataset])
    offset, limit, order, select = query.offset, query.limit, query.order, query.select
    # dot_number is a text column: "007" is not "7", and rows come in text order.
    present = sorted({dot for dot in dots if _is_dot_text(dot)})

    if select is None and order in _FORWARD:  # the engine's path: cached and sliced
        parts = [_encoded_rows(dataset, dot) for dot in present]
        return _json_page(_slice(parts, offset, limit))
    if select is None and order in _BACKWARD:
        parts = [_encoded_rows(dataset, dot)[::-1] for dot in reversed(present)]
        return _json_page(_slice(parts, offset, limit))

    # (dot, position, row): the position is the row's :id within its carrier.
    rows = [(dot, i, row) for dot in present for i, row in enumerate(_ROWS[dataset](dot))]
    for column, descending in reversed(order):  # stable sorts, last key first
        if column == ":id":
            rows.sort(key=lambda entry: (entry[0], entry[1]), reverse=descending)
        else:
            rows.sort(key=lambda entry: entry[2].get(column, ""), reverse=descending)
    page_rows = [row for _, _, row in rows[offset : offset + limit]]
    if select is not None:
        page_rows = [{c: row[c] for c in select if c in row} for row in page_rows]
    return Response(dumps(page_rows), media_type=JSON)


def _is_dot_text(dot: str) -> bool:
    """Whether the text is a DOT number as DataHub writes it (no sign, no leading zero)."""
    key = data.dot_key(dot)
    return key is not None and str(key) == dot


def _slice(parts: Sequence[Sequence[bytes]], offset: int, limit: int) -> list[bytes]:
    """``$offset``/``$limit`` across the concatenation of `parts`, without building it."""
    page: list[bytes] = []
    for part in parts:
        if len(page) >= limit:
            break
        if offset >= len(part):
            offset -= len(part)
            continue
        page.extend(part[offset : offset + limit - len(page)])
        offset = 0
    return page


def _json_page(encoded: list[bytes]) -> Response:
    return Response(b"[" + b",".join(encoded) + b"]", media_type=JSON)
