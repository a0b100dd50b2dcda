"""The fleet summary (`run_stats`) as aggregation pipelines over `fmcsa_tui_runs`.

Folding `runs_since` read every record whole into Python. Here MongoDB sums on the
server, through the `startedAt` index: runs per hour and each source's outcomes in one
pipeline (`$facet`), failures per (error text, carrier) in another, so what crosses the
wire is one row per hour and outcome, and one per failed carrier and text, never per run.
Only documents `RunRecord.from_doc` would read count (the `$match` below), only their
first 16 sources, as it keeps; texts are bounded and named by the models' own rules
(`error_text`, `runs.bounded_text`) on the rows that come back, so both say the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from pymongo.asynchronous.collection import AsyncCollection

from fmcsa_tui.models.run_stats import RunStats, error_text
from fmcsa_tui.models.runs import Origin, Outcome, bounded_text
from fmcsa_tui.models.values import Source

__all__ = ["run_stats"]

Doc = dict[str, Any]
#: Sources a record keeps (`RunRecord.from_doc`).
_MOST_SOURCES: Final = 16
#: Rows of the failures pipeline per batch from the server.
_BATCH: Final = 10_000


def _records_since(since: datetime) -> list[Doc]:
    """The documents that are run records started at or after `since`, each source that
    `from_doc` keeps unwound as `s`."""
    return [
        {
            "$match": {
                # an array with a date (an object) in it would match too; from_doc says no
                "startedAt": {"$gte": since, "$not": {"$type": "array"}},
                "endedAt": {"$type": "date", "$not": {"$type": "array"}},
                "who": {"$type": "object", "$not": {"$type": "array"}},
                "who.origin": {"$in": [origin.value for origin in Origin]},
                "sources": {"$type": "array"},
            }
        },
        {
            "$project": {
                "_id": 0,
                "companyId": 1,
                "startedAt": 1,
                "s": {"$slice": ["$sources", _MOST_SOURCES]},
            }
        },
    ]


def _known_sources() -> list[Doc]:
    return [
        {"$unwind": "$s"},
        {
            "$match": {
                "s.source": {"$in": [source.value for source in Source]},
                "s.outcome": {"$in": [outcome.value for outcome in Outcome]},
            }
        },
    ]


def _counts(since: datetime) -> list[Doc]:
    hour = {"$dateToString": {"format": "%Y-%m-%dT%H", "date": "$startedAt"}}
    return [
        *_records_since(since),
        {
            "$facet": {
                "hours": [{"$group": {"_id": hour, "runs": {"$sum": 1}}}],
                "sources": [
                    *_known_sources(),
                    {
                        "$group": {
                            "_id": {"source": "$s.source", "outcome": "$s.outcome"},
                            "times": {"$sum": 1},
                        }
                    },
                ],
            }
        },
    ]


def _failures(since: datetime) -> list[Doc]:
    return [
        *_records_since(since),
        *_known_sources(),
        {"$match": {"s.outcome": Outcome.FAILED.value}},
        {
            "$group": {
                "_id": {"error": "$s.error", "company": "$companyId"},
                "runs": {"$sum": 1},
            }
        },
    ]


async def run_stats(runs: AsyncCollection[Doc], since: datetime) -> RunStats:
    """What folding `runs_since(since)` gives, summed on the server."""
    stats = RunStats()
    async for counts in await runs.aggregate(_counts(since)):
        for row in counts["hours"]:
            when = datetime.strptime(row["_id"], "%Y-%m-%dT%H").replace(tzinfo=UTC)
            stats.count_runs(when, row["runs"])
        for row in counts["sources"]:
            key = row["_id"]
            stats.count_source(Source(key["source"]), Outcome(key["outcome"]), row["times"])
    async for row in await runs.aggregate(_failures(since), batchSize=_BATCH):
        key = row["_id"]
        text = error_text(key.get("error"))
        stats.count_error(text, bounded_text(key.get("company")), row["runs"])
    return stats
