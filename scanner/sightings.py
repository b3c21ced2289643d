"""Sightings: the detections of successive sampled video frames folded into one record per
code per continuous appearance.

A pure fold with no I/O, so that the gap rules are tested without any video, and the video
scanner (scanner/video.py) only has to feed it ``(time_s, detections)`` as frames come.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass

from ledger.errors import InvalidInput
from scanner.decode import Detection

__all__ = ["DEFAULT_GAP_S", "Sighting", "sightings"]

DEFAULT_GAP_S = 2.0

Point = tuple[int, int]
Corners = tuple[Point, Point, Point, Point]


@dataclass(frozen=True, slots=True)
class Sighting:
    """One code seen continuously in a video: from ``first_s`` to ``last_s`` (seconds from the
    start of the video or stream), in ``frames`` sampled frames, with its corners (TL, TR, BR,
    BL, in pixels) in the first and the last of them. ``engine`` decoded it first."""

    text: str
    first_s: float
    last_s: float
    frames: int
    corners_first: Corners
    corners_last: Corners
    engine: str

    def to_obj(self) -> dict[str, object]:
        return {
            "text": self.text,
            "first_s": round(self.first_s, 3),
            "last_s": round(self.last_s, 3),
            "frames": self.frames,
            "corners_first": [list(p) for p in self.corners_first],
            "corners_last": [list(p) for p in self.corners_last],
            "engine": self.engine,
        }


@dataclass(slots=True)
class _Open:
    """A sighting still going on."""

    first: Detection
    first_s: float
    last: Detection
    last_s: float
    frames: int

    def close(self) -> Sighting:
        return Sighting(
            self.first.text,
            self.first_s,
            self.last_s,
            self.frames,
            self.first.corners,
            self.last.corners,
            self.first.engine,
        )


def sightings(
    samples: Iterable[tuple[float, Sequence[Detection]]], *, gap_s: float = DEFAULT_GAP_S
) -> Generator[Sighting, None, None]:
    """Fold ``(time_s, detections)`` of successive sampled frames (times increasing) into
    sightings.

    A code seen again at most ``gap_s`` after it was last seen continues its sighting (a
    frame or two where it was blurred or hidden does not split it); after a longer absence
    it starts a new one. A sighting is yielded as soon as a sample shows it closed, and the
    ones still open are yielded when ``samples`` ends, each group by first time, then text.
    A code decoded twice in one frame (two copies of one label) counts once.
    """
    if not gap_s >= 0:
        raise InvalidInput(f"the gap must be 0 s or more, got {gap_s!r}")
    going: dict[str, _Open] = {}
    for t, detections in samples:
        closed = [s for s in going.values() if t - s.last_s > gap_s]
        for s in closed:
            del going[s.first.text]
        yield from sorted((s.close() for s in closed), key=_order)
        for d in detections:
            current = going.get(d.text)
            if current is None:
                going[d.text] = _Open(d, t, d, t, 1)
            elif current.last_s != t:
                current.last, current.last_s = d, t
                current.frames += 1
    yield from sorted((s.close() for s in going.values()), key=_order)


def _order(s: Sighting) -> tuple[float, str]:
    return (s.first_s, s.text)
