"""The slice of Socrata's query language (SoQL) that DataHub clients use: which DOTs a
query asks for, and its ``$limit``, ``$offset``, ``$order`` and ``$select``, refused
with Socrata's own error bodies. Parsing only; the rows are served by ``hub_answers``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from fmcsa_tui.sandbox.app.encoding import JSON, dumps

__all__ = ["MAX_IN_VALUES", "Order", "Query", "SoqlError", "asked_dots", "parse_query"]

# `$$app_token` is Socrata's query-string alternative to the X-App-Token header.
_SOQL_PARAMS = frozenset(
    {"dot_number", "$limit", "$offset", "$order", "$select", "$where", "$$app_token"}
)
_DEFAULT_LIMIT = 1000
_MAX_LIMIT = 50000


def _soql_error(code: str, message: str, **details: Any) -> Response:
    body = {"message": message, "errorCode": code, "data": details}
    return Response(dumps(body), 400, media_type=JSON)


class SoqlError(Exception):
    """A query Socrata would refuse, with the answer it would give."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _int_param(dataset: str, name: str, text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise SoqlError(
            _soql_error(
                "query.soql.type-mismatch",
                f"Type mismatch for {name}: expected a non-negative number, got {text!r}",
                dataset=dataset,
                parameter=name,
                value=text,
            )
        )
    return value


def _no_such_column(dataset: str, column: str) -> SoqlError:
    return SoqlError(
        _soql_error(
            "query.soql.no-such-column",
            f"No such column: {column}",
            dataset=dataset,
            column=column,
        )
    )


#: ``$order``: its terms, each a column (or ``:id``) and whether it is descending.
Order = tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class Query:
    """A DataHub query's paging and shape, checked against the dataset's columns."""

    limit: int
    offset: int
    order: Order
    select: list[str] | None  # None: every column


def parse_query(dataset: str, params: Any, columns: tuple[str, ...]) -> Query:
    """The query's parameters, or a :class:`SoqlError` for the first one that is wrong."""
    for name in params:
        if name not in _SOQL_PARAMS:
            raise _no_such_column(dataset, name)
    limit = min(_int_param(dataset, "$limit", params.get("$limit"), _DEFAULT_LIMIT), _MAX_LIMIT)
    offset = _int_param(dataset, "$offset", params.get("$offset"), 0)
    order = _parse_order(dataset, params.get("$order"), columns)
    select = _parse_select(dataset, params.get("$select"), columns)
    return Query(limit, offset, order, select)


def _parse_order(dataset: str, text: str | None, columns: tuple[str, ...]) -> Order:
    """``$order``: comma-separated ``:id`` or columns, each optionally ``ASC``/``DESC``.

    The default is ``:id``.
    """
    if text is None or not text.strip():
        return ((":id", False),)
    order: list[tuple[str, bool]] = []
    for term in text.split(","):
        parts = term.split()
        direction = parts[1].upper() if len(parts) == 2 else "ASC"
        if not parts or len(parts) > 2 or direction not in ("ASC", "DESC"):
            raise SoqlError(
                _soql_error(
                    "query.soql.malformed", f"Could not parse $order: {text!r}", dataset=dataset
                )
            )
        column = parts[0]
        if column != ":id" and column not in columns:
            raise _no_such_column(dataset, column)
        order.append((column, direction == "DESC"))
    return tuple(order)


def _parse_select(dataset: str, text: str | None, columns: tuple[str, ...]) -> list[str] | None:
    """``$select``: a comma-separated column list (or ``*``); None means every column."""
    if text is None or text.strip() in ("", "*"):
        return None
    selected = [name.strip() for name in text.split(",")]
    for name in selected:
        if name not in columns:
            raise _no_such_column(dataset, name)
    return selected


# SoQL's `dot_number in('1','2')`: `in` in any case, optional spaces, '' escapes a quote.
_QUOTED = r"'(?:[^']|'')*'"
_IN_LIST = re.compile(
    rf"\s*dot_number\s+in\s*\(\s*({_QUOTED}(?:\s*,\s*{_QUOTED})*)\s*\)\s*",
    re.IGNORECASE | re.DOTALL,
)
_VALUE = re.compile(r"'((?:[^']|'')*)'")
MAX_IN_VALUES = 1000  # values one `in(...)` may list
_MAX_WHERE = 32 * 1024  # characters of `$where` read at all (1,000 DOTs take about 11,000)


def asked_dots(dataset: str, params: Any) -> list[str]:
    """The DOT numbers a DataHub query asks for, without repeats, in the order asked.

    ``dot_number=`` and ``$where=dot_number in(...)`` together mean both must hold.
    """
    plain = params.get("dot_number")
    where = params.get("$where")
    if where is None:
        return [] if plain is None else [plain]
    match = _IN_LIST.fullmatch(where) if len(where) <= _MAX_WHERE else None
    if match is None:
        raise SoqlError(
            _soql_error(
                "query.soql.malformed",
                "Could not parse $where: only dot_number in('...', ...) is supported",
                dataset=dataset,
            )
        )
    listed = [value.replace("''", "'") for value in _VALUE.findall(match.group(1))]
    if len(listed) > MAX_IN_VALUES:
        raise SoqlError(
            _soql_error(
                "query.soql.malformed",
                f"Too many values in in(...): {len(listed)} (at most {MAX_IN_VALUES})",
                dataset=dataset,
            )
        )
    unique = list(dict.fromkeys(listed))
    if plain is None:
        return unique
    return [plain] if plain in unique else []
