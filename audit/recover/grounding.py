"""Grounding recovery: a grounder's generation read as image findings with boxes.

After the shared salvage (:mod:`audit.recover.json_salvage`), a grounder's answer may
also be prose with ``label ... [a, b, c, d]`` pairs when it holds no JSON objects. Boxes
are read by :func:`audit.boxes.from_box_2d`, which detects their scale. A box that cannot
be used (inverted, empty, outside the image, not four finite numbers) is rejected with its
reason and the finding is kept without it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from audit.boxes import from_box_2d
from audit.errors import RecoveryError
from audit.labels import Label, canonical_label
from audit.recover.json_salvage import RepairLog, answer_text, json_items, labelled_items
from audit.schema import ImageFinding, ImageReading, ParseOutcome

_PROSE_BOX = re.compile(
    r"(?P<label>[A-Za-z][A-Za-z_/ -]{2,40}?)\s*[:=(\-–]*\s*(?:at|box(?:_2d)?)?\s*[:=]?\s*"
    r"\[\s*(?P<nums>-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?){3})\s*\]"
)
FINDINGS_KEYS = ("findings", "boxes", "results")


def _finding_items_from_prose(text: str, log: RepairLog) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for match in _PROSE_BOX.finditer(text):
        words = match.group("label").strip().split()
        # The label is the longest tail of the words before the box that names a label.
        name = next(
            (" ".join(words[i:]) for i in range(len(words)) if canonical_label(" ".join(words[i:]))), None
        )
        if name is None:
            continue
        numbers = [float(n) for n in match.group("nums").split(",")]
        items.append({"label": name, "box_2d": numbers})
    if items:
        log.repair(f"read {len(items)} finding(s) from prose (no JSON in the output)")
    return items


def _items(text: str, log: RepairLog) -> tuple[list[Any], RecoveryError | None]:
    """The answer's items: JSON objects, else prose pairs; the JSON error when neither is there."""
    json_log = RepairLog()
    try:
        items = json_items(text, FINDINGS_KEYS, json_log)
        error: RecoveryError | None = None
    except RecoveryError as raised:
        items, error = [], raised
    if not any(isinstance(item, dict) for item in items):
        # No JSON objects (none at all, or a bare box like "[550, 100, 850, 400]" inside
        # prose): read "label ... [a, b, c, d]" pairs from the prose instead.
        prose_items = _finding_items_from_prose(text, log)
        if prose_items:
            return prose_items, None
        if error is not None:
            return [], error
    log.absorb(json_log)
    return items, None


def parse_findings(
    raw: str,
    backend: str,
    image_size: tuple[int, int] | None = None,
    native_labels: Mapping[str, Label] | None = None,
) -> ImageReading:
    """Read a grounder's generation as findings; never raises on bad model output.

    ``image_size`` is (width, height); it is needed only when boxes come in pixels.
    ``native_labels`` are the label names the grounder was trained to write for ours (a
    fine-tune's ``lung_opacity_consolidation``): read as written, not as a repair.
    """
    log = RepairLog()
    width, height = image_size if image_size else (None, None)

    def failed(error: str) -> ImageReading:
        return ImageReading(
            backend=backend,
            outcome=ParseOutcome.failed(error, raw=raw, repairs=tuple(log.repairs)),
            image_width=width,
            image_height=height,
        )

    text, trace_error = answer_text(raw, log)
    if trace_error:
        return failed(trace_error)
    items, error = _items(text, log)
    if error is not None:
        return failed(str(error))
    findings: list[ImageFinding] = []
    for index, item, label in labelled_items(items, log, native_labels):
        score = item.get("score", item.get("confidence"))
        if score is not None and not (isinstance(score, (int, float)) and 0 <= score <= 1):
            log.repair(f"item {index}: ignored score {score!r} (not a number in 0–1)")
            score = None
        raw_box = item.get("box_2d", item.get("bbox", item.get("box")))
        if raw_box is None:
            if label != "no_finding":
                log.repair(f"item {index}: {label} has no box")
            findings.append(ImageFinding(label=label, score=score, source=backend))
            continue
        if "box_2d" not in item:
            log.repair(f"item {index}: read box from key {'bbox' if 'bbox' in item else 'box'!r} as box_2d")
        result = from_box_2d(raw_box, image_size)
        if result.box is None:
            # A box that cannot be drawn loses the box, never the finding: dropping it would
            # silence the finding's MISSING and URGENT flags.
            log.repair(
                f"item {index} ({label}): box rejected ({result.error}); the finding is kept without a box"
            )
            findings.append(ImageFinding(label=label, score=score, source=backend))
            continue
        log.repairs.extend(f"item {index}: {message}" for message in result.repairs)
        if result.scale == "pixel":
            log.repair(f"item {index}: box was in pixels of the {width}x{height} image")
        findings.append(
            ImageFinding(label=label, box=result.box, score=score, source=backend, box_scale=result.scale)
        )
    scales = {f.box_scale for f in findings if f.box_scale}
    if len(scales) > 1:
        log.repair(f"boxes came in mixed scales: {', '.join(sorted(scales))}")
    if items and not findings:
        return failed(f"none of the {len(items)} item(s) could be used")
    return ImageReading(
        backend=backend,
        findings=tuple(findings),
        outcome=ParseOutcome.from_repairs(log.repairs, raw, log.dropped),
        image_width=width,
        image_height=height,
    )
