"""What the corpus is built from and what it reports: annotated images, curated boxes, the ledger.

Every annotation row that claims a finding is an *input box*; each ends in exactly one of
four places, so that ``kept + merged + deduplicated + sum(dropped) == input_boxes``:

- ``kept``: a box written into a target (a box alone, or the mean of a merged cluster);
- ``merged``: a box folded into another box of the same finding (a cluster of k boxes
  counts one kept and k − 1 merged);
- ``deduplicated``: a box removed because a more specific finding's box covers the same region;
- ``dropped``: a box that could not be used, counted under its reason.

Rows that say an image is normal ("No finding" without a box) are evidence about the
image, not boxes; they are counted apart (``normal_rows``).
"""

from __future__ import annotations

from collections import Counter

from pydantic import Field

from audit.labels import Label
from audit.schema import Box, Frozen

SOURCES: tuple[str, ...] = ("nih", "chestx-det", "vindr", "folder")  # the importers that read box files
TRAIN_FILE = "train.jsonl"
VAL_FILE = "val.jsonl"
CURATION_FILE = "curation.json"


class Annotation(Frozen):
    """One annotation row as a reader wrote it, read on the image it belongs to."""

    reader: str = Field(description="who drew it: 'NIH', 'ChestX-Det', 'VinDr-CXR:R8', ...")
    source_label: str = Field(description="the label name as the dataset spells it")
    label: Label | None = Field(description="the canonical label; None when it has no counterpart")
    box: Box | None = None
    box_error: str | None = Field(default=None, description="why the row's box was rejected")

    @property
    def says_normal(self) -> bool:
        return self.label == "no_finding" and self.box is None and self.box_error is None


class SourceImage(Frozen):
    """One image found on disk, with every annotation row the readers have for it."""

    image_id: str
    path: str
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    patient: str = Field(description="the patient key the split keeps on one side")
    dataset: str
    annotations: tuple[Annotation, ...] = ()
    labelled_normal: bool = Field(
        default=False, description="an image-level label file says this image shows no finding"
    )


class CuratedBox(Frozen):
    """A box that goes into a target: the mean of ``members`` boxes of one finding."""

    label: Label
    box: Box
    members: int = Field(ge=1)
    readers: tuple[str, ...]


class CuratedImage(Frozen):
    """An image as it enters the corpus: its curated boxes (none for a normal image)."""

    image: SourceImage
    boxes: tuple[CuratedBox, ...]

    @property
    def labels(self) -> tuple[Label, ...]:
        """The findings on the image, each once, in the order of first appearance."""
        return tuple(dict.fromkeys(box.label for box in self.boxes))

    @property
    def is_normal(self) -> bool:
        return not self.boxes


class BoxLedger:
    """Where every input box went (mutable while curation runs; frozen into the report)."""

    def __init__(self) -> None:
        self.input_boxes = 0
        self.kept = 0
        self.merged = 0
        self.deduplicated = 0
        self.dropped: Counter[str] = Counter()
        self.dropped_labels: Counter[str] = Counter()  # source label -> rows without a counterpart
        self.normal_rows = 0
        self.kept_by_label: Counter[str] = Counter()

    def drop(self, reason: str, count: int = 1) -> None:
        self.input_boxes += count
        self.dropped[reason] += count

    @property
    def balanced(self) -> bool:
        return self.kept + self.merged + self.deduplicated + sum(self.dropped.values()) == self.input_boxes


class SplitFigures(Frozen):
    images: int
    patients: int
    normal_images: int
    boxes: int
    images_by_label: dict[str, int]


class CurationReport(Frozen):
    """``curation.json``: every box and image accounted for, and the settings that decided it."""

    input_boxes: int
    kept: int
    merged: int
    deduplicated: int
    dropped: dict[str, int] = Field(description="reason -> input boxes dropped for it")
    dropped_labels: dict[str, int] = Field(description="source label without a counterpart -> rows")
    kept_by_label: dict[str, int] = Field(description="checkpoint label -> boxes written into targets")
    normal_rows: int = Field(description="rows saying an image is normal (evidence, not boxes)")
    images: dict[str, int] = Field(description="images found, positive, normal available and kept")
    images_excluded: dict[str, int] = Field(description="reason -> images left out of the corpus")
    splits: dict[str, SplitFigures]
    settings: dict[str, float | int | str]
    sources: list[str]
    profile: str
