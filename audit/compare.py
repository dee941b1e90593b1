"""The comparator: the only judge. Pure, deterministic, explainable.

Rules (ARCHITECTURE.md, comparator contract):
- ``no_finding`` is derived. An image ``no_finding`` beside any positive finding is dropped
  with a warning; ``no_finding`` itself is never flagged.
- MISSING: present in the image; in the draft absent or not mentioned.
- UNSUPPORTED: present (or uncertain) in the draft; not present in the image.
- URGENT: present in the image and on the urgent list, whatever the draft says.
- LATERALITY: the draft puts a present finding on one side and every image box of that
  label lies wholly on the other side. A box crossing the midline matches either side.
- An uncertain mention counts as mentioned and as asserted, unless the policy says otherwise.

Flags come out in a fixed order (type, then canonical label order), one per type and label.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.boxes import describe_position, patient_side
from audit.labels import DISPLAY_NAMES, FINDING_LABELS, Label
from audit.schema import (
    FLAG_TYPES,
    ComparePolicy,
    DraftLabel,
    DraftReading,
    Flag,
    FlagType,
    ImageFinding,
    ImageReading,
)


@dataclass(frozen=True)
class Comparison:
    flags: tuple[Flag, ...]
    warnings: tuple[str, ...]


def _representative(findings: list[ImageFinding]) -> ImageFinding:
    """The finding a flag points at: the highest score, then the largest box, then the first."""

    def key(item: tuple[int, ImageFinding]) -> tuple[float, float, int]:
        index, finding = item
        score = finding.score if finding.score is not None else 1.0
        area = finding.box.area if finding.box else 0.0
        return (-score, -area, index)

    return sorted(enumerate(findings), key=key)[0][1]


def _where(finding: ImageFinding, count: int) -> str:
    place = "without a box" if finding.box is None else f"in the {describe_position(finding.box)}"
    if count > 1:
        place += f" (1 of {count} boxes)"
    return place


def _quote(draft_label: DraftLabel) -> str:
    return f'"{draft_label.span}"'


def _image_positives(
    image: ImageReading, policy: ComparePolicy
) -> tuple[dict[Label, list[ImageFinding]], list[str]]:
    warnings: list[str] = []
    positives: dict[Label, list[ImageFinding]] = {}
    below_threshold = 0
    for finding in image.findings:
        if finding.label == "no_finding":
            continue
        if finding.score is not None and finding.score < policy.min_score:
            below_threshold += 1
            continue
        positives.setdefault(finding.label, []).append(finding)
    if below_threshold:
        warnings.append(
            f"{below_threshold} image finding(s) scored below {policy.min_score} were not treated as present"
        )
    if positives and any(f.label == "no_finding" for f in image.findings):
        labels = ", ".join(DISPLAY_NAMES[label] for label in FINDING_LABELS if label in positives)
        warnings.append(
            f"the image reading says 'no finding' but also shows {labels}; 'no finding' was ignored"
        )
    return positives, warnings


def present_in_image(
    image: ImageReading, policy: ComparePolicy | None = None
) -> dict[Label, list[ImageFinding]]:
    """The findings the comparator treats as present, by label (what a draft is judged against)."""
    return _image_positives(image, policy or ComparePolicy())[0]


def _mentioned(draft_label: DraftLabel | None, policy: ComparePolicy) -> bool:
    if draft_label is None or draft_label.status == "absent":
        return False
    return draft_label.status == "present" or policy.uncertain_is_mention


def _laterality_conflict(draft_label: DraftLabel, findings: list[ImageFinding]) -> ImageFinding | None:
    """The box that proves the draft's side wrong, or None when any box could match it."""
    if draft_label.side not in ("left", "right"):
        return None
    boxed = [f for f in findings if f.box is not None]
    if not boxed:
        return None
    sides = {patient_side(f.box) for f in boxed if f.box is not None}
    if draft_label.side in sides or "midline" in sides:
        return None
    return _representative(boxed)


def compare(
    image: ImageReading | None,
    draft: DraftReading | None,
    policy: ComparePolicy | None = None,
) -> Comparison:
    """Compare an image reading with a draft reading and return flags in a fixed order.

    A missing image reading (grounding failed) yields no flags; a missing draft reading
    (draft could not be parsed) yields URGENT flags only, since silence cannot be judged.
    """
    policy = policy or ComparePolicy()
    flags: list[Flag] = []
    warnings: list[str] = []
    if image is None:
        return Comparison((), ())
    positives, image_warnings = _image_positives(image, policy)
    warnings.extend(image_warnings)

    for label in FINDING_LABELS:
        findings = positives.get(label, [])
        draft_label = draft.get(label) if draft is not None else None
        name = DISPLAY_NAMES[label]
        if findings:
            finding = _representative(findings)
            where = _where(finding, len(findings))
            if label in policy.urgent_labels:
                flags.append(
                    Flag(
                        type="URGENT",
                        label=label,
                        finding=finding,
                        draft_label=draft_label,
                        reason=f"Image shows {name} {where}: urgent finding, confirm it is communicated.",
                    )
                )
            if draft is None:
                continue
            if not _mentioned(draft_label, policy):
                if draft_label is None:
                    said = "the draft does not mention it"
                elif draft_label.status == "absent":
                    said = f"the draft denies it: {_quote(draft_label)}"
                else:
                    said = f"the draft is only uncertain: {_quote(draft_label)}"
                flags.append(
                    Flag(
                        type="MISSING",
                        label=label,
                        finding=finding,
                        draft_label=draft_label,
                        reason=f"Image shows {name} {where}; {said}.",
                    )
                )
            elif draft_label is not None and draft_label.status == "present":
                wrong_side = _laterality_conflict(draft_label, findings)
                if wrong_side is not None and wrong_side.box is not None:
                    image_side = patient_side(wrong_side.box)
                    flags.append(
                        Flag(
                            type="LATERALITY",
                            label=label,
                            finding=wrong_side,
                            draft_label=draft_label,
                            reason=(
                                f"Draft places {name} on the {draft_label.side} ({_quote(draft_label)}); "
                                f"every image box is on the patient's {image_side}."
                            ),
                        )
                    )
        elif draft is not None and _mentioned(draft_label, policy) and draft_label is not None:
            hedge = "suggests" if draft_label.status == "uncertain" else "asserts"
            flags.append(
                Flag(
                    type="UNSUPPORTED",
                    label=label,
                    finding=None,
                    draft_label=draft_label,
                    reason=(
                        f"Draft {hedge} {name} ({_quote(draft_label)}); the image reading does not show it."
                    ),
                )
            )

    order = {flag_type: index for index, flag_type in enumerate(FLAG_TYPES)}
    label_order = {label: index for index, label in enumerate(FINDING_LABELS)}
    flags.sort(key=lambda f: (order[f.type], label_order[f.label]))
    return Comparison(tuple(flags), tuple(warnings))


def flag_counts(flags: tuple[Flag, ...]) -> dict[FlagType, int]:
    """How many flags of each type, every type present (zero included), in the fixed order."""
    counts: dict[FlagType, int] = dict.fromkeys(FLAG_TYPES, 0)
    for flag in flags:
        counts[flag.type] += 1
    return counts
