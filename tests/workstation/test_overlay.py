"""Overlay drawing: window/level and its presets, zoom and pan, box placement in display pixels,
one style per kind of box, captions that never overlap, and the R/L marker of a frontal view."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from audit.schema import Box
from workstation.overlay import (
    FLAG_COLOURS,
    MARKER_COLOUR,
    NEUTRAL_COLOUR,
    PRESETS_BY_KEY,
    REFERENCE_COLOUR,
    WINDOW_PRESETS,
    OverlayBox,
    View,
    apply_window,
    display_size,
    encode,
    orientation_marks,
    placeholder,
    render,
    shows_orientation,
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


def test_an_inverted_window_shows_dense_structures_dark() -> None:
    out = apply_window(np.array([0, 128, 255], dtype=np.uint8), 128, 256, invert=True)

    assert out.tolist() == [255, 127, 1]


def test_each_preset_sets_its_window_and_is_recognised_back() -> None:
    for preset in WINDOW_PRESETS:
        view = View(zoom=2.0).with_preset(preset)

        assert (view.window_centre, view.window_width, view.invert, view.zoom) == (
            preset.centre,
            preset.width,
            preset.invert,
            2.0,
        )
        assert view.preset_key == preset.key
    assert View(window_centre=101).preset_key is None  # a window set by hand is no preset


def test_the_presets_are_default_lung_bone_and_inverted() -> None:
    assert [p.name for p in WINDOW_PRESETS] == ["Default", "Lung", "Bone/soft tissue", "Inverted"]
    assert PRESETS_BY_KEY["inverted"].invert and not PRESETS_BY_KEY["lung"].invert


def test_zooming_keeps_the_point_under_the_pointer_where_it_was() -> None:
    view = View().zoomed(2.0, at_x=0.25, at_y=0.75)
    region = view.region()

    # The point a quarter across and three quarters down the frame stays at (0.25, 0.75) of the view.
    assert (0.25 - region.x0) / region.width == pytest.approx(0.25)
    assert (0.75 - region.y0) / region.height == pytest.approx(0.75)
    assert view.zoom == 2.0


def test_zoom_stays_between_the_whole_image_and_eight_times() -> None:
    assert View().zoomed(0.5).zoom == 1.0
    assert View(zoom=6.0).zoomed(4.0).zoom == 8.0


def test_a_drag_moves_the_view_the_other_way_and_stops_at_the_edge() -> None:
    view = View(zoom=2.0)  # shows 0.25–0.75

    dragged_right = view.panned(0.2, 0.0)  # a fifth of the view's width to the right
    assert dragged_right.region().x0 == pytest.approx(0.25 - 0.2 * 0.5)
    assert view.panned(5.0, 0.0).region().x0 == pytest.approx(0.0)  # never past the frame


@pytest.mark.parametrize(
    ("view_position", "expected"),
    [("PA", True), ("AP", True), (" ap ", True), ("LL", False), ("LATERAL", False), (None, False)],
    ids=["pa", "ap", "padded", "lateral", "lateral-word", "unknown"],
)
def test_the_orientation_marker_is_for_frontal_views_only(view_position: str | None, expected: bool) -> None:
    assert shows_orientation(view_position) is expected


def test_the_marker_puts_the_patients_right_on_the_viewers_left() -> None:
    (right, right_rect), (left, left_rect) = orientation_marks((400, 300))

    assert (right, left) == ("R", "L")
    assert right_rect[2] < 200 < left_rect[0]  # R in the left half, L in the right half


def test_the_marker_is_drawn_where_it_says_and_only_when_asked() -> None:
    pixels = np.full((300, 400), 200, dtype=np.uint8)
    marked = np.asarray(render(pixels, [], max_side=400, orientation=True))
    plain = np.asarray(render(pixels, [], max_side=400))

    marker = np.array(_rgb(MARKER_COLOUR))
    for _, (x0, y0, x1, y1) in orientation_marks((400, 300)):
        patch = marked[round(y0) + 2 : round(y1) - 1, round(x0) + 2 : round(x1) - 1]
        assert (patch == marker).all(axis=-1).sum() > 0.3 * patch.shape[0] * patch.shape[1]
        assert (patch == [255, 255, 255]).all(axis=-1).any()  # the white letter
    assert (plain == plain[0, 0]).all()  # nothing drawn without it


def test_a_finding_without_a_flag_is_dotted_neutral_grey_and_a_reference_box_dashed() -> None:
    pixels = np.zeros((400, 400), dtype=np.uint8)
    finding = OverlayBox(Box(x0=0.1, y0=0.5, x1=0.9, y1=0.6), NEUTRAL_COLOUR, "lung opacity", "model")
    reference = OverlayBox(Box(x0=0.1, y0=0.8, x1=0.9, y1=0.9), REFERENCE_COLOUR, "reference: x", "reference")

    image = np.asarray(render(pixels, [finding, reference], max_side=400))

    def runs(row: np.ndarray, colour: str) -> list[int]:
        """Lengths of the stretches of ``colour`` along a row."""
        hits = (row == _rgb(colour)).all(axis=-1)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], hits.astype(int), [0]])))
        return list(edges[1::2] - edges[::2])

    dots, dashes = runs(image[240, 60:340], NEUTRAL_COLOUR), runs(image[360, 60:340], REFERENCE_COLOUR)
    assert len(dots) > len(dashes) > 5  # both broken lines, the neutral one finer
    assert max(dots) < max(dashes)


def test_captions_of_coinciding_boxes_are_both_shown() -> None:
    pixels = np.zeros((400, 400), dtype=np.uint8)
    box = Box(x0=0.3, y0=0.4, x1=0.7, y1=0.8)
    boxes = [
        OverlayBox(box, FLAG_COLOURS["MISSING"], "MISSING: cardiomegaly", "flag"),
        OverlayBox(box, REFERENCE_COLOUR, "reference: cardiomegaly", "reference"),
    ]

    image = np.asarray(render(pixels, boxes, max_side=400))

    for colour in (FLAG_COLOURS["MISSING"], REFERENCE_COLOUR):
        assert (image == _rgb(colour)).all(axis=-1).sum() > 1500  # a whole caption chip, not just a line
