"""Fitting safe text into terminal cells: truncation and padding by cell width.

Untrusted text is first made one safe line by `fmcsa_tui.formatting.safe_line` (the
one rule, shared with the CLI); these helpers then cut it to a column.
"""

from __future__ import annotations

from typing import Literal

from rich.cells import cell_len, set_cell_size

__all__ = ["ELLIPSIS", "fit", "truncate"]

ELLIPSIS = "…"


def truncate(text: str, width: int) -> str:
    """`text` cut to at most `width` terminal cells, ending in "…" when cut."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    # set_cell_size pads with a space when it would split a wide character.
    return set_cell_size(text, width - 1) + ELLIPSIS


def fit(text: str, width: int, align: Literal["left", "right"] = "left") -> str:
    """`text` truncated and padded to exactly `width` cells."""
    cut = truncate(text, width)
    padding = " " * (width - cell_len(cut))
    return padding + cut if align == "right" else cut + padding
