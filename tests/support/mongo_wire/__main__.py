"""``python -m tests.support.mongo_wire [--port N] [--replica-set NAME]``: run it by hand."""

from tests.support.mongo_wire.server import main

main()
