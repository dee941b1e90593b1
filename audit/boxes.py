"""Every box conversion in one place.

Formats:
- grounder ``box_2d``: ``[y0, x0, y1, x1]``, y first, in 0–1 (the published fine-tune),
  0–1000 (the Gemini/Gemma convention) or pixels of the given image;
- internal: :class:`audit.schema.Box`, normalized ``[x0, y0, x1, y1]``;
- pixel ``xyxy`` and ``xywh`` (top-left plus size), as dataset files store them.

Invalid boxes are clipped (slightly out of range) or rejected (inverted, zero area, far
out of range, not four numbers), and each result carries the reason, never silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from audit.schema import Box, BoxScale

PatientSide = Literal["right", "left", "midline"]

# How far outside the frame a coordinate may stray (as a fraction of the frame) before
# the box is rejected rather than clipped: grounders often overshoot the edge a little.
CLIP_TOLERANCE = 0.05
PER_MILLE = 1000.0


@dataclass(frozen=True)
class BoxResult:
    """A converted box, or None with the reason it was rejected; ``repairs`` lists clipping."""

    box: Box | None
    scale: BoxScale | None = None
    repairs: tuple[str, ...] = field(default_factory=tuple)
    error: str | None = None


def detect_box_2d_scale(values: Sequence[float]) -> BoxScale:
    """Which scale a grounder's four numbers are in: all ≤ 1 → unit, ≤ 1000 → per mille, else pixel.

    A unit box that overshoots the edge a little (up to ``CLIP_TOLERANCE``) is still unit
    and is clipped later: read as per mille it would be a sub-pixel box in the corner.
    """
    largest = max(abs(v) for v in values)
    if largest <= 1.0 + CLIP_TOLERANCE:
        return "unit"
    if largest <= PER_MILLE:
        return "per_mille"
    return "pixel"


def _as_four_floats(values: object) -> tuple[float, float, float, float] | str:
    if not isinstance(values, (list, tuple)) or len(values) != 4:
        return f"expected four numbers, got {values!r}"
    out: list[float] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            return f"expected four numbers, got {values!r}"
        try:
            number = float(v)
        except ValueError:
            return f"expected four numbers, got {values!r}"
        if not math.isfinite(number):
            return f"box has a non-finite coordinate: {values!r}"
        out.append(number)
    return out[0], out[1], out[2], out[3]


def normalized_box(x0: float, y0: float, x1: float, y1: float) -> BoxResult:
    """Validate normalized xyxy: clip small overshoots, reject inverted, empty or wild boxes."""
    coords = (x0, y0, x1, y1)
    if any(not math.isfinite(v) for v in coords):
        return BoxResult(None, error=f"box has a non-finite coordinate: {list(coords)}")
    if x1 < x0 or y1 < y0:
        return BoxResult(None, error=f"box is inverted (x1 < x0 or y1 < y0): {[round(v, 4) for v in coords]}")
    if any(v < -CLIP_TOLERANCE or v > 1 + CLIP_TOLERANCE for v in coords):
        return BoxResult(None, error=f"box lies outside the image: {[round(v, 4) for v in coords]}")
    clipped = tuple(min(1.0, max(0.0, v)) for v in coords)
    repairs: tuple[str, ...] = ()
    if clipped != coords:
        repairs = (f"clipped box {[round(v, 4) for v in coords]} to the image",)
    cx0, cy0, cx1, cy1 = clipped
    if cx1 <= cx0 or cy1 <= cy0:
        return BoxResult(None, error=f"box has zero area: {[round(v, 4) for v in coords]}")
    return BoxResult(Box(x0=cx0, y0=cy0, x1=cx1, y1=cy1), repairs=repairs)


def from_box_2d(values: object, image_size: tuple[int, int] | None = None) -> BoxResult:
    """Read a grounder's ``[y0, x0, y1, x1]`` in whichever scale it was written.

    ``image_size`` is ``(width, height)``; it is needed only for boxes in pixels.
    """
    parsed = _as_four_floats(values)
    if isinstance(parsed, str):
        return BoxResult(None, error=parsed)
    y0, x0, y1, x1 = parsed
    scale = detect_box_2d_scale(parsed)
    if scale == "unit":
        result = normalized_box(x0, y0, x1, y1)
    elif scale == "per_mille":
        result = normalized_box(x0 / PER_MILLE, y0 / PER_MILLE, x1 / PER_MILLE, y1 / PER_MILLE)
    else:
        if image_size is None:
            return BoxResult(
                None, scale=scale, error=f"box {list(parsed)} is in pixels but the image size is unknown"
            )
        width, height = image_size
        result = normalized_box(x0 / width, y0 / height, x1 / width, y1 / height)
    return BoxResult(result.box, scale=scale, repairs=result.repairs, error=result.error)


def to_box_2d(box: Box, scale: BoxScale = "unit", image_size: tuple[int, int] | None = None) -> list[float]:
    """Write a box as a grounder's ``[y0, x0, y1, x1]`` in the given scale."""
    if scale == "unit":
        factors = (1.0, 1.0)
    elif scale == "per_mille":
        factors = (PER_MILLE, PER_MILLE)
    else:
        if image_size is None:
            raise ValueError("pixel scale needs the image size")
        factors = (float(image_size[0]), float(image_size[1]))
    fx, fy = factors
    return [box.y0 * fy, box.x0 * fx, box.y1 * fy, box.x1 * fx]


def from_pixel_xyxy(x0: float, y0: float, x1: float, y1: float, image_size: tuple[int, int]) -> BoxResult:
    width, height = image_size
    return normalized_box(x0 / width, y0 / height, x1 / width, y1 / height)


def from_pixel_xywh(x: float, y: float, w: float, h: float, image_size: tuple[int, int]) -> BoxResult:
    return from_pixel_xyxy(x, y, x + w, y + h, image_size)


def to_pixel_xyxy(box: Box, image_size: tuple[int, int]) -> tuple[float, float, float, float]:
    width, height = image_size
    return box.x0 * width, box.y0 * height, box.x1 * width, box.y1 * height


def to_pixel_xywh(box: Box, image_size: tuple[int, int]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = to_pixel_xyxy(box, image_size)
    return x0, y0, x1 - x0, y1 - y0


def scale_pixel_box(
    xywh: tuple[float, float, float, float], source_size: tuple[int, int], target_size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """Rescale a pixel xywh box drawn on an image of ``source_size`` to one of ``target_size``."""
    sx = target_size[0] / source_size[0]
    sy = target_size[1] / source_size[1]
    x, y, w, h = xywh
    return x * sx, y * sy, w * sx, h * sy


def unpad_square(box: Box, image_size: tuple[int, int]) -> BoxResult:
    """Map a box read on an image padded to a square (centred) back onto the original image.

    Google's MedGemma localisation recipe pads the radiograph to a square before asking
    for boxes; the model's coordinates are then fractions of the padded square. The model
    sees the black bands, so a box may reach into them: the part on the image is kept (with
    a repair saying so); a box wholly in a band is rejected with that reason.
    """
    width, height = image_size
    side = float(max(width, height))
    pad_x = (side - width) / 2.0
    pad_y = (side - height) / 2.0
    coords = (
        (box.x0 * side - pad_x) / width,
        (box.y0 * side - pad_y) / height,
        (box.x1 * side - pad_x) / width,
        (box.y1 * side - pad_y) / height,
    )
    shown = [round(v, 4) for v in coords]
    x0, y0, x1, y1 = coords
    if x1 <= 0.0 or y1 <= 0.0 or x0 >= 1.0 or y0 >= 1.0:
        return BoxResult(None, error=f"box lies wholly in the padding around the image: {shown}")
    clipped = tuple(min(1.0, max(0.0, v)) for v in coords)
    result = normalized_box(*clipped)
    if result.box is None or clipped == coords:
        return result
    return BoxResult(result.box, repairs=(f"clipped box {shown} to the image (it reached into the padding)",))


def pad_square(box: Box, image_size: tuple[int, int]) -> Box:
    """The inverse of :func:`unpad_square`: where a box on the original lies on the padded square."""
    width, height = image_size
    side = float(max(width, height))
    pad_x = (side - width) / 2.0
    pad_y = (side - height) / 2.0
    return Box(
        x0=(box.x0 * width + pad_x) / side,
        y0=(box.y0 * height + pad_y) / side,
        x1=(box.x1 * width + pad_x) / side,
        y1=(box.y1 * height + pad_y) / side,
    )


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not overlap)."""
    ix0, iy0 = max(a.x0, b.x0), max(a.y0, b.y0)
    ix1, iy1 = min(a.x1, b.x1), min(a.y1, b.y1)
    inter = max(0.0, ix1 - ix0) * max(0.0, iy1 - iy0)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def patient_side(box: Box) -> PatientSide:
    """Which side of the patient a box lies on, for a standard frontal radiograph.

    The patient's right is on the viewer's left: a box wholly in the left half of the
    image is on the patient's right. A box that crosses the midline is ``midline``.
    """
    if box.x1 <= 0.5:
        return "right"
    if box.x0 >= 0.5:
        return "left"
    return "midline"


def describe_position(box: Box) -> str:
    """A short human description of where a box sits, in the patient's frame."""
    side = patient_side(box)
    cy = (box.y0 + box.y1) / 2
    zone = "upper" if cy < 1 / 3 else "mid" if cy < 2 / 3 else "lower"
    where = {"right": "right", "left": "left", "midline": "central"}[side]
    return f"{where} {zone} zone"
