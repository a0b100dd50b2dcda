"""The dashboard (`fmcsa_tui.ui`): Pilot-driven tests, SVG snapshots, the company list."""
