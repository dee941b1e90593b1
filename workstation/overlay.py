"""Drawing the review image: window/level, zoom, and labelled box overlays (Pillow), and the
canvas a reviewer draws a missed finding on.

Boxes arrive in the internal format (normalized ``[x0, y0, x1, y1]``, ``audit.schema.Box``)
and are mapped to display pixels here, once; boxes drawn on the canvas are mapped back here
too. Colours: a flagged finding takes its flag type's colour; any other box its label's
colour (``audit.labels.LABEL_COLOURS``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from audit.schema import Box, FlagType

BoxKind = Literal["flag", "model", "reference", "reviewer"]

# UNSUPPORTED flags have no box: the image holds nothing for them to point at.
FLAG_COLOURS: dict[FlagType, str] = {
    "URGENT": "#ff1f1f",
    "MISSING": "#ff9f1a",
    "LATERALITY": "#e040fb",
    "UNSUPPORTED": "#9e9e9e",
}
# When one finding carries several flags, the box takes the colour of the first of these.
FLAG_PRIORITY: tuple[FlagType, ...] = ("URGENT", "LATERALITY", "MISSING", "UNSUPPORTED")
REFERENCE_COLOUR = "#00e5ff"
REVIEWER_COLOUR = "#c6ff00"
DEFAULT_MAX_SIDE = 1024
CANVAS_WIDTH = 500  # fits the image column of a laptop screen, so the canvas is never squeezed
CANVAS_FILL = "rgba(198, 255, 0, 0.15)"  # the reviewer colour, see-through, inside a box being drawn


@dataclass(frozen=True)
class OverlayBox:
    """One box to draw, with its caption."""

    box: Box
    colour: str
    caption: str
    kind: BoxKind


@dataclass(frozen=True)
class View:
    """How the image is shown: zoom around a centre, and a window/level on 8-bit values."""

    zoom: float = 1.0
    centre_x: float = 0.5
    centre_y: float = 0.5
    window_centre: int = 128
    window_width: int = 256

    def region(self) -> Box:
        """The part of the image in view (normalized), kept inside the frame."""
        zoom = max(1.0, self.zoom)
        half = 0.5 / zoom
        cx = min(max(self.centre_x, half), 1.0 - half)
        cy = min(max(self.centre_y, half), 1.0 - half)
        return Box(x0=cx - half, y0=cy - half, x1=cx + half, y1=cy + half)


def apply_window(pixels: np.ndarray, centre: int, width: int) -> np.ndarray:
    """Map 8-bit values through a window: ``centre - width/2`` → 0 and ``centre + width/2`` → 255."""
    width = max(1, int(width))
    low = centre - width / 2.0
    scaled = (pixels.astype(np.float32) - low) * (255.0 / width)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def to_display(box: Box, region: Box, size: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """A normalized box in display pixels of ``region`` shown at ``size``; None when outside the view."""
    width, height = size
    x0 = (box.x0 - region.x0) / region.width * width
    x1 = (box.x1 - region.x0) / region.width * width
    y0 = (box.y0 - region.y0) / region.height * height
    y1 = (box.y1 - region.y0) / region.height * height
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        return None
    return (max(0.0, x0), max(0.0, y0), min(width - 1.0, x1), min(height - 1.0, y1))


def display_size(width: int, height: int, max_side: int = DEFAULT_MAX_SIDE) -> tuple[int, int]:
    """The image's size scaled so its longer side is ``max_side`` (never enlarged past it)."""
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _dashed_rectangle(
    draw: ImageDraw.ImageDraw, xy: tuple[float, float, float, float], colour: str, width: int
) -> None:
    x0, y0, x1, y1 = xy
    dash = 10
    for start in np.arange(x0, x1, dash * 2):
        end = min(start + dash, x1)
        draw.line([(start, y0), (end, y0)], fill=colour, width=width)
        draw.line([(start, y1), (end, y1)], fill=colour, width=width)
    for start in np.arange(y0, y1, dash * 2):
        end = min(start + dash, y1)
        draw.line([(x0, start), (x0, end)], fill=colour, width=width)
        draw.line([(x1, start), (x1, end)], fill=colour, width=width)


def render(
    pixels: np.ndarray,
    boxes: Sequence[OverlayBox],
    view: View | None = None,
    max_side: int = DEFAULT_MAX_SIDE,
) -> Image.Image:
    """The image (2-D uint8) windowed, cropped to the view, scaled, with each box drawn and captioned."""
    view = view or View()
    if pixels.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale image, got shape {pixels.shape}")
    height, width = pixels.shape
    region = view.region()
    left, top = round(region.x0 * width), round(region.y0 * height)
    right, bottom = max(left + 1, round(region.x1 * width)), max(top + 1, round(region.y1 * height))
    # Scale first, then window: the window then costs display pixels, not a CR's 9 million.
    crop = pixels[top:bottom, left:right]
    size = display_size(crop.shape[1], crop.shape[0], max_side)
    scaled = np.asarray(
        Image.fromarray(crop, mode="L").resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    )
    windowed = apply_window(scaled, view.window_centre, view.window_width)
    image = Image.fromarray(windowed, mode="L").convert("RGB")
    draw = ImageDraw.Draw(image)
    line = max(2, round(max(size) / 250))
    font = _font(max(12, round(max(size) / 38)))
    # Reference and reviewer boxes first, flags last, so a flag's caption is never covered.
    order = {"reference": 0, "model": 1, "reviewer": 2, "flag": 3}
    for item in sorted(boxes, key=lambda b: order[b.kind]):
        xy = to_display(item.box, region, size)
        if xy is None:
            continue
        if item.kind == "reference":
            _dashed_rectangle(draw, xy, item.colour, line)
        else:
            draw.rectangle(xy, outline=item.colour, width=line + (1 if item.kind == "flag" else 0))
        text_box = draw.textbbox((0, 0), item.caption, font=font)
        text_w, text_h = text_box[2] - text_box[0], text_box[3] - text_box[1]
        tx = min(max(0.0, xy[0]), size[0] - text_w - 6)
        ty = xy[1] - text_h - 6 if xy[1] - text_h - 6 >= 0 else xy[3] + 2
        ty = min(ty, size[1] - text_h - 6)
        draw.rectangle((tx, ty, tx + text_w + 6, ty + text_h + 6), fill=item.colour)
        draw.text((tx + 3, ty + 3 - text_box[1]), item.caption, fill=text_colour(item.colour), font=font)
    return image


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (a ``#rrggbb`` colour)."""
    value = background.lstrip("#")
    red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "black" if luminance > 140 else "white"


def placeholder(width: int | None, height: int | None, shade: int = 40) -> np.ndarray:
    """A plain dark frame of the case's size, shown (with a notice) when the image is not available."""
    return np.full((height or 1024, width or 1024), shade, dtype=np.uint8)


def encode(image: Image.Image, fmt: Literal["PNG", "JPEG"] = "JPEG") -> bytes:
    """Encode for the browser; JPEG is several times faster to encode and send than PNG."""
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, format="JPEG", quality=90)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def canvas_size(width: int, height: int, canvas_width: int = CANVAS_WIDTH) -> tuple[int, int]:
    """The drawing canvas for an image of ``width`` x ``height``: always ``canvas_width`` wide, the
    image's aspect kept, so a tall image is never squeezed into a square."""
    return canvas_width, max(1, round(canvas_width * height / width))


def canvas_background(pixels: np.ndarray, boxes: Sequence[OverlayBox], view: View) -> Image.Image:
    """The image under the drawing canvas: the boxes and the view's window/level, but the whole
    frame (no zoom), so a rectangle on the canvas maps straight to a normalized box."""
    flat = View(window_centre=view.window_centre, window_width=view.window_width)
    image = render(pixels, boxes, flat)
    return image.resize(canvas_size(image.width, image.height))


_ORIGIN = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}
MIN_DRAWN_FRACTION = 0.005  # a drag shorter than this (of the canvas side) is a click, not a box


def boxes_from_drawing(drawing: Mapping[str, Any] | None, size: tuple[int, int]) -> list[Box]:
    """Rectangles drawn on a canvas of ``size`` (Fabric.js JSON) as normalized boxes.

    Handles Fabric's origin (a rect may be placed by its centre) and scale; clips to the
    canvas; drops rects too small to be a deliberate drag.
    """
    if not drawing:
        return []
    width, height = size
    boxes: list[Box] = []
    for item in drawing.get("objects", []) or []:
        if str(item.get("type", "")).lower() not in ("rect", "labeledrect"):
            continue
        w = float(item.get("width", 0)) * float(item.get("scaleX", 1) or 1)
        h = float(item.get("height", 0)) * float(item.get("scaleY", 1) or 1)
        left = float(item.get("left", 0)) - _ORIGIN.get(str(item.get("originX", "left")), 0.0) * w
        top = float(item.get("top", 0)) - _ORIGIN.get(str(item.get("originY", "top")), 0.0) * h
        x0, x1 = max(0.0, left / width), min(1.0, (left + w) / width)
        y0, y1 = max(0.0, top / height), min(1.0, (top + h) / height)
        if x1 - x0 < MIN_DRAWN_FRACTION or y1 - y0 < MIN_DRAWN_FRACTION:
            continue
        boxes.append(Box(x0=x0, y0=y0, x1=x1, y1=y1))
    return boxes
