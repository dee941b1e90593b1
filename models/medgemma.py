"""The ``medgemma`` grounder: MedGemma 4B (the published fine-tune by default) placing the six labels.

The chat, the image's shape and the reading of the answer follow the checkpoint profile
(:mod:`models.checkpoints`): the default fine-tune gets one user turn, its image first at
its own aspect ratio (longer side at most 1,024 px, no padding), then its pinned prompt;
base MedGemma gets a system turn, our prompt and a square-padded image. The generation is
read by :func:`audit.recover.parse_findings`, which detects the box scale (0–1 or 0–1000)
rather than assuming it. Model garbage never raises: it becomes a failed reading with the
raw text kept.

Importing this module imports neither torch nor transformers; building the backend does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from audit.protocols import AuditCase
from audit.schema import ImageReading, ParseOutcome
from models.checkpoints import GroundingProfile
from models.generation import RunRecord
from models.grounding import PreparedImage, prepare_image, read_grounding
from models.hf_backend import ChatBackend, Progress
from models.prompts import DecodingPlan, Message


class MedGemmaGrounder(ChatBackend[ImageReading]):
    """Grounder over a transformers image-text-to-text model (MedGemma 4B and its fine-tunes)."""

    name = "medgemma"
    task = "grounding"
    kind = "grounder"
    profile: GroundingProfile

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
        return self.run_images(
            cases,
            partial(prepare_image, profile=self.profile),
            self._chat,
            lambda prepared: partial(
                read_grounding, prepared=prepared, backend=self.name, profile=self.profile
            ),
            lambda reason: ImageReading(backend=self.name, outcome=ParseOutcome.failed(reason)),
            progress,
        )

    def _reader(self, prepared: PreparedImage) -> Callable[[str], ImageReading]:
        return partial(read_grounding, prepared=prepared, backend=self.name, profile=self.profile)

    def _chat(self, prepared: PreparedImage, plan: DecodingPlan) -> list[Message]:
        return self.profile.messages(prepared.image)
