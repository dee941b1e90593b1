"""The ``medgemma`` grounder: fine-tuned MedGemma 4B placing the six labels on the image.

The image is padded to a square (Google's localisation recipe), sent with the grounding
prompt from :mod:`models.prompts`, and the generation is read by
:func:`audit.recover.parse_findings`, which detects the box scale (0–1 or 0–1000) rather
than assuming it; the boxes are then mapped back from the padded square onto the original
image. Model garbage never raises: it becomes a failed reading with the raw text kept.

Importing this module imports neither torch nor transformers; building the backend does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from audit.protocols import AuditCase
from audit.recover import parse_findings
from audit.schema import ImageReading, ParseOutcome
from models.generation import RunRecord
from models.hf_backend import ChatBackend, Progress
from models.imaging import pad_to_square, to_rgb, unpad_reading
from models.loading import LoadedModel, load_model
from models.prompts import Message, grounding_messages, retry_ladder
from models.registry import spec_for
from models.settings import BackendSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedImage:
    """The image the model sees, and what is needed to map its boxes back."""

    image: Any  # PIL RGB, padded to a square when the settings ask for it
    original_size: tuple[int, int]  # (width, height)
    padded: bool

    @property
    def model_size(self) -> tuple[int, int]:
        return self.image.size  # type: ignore[no-any-return]


def prepare_image(case: AuditCase, pad: bool) -> PreparedImage:
    """Load the case's image and pad it to a square (raises on a missing or unreadable image)."""
    if case.load_image is None:
        raise ValueError(f"case {case.case_id} has no image to ground")
    image = to_rgb(case.load_image())
    return PreparedImage(pad_to_square(image) if pad else image, image.size, pad)


def read_grounding(raw: str, prepared: PreparedImage, backend: str) -> ImageReading:
    """Read a generation for ``prepared`` through the recovery layer and undo the padding."""
    reading = parse_findings(raw, backend, prepared.model_size)
    if prepared.padded:
        return unpad_reading(reading, prepared.original_size, raw)
    return reading


class MedGemmaGrounder(ChatBackend[ImageReading]):
    """Grounder over a transformers image-text-to-text model (MedGemma 4B and its fine-tunes)."""

    name = "medgemma"
    task = "grounding"

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> MedGemmaGrounder:
        loaded = load_model(spec_for("grounder", cls.name), settings)
        return cls(loaded, settings)

    def __init__(self, loaded: LoadedModel, settings: BackendSettings) -> None:
        super().__init__(loaded, settings, retry_ladder("grounding", settings))

    def ground(self, case: AuditCase) -> ImageReading:
        return self.ground_batch([case])[0]

    def ground_batch(
        self, cases: Sequence[AuditCase], progress: Progress | None = None
    ) -> list[ImageReading]:
        """Ground many cases, ``batch_size`` images per generate call; order is kept."""
        return [reading for reading, _ in self.ground_batch_with_records(cases, progress)]

    def ground_batch_with_records(
        self, cases: Sequence[AuditCase], progress: Progress | None = None
    ) -> list[tuple[ImageReading, RunRecord | None]]:
        """Each case's reading with the record of its attempts (None when there was no image)."""
        results: list[tuple[ImageReading, RunRecord | None] | None] = [None] * len(cases)
        chats: list[list[Message]] = []
        readers: list[Callable[[str], ImageReading]] = []
        positions: list[int] = []
        for position, case in enumerate(cases):
            try:
                prepared = prepare_image(case, self.settings.pad_to_square)
            except (ValueError, OSError) as error:
                log.warning("cannot ground case %s: %s", case.case_id, error)
                results[position] = (
                    ImageReading(backend=self.name, outcome=ParseOutcome.failed(f"no usable image: {error}")),
                    None,
                )
                if progress is not None:
                    progress(1)
                continue
            chats.append(grounding_messages(prepared.image))
            readers.append(partial(read_grounding, prepared=prepared, backend=self.name))
            positions.append(position)
        for position, (reading, run) in zip(positions, self.run_batch(chats, readers, progress), strict=True):
            results[position] = (reading, run)
        return [item for item in results if item is not None]
