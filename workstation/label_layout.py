"""Where box captions go on the review image so that no two ever overlap.

Boxes of different findings often coincide (a model's effusion box and the reference's, or
two flags on one finding), and captions drawn at each box's corner then print over each
other ("cardiomegalydiomegaly"). Each caption is placed in turn, in the order given (flags
first, so they get the places nearest their boxes): the first free spot among positions
around its box, else the nearest free spot stacked above or below those, else the first free
spot anywhere in the frame. Spots already taken by earlier captions and by fixed marks (the
R/L orientation letters) are avoided. Pure geometry in display pixels; no drawing.
"""

from __future__ import annotations

from collections.abc import Sequence

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in display pixels
GAP = 2.0  # pixels between a caption and its box, and between stacked captions


def overlaps(a: Rect, b: Rect) -> bool:
    """Whether two rectangles share any area (touching edges do not count)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _fit(x: float, y: float, w: float, h: float, frame: tuple[float, float]) -> Rect:
    x = min(max(0.0, x), max(0.0, frame[0] - w))
    y = min(max(0.0, y), max(0.0, frame[1] - h))
    return (x, y, x + w, y + h)


def _around(box: Rect, w: float, h: float, frame: tuple[float, float]) -> list[Rect]:
    """Spots touching the box: above it, below it, inside its top, at its left and right corners."""
    x0, y0, x1, y1 = box
    return [
        _fit(x0, y0 - h - GAP, w, h, frame),  # above, left-aligned
        _fit(x0, y1 + GAP, w, h, frame),  # below, left-aligned
        _fit(x0 + GAP, y0 + GAP, w, h, frame),  # inside, top-left
        _fit(x1 - w, y0 - h - GAP, w, h, frame),  # above, right-aligned
        _fit(x1 - w, y1 + GAP, w, h, frame),  # below, right-aligned
        _fit(x0 + GAP, y1 - h - GAP, w, h, frame),  # inside, bottom-left
    ]


def _free(spot: Rect, taken: Sequence[Rect]) -> bool:
    return not any(overlaps(spot, other) for other in taken)


def place_labels(
    boxes: Sequence[Rect],
    sizes: Sequence[tuple[float, float]],
    frame: tuple[float, float],
    obstacles: Sequence[Rect] = (),
) -> list[Rect]:
    """One caption rectangle per box (``sizes`` are the captions' width and height), inside
    ``frame`` (width, height), overlapping neither each other nor ``obstacles`` whenever the
    frame has room for them all."""
    taken: list[Rect] = list(obstacles)
    placed: list[Rect] = []
    for box, (w, h) in zip(boxes, sizes, strict=True):
        spot = _choose(box, w, h, frame, taken)
        placed.append(spot)
        taken.append(spot)
    return placed


def _choose(box: Rect, w: float, h: float, frame: tuple[float, float], taken: Sequence[Rect]) -> Rect:
    candidates = _around(box, w, h, frame)
    for spot in candidates:
        if _free(spot, taken):
            return spot
    step = h + GAP
    rows = int(frame[1] // step) + 1
    # Stack away from the two nearest spots, one caption height at a time, nearest first.
    for distance in range(1, rows + 1):
        for first in candidates[:2]:
            for direction in (-1, 1):
                spot = _fit(first[0], first[1] + direction * distance * step, w, h, frame)
                if _free(spot, taken):
                    return spot
    # A crowded frame: the first free spot scanning rows, then columns.
    for row in range(rows):
        for column in range(int(frame[0] // max(1.0, w / 4)) + 1):
            spot = _fit(column * w / 4, row * step, w, h, frame)
            if _free(spot, taken):
                return spot
    return candidates[0]  # no free spot exists anywhere: the frame is smaller than its captions
