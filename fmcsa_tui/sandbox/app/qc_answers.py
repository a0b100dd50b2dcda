"""QCMobile's answers: the ``{"content": ..., "retrievalDate": ...}`` envelope and its
webKey refusals. Content is encoded once per DOT and cached; only ``retrievalDate`` (the
one value that is not data) is stamped per request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from starlette.requests import Request
from starlette.responses import Response

from fmcsa_tui.sandbox import data
from fmcsa_tui.sandbox.app.encoding import JSON, dumps

__all__ = ["basics_json", "carrier_json", "qc_answer", "refuse_webkey"]


def _retrieval_date() -> bytes:
    """QCMobile's timestamp format: ``2026-11-28T16:00:34.709+0000``."""
    now = datetime.now(UTC)
    return f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}+0000".encode()


# Module-level caches: the data is a pure function of the DOT, so every app instance may
# share them. Bounded, so a bulk run over 100,000 carriers cannot grow them without limit.
@lru_cache(maxsize=4096)
def carrier_json(dot: str) -> bytes:
    return dumps(data.carrier_content(dot))


@lru_cache(maxsize=4096)
def basics_json(dot: str) -> bytes:
    return dumps(data.basics(dot))


def qc_answer(content: bytes, status: int = 200, extra: bytes = b"") -> Response:
    body = b'{"content":' + content + b',"retrievalDate":"' + _retrieval_date() + b'"' + extra
    return Response(body + b"}", status, media_type=JSON)


_WEBKEY_LINKS = b',"_links":' + dumps(
    {
        "self": {"href": "https://mobile.fmcsa.dot.gov/qc"},
        "searchByName": {"href": "https://mobile.fmcsa.dot.gov/qc/name/:name"},
        "lookupBydotNumber": {"href": "https://mobile.fmcsa.dot.gov/qc/id/:dotNumber"},
    }
)


def refuse_webkey(request: Request, webkey: str | None) -> Response | None:
    """QCMobile's 404 for a missing or (when `webkey` is set) wrong webKey; None: accepted."""
    given = request.query_params.get("webKey")
    if not given:
        return qc_answer(b'"Must provide Webkey"', 404)
    if webkey is not None and given != webkey:
        return qc_answer(b'"Webkey not found"', 404, _WEBKEY_LINKS)
    return None
