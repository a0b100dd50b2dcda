"""A test fake of a MongoDB server: the real driver, a real socket, mongomock's storage.

See `tests.support.mongo_wire.server`; ``python -m tests.support.mongo_wire`` runs it.
"""

from tests.support.mongo_wire.server import MongoWireServer

__all__ = ["MongoWireServer"]
