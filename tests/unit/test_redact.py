"""The scrubber: a secret never survives, whatever encoding a URL or a server gave it."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus, urlencode

import httpx
import pytest

from fmcsa_tui.settings import Settings
from fmcsa_tui.sync.answers import Answer, SourceError, decode
from fmcsa_tui.sync.http import FmcsaHttp
from fmcsa_tui.sync.redact import MASK, Scrubber

#: Secrets with every character that an encoding changes.
SECRETS = [
    "k3y/with+plus=eq&amp~tilde",
    "a b%c#d?e\\f\"g'h<i>j",
    "plainAlnumKey12345",
    "ünï/cødé",
]


def _lower_hex(text: str) -> str:
    """Percent escapes in lower case, as some servers write them."""
    return re.sub(r"%[0-9A-F]{2}", lambda match: match.group().lower(), text)


def _html_numeric(text: str) -> str:
    return "".join(f"&#{ord(c)};" if not c.isalnum() else c for c in text)


def _html_hex(text: str) -> str:
    return "".join(f"&#x{ord(c):X};" if not c.isalnum() else c for c in text)


ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "quote": lambda s: quote(s, safe=""),
    "quote keeping /": quote,
    "quote lower-case hex": lambda s: _lower_hex(quote(s, safe="")),
    "quote_plus": quote_plus,
    "quote_plus lower-case hex": lambda s: _lower_hex(quote_plus(s)),
    "raw + read as a space": lambda s: s.replace("+", " "),
    "raw + read as a space, re-quoted": lambda s: quote(s.replace("+", " "), safe=""),
    "form": lambda s: urlencode({"webKey": s}).partition("=")[2],
    "httpx query": lambda s: str(httpx.URL("http://h/p", params={"webKey": s})).split("=", 1)[1],
    "percent twice": lambda s: quote(quote(s, safe=""), safe=""),
    "html.escape": html.escape,
    "html.escape of quote": lambda s: html.escape(quote(s)),
    "html numeric": _html_numeric,
    "html hex": _html_hex,
    "json": lambda s: json.dumps(s)[1:-1],
    "json ascii": lambda s: json.dumps(s, ensure_ascii=True)[1:-1],
    "json with \\/": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    "json \\u everything": lambda s: "".join(f"\\u{ord(c):04x}" for c in s),
}


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_encoding_of_a_secret_is_scrubbed(secret: str, encoding: str) -> None:
    scrub = Scrubber([secret])
    encoded = ENCODINGS[encoding](secret)
    text = f"Webkey not found: GET /qc?webKey={encoded}&x=1 (echoed)"
    scrubbed = scrub(text)
    assert scrubbed == f"Webkey not found: GET /qc?webKey={MASK}&x=1 (echoed)"


def test_several_secrets_and_occurrences_and_text_around_them_kept() -> None:
    scrub = Scrubber(["the/key", "", "tok+en"])
    text = "a the%2Fkey b tok%2Ben c the\\/key d tok+en e"
    assert scrub(text) == f"a {MASK} b {MASK} c {MASK} d {MASK} e"


def test_no_secrets_changes_nothing() -> None:
    assert Scrubber([])("webKey=abc") == "webKey=abc"
    assert Scrubber(["x"])("") == ""


def test_the_http_client_scrubs_and_makes_one_safe_line_from_settings_secrets() -> None:
    settings = Settings(webkey="a/b+c=d&e", app_token="tok/en")
    http = FmcsaHttp(settings)
    text = "bad key a%2Fb%2Bc%3Dd%26e\n\x1b[31mtoken tok&#x2F;en\x1b[0m"
    public = http.public_text(text)
    assert public == f"bad key {MASK}␊␛[31mtoken {MASK}␛[0m"
    assert len(http.public_text("x" * 5000)) <= 300


def test_a_plus_read_back_as_a_space_by_a_form_decoder_is_scrubbed() -> None:
    scrub = Scrubber(["with+plus"])
    assert scrub("got with plus and with%20plus") == f"got {MASK} and {MASK}"


@pytest.mark.parametrize("at", range(60, 400, 7))
def test_a_server_text_is_scrubbed_before_anything_cuts_it(at: int) -> None:
    """Wherever a cut falls in a server's long error text, no start of a secret shows."""
    secret = "k3y/with+plus=eq&amp~tilde"
    http = FmcsaHttp(Settings(webkey=secret))
    content = "Webkey not found: " + "x" * at + quote(secret, safe="") + " and more"
    answer = Answer(404, httpx.Headers(), json.dumps({"content": content}).encode())
    with pytest.raises(SourceError) as caught:
        decode(answer, "QCMobile", "carrier")
    line = http.public_text(caught.value.message)
    assert len(line) <= 300 and line.startswith("QCMobile rejected the webKey: Webkey not")
    assert "k3y" not in line and "%2F" not in line
