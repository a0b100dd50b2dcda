"""The sync engine (`fmcsa_tui.sync`) against the sandbox and a hostile FMCSA."""
