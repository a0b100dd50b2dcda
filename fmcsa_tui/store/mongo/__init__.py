"""The MongoDB store, on the backend's own collections (see `store.MongoStore`).

Reads are tolerant of messy documents: listings fetch a light projection and let
`models.summarize` and the filter rule decide, with queries only narrowing what comes
over the wire (`queries`). Writes are targeted `$set`s on dotted paths, never a
replace; the errors array is changed by compare-and-set, so concurrent writers never
lose each other's rows (`writes`). The client, URLs and the cancellation shield are in
`connection`, the change stream in `changes`, one-line driver errors in `errors`. Uses
PyMongo's native async API (`AsyncMongoClient`): Motor is deprecated (see
docs/ARCHITECTURE.md).
"""

from fmcsa_tui.store.mongo.changes import CHANGE_PIPELINE
from fmcsa_tui.store.mongo.connection import DEFAULT_SERVER_SELECTION_TIMEOUT_MS, check_url_options
from fmcsa_tui.store.mongo.store import MongoStore
from fmcsa_tui.store.mongo.writes import OWNER_NEEDED, guarded_update

__all__ = [
    "CHANGE_PIPELINE",
    "DEFAULT_SERVER_SELECTION_TIMEOUT_MS",
    "OWNER_NEEDED",
    "MongoStore",
    "check_url_options",
    "guarded_update",
]
