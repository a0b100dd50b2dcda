"""Stores of companies, chosen by URL: ``sqlite:///PATH`` or ``mongodb://HOST/DB``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fmcsa_tui.settings import DEFAULT_HISTORY_RETENTION
from fmcsa_tui.store.base import (
    AddResult,
    CompanyStore,
    NewCompany,
    ReadOnlyStore,
    SourceData,
    StoreError,
    StoreRefused,
    StoreUnavailable,
    redact_url,
)
from fmcsa_tui.store.listing import CompanyFilter, StatusFilter
from fmcsa_tui.store.mongo import MongoStore
from fmcsa_tui.store.sqlite import SqliteStore

__all__ = [
    "AddResult",
    "CompanyFilter",
    "CompanyStore",
    "MongoStore",
    "NewCompany",
    "ReadOnlyStore",
    "SourceData",
    "SqliteStore",
    "StatusFilter",
    "StoreError",
    "StoreRefused",
    "StoreUnavailable",
    "open_store",
    "redact_url",
]

_SQLITE_PREFIX = "sqlite:///"
_USAGE = "use sqlite:///PATH or mongodb://HOST/DB"


def open_store(
    url: str,
    *,
    database: str | None = None,
    companies: str = "companies",
    inspections: str = "fmcsainspections",
    leases: str = "fmcsa_tui_leases",
    runs: str = "fmcsa_tui_runs",
    read_only: bool = False,
    history_retention: timedelta = DEFAULT_HISTORY_RETENTION,
) -> CompanyStore:
    """The store a URL names, not yet opened. Raise StoreError for a URL it cannot use.

    The keyword arguments are MongoDB's (see `MongoStore`): the database when the URL's
    path names none, and the collection names. SQLite ignores them. `read_only` opens
    it for browsing: every write is refused (`ReadOnlyStore`), nothing is created.
    Run history older than `history_retention` is deleted (MongoDB: a TTL index).
    """
    scheme, separator, _ = url.strip().partition("://")
    if not separator:
        raise StoreError(f"store URL {redact_url(url)!r} has no scheme; {_USAGE}")
    scheme = scheme.lower()
    if scheme == "sqlite":
        return SqliteStore(
            _sqlite_path(url.strip()), read_only=read_only, history_retention=history_retention
        )
    if scheme in {"mongodb", "mongodb+srv"}:
        return MongoStore(
            url.strip(),
            database=database,
            companies=companies,
            inspections=inspections,
            leases=leases,
            runs=runs,
            read_only=read_only,
            history_retention=history_retention,
        )
    raise StoreError(f"unknown store scheme {scheme!r} in {redact_url(url)}; {_USAGE}")


def _sqlite_path(url: str) -> Path:
    """``sqlite:///rel/x.db`` is relative, ``sqlite:////abs/x.db`` absolute, ``~`` expands."""
    if url[: len(_SQLITE_PREFIX)].lower() != _SQLITE_PREFIX:
        raise StoreError(f"SQLite store URL {redact_url(url)!r} needs three slashes; {_USAGE}")
    path = url[len(_SQLITE_PREFIX) :]
    if not path:
        raise StoreError(f"SQLite store URL {redact_url(url)!r} names no file; {_USAGE}")
    if path == ":memory:" or path.startswith("file:") or "?" in path:
        raise StoreError(
            f"SQLite store URL {redact_url(url)!r} is not supported: fmcsa-tui needs a plain"
            " file that every process can open (no :memory:, URI or query options)"
        )
    return Path(path).expanduser()
