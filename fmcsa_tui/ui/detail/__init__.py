"""The detail pane and its tabs: `pane` (the widget), one module per tab."""

from fmcsa_tui.ui.detail.pane import TABS, DetailPane, DetailReader, Tab

__all__ = ["TABS", "DetailPane", "DetailReader", "Tab"]
