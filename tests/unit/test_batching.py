"""The batched DataHub query as the live adapter builds it, against Socrata's documented
SoQL and the real sample's columns (the real DataHub is not reachable from the tests)."""

from __future__ import annotations

import json
from pathlib import Path

from fmcsa_tui.sync.batching import in_clause

SAMPLES = Path(__file__).parents[1] / "samples" / "socrata"


def test_the_in_list_quotes_each_dot_as_text_as_the_real_column_is() -> None:
    # 8mt8-2mdr documents dot_number as a text column, and the real row carries a string
    [row] = json.loads((SAMPLES / "8mt8-2mdr_1.json").read_text())
    assert row["dot_number"] == "511440"
    for columns in ("8mt8-2mdr_columns.md", "rbkj-cgst_columns.md"):
        assert "| `dot_number` | text |" in (SAMPLES / columns).read_text()
    # Socrata's documented form: $where=column in('a', 'b') (dev.socrata.com/docs/functions/in)
    assert in_clause(["511440", "44110"]) == "dot_number in('511440','44110')"
    assert in_clause(["o'brien"]) == "dot_number in('o''brien')"  # cannot end the string
