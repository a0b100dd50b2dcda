"""The filter rule's conditions as SQL over the derived columns (see `columns`).

Each condition of `fmcsa_tui.store.listing` becomes one clause; a clause that can only
narrow (a search text holding the separator, a source holding ``|``) says so, and the
listing then lets `Condition.holds` decide the rows it returns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from fmcsa_tui.store.listing import SEARCH_SEPARATOR, Condition, Fact, joined_search_decides
from fmcsa_tui.store.sqlite.columns import iso

__all__ = ["where_clause"]

#: Where each fact of the filter rule is, as SQL over the derived columns.
_FACT_SQL: Final[dict[Fact, str]] = {
    "id": "id",
    "search": "search",
    "status": "status",
    "error_sources": "error_sources",
    # min() of several values is NULL when one is: no success yet, as `oldest_success`
    "oldest_success": "min(csa_last_sync, viol_last_sync, insp_last_sync)",
    "last_run": "last_run",
    "updated_at": "updated_at",
}


def where_clause(conditions: Sequence[Condition]) -> tuple[str, list[Any], bool]:
    """The conditions as a WHERE clause, its parameters, and whether it decides them
    exactly (otherwise it only narrows, and `Condition.holds` decides)."""
    clauses: list[str] = []
    params: list[Any] = []
    exact = True
    for condition in conditions:
        sql, values, decides = _condition_sql(condition)
        clauses.append(sql)
        params.extend(values)
        exact = exact and decides
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params, exact


def _condition_sql(condition: Condition) -> tuple[str, list[Any], bool]:
    """One condition as SQL: the clause, its parameters, and whether it is exact."""
    column, value = _FACT_SQL[condition.fact], condition.value
    if isinstance(value, datetime):
        value = iso(value)
    match condition.test:
        case "has_text":  # instr(), not LIKE: no wildcards, and Unicode-aware casefolding
            if joined_search_decides(value):
                return f"instr({column}, ?) > 0", [value], True
            # every piece between separators is in the search text: a superset
            pieces = [piece for piece in value.split(SEARCH_SEPARATOR) if piece]
            clause = " AND ".join([f"instr({column}, ?) > 0"] * len(pieces)) or "1"
            return clause, pieces, False
        case "has":  # error sources are stored as |a|b|
            return f"instr({column}, ?) > 0", [f"|{value}|"], "|" not in value
        case "one_of":  # the set as one JSON parameter, however many
            return (
                f"{column} IN (SELECT value FROM json_each(?))",
                [json.dumps(sorted(value))],
                True,
            )
        case "is":
            return f"{column} = ?", [value], True
        case "is_not":
            return f"{column} != ?", [value], True
        case "missing_or_before":
            return f"({column} IS NULL OR {column} < ?)", [value], True
        case "at_or_after":
            return f"{column} >= ?", [value], True
