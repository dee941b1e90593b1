"""The canvas a reviewer draws and edits boxes on (streamlit-drawable-canvas 0.13), without
Streamlit: its size, the reviewer's saved boxes as the canvas's starting drawing, and what the
drawing now says against them (boxes added, moved or resized, deleted).

The canvas shows the same part of the image as the viewer (``overlay.View.region``), so a
reviewer can draw on a zoomed view: canvas pixels map to the region, and the region to the
whole image, here and only here. Each saved box is put on the canvas as a labelled rectangle
whose chip reads "#2 nodule / mass"; the number is how an edited rectangle is matched back to
the box it was, since the canvas keeps no ids of its own. In 0.13 moving, resizing and
deleting are the canvas toolbar's Edit toggle and "Delete selected" (the ``transform``
drawing mode of older versions was folded into that toggle).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from audit.labels import DISPLAY_NAMES, FINDING_LABELS, Label
from audit.schema import Box
from data.records import ReviewerFinding

CANVAS_HEIGHT = 470  # what the image column has at 1280x720 below the toolbar and the drawing row
CHIP_FONT_PX = 14
CANVAS_MAX_WIDTH = 620
CANVAS_FILL = "rgba(198, 255, 0, 0.15)"  # the reviewer colour, see-through, inside a box
MIN_DRAWN_FRACTION = 0.005  # a drag shorter than this (of the canvas side) is a click, not a box
MOVE_TOLERANCE = 0.002  # a saved box read back within this (of the image side) has not moved
_ORIGIN = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}
_NUMBERED = re.compile(r"^#(\d+)\s+(.*)$")
_LABEL_BY_NAME: dict[str, Label] = {DISPLAY_NAMES[label]: label for label in FINDING_LABELS}


def canvas_size(region_width: float, region_height: float, height: int = CANVAS_HEIGHT) -> tuple[int, int]:
    """The canvas for a view of the given aspect (in image pixels): ``height`` tall, narrower when
    the column is too narrow for it; the aspect is kept, so nothing is squeezed."""
    width = round(height * region_width / region_height)
    if width > CANVAS_MAX_WIDTH:
        return CANVAS_MAX_WIDTH, max(1, round(CANVAS_MAX_WIDTH * region_height / region_width))
    return max(1, width), height


def chip(number: int, label: Label) -> str:
    """The chip text of saved box ``number``: '#2 nodule / mass'."""
    return f"#{number} {DISPLAY_NAMES[label]}"


def numbered(boxes: Sequence[ReviewerFinding]) -> dict[int, ReviewerFinding]:
    """The reviewer's boxes by the number their chip shows (1, 2, … in the order they were drawn)."""
    return {number: box for number, box in enumerate(sorted(boxes, key=lambda b: b.finding_id), start=1)}


def _to_canvas(box: Box, region: Box, size: tuple[int, int]) -> tuple[float, float, float, float]:
    width, height = size
    left = (box.x0 - region.x0) / region.width * width
    top = (box.y0 - region.y0) / region.height * height
    return left, top, box.width / region.width * width, box.height / region.height * height


def starting_drawing(
    boxes: Mapping[int, ReviewerFinding], region: Box, size: tuple[int, int], stroke_width: int = 3
) -> dict[str, Any]:
    """The canvas's ``initial_drawing``: each saved box that shows in ``region``, numbered."""
    objects = []
    for number, finding in boxes.items():
        if not _visible(finding.box, region):
            continue
        left, top, width, height = _to_canvas(finding.box, region, size)
        objects.append(
            {
                "type": "LabeledRect",
                "label": chip(number, finding.label),
                "left": left,
                "top": top,
                "width": width,
                "height": height,
                "originX": "left",
                "originY": "top",
                "scaleX": 1,
                "scaleY": 1,
                "angle": 0,
                "stroke": "#c6ff00",
                "strokeWidth": stroke_width,
                "fontSize": CHIP_FONT_PX,
                "fill": CANVAS_FILL,
                "lockRotation": True,
                "strokeUniform": True,
            }
        )
    return {"objects": objects}


def _visible(box: Box, region: Box) -> bool:
    return box.x1 > region.x0 and box.x0 < region.x1 and box.y1 > region.y0 and box.y0 < region.y1


@dataclass(frozen=True)
class DrawnBox:
    """A rectangle on the canvas, in image coordinates: the saved box it was (its chip number), or a
    new one (number None, labelled with the label chosen when it was drawn)."""

    number: int | None
    label: Label | None
    box: Box


def read_drawing(drawing: Mapping[str, Any] | None, region: Box, size: tuple[int, int]) -> list[DrawnBox]:
    """The canvas's rectangles (Fabric.js JSON) mapped back through ``region`` to the whole image.

    Handles Fabric's origin (a rect may be placed by its centre) and scale; clips to the image;
    drops rects too small to be a deliberate drag.
    """
    if not drawing:
        return []
    width, height = size
    found: list[DrawnBox] = []
    for item in drawing.get("objects", []) or []:
        if str(item.get("type", "")).lower() not in ("rect", "labeledrect"):
            continue
        w = float(item.get("width", 0)) * float(item.get("scaleX", 1) or 1)
        h = float(item.get("height", 0)) * float(item.get("scaleY", 1) or 1)
        left = float(item.get("left", 0)) - _ORIGIN.get(str(item.get("originX", "left")), 0.0) * w
        top = float(item.get("top", 0)) - _ORIGIN.get(str(item.get("originY", "top")), 0.0) * h
        if w / width < MIN_DRAWN_FRACTION or h / height < MIN_DRAWN_FRACTION:
            continue
        x0 = max(0.0, region.x0 + left / width * region.width)
        y0 = max(0.0, region.y0 + top / height * region.height)
        x1 = min(1.0, region.x0 + (left + w) / width * region.width)
        y1 = min(1.0, region.y0 + (top + h) / height * region.height)
        if x1 - x0 < MIN_DRAWN_FRACTION * region.width or y1 - y0 < MIN_DRAWN_FRACTION * region.height:
            continue
        number, label = _parse_chip(str(item.get("label", "")))
        found.append(DrawnBox(number=number, label=label, box=Box(x0=x0, y0=y0, x1=x1, y1=y1)))
    return found


def _parse_chip(text: str) -> tuple[int | None, Label | None]:
    match = _NUMBERED.match(text.strip())
    if match:
        return int(match.group(1)), _LABEL_BY_NAME.get(match.group(2).strip())
    return None, _LABEL_BY_NAME.get(text.strip())


@dataclass(frozen=True)
class BoxEdits:
    """What saving the canvas would change: new boxes, saved boxes moved or resized, saved boxes deleted."""

    added: tuple[tuple[Label, Box], ...] = ()
    moved: tuple[tuple[ReviewerFinding, Box], ...] = ()
    deleted: tuple[ReviewerFinding, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.moved or self.deleted)

    def summary(self) -> str:
        """'1 new box, 1 moved or resized, 1 deleted (#2 nodule / mass)'."""
        parts = []
        if self.added:
            parts.append(f"{len(self.added)} new box{'es' if len(self.added) > 1 else ''}")
        if self.moved:
            parts.append(f"{len(self.moved)} moved or resized")
        if self.deleted:
            parts.append(f"{len(self.deleted)} deleted")
        return ", ".join(parts) if parts else "no changes"


def _moved(before: Box, after: Box) -> bool:
    return any(abs(a - b) > MOVE_TOLERANCE for a, b in zip(before.as_list(), after.as_list(), strict=True))


def edits(
    saved: Mapping[int, ReviewerFinding], drawn: Sequence[DrawnBox], region: Box, new_label: Label
) -> BoxEdits:
    """Compare the canvas with the saved boxes that were put on it (those showing in ``region``).

    A numbered rectangle is that saved box (moved when its corners changed); a saved box whose
    number is gone was deleted; a rectangle without a number (or with one seen twice, after a
    copy) is new and takes its own chip's label, else ``new_label``. Saved boxes outside the
    region were never on the canvas and are left alone.
    """
    on_canvas = {number: box for number, box in saved.items() if _visible(box.box, region)}
    seen: set[int] = set()
    added: list[tuple[Label, Box]] = []
    moved: list[tuple[ReviewerFinding, Box]] = []
    for item in drawn:
        if item.number in on_canvas and item.number not in seen:
            seen.add(item.number)
            original = on_canvas[item.number]
            if _moved(original.box, item.box):
                moved.append((original, item.box))
            continue
        added.append((item.label or new_label, item.box))
    deleted = tuple(box for number, box in on_canvas.items() if number not in seen)
    return BoxEdits(added=tuple(added), moved=tuple(moved), deleted=deleted)
