"""A test fake of a MongoDB server: the real driver, a real socket, mongomock's storage.

No MongoDB server can be installed on the machines this project is developed on, so the
MongoDB backend is tested through the real driver (``pymongo.AsyncMongoClient``) over a
real TCP socket against this small server. It speaks the MongoDB wire protocol
(OP_QUERY for the driver's first handshake, OP_MSG for everything else) on an asyncio
loop in a background thread, and runs each command against one ``mongomock.MongoClient``
that it keeps for its whole life, so data survives a ``stop()``/``start()`` the way a real
server's data survives a restart on disk.

It is NOT a database. Its limits:

* Query, update and aggregation semantics are mongomock's, with mongomock's gaps:
  ``arrayFilters``, collations, ``hint`` and ``let`` are not implemented (the statement
  fails with code 238 "NotImplemented"); only the aggregation stages mongomock knows work.
  Pipeline-style updates work for ``$set``/``$addFields``/``$project``/``$unset``/
  ``$replaceRoot``/``$replaceWith``.
* Standalone by default. ``MongoWireServer(replica_set="rs0")`` answers ``hello`` as
  the primary of a one-member replica set and serves collection change streams
  (``$changeStream`` with ``resumeAfter``/``startAfter``, then any stages mongomock can
  run; ``getMore`` waits up to ``maxTimeMS`` for events). Events are kept in memory for
  the server's life (so a stream resumes by token after ``stop()``/``start()``) and are
  recorded only for writes that arrive over the wire; ``updateDescription`` lists the
  deepest changed paths (an array as a whole). No transactions, read/write concerns
  (accepted and ignored), auth, TLS, compression or TTL expiry (``expireAfterSeconds`` is
  stored but never acted on).
* Cursors are materialised when opened and are lost on ``stop()``.
* Commands run one at a time; mongomock scans every document per query and per unique
  index check, so bulk loads into a collection with a unique index are O(n^2). Keep test
  data to thousands of documents, not hundreds of thousands.
* Checksums are not verified (they are stripped).
* UUIDs are kept as ``bson.Binary`` in storage (see ``framing.DECODE_CODEC``); the driver still
  gets back exactly the bytes it sent.

Modules: `framing` (bytes <-> commands), `errors`, `changestreams`, `crud` (reads
and writes), `commands` (dispatch and the other commands), `server` (`MongoWireServer`:
asyncio, thread, start/stop), `__main__` (the command below). Use::

    with MongoWireServer() as server:
        client = pymongo.AsyncMongoClient(server.url, tz_aware=True)

or run ``python -m tests.support.mongo_wire --port 27017`` to try the CLI against it by hand.
"""

from tests.support.mongo_wire.server import MongoWireServer

__all__ = ["MongoWireServer"]
