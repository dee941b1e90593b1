"""Small builders for readings, so tests state only what matters to them."""

from __future__ import annotations

from audit.labels import Label
from audit.schema import (
    Box,
    DraftLabel,
    DraftReading,
    ImageFinding,
    ImageReading,
    ParseOutcome,
    Side,
    Status,
)

# Boxes in the image frame. The patient's right is the viewer's left (x < 0.5).
PATIENT_RIGHT = Box(x0=0.10, y0=0.55, x1=0.40, y1=0.85)
PATIENT_LEFT = Box(x0=0.60, y0=0.55, x1=0.90, y1=0.85)
ACROSS_MIDLINE = Box(x0=0.35, y0=0.45, x1=0.70, y1=0.80)

# Every kind of ``box_2d`` a grounder may write that cannot be drawn, as JSON text, with the
# words of the reason recovery must record when it rejects the box.
INVALID_BOX_2D: dict[str, tuple[str, str]] = {
    "inverted": ("[0.5, 0.5, 0.2, 0.2]", "box is inverted"),
    "zero-area": ("[0.3, 0.3, 0.3, 0.6]", "box has zero area"),
    "negative": ("[-0.5, -0.4, -0.1, -0.2]", "box lies outside the image"),
    "nan": ("[NaN, 0.1, 0.4, 0.5]", "non-finite coordinate"),
    "infinite": ("[0.1, 0.1, Infinity, 0.5]", "non-finite coordinate"),
    "out-of-range": ("[-300, 100, 500, 900]", "box lies outside the image"),
    "pixels-of-an-unknown-image": ("[100, 1100, 700, 1900]", "in pixels but the image size is unknown"),
    "three-numbers": ("[0.1, 0.2, 0.3]", "expected four numbers"),
    "five-numbers": ("[0.1, 0.2, 0.3, 0.4, 0.5]", "expected four numbers"),
    "non-numeric": ('["top", "left", "bottom", "right"]', "expected four numbers"),
    "a-boolean": ("[true, 0.1, 0.5, 0.5]", "expected four numbers"),
    "a-sentence": ('"left upper zone"', "expected four numbers"),
    "an-object": ('{"y0": 0.1, "x0": 0.1}', "expected four numbers"),
}


def finding(label: Label, box: Box | None = PATIENT_RIGHT, score: float | None = None) -> ImageFinding:
    return ImageFinding(label=label, box=box, score=score, source="test")


def image(*findings: ImageFinding) -> ImageReading:
    return ImageReading(backend="test", findings=tuple(findings))


def failed_image(error: str = "grounder exploded") -> ImageReading:
    return ImageReading(backend="test", outcome=ParseOutcome.failed(error))


def draft(text: str, *entries: tuple[Label, Status, str] | tuple[Label, Status, str, Side]) -> DraftReading:
    """A draft reading whose spans are found in ``text`` (each entry: label, status, span[, side])."""
    labels = []
    for entry in entries:
        label, status, span = entry[0], entry[1], entry[2]
        side = entry[3] if len(entry) == 4 else None
        start = text.index(span)
        labels.append(
            DraftLabel(
                label=label,
                status=status,
                span=span,
                start=start,
                end=start + len(span),
                side=side,
                rule_id="T",
            )
        )
    return DraftReading(backend="test", text=text, labels=tuple(labels))
