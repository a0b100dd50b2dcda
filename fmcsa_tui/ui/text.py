"""Turning untrusted text (company names, error messages) into safe single lines.

Data from the store is rendered *literally*: never parsed as Rich/Textual markup, never
passed to the terminal with its control characters. Widgets build `Segment`s or
`rich.text.Text` from the strings these helpers return.

The rule of `safe_line`:

- C0 control characters and DEL become their Unicode *control pictures*, one cell
  each: ``\\x1b`` → ``␛``, ``\\t`` → ``␉``, ``\\n`` → ``␊``, ``\\x07`` → ``␇``,
  ``\\x7f`` → ``␡``.
- The other invisible characters that can move the cursor, reorder or hide text
  (C1 controls, format characters such as bidi overrides and zero-width spaces, line
  and paragraph separators, lone surrogates) become a visible Python-style escape:
  ``\\x85``, ``\\u202e``, ``\\u200b``.
- Everything else, including markup-like ``[bold]`` brackets and wide characters, is
  kept as is.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from rich.cells import cell_len, set_cell_size

__all__ = ["ELLIPSIS", "fit", "safe_line", "truncate"]

ELLIPSIS = "…"

#: Unicode categories replaced by a visible escape.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_CONTROL_PICTURE_BASE = 0x2400
_DEL = 0x7F
_DEL_PICTURE = "\u2421"


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(_CONTROL_PICTURE_BASE + code)
    if code == _DEL:
        return _DEL_PICTURE
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_line(text: str | None) -> str:
    """`text` as one printable line: control and format characters made visible.

    None reads as "". Markup is not interpreted (there is nothing to interpret: the
    result is meant for `Segment`/`Text`, never for markup parsing).
    """
    if not text:
        return ""
    if text.isprintable():  # the common case: nothing to do
        return text
    return "".join(
        _escape(char) if unicodedata.category(char) in _UNSAFE_CATEGORIES else char for char in text
    )


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
