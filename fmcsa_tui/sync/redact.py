"""Secrets out of every text we show or store, in whatever encoding they come back.

A server that echoes our request in its error text does not echo the webKey as we
hold it: a URL carries it percent-encoded (``%2F`` or ``%2f``, ``+`` or ``%20`` for a
space, sometimes twice: ``%252F``), an HTML page entity-escapes it (``&amp;``,
``&#47;``, ``&#x2F;``, ``&sol;``), a JSON string may write ``\\/`` or ``\\u002f``. So a
secret is matched character by character, each character in any of those spellings,
even mixed within one occurrence (a ``+`` also as the space a form decoder reads it
as). That is one rule for every encoding instead of a list of encoded copies that
would always miss one.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterable

__all__ = ["MASK", "Scrubber"]

MASK = "***"

#: Characters by the HTML5 entity names that spell them (``&`` -> ``amp;``, ``AMP``…).
_ENTITIES: dict[str, list[str]] = {}
for _name, _char in html.entities.html5.items():
    _ENTITIES.setdefault(_char, []).append(_name)

#: JSON's two-character escapes.
_JSON_ESCAPES = {"/": "\\/", "\\": "\\\\", '"': '\\"'}


def _hex(number: int, width: int) -> str:
    """A hex number as a regex matching either case of its letters."""
    return "".join(
        f"[{digit.upper()}{digit.lower()}]" if digit.isalpha() else digit
        for digit in f"{number:0{width}x}"
    )


def _spellings(char: str) -> list[str]:
    """Regex alternatives for one character of a secret: raw, URL, form, HTML and JSON."""
    code = ord(char)
    utf8 = char.encode()
    alternatives = [
        re.escape(char),
        "".join(f"%{_hex(byte, 2)}" for byte in utf8),  # quote / quote_plus
        "".join(f"%25{_hex(byte, 2)}" for byte in utf8),  # percent-encoded twice
        f"&#0*{code};",  # HTML decimal reference
        f"&#[xX]0*{_hex(code, 1)};",  # HTML hex reference
        *(f"&{re.escape(name)}" for name in _ENTITIES.get(char, [])),
    ]
    if char == " ":
        alternatives.append(r"\+")  # form encoding
    if char == "+":
        alternatives += [" ", "%20"]  # a raw "+" read back by a form decoder is a space
    if code <= 0xFFFF:
        alternatives.append(rf"\\u{_hex(code, 4)}")
    if char in _JSON_ESCAPES:
        alternatives.append(re.escape(_JSON_ESCAPES[char]))
    return sorted(alternatives, key=len, reverse=True)


def _pattern(secret: str) -> str:
    return "".join(f"(?:{'|'.join(_spellings(char))})" for char in secret)


class Scrubber:
    """Replaces every secret, in any of its encodings, with ``***``.

    Built once from the settings' secrets (`Settings.secrets`) and used wherever a
    failure or retry text leaves the sync engine: events, stored error rows, output.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        wanted = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
        self._regex = re.compile("|".join(_pattern(s) for s in wanted)) if wanted else None

    def __call__(self, text: str) -> str:
        if self._regex is None or not text:
            return text
        return self._regex.sub(MASK, text)
