"""What both grounders do around the model call: the image as the profile wants it, the answer read back."""

from __future__ import annotations

import numpy as np
import pytest

from audit.protocols import AuditCase
from audit.schema import Box
from models.checkpoints import grounding_profile
from models.grounding import prepare_image, read_grounding

V2 = grounding_profile("medgemma-cxr-auditor-v2")
BASE = grounding_profile("medgemma-base")


def case(width: int, height: int) -> AuditCase:
    return AuditCase(case_id="c", draft="x", load_image=lambda: np.full((height, width), 128, dtype=np.uint8))


@pytest.mark.parametrize(
    ("size", "fine_tune", "base"),
    [((1841, 1955), (964, 1024), (1024, 1024)), ((500, 400), (500, 400), (500, 500))],
    ids=["large-dicom-sized", "small"],
)
def test_the_image_is_shaped_as_each_profile_asks(
    size: tuple[int, int], fine_tune: tuple[int, int], base: tuple[int, int]
) -> None:
    prepared = prepare_image(case(*size), V2)
    assert (prepared.model_size, prepared.padded, prepared.original_size) == (fine_tune, False, size)
    padded = prepare_image(case(*size), BASE)
    assert (padded.model_size, padded.padded) == (base, True)


def test_a_case_without_pixels_is_refused() -> None:
    with pytest.raises(ValueError, match="has no image to ground"):
        prepare_image(AuditCase(case_id="none", draft="x"), V2)


def test_boxes_on_a_downscaled_unpadded_image_are_fractions_of_the_original() -> None:
    prepared = prepare_image(case(2000, 1000), V2)
    reading = read_grounding('[{"label": "pneumothorax", "box_2d": [0.1, 0.6, 0.4, 0.9]}]', prepared, "m", V2)
    assert reading.findings[0].box == Box(x0=0.6, y0=0.1, x1=0.9, y1=0.4)
    assert (reading.image_width, reading.image_height) == (2000, 1000)


def test_pixel_boxes_are_read_in_the_pixels_of_the_image_the_model_saw() -> None:
    prepared = prepare_image(case(2000, 1000), V2)  # sent at 1024 x 512
    raw = '[{"label": "cardiomegaly", "box_2d": [128, 256, 384, 1020]}]'  # above 1000: pixels
    box = read_grounding(raw, prepared, "m", V2).findings[0].box
    assert box is not None and box.as_list() == [0.25, 0.25, round(1020 / 1024, 4), 0.75]
