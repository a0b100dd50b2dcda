"""The `fmcsa-tui` command (`fmcsa_tui.cli`) run as a process."""
