"""The embedded store: one SQLite file, documents kept whole as BSON.

Each company row holds the raw document (so unknown fields, ObjectIds, real dates and
dates-as-strings all survive) plus columns derived from it by `models.summarize` at
every write, so listings never parse a document (`columns`). The derived columns are a
cache of that rule, redone when the schema version rises (`schema`). SQLite calls run
on a two-thread pool with one connection per thread (`store`, `operations`); writes are
``BEGIN IMMEDIATE`` transactions, which makes a document's read-modify-write atomic
across threads and processes sharing the file. Filters become SQL in `where`.
"""

from fmcsa_tui.store.sqlite.schema import SCHEMA_VERSION
from fmcsa_tui.store.sqlite.store import SqliteStore

__all__ = ["SCHEMA_VERSION", "SqliteStore"]
