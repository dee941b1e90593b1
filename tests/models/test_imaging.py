"""Preparing radiographs for the grounder: RGB, padded to a square, boxes mapped back."""

from __future__ import annotations

import numpy as np
import pytest

from audit.schema import Box, ImageFinding, ImageReading, ParseOutcome
from models.imaging import pad_to_square, png_data_url, to_rgb, unpad_reading


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((80, 96), dtype=np.uint8),
        np.zeros((80, 96, 3), dtype=np.uint8),
        np.zeros((80, 96, 4), dtype=np.uint8),
        np.linspace(0, 4095, 80 * 96).reshape(80, 96).astype(np.uint16),
    ],
    ids=["gray", "rgb", "rgba", "16-bit"],
)
def test_any_usual_array_becomes_an_rgb_image_of_the_same_size(array: np.ndarray) -> None:
    image = to_rgb(array)
    assert (image.mode, image.size) == ("RGB", (96, 80))


def test_a_landscape_image_is_centred_on_a_black_square() -> None:
    image = to_rgb(np.full((80, 96), 255, dtype=np.uint8))
    square = np.asarray(pad_to_square(image))
    assert square.shape == (96, 96, 3)
    assert square[:8].max() == 0 and square[-8:].max() == 0  # 8 px bands above and below
    assert square[8:88].min() == 255


def test_a_square_image_is_left_as_it_is() -> None:
    image = to_rgb(np.zeros((64, 64), dtype=np.uint8))
    assert pad_to_square(image) is image


def test_an_image_travels_as_a_png_data_url() -> None:
    assert png_data_url(to_rgb(np.zeros((4, 4), dtype=np.uint8))).startswith("data:image/png;base64,iVBOR")


def test_a_failed_reading_only_takes_the_original_size() -> None:
    failed = ImageReading(backend="medgemma", outcome=ParseOutcome.failed("no JSON", raw="zzz"))
    mapped = unpad_reading(failed, (96, 80), "zzz")
    assert mapped.failed and (mapped.image_width, mapped.image_height) == (96, 80)


def test_when_every_box_lies_in_the_padding_the_reading_fails_with_the_raw_text() -> None:
    finding = ImageFinding(label="nodule_mass", box=Box(x0=0.2, y0=0.0, x1=0.3, y1=0.05), source="medgemma")
    reading = ImageReading(backend="medgemma", findings=(finding,))
    mapped = unpad_reading(reading, (96, 80), "[...]")
    assert mapped.failed and mapped.outcome.raw == "[...]"
    assert mapped.outcome.error == "every box lay in the padding around the image"
