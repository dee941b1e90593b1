"""Pixels for the grounder: RGB, padding, downscaling, encoding, and boxes mapped back.

What a checkpoint wants is its profile's (:mod:`models.checkpoints`): the published
fine-tunes were trained on images never padded, at their own aspect ratio; Google's
MedGemma localisation recipe pads the image to a square (centred, black) so that the
processor's square resize does not distort it, and the boxes then are fractions of the
padded square, mapped back with :func:`audit.boxes.unpad_square`. Either way the image is
downscaled first to the profile's size (longer side at most 1,024 px by default), which
costs the model nothing (its processor resizes to 896 px) and keeps request bodies small.
Pillow is imported when an image is prepared, not when this module is imported.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from audit.boxes import unpad_square
from audit.schema import ImageFinding, ImageReading, ParseOutcome


def to_rgb(image: np.ndarray) -> Any:
    """A PIL RGB image from a 2-D grayscale or 3-D (H, W, 3|4) uint8 array."""
    from PIL import Image

    array = np.asarray(image)
    if array.dtype != np.uint8:
        low, high = float(array.min()), float(array.max())
        scale = 255.0 / (high - low) if high > low else 0.0
        array = ((array.astype(np.float64) - low) * scale).astype(np.uint8)
    if array.ndim == 2:
        return Image.fromarray(array).convert("RGB")
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return Image.fromarray(np.ascontiguousarray(array[:, :, :3])).convert("RGB")
    raise ValueError(f"expected a 2-D grayscale or an (H, W, 3) image, got shape {array.shape}")


def pad_to_square(image: Any) -> Any:
    """The image centred on a black square whose side is its longer edge."""
    from PIL import Image

    width, height = image.size
    side = max(width, height)
    if width == height:
        return image
    canvas = Image.new("RGB", (side, side), (0, 0, 0))
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas


def downscale(image: Any, size: tuple[int, int]) -> Any:
    """The image at ``size`` (a reduction; an image already that size is returned as it is)."""
    from PIL import Image

    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS)


def png_data_url(image: Any) -> str:
    """The image as a ``data:image/png;base64,...`` URL, for OpenAI-compatible endpoints.

    A radiograph whose three channels are equal is sent as one grayscale channel (a third
    of the bytes); the server's loader turns it back into RGB before its processor.
    """
    buffer = io.BytesIO()
    red, green, blue = image.split()
    gray = red.tobytes() == green.tobytes() == blue.tobytes()
    # The fastest zlib level: a radiograph's noise barely compresses further (about a sixth
    # more bytes than the default level), and encoding lies on every request's path.
    (red if gray else image).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def unpad_reading(reading: ImageReading, original_size: tuple[int, int], raw: str) -> ImageReading:
    """Map a reading made on the padded square back onto the original ``(width, height)`` image.

    A box reaching into the padding is clipped to the image; one lying wholly in the padding
    is rejected and its finding kept without a box (dropping the finding would silence its
    MISSING and URGENT flags). Either is recorded as a repair. The reading then describes the
    original image.
    """
    width, height = original_size
    if reading.failed:
        return reading.model_copy(update={"image_width": width, "image_height": height})
    repairs = list(reading.outcome.repairs)
    findings: list[ImageFinding] = []
    for index, finding in enumerate(reading.findings):
        if finding.box is None or width == height:
            findings.append(finding)
            continue
        result = unpad_square(finding.box, original_size)
        if result.box is None:
            repairs.append(
                f"finding {index} ({finding.label}): box rejected ({result.error}) after removing the "
                "padding; the finding is kept without a box"
            )
            findings.append(finding.model_copy(update={"box": None, "box_scale": None}))
            continue
        repairs.extend(f"finding {index}: {message} after removing the padding" for message in result.repairs)
        findings.append(finding.model_copy(update={"box": result.box}))
    outcome = ParseOutcome.from_repairs(repairs, reading.outcome.raw or raw, reading.outcome.dropped_items)
    return reading.model_copy(
        update={"findings": tuple(findings), "outcome": outcome, "image_width": width, "image_height": height}
    )
