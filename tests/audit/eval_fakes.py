"""Deterministic fake backends and cases for the evaluation tests.

``KeywordParser`` reads the synthetic drafts' plain sentences well enough to act as a
perfect parser for them; the others fail or degrade in one stated way each.
"""

from __future__ import annotations

import re

from audit.labels import Label
from audit.protocols import AuditCase
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

# The patient's right is the viewer's left (x < 0.5).
RIGHT_LOWER = Box(x0=0.10, y0=0.60, x1=0.40, y1=0.90)
LEFT_LOWER = Box(x0=0.60, y0=0.60, x1=0.90, y1=0.90)
RIGHT_UPPER = Box(x0=0.20, y0=0.10, x1=0.30, y1=0.20)
LEFT_APEX = Box(x0=0.60, y0=0.05, x1=0.85, y1=0.25)
HEART = Box(x0=0.35, y0=0.45, x1=0.75, y1=0.80)  # crosses the midline

_KEYWORDS: tuple[tuple[str, Label], ...] = (
    (r"effusion", "pleural_effusion"),
    (r"pneumothora(?:x|ces)", "pneumothorax"),
    (r"opacit(?:y|ies)|consolidation|infiltrate", "lung_opacity"),
    (r"nodules?|mass(?:es)?", "nodule_mass"),
    (r"cardiomegaly|heart is enlarged|enlarged cardiac silhouette|heart size is normal", "cardiomegaly"),
)


def finding(label: Label, box: Box | None) -> ImageFinding:
    return ImageFinding(label=label, box=box, source="reference:test")


def case(case_id: str, *findings: ImageFinding) -> AuditCase:
    return AuditCase(case_id=case_id, draft="", image_size=(512, 512), reference=tuple(findings))


def worklist() -> list[AuditCase]:
    """Five cases: a normal one, one-sided, bilateral, urgent, and everything at once."""
    return [
        case("normal"),
        case("effusion-right", finding("pleural_effusion", RIGHT_LOWER)),
        case("opacity-both", finding("lung_opacity", RIGHT_LOWER), finding("lung_opacity", LEFT_LOWER)),
        case("ptx-left", finding("pneumothorax", LEFT_APEX), finding("cardiomegaly", HEART)),
        case(
            "busy",
            finding("pleural_effusion", LEFT_LOWER),
            finding("nodule_mass", RIGHT_UPPER),
            finding("cardiomegaly", HEART),
        ),
    ]


class KeywordParser:
    """One label per sentence by keyword; 'no'/'normal' deny it; right/left/bilateral set the side."""

    name = "keyword"

    def parse(self, text: str) -> DraftReading:
        labels: dict[Label, DraftLabel] = {}
        for sentence in re.finditer(r"[^.]+\.", text):
            body = sentence.group(0)
            for pattern, label in _KEYWORDS:
                match = re.search(pattern, body, flags=re.IGNORECASE)
                if match is None or label in labels:
                    continue
                lowered = body.lower()
                status: Status = "absent" if re.search(r"\bno\b|normal", lowered) else "present"
                side: Side | None = None
                for word in ("bilateral", "right", "left"):
                    if re.search(rf"\b{word}\b", lowered):
                        side = word  # type: ignore[assignment]
                        break
                start = sentence.start() + match.start()
                labels[label] = DraftLabel(
                    label=label,
                    status=status,
                    span=match.group(0),
                    start=start,
                    end=start + len(match.group(0)),
                    side=side,
                    rule_id="keyword",
                    backend=self.name,
                )
        return DraftReading(backend=self.name, text=text, labels=tuple(labels.values()))


class FailingParser:
    """Fails on drafts that mention the given word, like a model whose output cannot be read."""

    name = "failing"

    def __init__(self, word: str) -> None:
        self.word = word
        self.inner = KeywordParser()

    def parse(self, text: str) -> DraftReading:
        if self.word in text.lower():
            return DraftReading(
                backend=self.name,
                text=text,
                outcome=ParseOutcome.failed("model output is not JSON", raw='{"labels": [{"lab'),
            )
        return self.inner.parse(text)


class TruncatingGrounder:
    """Returns only the first reference finding, as a generation cut off at the token limit would."""

    name = "truncating"

    def ground(self, case: AuditCase) -> ImageReading:
        kept = case.reference[:1]
        lost = len(case.reference) - len(kept)
        outcome = ParseOutcome.from_repairs(
            [f"output truncated: closed the list after {len(kept)} finding(s)"] if lost else [],
            raw="[{...",
            dropped=lost,
        )
        return ImageReading(backend=self.name, findings=kept, outcome=outcome)


class FailingGrounder:
    """Fails on the named cases, like a grounder whose output cannot be parsed at all."""

    name = "failing-grounder"

    def __init__(self, *case_ids: str) -> None:
        self.case_ids = set(case_ids)

    def ground(self, case: AuditCase) -> ImageReading:
        if case.case_id in self.case_ids:
            return ImageReading(
                backend=self.name, outcome=ParseOutcome.failed("no JSON in the generation", raw="I")
            )
        return ImageReading(backend=self.name, findings=case.reference)


class ReferenceGrounder:
    name = "reference"

    def ground(self, case: AuditCase) -> ImageReading:
        return ImageReading(backend=self.name, findings=case.reference)
