"""What both grounders (local ``medgemma`` and remote ``openai``) do around the model call.

A case's image is prepared as its checkpoint profile asks (RGB; padded to a square or
not; downscaled to the profile's size at its own aspect ratio), and a generation is read
through :func:`audit.recover.parse_findings` with the profile's own label names, then,
for a padded image, mapped back from the square onto the original image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit.protocols import AuditCase
from audit.recover import parse_findings
from audit.schema import ImageReading
from models.checkpoints import GroundingProfile
from models.imaging import downscale, pad_to_square, to_rgb, unpad_reading


@dataclass(frozen=True)
class PreparedImage:
    """The image the model sees, and what is needed to map its boxes back."""

    image: Any  # PIL RGB, as the profile asks: padded or not, downscaled
    original_size: tuple[int, int]  # (width, height)
    padded: bool

    @property
    def model_size(self) -> tuple[int, int]:
        return self.image.size  # type: ignore[no-any-return]


def prepare_image(case: AuditCase, profile: GroundingProfile) -> PreparedImage:
    """Load the case's image and shape it for ``profile`` (raises on a missing or unreadable image)."""
    if case.load_image is None:
        raise ValueError(f"case {case.case_id} has no image to ground")
    image = to_rgb(case.load_image())
    original = image.size
    if profile.pad_to_square:
        image = pad_to_square(image)
    return PreparedImage(downscale(image, profile.input_size(*original)), original, profile.pad_to_square)


def read_grounding(
    raw: str, prepared: PreparedImage, backend: str, profile: GroundingProfile
) -> ImageReading:
    """Read a generation for ``prepared`` through the recovery layer and undo any padding."""
    reading = parse_findings(raw, backend, prepared.model_size, profile.renamed_labels())
    if prepared.padded:
        return unpad_reading(reading, prepared.original_size, raw)
    return reading.model_copy(
        update={"image_width": prepared.original_size[0], "image_height": prepared.original_size[1]}
    )
