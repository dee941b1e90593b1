"""The corpus's curation steps, each a pure function testable alone.

1. :func:`usable_boxes` reads an image's annotations: boxes of a canonical finding go on;
   every other row is dropped under its reason (labels without a counterpart counted per
   source label), or is a reader's word that the image is normal.
2. :func:`merge_same_finding`: boxes of one finding whose IoU is at least ``MERGE_IOU`` are
   joined (union-find: overlap is followed through chains) and replaced by their mean.
3. :func:`resolve_cross_finding`: where boxes of two findings cover one region (IoU at least
   ``CROSS_FINDING_IOU``), only the more specific finding's box is kept (``SPECIFICITY``).
4. :func:`balance`: every positive image is kept; normal images are sampled down to about
   ``normal_ratio`` per positive, with a seeded generator.
5. :func:`split`: patients, not images, are assigned to train or validation, stratified
   by each patient's rarest finding, so that no patient is on both sides.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from audit.boxes import iou
from audit.labels import FINDING_LABELS, Label
from audit.schema import Box
from finetune.records import Annotation, BoxLedger, CuratedBox, CuratedImage, SourceImage

MERGE_IOU = 0.5
CROSS_FINDING_IOU = 0.6
# Most specific first: where two findings claim one region, the earlier one is kept.
SPECIFICITY: tuple[Label, ...] = (
    "pneumothorax",
    "nodule_mass",
    "pleural_effusion",
    "cardiomegaly",
    "lung_opacity",
)
VAL_FRACTION = 0.1
NORMAL_RATIO = 1.0

UNMAPPED = "label without a counterpart in the vocabulary"
NO_BOX = "finding without a box"
NORMAL_WITH_BOX = "no_finding drawn as a box"


def _rejection(error: str) -> str:
    """A box error as a reason category: the text before its coordinates."""
    return "box rejected: " + error.split(":")[0].strip()


def usable_boxes(
    annotations: Iterable[Annotation], ledger: BoxLedger
) -> tuple[list[tuple[Label, Box, str]], bool]:
    """The (label, box, reader) triples that can be curated, and whether a reader said "normal"."""
    usable: list[tuple[Label, Box, str]] = []
    says_normal = False
    for row in annotations:
        if row.says_normal:
            ledger.normal_rows += 1
            says_normal = True
        elif row.label is None:
            ledger.drop(UNMAPPED)
            ledger.dropped_labels[row.source_label] += 1
        elif row.box_error is not None:
            ledger.drop(_rejection(row.box_error))
        elif row.label == "no_finding":
            ledger.drop(NORMAL_WITH_BOX)
        elif row.box is None:
            ledger.drop(NO_BOX)
        else:
            ledger.input_boxes += 1
            usable.append((row.label, row.box, row.reader))
    return usable, says_normal


def clusters(boxes: Sequence[Box], threshold: float = MERGE_IOU) -> list[list[int]]:
    """Indices of ``boxes`` grouped into connected components of the IoU ≥ ``threshold`` graph.

    Components are ordered by their first member and members ascend, so the result
    depends only on the input order.
    """
    parent = list(range(len(boxes)))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if iou(boxes[i], boxes[j]) >= threshold:
                a, b = root(i), root(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(boxes)):
        groups[root(index)].append(index)
    return [groups[key] for key in sorted(groups)]


def mean_box(boxes: Sequence[Box]) -> Box:
    """The coordinate-wise mean: still a valid box, since each coordinate's order is kept."""
    n = len(boxes)

    def mean(values: Iterable[float]) -> float:
        return min(1.0, max(0.0, sum(values) / n))  # rounding must not step outside the frame

    return Box(
        x0=mean(b.x0 for b in boxes),
        y0=mean(b.y0 for b in boxes),
        x1=mean(b.x1 for b in boxes),
        y1=mean(b.y1 for b in boxes),
    )


def merge_same_finding(
    usable: Sequence[tuple[Label, Box, str]], ledger: BoxLedger, threshold: float = MERGE_IOU
) -> list[CuratedBox]:
    """One box per cluster of same-finding boxes; a cluster of k boxes counts k − 1 merged."""
    out: list[CuratedBox] = []
    for label in FINDING_LABELS:
        mine = [(box, reader) for lab, box, reader in usable if lab == label]
        for group in clusters([box for box, _ in mine], threshold):
            members = [mine[i] for i in group]
            ledger.merged += len(members) - 1
            out.append(
                CuratedBox(
                    label=label,
                    box=mean_box([box for box, _ in members]),
                    members=len(members),
                    readers=tuple(sorted({reader for _, reader in members})),
                )
            )
    return out


def resolve_cross_finding(
    boxes: Sequence[CuratedBox], threshold: float = CROSS_FINDING_IOU
) -> tuple[list[CuratedBox], list[CuratedBox]]:
    """(kept, removed): a box goes when a kept box of a more specific finding overlaps it enough.

    Boxes are visited most specific first, so a removed box never removes another.
    """
    order = sorted(range(len(boxes)), key=lambda i: (SPECIFICITY.index(boxes[i].label), i))
    kept: list[int] = []
    removed: list[int] = []
    for i in order:
        box = boxes[i]
        covered = any(boxes[k].label != box.label and iou(boxes[k].box, box.box) >= threshold for k in kept)
        (removed if covered else kept).append(i)
    return [boxes[i] for i in sorted(kept)], [boxes[i] for i in sorted(removed)]


def target_order(boxes: Iterable[CuratedBox]) -> tuple[CuratedBox, ...]:
    """Boxes in the vocabulary's order, then top to bottom and left to right."""
    return tuple(
        sorted(boxes, key=lambda b: (FINDING_LABELS.index(b.label), b.box.y0, b.box.x0, b.box.y1, b.box.x1))
    )


def curate_image(
    image: SourceImage, ledger: BoxLedger, excluded: Counter[str], *, merge_iou: float, cross_iou: float
) -> CuratedImage | None:
    """The image's curated boxes; None (and the reason counted) when it cannot be a training example."""
    usable, says_normal = usable_boxes(image.annotations, ledger)
    merged = merge_same_finding(usable, ledger, merge_iou)
    kept, removed = resolve_cross_finding(merged, cross_iou)
    ledger.deduplicated += len(removed)
    ledger.kept += len(kept)
    for box in kept:
        ledger.kept_by_label[box.label] += 1
    if kept:
        return CuratedImage(image=image, boxes=target_order(kept))
    findings_claimed = [row for row in image.annotations if not row.says_normal]
    if not findings_claimed and (says_normal or image.labelled_normal):
        return CuratedImage(image=image, boxes=())
    if not findings_claimed:
        excluded["no annotation and no label saying it is normal"] += 1
    elif all(row.label is None for row in findings_claimed):
        excluded["only findings outside the vocabulary"] += 1
    else:
        excluded["no usable box"] += 1
    return None


def balance(
    images: Sequence[CuratedImage], normal_ratio: float = NORMAL_RATIO, seed: int = 0
) -> tuple[list[CuratedImage], int]:
    """(images kept in input order, normal images left out): all positives, about ratio × normals."""
    normal_positions = [i for i, image in enumerate(images) if image.is_normal]
    n_positive = len(images) - len(normal_positions)
    target = int(normal_ratio * n_positive + 0.5)
    if target >= len(normal_positions):
        return list(images), 0
    rng = np.random.default_rng(seed)
    chosen = set(rng.choice(normal_positions, size=target, replace=False).tolist()) if target else set()
    kept = [image for i, image in enumerate(images) if not image.is_normal or i in chosen]
    return kept, len(normal_positions) - target


def _patient_strata(images: Sequence[CuratedImage]) -> dict[str, str]:
    """Each patient's stratum: the rarest finding on any of their images, or ``no_finding``."""
    frequency = Counter(label for image in images for label in image.labels)
    labels_of: dict[str, set[Label]] = defaultdict(set)
    for image in images:
        labels_of[image.image.patient].update(image.labels)
    strata: dict[str, str] = {}
    for patient, labels in labels_of.items():
        strata[patient] = (
            min(labels, key=lambda label: (frequency[label], SPECIFICITY.index(label)))
            if labels
            else "no_finding"
        )
    return strata


def split(
    images: Sequence[CuratedImage], val_fraction: float = VAL_FRACTION, seed: int = 0
) -> tuple[list[CuratedImage], list[CuratedImage]]:
    """(train, val), disjoint by patient; about ``val_fraction`` of each stratum's patients in val.

    Each stratum gives ``floor(n × val_fraction)`` patients, and the strata with the largest
    remainders one more each, until val holds the rounded share of all patients.
    """
    strata = _patient_strata(images)
    by_stratum: dict[str, list[str]] = defaultdict(list)
    for patient in sorted(strata):
        by_stratum[strata[patient]].append(patient)
    rng = np.random.default_rng(seed)
    names = sorted(by_stratum)
    shares = [len(by_stratum[name]) * val_fraction for name in names]
    counts = [int(share) for share in shares]
    # Largest remainders take the rest, so the total is the rounded share even when every
    # stratum is small; ties are broken by the seeded generator.
    left = int(sum(len(p) for p in by_stratum.values()) * val_fraction + 0.5) - sum(counts)
    tie_break = rng.permutation(len(names))
    order = sorted(range(len(names)), key=lambda i: (-(shares[i] - counts[i]), tie_break[i]))
    for i in order[: max(0, left)]:
        counts[i] += 1
    val_patients: set[str] = set()
    for name, n_val in zip(names, counts, strict=True):
        patients = by_stratum[name]
        chosen = rng.permutation(len(patients))[:n_val]
        val_patients.update(patients[i] for i in chosen)
    train = [image for image in images if image.image.patient not in val_patients]
    val = [image for image in images if image.image.patient in val_patients]
    return train, val
