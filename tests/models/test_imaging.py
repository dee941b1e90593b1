"""Pixels for the grounder: RGB, padding, downscaling, encoding, boxes mapped back."""

from __future__ import annotations

import numpy as np
import pytest

from audit.schema import Box, ImageFinding, ImageReading, ParseOutcome
from models.imaging import downscale, pad_to_square, png_data_url, to_rgb, unpad_reading


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


def test_an_image_travels_as_a_png_data_url_gray_when_it_is_gray() -> None:
    import base64
    import io

    from PIL import Image

    def decoded(url: str) -> Image.Image:
        assert url.startswith("data:image/png;base64,iVBOR")
        return Image.open(io.BytesIO(base64.b64decode(url.partition(",")[2])))

    gray = to_rgb(np.arange(16, dtype=np.uint8).reshape(4, 4))
    assert decoded(png_data_url(gray)).mode == "L"
    colour = np.zeros((4, 4, 3), dtype=np.uint8)
    colour[0, 0] = (255, 0, 0)
    assert decoded(png_data_url(to_rgb(colour))).mode == "RGB"  # a burned-in colour mark survives


def test_downscaling_gives_the_size_asked_and_leaves_an_image_of_that_size_alone() -> None:
    image = to_rgb(np.zeros((1500, 2000), dtype=np.uint8))
    assert downscale(image, (1024, 768)).size == (1024, 768)
    assert downscale(image, (2000, 1500)) is image


def test_a_failed_reading_only_takes_the_original_size() -> None:
    failed = ImageReading(backend="medgemma", outcome=ParseOutcome.failed("no JSON", raw="zzz"))
    mapped = unpad_reading(failed, (96, 80), "zzz")
    assert mapped.failed and (mapped.image_width, mapped.image_height) == (96, 80)


@pytest.mark.parametrize(
    ("label", "box"),
    [
        ("pneumothorax", Box(x0=0.2, y0=0.0, x1=0.3, y1=0.05)),  # in the band above the image
        ("nodule_mass", Box(x0=0.4, y0=0.95, x1=0.6, y1=1.0)),  # in the band below
    ],
    ids=["top-band", "bottom-band"],
)
def test_a_box_wholly_in_the_padding_loses_the_box_never_the_finding(label: str, box: Box) -> None:
    finding = ImageFinding(label=label, box=box, source="medgemma", box_scale="unit", score=0.9)
    reading = ImageReading(backend="medgemma", findings=(finding,))
    mapped = unpad_reading(reading, (96, 80), "[...]")
    assert not mapped.failed
    assert [(f.label, f.box, f.box_scale, f.score) for f in mapped.findings] == [(label, None, None, 0.9)]
    assert mapped.outcome.status == "recovered" and mapped.outcome.raw == "[...]"
    assert mapped.outcome.dropped_items == 0
    (repair,) = mapped.outcome.repairs
    assert repair.startswith(f"finding 0 ({label}): box rejected (")
    assert repair.endswith("after removing the padding; the finding is kept without a box")


def test_a_box_partly_in_the_padding_is_clipped_to_the_image_with_a_note() -> None:
    finding = ImageFinding(
        label="pleural_effusion", box=Box(x0=0.1, y0=0.0, x1=0.4, y1=0.5), source="medgemma"
    )
    mapped = unpad_reading(ImageReading(backend="medgemma", findings=(finding,)), (96, 80), "[...]")
    (kept,) = mapped.findings
    assert kept.box is not None and kept.box.y0 == 0.0
    assert any("after removing the padding" in r for r in mapped.outcome.repairs)
