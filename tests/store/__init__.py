"""The stores (`fmcsa_tui.store`): the contract on every backend, MongoDB, the wire server."""
