"""Shared fixtures. Store fixtures run every contract test once per backend."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from fmcsa_tui.store import CompanyStore, SqliteStore

#: Backends the contract suite runs against. A "mongodb" entry joins this list with
#: its branch in `_store_maker` (a wire-protocol test server, or a real test URL).
STORE_BACKENDS = ["sqlite"]

StoreMaker = Callable[[], CompanyStore]


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's env vars, config file or data dir."""
    for name in list(os.environ):
        if name.startswith("FMCSA_TUI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FMCSA_TUI_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


def _store_maker(backend: str, tmp_path: Path) -> StoreMaker:
    """Unopened stores that all share one backing location, like separate processes."""
    if backend == "sqlite":
        path = tmp_path / "store" / "fmcsa.db"
        return lambda: SqliteStore(path)
    raise ValueError(f"no store fixture for backend {backend!r}")


@pytest.fixture(params=STORE_BACKENDS)
def store_maker(request: pytest.FixtureRequest, tmp_path: Path) -> StoreMaker:
    return _store_maker(request.param, tmp_path)


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
