"""A stored value as one safe line: how every tab shows a field another program wrote."""

from __future__ import annotations

from typing import Any

from fmcsa_tui.formatting import safe_line, stored_text


def stored_line(value: Any) -> str:
    """A display field as stored, whatever its type, as one safe line ("" when absent)."""
    return "" if value is None else safe_line(stored_text(value).strip())


def field(doc: Any, *path: str) -> Any:
    """`doc[path[0]][path[1]]…`, or None where a step is missing or not a document."""
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc
