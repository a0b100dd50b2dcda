from fmcsa_tui.cli import main

main()
