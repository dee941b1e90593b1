"""The two perception protocols the pipeline runs, and the case it hands them.

Backends live in ``models/``; the audit core only knows these shapes, so it never
imports a model stack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from audit.schema import DraftReading, ImageFinding, ImageReading

if TYPE_CHECKING:  # numpy costs ~70 ms to import and is needed here only for the annotation
    import numpy as np

# The longest draft the auditor reads. A real impression is a few hundred characters;
# anything past this is refused with a visible outcome instead of being parsed.
MAX_DRAFT_CHARS = 20_000


@dataclass(frozen=True)
class AuditCase:
    """One case to audit: the draft, and what a grounder may need about the image.

    ``load_image`` returns the image as a 2-D uint8 array (grayscale) when called; it is
    lazy so that backends which never look at pixels (``reference``) never decode them.
    """

    case_id: str
    draft: str
    image_size: tuple[int, int] | None = None  # (width, height)
    reference: tuple[ImageFinding, ...] = ()
    load_image: Callable[[], np.ndarray] | None = None
    image_path: str | None = None


@runtime_checkable
class Grounder(Protocol):
    """Turns an image into findings with boxes."""

    name: str

    def ground(self, case: AuditCase) -> ImageReading: ...


@runtime_checkable
class DraftParser(Protocol):
    """Turns a draft impression into canonical labels with statuses and spans."""

    name: str

    def parse(self, text: str) -> DraftReading: ...


Progress = Callable[[int], None]  # called with the number of items just finished


@runtime_checkable
class BatchGrounder(Grounder, Protocol):
    """A grounder that can read many images per model call (GPU backends); order is kept."""

    def ground_batch(
        self, cases: Sequence[AuditCase], progress: Progress | None = None
    ) -> list[ImageReading]: ...


@runtime_checkable
class BatchParser(DraftParser, Protocol):
    """A parser that can read many drafts per model call (GPU backends); order is kept."""

    def parse_batch(self, texts: Sequence[str], progress: Progress | None = None) -> list[DraftReading]: ...
