"""A search of the list's texts, a step at a time: the rows on screen first.

Testing every search text once costs 30-120 ms at 1,000,000 rows (a needle of two
characters about 100 ns a text: CPython finds one character with `memchr`, two by a
loop), over a keystroke's budget. `TextScan` tests its candidates in display order,
`step` at a time, so the list can paint the first screen of matches after one step and
find the rest between frames (`CompanyRows.advance`, driven by `CompanyList`). Hits are
kept as an `array` of places (no int object each, nothing for the garbage collector to
walk) beside their texts (a longer needle tests only those).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import compress, repeat
from operator import contains

__all__ = ["TextScan"]

#: Candidates: display places in increasing order, their texts, and where to start.
Candidates = tuple[Sequence[int], Sequence[str], int]


class TextScan:
    """Which candidates' texts hold `needle`, tested in display order a step at a time.

    `places` and `texts` are the hits so far (read them, never change them: a narrower
    scan or the view may hold them)."""

    __slots__ = ("_segments", "needle", "places", "texts")

    def __init__(self, needle: str, segments: list[Candidates]) -> None:
        self.needle = needle
        self._segments = [segment for segment in segments if segment[2] < len(segment[0])]
        self.places: array[int] = array("i")
        self.texts: list[str] = []

    @property
    def done(self) -> bool:
        return not self._segments

    @property
    def untested(self) -> int:
        """How many candidates are still to test."""
        return sum(len(places) - start for places, _, start in self._segments)

    def frontier(self, end: int) -> int:
        """The first display place not tested yet (`end` once done): every hit before
        it is in `places`."""
        if not self._segments:
            return end
        places, _, start = self._segments[0]
        return places[start]

    def step(self, size: int) -> array[int]:
        """Test up to `size` more candidates; the places of those that hold the needle."""
        found: array[int] = array("i")
        while size > 0 and self._segments:
            places, texts, start = self._segments[0]
            stop = min(start + size, len(places))
            chunk = texts[start:stop]
            hits = bytes(map(contains, chunk, repeat(self.needle)))
            found.extend(compress(places[start:stop], hits))
            self.texts.extend(compress(chunk, hits))
            size -= stop - start
            if stop == len(places):
                del self._segments[0]
            else:
                self._segments[0] = (places, texts, stop)
        self.places.extend(found)
        return found

    def narrowed(self, needle: str) -> TextScan:
        """A scan for `needle`, which holds this one's: its candidates are this scan's
        hits so far and the candidates it has not tested."""
        return TextScan(needle, [(self.places, self.texts, 0), *self._segments])
