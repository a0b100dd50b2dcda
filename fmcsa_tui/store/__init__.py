"""Stores of companies, chosen by URL: ``sqlite:///PATH`` or ``mongodb://HOST/DB``."""

from __future__ import annotations

import re
from pathlib import Path

from fmcsa_tui.store.base import (
    AddResult,
    CompanyFilter,
    CompanyStore,
    NewCompany,
    SourceData,
    StatusFilter,
    StoreError,
    StoreUnavailable,
)
from fmcsa_tui.store.sqlite import SqliteStore

__all__ = [
    "AddResult",
    "CompanyFilter",
    "CompanyStore",
    "NewCompany",
    "SourceData",
    "SqliteStore",
    "StatusFilter",
    "StoreError",
    "StoreUnavailable",
    "open_store",
    "redact_url",
]

_SQLITE_PREFIX = "sqlite:///"
_USAGE = "use sqlite:///PATH or mongodb://HOST/DB"
# `scheme://user:password@`: the user part stops at `/`, so paths are never touched.
_USERINFO = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/?#]*):[^@]*@")
_PASSWORD_OPTION = re.compile(r"(?i)(?P<head>[?&][^=&#]*password[^=&#]*=)[^&#]*")


def redact_url(url: str) -> str:
    """The URL safe to show: ``user:pass@`` becomes ``user:***@``, password options too."""
    url = _USERINFO.sub(r"\g<head>:***@", url)
    return _PASSWORD_OPTION.sub(r"\g<head>***", url)


def open_store(url: str) -> CompanyStore:
    """The store a URL names, not yet opened. Raise StoreError for a URL it cannot use."""
    scheme, separator, _ = url.strip().partition("://")
    if not separator:
        raise StoreError(f"store URL {redact_url(url)!r} has no scheme; {_USAGE}")
    scheme = scheme.lower()
    if scheme == "sqlite":
        return SqliteStore(_sqlite_path(url.strip()))
    if scheme in {"mongodb", "mongodb+srv"}:
        raise StoreError("MongoDB stores are not supported yet")
    raise StoreError(f"unknown store scheme {scheme!r} in {redact_url(url)}; {_USAGE}")


def _sqlite_path(url: str) -> Path:
    """``sqlite:///rel/x.db`` is relative, ``sqlite:////abs/x.db`` absolute, ``~`` expands."""
    if url[: len(_SQLITE_PREFIX)].lower() != _SQLITE_PREFIX:
        raise StoreError(f"SQLite store URL {redact_url(url)!r} needs three slashes; {_USAGE}")
    path = url[len(_SQLITE_PREFIX) :]
    if not path:
        raise StoreError(f"SQLite store URL {redact_url(url)!r} names no file; {_USAGE}")
    return Path(path).expanduser()
