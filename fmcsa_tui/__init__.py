"""fmcsa-tui: operator dashboard and headless sync engine for FMCSA carrier data."""

__version__ = "0.1.0"
