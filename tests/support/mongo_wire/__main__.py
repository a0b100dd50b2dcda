"""``python -m tests.support.mongo_wire [--port N] [--replica-set NAME] [--refuse-writes]``:
run it by hand.

Prints the server's URL, then serves until Ctrl-C or SIGTERM: for trying the CLI and
the dashboard against it.
"""

from __future__ import annotations

import argparse
import signal
import threading

from tests.support.mongo_wire.server import MongoWireServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.mongo_wire",
        description="Run the mongomock-backed MongoDB wire-protocol test server.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27017)
    parser.add_argument("--replica-set", metavar="NAME", help="act as a one-member replica set")
    parser.add_argument(
        "--refuse-writes",
        action="store_true",
        help="refuse every write with code 13 (Unauthorized), as for a read-only user",
    )
    args = parser.parse_args(argv)
    server = MongoWireServer(
        args.host, args.port, replica_set=args.replica_set, refuse_writes=args.refuse_writes
    ).start()
    print(server.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
