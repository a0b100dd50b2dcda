"""The sandbox (`fmcsa_tui.sandbox`): the fake FMCSA over real HTTP and its fault plan."""
