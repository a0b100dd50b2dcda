"""The dashboard's theme: checked against Textual's themes at start, saved when picked.

The `theme` setting names one of Textual's themes (`App.available_themes`); the
settings layer cannot know them (it does not import Textual), so the check is here,
with the same one-line `ConfigError` as every other setting's. Picking a theme (the
palette's "Theme" command sets `App.theme`) writes it to config.toml with
`settings.save_setting`, which keeps the file's other lines and comments.
"""

from __future__ import annotations

import os
from typing import Any

from textual.app import App

from fmcsa_tui.formatting import safe_line
from fmcsa_tui.settings import ENV_PREFIX, ConfigError, save_setting, setting_origin

__all__ = ["THEME_VARIABLE", "checked_theme", "remember_theme"]

THEME_VARIABLE = f"{ENV_PREFIX}THEME"


def checked_theme(app: App[Any], name: str) -> str:
    """`name` if the app has such a theme; ConfigError naming the valid ones if not."""
    if name in app.available_themes:
        return name
    valid = ", ".join(sorted(app.available_themes))
    raise ConfigError(
        f"bad setting {setting_origin('theme')}: unknown theme {safe_line(name)!r}; one of: {valid}"
    )


def remember_theme(app: App[Any], name: str) -> None:
    """Save the operator's pick for the next start; say so when it cannot be saved, or
    when the environment variable will override it. The theme changes either way."""
    try:
        path = save_setting("theme", name)
    except ConfigError as error:
        text = f"{error}. The theme applies to this session only."
        app.notify(safe_line(text), title="Theme not saved", severity="warning", timeout=8,
                   markup=False)  # fmt: skip
        return
    if THEME_VARIABLE in os.environ:
        text = f"Saved to {path}, but {THEME_VARIABLE} is set and overrides it at start."
        app.notify(safe_line(text), title=f"Theme {name}", severity="warning", timeout=8,
                   markup=False)  # fmt: skip
