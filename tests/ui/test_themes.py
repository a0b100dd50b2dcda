"""Themes: picked from the palette, remembered in config.toml (its comments kept), applied
at start, and the environment variable winning over the file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.color import Color
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input

from fmcsa_tui.settings import ConfigError, Settings, load_settings
from fmcsa_tui.store import CompanyStore, SqliteStore
from fmcsa_tui.ui.app import FmcsaApp
from tests.support.waiting import eventually

#: An operator's file: comments, a table, settings around where `theme` will go.
TOP_LEVEL = """\
# fmcsa-tui, production fleet (ops team)
concurrency = 4   # FMCSA asked us to go easy

webkey = "k-123"
"""
KEYMAP = """
[keymap]
# muscle memory from the old tool
"app.resync" = "ctrl+r"
"""
CONFIG = TOP_LEVEL + KEYMAP
SOLARIZED_LIGHT_BACKGROUND = "#fdf6e3"


def with_theme(name: str) -> str:
    """CONFIG with `theme` set: after the top-level settings (a key after `[keymap]`
    would be the table's)."""
    return f'{TOP_LEVEL}theme = "{name}"\n{KEYMAP}'


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[CompanyStore]:
    """Themes do not depend on the backend: the embedded store only."""
    store = SqliteStore(tmp_path / "themes.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text(CONFIG)
    monkeypatch.setenv("FMCSA_TUI_CONFIG", str(path))
    return path


async def pick_theme(pilot: Pilot[None], name: str) -> None:
    """As an operator does: ctrl+p, the palette's Theme command, then the theme by name."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await eventually(lambda: isinstance(app.screen, CommandPalette), pause=pilot.pause)
    await pilot.press(*"theme")
    await eventually(lambda: app.screen.query_one(CommandList).option_count > 0, pause=pilot.pause)
    await pilot.press("enter")
    await eventually(
        lambda: (
            isinstance(app.screen, CommandPalette)
            and app.screen.query_one(Input).placeholder == "Search for themes…"
        ),
        pause=pilot.pause,
    )
    await pilot.press(*name)
    await eventually(lambda: app.screen.query_one(CommandList).option_count > 0, pause=pilot.pause)
    await pilot.press("enter")
    await eventually(lambda: app.theme == name, pause=pilot.pause, what=f"theme is {app.theme}")


async def test_a_picked_theme_is_saved_keeping_the_file_and_used_at_the_next_start(
    sqlite_store: CompanyStore, config: Path
) -> None:
    app = FmcsaApp(sqlite_store, load_settings())
    assert app.theme == "textual-dark"  # the default
    async with app.run_test(size=(100, 30)) as pilot:
        await pick_theme(pilot, "solarized-light")
        await pilot.pause()
        assert not app._notifications, list(app._notifications)  # saved quietly
    assert text_of(config) == with_theme("solarized-light")

    settings = load_settings()
    assert settings.theme == "solarized-light" and settings.concurrency == 4
    again = FmcsaApp(sqlite_store, settings)
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert again.theme == "solarized-light"
        painted = again.screen.styles.background
        assert painted == Color.parse(SOLARIZED_LIGHT_BACKGROUND), painted  # applied, not named
        again.theme = "nord"  # the way the palette sets it
        await pilot.pause()
    assert text_of(config) == with_theme("nord")  # replaced in place


async def test_a_config_file_that_cannot_be_written_is_one_notification_and_the_theme_changes(
    sqlite_store: CompanyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root ignores permission bits, so the file's directory is a regular file instead."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("FMCSA_TUI_CONFIG", str(blocker / "config.toml"))
    app = FmcsaApp(sqlite_store, load_settings())
    async with app.run_test(size=(100, 30)) as pilot:
        await pick_theme(pilot, "textual-light")
        await eventually(lambda: bool(app._notifications), pause=pilot.pause)
        [notice] = list(app._notifications)
        assert notice.title == "Theme not saved" and "\n" not in notice.message
        assert f"cannot save to config file {blocker / 'config.toml'}" in notice.message
        assert "this session only" in notice.message
        assert app.theme == "textual-light"


async def test_a_config_file_made_invalid_since_start_is_left_alone(
    sqlite_store: CompanyStore, config: Path
) -> None:
    app = FmcsaApp(sqlite_store, load_settings())
    broken = CONFIG + "concurrency = = 5\n"
    write(config, broken)
    async with app.run_test(size=(100, 30)) as pilot:
        app.theme = "gruvbox"
        await eventually(lambda: bool(app._notifications), pause=pilot.pause)
        [notice] = list(app._notifications)
        assert "is not valid TOML" in notice.message and "\n" not in notice.message
        assert app.theme == "gruvbox"
    assert text_of(config) == broken


async def test_the_environment_variable_wins_at_start_and_the_notice_says_so(
    sqlite_store: CompanyStore, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(config, with_theme("dracula"))
    monkeypatch.setenv("FMCSA_TUI_THEME", "nord")
    app = FmcsaApp(sqlite_store, load_settings())
    assert app.theme == "nord"
    async with app.run_test(size=(100, 30)) as pilot:
        app.theme = "flexoki"
        await eventually(lambda: bool(app._notifications), pause=pilot.pause)
        [notice] = list(app._notifications)
        assert "FMCSA_TUI_THEME is set and overrides it at start" in notice.message
    assert text_of(config) == with_theme("flexoki")


def test_an_unknown_theme_is_a_configuration_error_naming_the_valid_ones(
    sqlite_store: CompanyStore, config: Path
) -> None:
    write(config, with_theme("solarised"))
    with pytest.raises(ConfigError) as raised:
        FmcsaApp(sqlite_store, load_settings())
    message = str(raised.value)
    assert message.startswith(f"bad setting `theme` in {config}: unknown theme 'solarised'")
    assert "solarized-light" in message and "textual-dark" in message and "\n" not in message


def test_the_default_is_textual_dark() -> None:
    assert Settings().theme == "textual-dark"
