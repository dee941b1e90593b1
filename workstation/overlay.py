"""Drawing the review image: window/level presets, zoom and pan, labelled box overlays and the
R/L orientation marker (Pillow), and the canvas a reviewer draws and edits boxes on.

Boxes arrive in the internal format (normalized ``[x0, y0, x1, y1]``, ``audit.schema.Box``)
and are mapped to display pixels here, once; boxes drawn on the canvas are mapped back here
too. Styles: a flagged finding is solid in its flag type's colour (one colour per type); an
image finding without a flag is dotted neutral grey; reference boxes are dashed cyan;
reviewer boxes solid lime. Captions never overlap (``label_layout``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from audit.schema import Box, FlagType
from workstation.label_layout import Rect, overlaps, place_labels

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
NEUTRAL_COLOUR = "#d9d9d9"  # an image finding the comparator did not flag: no alarm colour
REFERENCE_COLOUR = "#00e5ff"
REVIEWER_COLOUR = "#c6ff00"
MARKER_COLOUR = "#1a1a1a"
DEFAULT_MAX_SIDE = 1024
FRONTAL_VIEWS = frozenset({"PA", "AP"})
MIN_ZOOM, MAX_ZOOM = 1.0, 8.0


@dataclass(frozen=True)
class OverlayBox:
    """One box to draw, with its caption."""

    box: Box
    colour: str
    caption: str
    kind: BoxKind


@dataclass(frozen=True)
class WindowPreset:
    """A named window/level on the image's 8-bit display values."""

    key: str
    name: str
    centre: int
    width: int
    invert: bool = False


# On 8-bit display images (PNG, JPEG, or DICOM after its own VOI LUT): "lung" stretches the
# dark range, "bone / soft tissue" the bright one; "inverted" shows dense structures dark.
WINDOW_PRESETS: tuple[WindowPreset, ...] = (
    WindowPreset("default", "Default", 128, 256),
    WindowPreset("lung", "Lung", 96, 176),
    WindowPreset("bone", "Bone/soft tissue", 176, 160),
    WindowPreset("inverted", "Inverted", 128, 256, invert=True),
)
PRESETS_BY_KEY: dict[str, WindowPreset] = {preset.key: preset for preset in WINDOW_PRESETS}


@dataclass(frozen=True)
class View:
    """How the image is shown: zoom around a centre, a window/level on 8-bit values, inverted or not."""

    zoom: float = 1.0
    centre_x: float = 0.5
    centre_y: float = 0.5
    window_centre: int = 128
    window_width: int = 256
    invert: bool = False

    def region(self) -> Box:
        """The part of the image in view (normalized), kept inside the frame."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom))
        half = 0.5 / zoom
        cx = min(max(self.centre_x, half), 1.0 - half)
        cy = min(max(self.centre_y, half), 1.0 - half)
        return Box(x0=cx - half, y0=cy - half, x1=cx + half, y1=cy + half)

    def with_preset(self, preset: WindowPreset) -> View:
        return replace(self, window_centre=preset.centre, window_width=preset.width, invert=preset.invert)

    def zoomed(self, factor: float, at_x: float = 0.5, at_y: float = 0.5) -> View:
        """Zoom by ``factor`` keeping the point at (``at_x``, ``at_y``) of the view (0–1) where it is."""
        before = self.region()
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom * factor))
        point_x = before.x0 + at_x * before.width
        point_y = before.y0 + at_y * before.height
        half = 0.5 / zoom
        centre_x = point_x + (0.5 - at_x) * 2 * half
        centre_y = point_y + (0.5 - at_y) * 2 * half
        return replace(self, zoom=zoom, centre_x=centre_x, centre_y=centre_y).clamped()

    def panned(self, dx: float, dy: float) -> View:
        """Move the view by ``dx``, ``dy`` of its own width and height (a drag to the right shows
        what lies to the left, so the centre moves the other way)."""
        region = self.region()
        return replace(
            self, centre_x=self.centre_x - dx * region.width, centre_y=self.centre_y - dy * region.height
        ).clamped()

    def clamped(self) -> View:
        """The same view with its centre inside the frame, as ``region`` draws it."""
        region = self.region()
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom))
        return replace(
            self, zoom=zoom, centre_x=(region.x0 + region.x1) / 2, centre_y=(region.y0 + region.y1) / 2
        )

    @property
    def preset_key(self) -> str | None:
        """The preset this view's window is, or None for a window set by hand."""
        for preset in WINDOW_PRESETS:
            if (preset.centre, preset.width, preset.invert) == (
                self.window_centre,
                self.window_width,
                self.invert,
            ):
                return preset.key
        return None


def shows_orientation(view_position: str | None) -> bool:
    """Whether the R/L marker applies: a frontal radiograph (PA or AP), where the patient's right
    is on the viewer's left. Other or unknown views get no marker rather than a wrong one."""
    return (view_position or "").strip().upper() in FRONTAL_VIEWS


def apply_window(pixels: np.ndarray, centre: int, width: int, invert: bool = False) -> np.ndarray:
    """Map 8-bit values through a window: ``centre - width/2`` → 0 and ``centre + width/2`` → 255
    (reversed when ``invert``)."""
    width = max(1, int(width))
    low = centre - width / 2.0
    scaled = (pixels.astype(np.float32) - low) * (255.0 / width)
    out = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return 255 - out if invert else out


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


def _broken_rectangle(
    draw: ImageDraw.ImageDraw, xy: Rect, colour: str, width: int, dash: float, gap: float
) -> None:
    x0, y0, x1, y1 = xy
    for start in np.arange(x0, x1, dash + gap):
        end = min(start + dash, x1)
        draw.line([(start, y0), (end, y0)], fill=colour, width=width)
        draw.line([(start, y1), (end, y1)], fill=colour, width=width)
    for start in np.arange(y0, y1, dash + gap):
        end = min(start + dash, y1)
        draw.line([(x0, start), (x0, end)], fill=colour, width=width)
        draw.line([(x1, start), (x1, end)], fill=colour, width=width)


def _draw_box(draw: ImageDraw.ImageDraw, item: OverlayBox, xy: Rect, line: int) -> None:
    if item.kind == "reference":
        _broken_rectangle(draw, xy, item.colour, line, dash=4.0 * line, gap=3.0 * line)
    elif item.kind == "model":
        _broken_rectangle(draw, xy, item.colour, line, dash=1.5 * line, gap=1.5 * line)
    else:
        draw.rectangle(xy, outline=item.colour, width=line + (1 if item.kind == "flag" else 0))


# Captions are placed in this order, so a flag's caption gets the spot nearest its box.
_CAPTION_ORDER: dict[BoxKind, int] = {"flag": 0, "reviewer": 1, "model": 2, "reference": 3}
# Boxes are drawn in this order, so a flag's outline is never covered.
_DRAW_ORDER: dict[BoxKind, int] = {"reference": 0, "model": 1, "reviewer": 2, "flag": 3}
_PAD = 3


def _text_size(draw: ImageDraw.ImageDraw, text: str, font: Any) -> tuple[float, float, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left + 2 * _PAD, bottom - top + 2 * _PAD, top


def _marker_font(size: tuple[int, int]) -> Any:
    return _font(max(16, round(max(size) / 24)))


def orientation_marks(size: tuple[int, int]) -> list[tuple[str, Rect]]:
    """Where the R/L marker's letters go on a rendered view of ``size``: (letter, rectangle)."""
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    return [(letter, rect) for letter, rect, _ in _orientation_marks(draw, size, _marker_font(size))]


def _orientation_marks(
    draw: ImageDraw.ImageDraw, size: tuple[int, int], font: Any
) -> list[tuple[str, Rect, int]]:
    """The patient's right on the viewer's left: 'R' at the left edge, 'L' at the right, a little
    below the top (where images often carry burned-in text of their own)."""
    margin = max(4, round(max(size) / 120))
    y = margin + round(size[1] * 0.08)
    marks = []
    for letter, at_left in (("R", True), ("L", False)):
        w, h, top = _text_size(draw, letter, font)
        w, h = w + 2 * _PAD, h + _PAD
        x = margin if at_left else size[0] - margin - w
        marks.append((letter, (float(x), float(y), float(x + w), float(y + h)), top))
    return marks


def render(
    pixels: np.ndarray,
    boxes: Sequence[OverlayBox],
    view: View | None = None,
    max_side: int = DEFAULT_MAX_SIDE,
    *,
    orientation: bool = False,
) -> Image.Image:
    """The image (2-D uint8) windowed, cropped to the view, scaled, with each box drawn and captioned
    (captions never overlapping), and, when ``orientation``, the R/L marker of a frontal view."""
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
    windowed = apply_window(scaled, view.window_centre, view.window_width, view.invert)
    image = Image.fromarray(windowed, mode="L").convert("RGB")
    draw = ImageDraw.Draw(image)
    line = max(2, round(max(size) / 250))
    font = _font(max(13, round(max(size) / 36)))
    shown = [(item, xy) for item in boxes if (xy := to_display(item.box, region, size)) is not None]
    for item, xy in sorted(shown, key=lambda pair: _DRAW_ORDER[pair[0].kind]):
        _draw_box(draw, item, xy, line)
    marker_font = _marker_font(size)
    marks = _orientation_marks(draw, size, marker_font) if orientation else []
    captioned = sorted(shown, key=lambda pair: _CAPTION_ORDER[pair[0].kind])
    measured = [_text_size(draw, item.caption, font) for item, _ in captioned]
    spots = place_labels(
        [xy for _, xy in captioned], [(w, h) for w, h, _ in measured], size, [rect for _, rect, _ in marks]
    )
    for (item, xy), spot, (_, _, text_top) in zip(captioned, spots, measured, strict=True):
        grown = (xy[0] - line - 1, xy[1] - line - 1, xy[2] + line + 1, xy[3] + line + 1)
        if not overlaps(spot, grown):  # displaced from its box: a leader line says whose it is
            draw.line([_nearest_corner(spot, xy), _nearest_corner(xy, spot)], fill=item.colour, width=1)
        draw.rectangle(spot, fill=item.colour)
        draw.text(
            (spot[0] + _PAD, spot[1] + _PAD - text_top),
            item.caption,
            fill=text_colour(item.colour),
            font=font,
        )
    for letter, rect, text_top in marks:
        draw.rectangle(rect, fill=MARKER_COLOUR, outline="#ffffff", width=1)
        draw.text((rect[0] + 2 * _PAD, rect[1] + _PAD - text_top), letter, fill="#ffffff", font=marker_font)
    return image


def _nearest_corner(a: Rect, b: Rect) -> tuple[float, float]:
    """The point of ``a`` nearest the centre of ``b``."""
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    return (min(max(cx, a[0]), a[2]), min(max(cy, a[1]), a[3]))


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
