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
from textual.color import Color, ColorParseError

from fmcsa_tui.formatting import safe_line
from fmcsa_tui.settings import ENV_PREFIX, ConfigError, save_setting, setting_origin

__all__ = [
    "STATUS_BASES",
    "THEME_VARIABLE",
    "checked_theme",
    "contrast",
    "legible",
    "remember_theme",
    "status_colours",
]

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


#: Each status's colour in the list starts from the theme's own variable for it.
STATUS_BASES: dict[str, str] = {
    "ok": "text-success",
    "failed": "text-error",
    "error-mark": "text-error",
    "never": "text-warning",
    "stale": "text-warning",
    "syncing": "text-accent",
    "unreadable": "text-secondary",
    "mark": "text-accent",
}

_PARSED = {
    "background",
    "surface",
    "foreground",
    "block-cursor-background",
    *STATUS_BASES.values(),
}

#: The least contrast a status colour keeps against the list's background: WCAG's 3:1
#: for large text and UI, with a margin for the row a mark or cursor sits next to.
LEAST_CONTRAST = 4.5


def status_colours(variables: dict[str, str]) -> dict[str, str]:
    """`$status-<name>` for each of `STATUS_BASES`, and `$status-cursor` for text on
    the list's cursor: the theme's colour, moved toward the theme's foreground (for the
    cursor: toward black or white) just far enough to keep `LEAST_CONTRAST` against
    what is behind it. Some themes' warning yellow or success green is nearly invisible
    on their light background. A theme of ANSI colours (the terminal's palette decides
    them) keeps its own."""
    own = {f"status-{name}": variables[base] for name, base in STATUS_BASES.items()}
    own["status-cursor"] = variables["block-cursor-foreground"]
    try:
        parsed = {name: Color.parse(variables[name]) for name in _PARSED}
    except ColorParseError:
        return own
    if any(colour.ansi is not None for colour in parsed.values()):
        return own
    surface = parsed["background"] + parsed["surface"]
    foreground = surface + parsed["foreground"]
    colours = {
        f"status-{name}": legible(surface + parsed[base], surface, foreground).hex
        for name, base in STATUS_BASES.items()
    }
    cursor = surface + parsed["block-cursor-background"]
    extreme = max((Color(0, 0, 0), Color(255, 255, 255)), key=lambda c: contrast(c, cursor))
    try:
        text = _text_on(cursor, variables["block-cursor-foreground"])
    except (ColorParseError, ValueError):
        text = extreme
    colours["status-cursor"] = legible(text, cursor, extreme).hex
    return colours


def _text_on(background: Color, value: str) -> Color:
    """A text colour as CSS gives it (`auto 87%`: black or white, whichever contrasts)."""
    if value.startswith("auto"):
        percent = value.removeprefix("auto").strip().rstrip("%") or "100"
        return background + background.get_contrast_text(float(percent) / 100)
    return background + Color.parse(value)


def legible(colour: Color, background: Color, toward: Color) -> Color:
    """`colour` blended toward `toward` in steps until it keeps `LEAST_CONTRAST`."""
    step = 0.0
    while contrast(colour.blend(toward, step), background) < LEAST_CONTRAST and step < 1:
        step = min(1.0, step + 0.05)
    return colour.blend(toward, step)


def contrast(first: Color, second: Color) -> float:
    """WCAG 2's contrast ratio of two opaque colours, from 1 to 21."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: Color) -> float:
    """WCAG 2's relative luminance."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in colour.rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue
