"""Shared fixtures. Store fixtures run every contract test once per backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
from hypothesis import HealthCheck, settings

from fmcsa_tui.store import CompanyStore, MongoStore, SqliteStore
from tests.support.mongo_wire import MongoWireServer

#: A real MongoDB for the suite, when given (read at import: the settings fixture below
#: clears every FMCSA_TUI_ variable before a test runs).
REAL_MONGODB_URI = os.environ.get("FMCSA_TUI_TEST_MONGODB_URI", "").strip()

#: Backends the contract suite runs against: the embedded store, MongoDB through the
#: wire-protocol test server, and a real MongoDB when FMCSA_TUI_TEST_MONGODB_URI is set.
STORE_BACKENDS = ["sqlite", "mongodb", *(["mongodb-real"] if REAL_MONGODB_URI else [])]

#: An unopened store on the test's data; ``read_only=True`` for one that only browses.
StoreMaker = Callable[..., CompanyStore]

#: Property tests run derandomized (the same examples on every run, so a CI failure
#: reproduces as is) and keep no example database. `--hypothesis-profile=fmcsa-explore`
#: draws new examples each run; a failure then prints the seed that reproduces it.
#: Health checks: examples share the test's function-scoped fixtures on purpose (each
#: example makes its own stores), and an example that talks to two stores is slow.
_PROPERTY_SETTINGS: dict[str, Any] = {
    "database": None,
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
}
settings.register_profile("fmcsa-ci", derandomize=True, **_PROPERTY_SETTINGS)
settings.register_profile("fmcsa-explore", derandomize=False, **_PROPERTY_SETTINGS)
settings.load_profile("fmcsa-ci")


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's env vars, config file or data dir."""
    for name in list(os.environ):
        if name.startswith("FMCSA_TUI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FMCSA_TUI_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


@pytest.fixture(scope="session")
def mongo_wire() -> Iterator[MongoWireServer]:
    """One wire-protocol MongoDB test server for the session; tests use fresh databases."""
    with MongoWireServer() as server:
        yield server


def _fresh_database() -> str:
    return f"fmcsa_test_{uuid.uuid4().hex[:16]}"


def _url_with_database(url: str, name: str) -> str:
    """`url` naming database `name` in its path (the path wins over `database=`).

    A database the URL named before stays the one credentials authenticate against.
    """
    base, separator, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    userinfo, at, host_path = rest.rpartition("@")
    hosts, _, old = host_path.partition("/")
    if at and old and "authsource=" not in query.lower():
        query = f"{query}&authSource={old}" if query else f"authSource={old}"
        separator = "?"
    return f"{scheme}://{userinfo}{at}{hosts}/{name}{separator}{query}"


def _drop_database(url: str, name: str) -> None:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        url, serverSelectionTimeoutMS=5000
    )
    try:
        client.drop_database(name)
    finally:
        client.close()


@pytest.fixture(params=STORE_BACKENDS)
def store_maker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreMaker]:
    """Unopened stores that all share one backing location, like separate processes."""
    backend = request.param
    if backend == "sqlite":
        path = tmp_path / "store" / "fmcsa.db"
        yield lambda read_only=False: SqliteStore(path, read_only=read_only)
        return
    if backend == "mongodb":
        url = request.getfixturevalue("mongo_wire").url
    elif backend == "mongodb-real":
        url = REAL_MONGODB_URI
    else:
        raise ValueError(f"no store fixture for backend {backend!r}")
    database = _fresh_database()
    url = _url_with_database(url, database)
    yield lambda read_only=False: MongoStore(url, read_only=read_only)
    _drop_database(url, database)


@pytest.fixture
async def store(store_maker: StoreMaker) -> AsyncIterator[CompanyStore]:
    """An opened, empty store."""
    opened = store_maker()
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
async def other_store(store: CompanyStore, store_maker: StoreMaker) -> AsyncIterator[CompanyStore]:
    """A second store on the same data as `store`: another process, as far as it knows."""
    opened = store_maker()
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment for a `fmcsa-tui` subprocess: none of the developer's settings,
    fast retries, a private data and config dir."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FMCSA_TUI_")}
    clean.update(
        FMCSA_TUI_CONFIG=str(tmp_path / "none.toml"),
        FMCSA_TUI_BACKOFF_BASE="0.01",
        FMCSA_TUI_BACKOFF_MAX="0.05",
        FMCSA_TUI_TIMEOUT="0.5",
        FMCSA_TUI_QC_RATE_LIMIT="0",
        FMCSA_TUI_HUB_RATE_LIMIT="0",
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    return clean
