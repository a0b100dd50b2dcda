"""How outside text and times are shown: one rule each, for the CLI and the dashboard.

Everything that reaches an operator's screen may come from outside (a company name
another program wrote, an FMCSA error text, a config value), so it goes through
`safe_line` (a terminal line) or `json_text` (JSON output) and nowhere else.

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

`stored_text` writes a stored value of any type as people read it (text as it is, a date
as `iso_ms`, anything else as compact Extended JSON), for the display fields a document
may hold in any shape; what it returns still goes through `safe_line`.

`spreadsheet_cell` is the one rule for a CSV cell: a text a spreadsheet would run as a
formula (OWASP's CSV injection list: a leading ``=``, ``+``, ``-``, ``@``, tab or carriage
return) gets a leading ``'``, so it is shown as text and never evaluated.

`json_text` keeps JSON's own escapes for C0 controls and writes every character of
those same unsafe categories as a ``\\uXXXX`` escape, so JSON output holds nothing a
terminal would act on and still parses to the same strings.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

import humanize
from bson import Decimal128, ObjectId, json_util
from bson.json_util import RELAXED_JSON_OPTIONS

__all__ = [
    "ago",
    "iso_ms",
    "json_text",
    "one_line",
    "safe_line",
    "short_ago",
    "spreadsheet_cell",
    "stored_text",
    "utc_text",
]

#: Unicode categories that are invisible or move the cursor: never printed raw.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_CONTROL_PICTURE_BASE = 0x2400
_DEL = 0x7F
_DEL_PICTURE = "\u2421"


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def _picture(char: str) -> str:
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
    """`text` as one printable terminal line: control and format characters made visible.

    None reads as "". Markup is not interpreted (there is nothing to interpret: the
    result is meant for plain output, `Segment` or `Text`, never for markup parsing).
    Applying it twice changes nothing.
    """
    if not text:
        return ""
    if text.isprintable():  # the common case: nothing to do
        return text
    return "".join(_picture(char) if _unsafe(char) else char for char in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON spells characters past U+FFFF
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


# Outside its strings JSON text is ASCII, so every non-ASCII character is inside one.
_NON_ASCII = re.compile("[^\x00-\x7f]")


def _json_char(match: re.Match[str]) -> str:
    char = match.group()
    return _json_escape(char) if _unsafe(char) else char


def json_text(value: Any, *, indent: int | None = 2, dumps: Any = None) -> str:
    """`value` as JSON that is safe to print: invisible characters as ``\\u`` escapes.

    `dumps` is the serializer (default `json.dumps`; `bson.json_util.dumps` for Extended
    JSON); it must accept ``indent`` and ``ensure_ascii``.
    """
    text: str = (dumps or json.dumps)(value, indent=indent, ensure_ascii=False)
    return _NON_ASCII.sub(_json_char, text)


def iso_ms(when: datetime | None) -> str | None:
    """A moment as JavaScript's ``toISOString()`` writes it: UTC, milliseconds, ``Z``.

    This is how the backend's own API prints the dates MongoDB stores (to the
    millisecond), so a timestamp printed here matches it character for character.
    A naive datetime is taken as UTC, as BSON dates are.
    """
    if when is None:
        return None
    moment = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def utc_text(when: datetime | None) -> str:
    """A moment for people to read, in UTC to the second: ``2026-11-21 00:15:14 UTC``."""
    if when is None:
        return "never"
    moment = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(when: datetime | None, now: datetime) -> str:
    """How long ago, in words: "3 hours ago", "a minute ago"; "never" for None."""
    return "never" if when is None else humanize.naturaltime(now - when)


def short_ago(when: datetime | None, now: datetime) -> str:
    """How long ago, in a list column: "now", "5m ago", "3h ago", "2d ago", "3y ago"."""
    if when is None:
        return "never"
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return "now"  # also a clock running behind the writer's
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    days = int(seconds // 86400)
    return f"{days}d ago" if days < 365 else f"{days // 365}y ago"


def stored_text(value: Any) -> str:
    """A stored value as text, whatever its type: a display field is shown as stored.

    Text stays as it is; a number as JavaScript prints it (the backend's numbers are
    doubles: 40.0 is ``40``); a date as `iso_ms`; ObjectIds and decimals by their string
    form; the rest (null, booleans, arrays, documents) as compact relaxed Extended JSON.
    Not yet safe to print: pass it through `safe_line`.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime):
        return iso_ms(value) or ""
    if isinstance(value, ObjectId | Decimal128):
        return str(value)
    return json_util.dumps(value, json_options=RELAXED_JSON_OPTIONS)


#: What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: str | None) -> str:
    """`value` as a CSV cell no spreadsheet evaluates: a formula-like text gets a ``'``
    in front (a negative number too: it reads as text, which is the price OWASP names)."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def one_line(error: BaseException | None, limit: int = 300) -> str:
    """An exception as one line for people: its first line, or its type when it says nothing."""
    if error is None:
        return "unknown error"
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:limit]
