"""One JSON encoding for every answer the sandbox builds (compact, UTF-8), so cached
bodies and bodies built per request are byte-for-byte alike.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["JSON", "dumps"]

JSON = "application/json"


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
