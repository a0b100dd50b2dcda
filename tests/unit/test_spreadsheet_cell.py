"""The one CSV cell rule (OWASP CSV injection): formula-like texts are kept as text."""

from __future__ import annotations

import pytest

from fmcsa_tui.formatting import spreadsheet_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Plain = Co", "Plain = Co"),
        ("1000986", "1000986"),
        ("", ""),
        (None, ""),
    ],
)
def test_formula_like_cells_get_a_quote_and_others_stay(value: str | None, cell: str) -> None:
    assert spreadsheet_cell(value) == cell
