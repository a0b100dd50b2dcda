"""The backend's `companies` document, read tolerantly, and the one status rule.

The backend (Node/Mongoose) owns the document; other writers leave it messy. These
models are for *reading*: a document is read field by field, every field tolerates the
shapes seen in the wild, unknown fields are kept (``extra="allow"``), and nothing here
is ever written back whole. Writes are targeted updates built by the store from the
engine's results.

The status rule
---------------

Only the *status fields* decide a company's status: the containers ``fmcsaData`` and
``fmcsaData.syncStatus`` and, in the latter, ``lastRun``, ``success``, ``errors`` and
the three ``*LastSync``. Each is read on its own; a field that is missing or null is
absent (a null sub-document reads as an absent one, never as an error).

1. ``unreadable`` when a status field cannot be interpreted at all, so no honest status
   exists: ``fmcsaData`` or ``fmcsaData.syncStatus`` is present, not null and not a
   document (a string, number, boolean, array, date, ObjectId…), or ``errors`` is
   present, not null and neither an array nor a document.
2. else ``never`` when ``lastRun`` is not a readable date (see `parse_when`: a BSON date,
   an ISO 8601 string, an int, long or double as a JavaScript epoch; anything else,
   or a moment outside what a UTC datetime holds, is no date).
3. else ``failed`` when there is an error row, or ``success`` reads as false.
4. else ``ok``.

*Error rows* are the elements of an ``errors`` array, whatever each holds (a row of an
unknown source or shape still records a failure), or one document stored in place of
the array. ``success`` *reads as false* when it is ``false``, an int, long or double
equal to 0, or the text false/no/n/0 (any case, surrounding spaces ignored); anything
else (true, a Decimal128, other text, a document…), missing included, is not false.
A ``*LastSync`` that is not a readable date means "no success yet" for staleness; it
never changes the status.

Nothing else ever makes a company unreadable or changes its status: ``name``,
``dotNumber``, ``mcNumber`` of any type, ``smsBasics`` and every BASIC and measure in
it, ``fmcsaData.inspections``, ``lastViolationSync``, ``createdAt``, ``updatedAt`` and
unknown fields are display fields, shown as stored. `status_of` is the rule in code;
`summarize` and `SyncStatus.status` both apply it.
"""

from __future__ import annotations

from fmcsa_tui.models.documents import Company, FmcsaData, SmsBasics, SyncError, SyncStatus
from fmcsa_tui.models.status import (
    ERRORS_FIELD,
    CompanySummary,
    Unreadable,
    error_rows,
    status_container,
    status_of,
    summarize,
)
from fmcsa_tui.models.values import (
    BASIC_FIELDS,
    NEW_DOT_LENGTHS,
    Source,
    Status,
    parse_dot,
    parse_when,
    utcnow,
)

__all__ = [
    "BASIC_FIELDS",
    "ERRORS_FIELD",
    "NEW_DOT_LENGTHS",
    "Company",
    "CompanySummary",
    "FmcsaData",
    "SmsBasics",
    "Source",
    "Status",
    "SyncError",
    "SyncStatus",
    "Unreadable",
    "error_rows",
    "parse_dot",
    "parse_when",
    "status_container",
    "status_of",
    "summarize",
    "utcnow",
]
