"""Box formats (ARCHITECTURE.md, Box formats): every conversion, its inverse, and its refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit import boxes
from audit.schema import Box

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def valid_boxes(draw: st.DrawFn) -> Box:
    x0, x1 = sorted((draw(unit), draw(unit)))
    y0, y1 = sorted((draw(unit), draw(unit)))
    if x1 - x0 < 1e-3 or y1 - y0 < 1e-3:
        x0, y0, x1, y1 = 0.1, 0.1, 0.2, 0.3
    return Box(x0=x0, y0=y0, x1=x1, y1=y1)


sizes = st.tuples(st.integers(16, 4096), st.integers(16, 4096))


def close(a: Box, b: Box, tol: float = 1e-6) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a.as_list(), b.as_list(), strict=True))


@given(valid_boxes(), st.sampled_from(["unit", "per_mille"]))
def test_box_2d_round_trips_in_normalized_scales(box: Box, scale: str) -> None:
    values = boxes.to_box_2d(box, scale)  # type: ignore[arg-type]
    result = boxes.from_box_2d(values)
    assert result.box is not None
    assert close(result.box, box, 1e-3)


@given(valid_boxes(), sizes)
def test_pixel_xyxy_and_xywh_round_trip(box: Box, size: tuple[int, int]) -> None:
    xyxy = boxes.from_pixel_xyxy(*boxes.to_pixel_xyxy(box, size), size)
    xywh = boxes.from_pixel_xywh(*boxes.to_pixel_xywh(box, size), size)
    assert xyxy.box is not None and close(xyxy.box, box)
    assert xywh.box is not None and close(xywh.box, box)


@given(valid_boxes(), sizes)
def test_square_padding_round_trips(box: Box, size: tuple[int, int]) -> None:
    padded = boxes.pad_square(box, size)
    back = boxes.unpad_square(padded, size)
    assert back.box is not None and close(back.box, box, 1e-6)


def test_a_box_reaching_into_the_padding_is_clipped_to_the_image_with_a_repair() -> None:
    # 96x80 landscape image on a 96x96 square: 8 px bands above and below (1/12 of the side).
    result = boxes.unpad_square(Box(x0=0.1, y0=0.0, x1=0.4, y1=0.5), (96, 80))
    assert result.box is not None
    assert result.box.y0 == 0.0 and result.box.y1 == pytest.approx((48 - 8) / 80)
    assert result.repairs and "reached into the padding" in result.repairs[0]


def test_a_box_wholly_in_the_padding_is_rejected_with_that_reason() -> None:
    result = boxes.unpad_square(Box(x0=0.2, y0=0.0, x1=0.3, y1=0.05), (96, 80))
    assert result.box is None
    assert result.error is not None and result.error.startswith("box lies wholly in the padding")


@given(valid_boxes(), valid_boxes())
def test_iou_is_symmetric_and_bounded(a: Box, b: Box) -> None:
    assert boxes.iou(a, b) == pytest.approx(boxes.iou(b, a))
    assert 0.0 <= boxes.iou(a, b) <= 1.0


def test_box_2d_is_read_y_first() -> None:
    result = boxes.from_box_2d([0.1, 0.2, 0.3, 0.6])
    assert result.box == Box(x0=0.2, y0=0.1, x1=0.6, y1=0.3)


SCALES = {
    "all values at most 1 are unit": ([0.1, 0.2, 0.3, 0.6], None, "unit", [0.2, 0.1, 0.6, 0.3]),
    "values up to 1000 are per mille": ([100, 200, 300, 600], None, "per_mille", [0.2, 0.1, 0.6, 0.3]),
    "larger values are pixels of the image": (
        [512, 256, 1536, 1024],
        (2048, 2048),
        "pixel",
        [0.125, 0.25, 0.5, 0.75],
    ),
}


@pytest.mark.parametrize(("values", "size", "scale", "xyxy"), SCALES.values(), ids=SCALES.keys())
def test_box_2d_scale_is_detected_and_recorded(
    values: list[float], size: tuple[int, int] | None, scale: str, xyxy: list[float]
) -> None:
    result = boxes.from_box_2d(values, size)
    assert result.scale == scale
    assert result.box is not None and result.box.as_list() == xyxy


REJECTED = {
    "inverted": ([0.5, 0.5, 0.2, 0.9], "inverted"),
    "zero area": ([0.2, 0.5, 0.2, 0.9], "zero area"),
    "pixels without a size": ([100, 200, 1200, 1300], "in pixels but the image size is unknown"),
    "three numbers": ([0.1, 0.2, 0.3], "expected four numbers"),
    "words": (["a", "b", "c", "d"], "expected four numbers"),
    "not finite": ([0.1, 0.2, float("nan"), 0.4], "non-finite"),
    "a string": ("0.1, 0.2, 0.3, 0.4", "expected four numbers"),
}


@pytest.mark.parametrize(("values", "reason"), REJECTED.values(), ids=REJECTED.keys())
def test_invalid_boxes_are_rejected_with_a_reason(values: object, reason: str) -> None:
    result = boxes.from_box_2d(values)
    assert result.box is None
    assert result.error is not None and reason in result.error


def test_a_small_overshoot_is_clipped_and_recorded() -> None:
    result = boxes.normalized_box(-0.02, 0.1, 0.5, 1.03)
    assert result.box == Box(x0=0.0, y0=0.1, x1=0.5, y1=1.0)
    assert result.repairs == ("clipped box [-0.02, 0.1, 0.5, 1.03] to the image",)


def test_a_unit_box_overshooting_the_edge_is_still_unit_and_clipped() -> None:
    result = boxes.from_box_2d([0.1, 0.2, 1.02, 0.6])
    assert result.scale == "unit"
    assert result.box == Box(x0=0.2, y0=0.1, x1=0.6, y1=1.0)


def test_pixel_boxes_far_outside_the_image_are_rejected() -> None:
    result = boxes.from_box_2d([100, 100, 1300, 900], (1000, 1000))
    assert result.box is None and result.error is not None and "outside the image" in result.error


def test_a_box_well_outside_the_frame_is_rejected() -> None:
    result = boxes.normalized_box(0.1, 0.1, 0.5, 1.2)
    assert result.box is None and result.error is not None and "outside the image" in result.error


def test_pixel_boxes_rescale_between_image_sizes() -> None:
    # NIH boxes are drawn on 1024 px images; the shared PNGs are 512 px.
    assert boxes.scale_pixel_box((200, 100, 50, 80), (1024, 1024), (512, 512)) == (100, 50, 25, 40)


def test_square_padding_of_a_wide_image_moves_y_only() -> None:
    box = Box(x0=0.0, y0=0.0, x1=1.0, y1=1.0)
    padded = boxes.pad_square(box, (200, 100))
    assert padded.as_list() == [0.0, 0.25, 1.0, 0.75]


SIDES = {
    "left half of the image is the patient's right": (Box(x0=0.1, y0=0.1, x1=0.45, y1=0.5), "right"),
    "right half of the image is the patient's left": (Box(x0=0.55, y0=0.1, x1=0.9, y1=0.5), "left"),
    "a box across the midline": (Box(x0=0.4, y0=0.1, x1=0.6, y1=0.5), "midline"),
    "a box ending at the midline": (Box(x0=0.2, y0=0.1, x1=0.5, y1=0.5), "right"),
}


@pytest.mark.parametrize(("box", "side"), SIDES.values(), ids=SIDES.keys())
def test_patient_side_of_a_box(box: Box, side: str) -> None:
    assert boxes.patient_side(box) == side


def test_iou_of_known_boxes() -> None:
    a = Box(x0=0.0, y0=0.0, x1=0.5, y1=0.5)
    b = Box(x0=0.25, y0=0.0, x1=0.75, y1=0.5)
    assert boxes.iou(a, b) == pytest.approx(1 / 3)  # overlap 0.125 of union 0.375
    assert boxes.iou(a, Box(x0=0.6, y0=0.6, x1=0.9, y1=0.9)) == 0.0
