"""Deterministic carrier data in the real FMCSA shapes, a pure function of the DOT number.

Every generator seeds its own ``random.Random`` with a string derived from the DOT number
(string seeds are hashed with SHA-512, not ``hash()``), so the same DOT yields the same
data in every run and process, and no generator disturbs another's stream. Nothing here
reads the clock: records are "as of" the fixed SMS snapshot :data:`SNAPSHOT`.

The functions return fresh objects on each call (callers may mutate them); the app
caches the encoded JSON, which is what the request path needs.

Three generators (``qc_carrier``, ``qc_basics``, ``datahub``: inspections with their
violations) share one drawn profile per carrier (``profile``) and the rules of
``shared``; each keeps beside it the word lists or code table only it draws from. This
package is their one entry point: import from ``fmcsa_tui.sandbox.data``.
"""

from fmcsa_tui.sandbox.data.datahub import (
    INSPECTION_COLUMNS,
    VIOLATION_COLUMNS,
    inspection_rows,
    sms_date,
    violation_rows,
)
from fmcsa_tui.sandbox.data.qc_basics import basics
from fmcsa_tui.sandbox.data.qc_carrier import carrier, carrier_content
from fmcsa_tui.sandbox.data.shared import QC_BASE, SNAPSHOT, dot_key

__all__ = [
    "INSPECTION_COLUMNS",
    "QC_BASE",
    "SNAPSHOT",
    "VIOLATION_COLUMNS",
    "basics",
    "carrier",
    "carrier_content",
    "dot_key",
    "inspection_rows",
    "sms_date",
    "violation_rows",
]
