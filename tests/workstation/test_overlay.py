"""Overlay drawing: window/level, the view region, box placement in display pixels, colours,
and the drawing canvas (its size, its background, and boxes read back from it)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from audit.schema import Box
from workstation.overlay import (
    FLAG_COLOURS,
    OverlayBox,
    View,
    apply_window,
    boxes_from_drawing,
    canvas_background,
    canvas_size,
    display_size,
    encode,
    placeholder,
    render,
    text_colour,
    to_display,
)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


@pytest.mark.parametrize(
    ("centre", "width", "values", "expected"),
    [
        (128, 256, [0, 128, 255], [0, 128, 254]),  # full range: nearly identity
        (100, 50, [50, 75, 100, 125, 150], [0, 0, 128, 255, 255]),  # narrow window stretches contrast
        (200, 1, [199, 200, 201], [0, 128, 255]),  # width 1: a threshold
    ],
    ids=["full-range", "narrow", "threshold"],
)
def test_window_maps_centre_minus_half_width_to_black(
    centre: int, width: int, values: list[int], expected: list[int]
) -> None:
    out = apply_window(np.array(values, dtype=np.uint8), centre, width)

    assert out.tolist() == expected


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (View(), (0.0, 0.0, 1.0, 1.0)),
        (View(zoom=2.0), (0.25, 0.25, 0.75, 0.75)),
        (View(zoom=2.0, centre_x=0.0, centre_y=1.0), (0.0, 0.5, 0.5, 1.0)),  # kept inside the frame
        (View(zoom=0.5), (0.0, 0.0, 1.0, 1.0)),  # never zooms out past the whole image
    ],
    ids=["whole", "zoom-2", "zoom-at-corner", "below-1"],
)
def test_view_region(view: View, expected: tuple[float, float, float, float]) -> None:
    region = view.region()

    assert (region.x0, region.y0, region.x1, region.y1) == pytest.approx(expected)


def test_to_display_maps_a_box_into_a_zoomed_region() -> None:
    region = Box(x0=0.25, y0=0.25, x1=0.75, y1=0.75)

    xy = to_display(Box(x0=0.25, y0=0.5, x1=0.5, y1=0.75), region, (400, 200))

    assert xy == pytest.approx((0.0, 100.0, 200.0, 199.0))


def test_to_display_skips_a_box_outside_the_view() -> None:
    assert (
        to_display(Box(x0=0.0, y0=0.0, x1=0.1, y1=0.1), Box(x0=0.5, y0=0.5, x1=1.0, y1=1.0), (100, 100))
        is None
    )


@pytest.mark.parametrize(
    ("size", "expected"), [((2048, 1024), (1024, 512)), ((300, 600), (512, 1024))], ids=["wide", "tall"]
)
def test_display_size_fits_the_longer_side(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert display_size(*size) == expected


def test_render_draws_each_box_in_its_colour_at_its_place() -> None:
    pixels = np.full((200, 400), 30, dtype=np.uint8)
    flag = OverlayBox(
        Box(x0=0.1, y0=0.4, x1=0.4, y1=0.9), FLAG_COLOURS["URGENT"], "URGENT: pneumothorax", "flag"
    )

    image = render(pixels, [flag], max_side=400)

    assert image.size == (400, 200)
    edge = image.getpixel((40, 150))  # the left edge of the box: x0 = 0.1 of 400 px
    assert edge == _rgb(FLAG_COLOURS["URGENT"])
    assert image.getpixel((100, 150)) == (30, 30, 30)  # inside the box the image shows through


def test_render_captions_each_box_on_a_label_in_its_colour() -> None:
    pixels = np.zeros((300, 300), dtype=np.uint8)
    box = OverlayBox(Box(x0=0.3, y0=0.5, x1=0.6, y1=0.8), "#00ff00", "MISSING: effusion", "flag")

    image = np.asarray(render(pixels, [box], max_side=300))

    above = image[100:150, 90:180]  # the caption sits just above the box's top edge (y = 150)
    assert (above == [0, 255, 0]).all(axis=-1).sum() > 100


def test_render_refuses_a_colour_image() -> None:
    with pytest.raises(ValueError, match="2-D grayscale"):
        render(np.zeros((10, 10, 3), dtype=np.uint8), [])


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"], ids=["jpeg", "png"])
def test_encode_gives_an_image_the_browser_can_read(fmt: str) -> None:
    data = encode(render(placeholder(64, 32), []), fmt)  # type: ignore[arg-type]

    assert Image.open(io.BytesIO(data)).format == fmt


def test_placeholder_has_the_case_size_or_a_default() -> None:
    assert placeholder(640, 480).shape == (480, 640)
    assert placeholder(None, None).shape == (1024, 1024)


@pytest.mark.parametrize(
    ("background", "expected"),
    [("#ff9f1a", "black"), ("#1f77b4", "white"), ("#c6ff00", "black"), ("#9467bd", "white")],
    ids=["orange", "blue", "lime", "purple"],
)
def test_captions_use_the_text_colour_that_reads_on_their_box_colour(background: str, expected: str) -> None:
    assert text_colour(background) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [((320, 288), (500, 450)), ((1000, 2000), (500, 1000)), ((2000, 500), (500, 125))],
    ids=["landscape", "tall", "wide"],
)
def test_the_canvas_is_always_500_wide_and_keeps_the_image_aspect(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert canvas_size(*size) == expected


def test_the_canvas_background_shows_the_whole_frame_with_the_window_but_not_the_zoom() -> None:
    pixels = np.full((288, 320), 100, dtype=np.uint8)
    box = OverlayBox(Box(x0=0.0, y0=0.0, x1=0.2, y1=0.2), FLAG_COLOURS["URGENT"], "URGENT", "flag")
    zoomed_in = View(zoom=4.0, centre_x=0.9, centre_y=0.9, window_centre=100, window_width=2)

    background = canvas_background(pixels, [box], zoomed_in)

    assert background.size == (500, 450)
    assert background.getpixel((250, 300)) == (128, 128, 128)  # the window maps 100 to mid-grey
    assert background.getpixel((0, 60)) == _rgb(FLAG_COLOURS["URGENT"])  # the top-left box, unzoomed
    assert background.getpixel((99, 60))[0] > 240  # its right edge at 0.2 of the canvas width


@pytest.mark.parametrize(
    ("rect", "expected"),
    [
        ({"type": "rect", "left": 50, "top": 20, "width": 100, "height": 40}, (0.1, 0.1, 0.3, 0.3)),
        (  # Fabric places some objects by their centre
            {
                "type": "rect",
                "left": 100,
                "top": 40,
                "width": 100,
                "height": 40,
                "originX": "center",
                "originY": "center",
            },
            (0.1, 0.1, 0.3, 0.3),
        ),
        (
            {"type": "rect", "left": 50, "top": 20, "width": 50, "height": 20, "scaleX": 2, "scaleY": 2},
            (0.1, 0.1, 0.3, 0.3),
        ),
        (
            {"type": "rect", "left": 450, "top": 180, "width": 100, "height": 40},
            (0.9, 0.9, 1.0, 1.0),
        ),  # clipped
    ],
    ids=["top-left", "centre-origin", "scaled", "clipped"],
)
def test_boxes_from_drawing(rect: dict[str, object], expected: tuple[float, float, float, float]) -> None:
    (box,) = boxes_from_drawing({"objects": [rect]}, (500, 200))

    assert (box.x0, box.y0, box.x1, box.y1) == pytest.approx(expected)


def test_boxes_from_drawing_ignores_clicks_paths_and_an_empty_canvas() -> None:
    drawing = {
        "objects": [
            {"type": "rect", "left": 10, "top": 10, "width": 1, "height": 1},
            {"type": "path", "left": 0, "top": 0, "width": 100, "height": 100},
        ]
    }

    assert boxes_from_drawing(drawing, (500, 500)) == []
    assert boxes_from_drawing(None, (500, 500)) == []
