"""``train corpus``: annotated images → curated, balanced, patient-disjoint SFT corpus.

Writes into the output folder:

- ``train.jsonl`` and ``val.jsonl``: one example per image in TRL's conversational
  prompt/completion format, ``{"images": [path], "prompt": [user turn], "completion":
  [assistant turn], ...}``: the user turn is the checkpoint profile's (image first, then its
  pinned prompt), the assistant turn the target JSON, a list of ``{"label", "box_2d"}``
  with ``box_2d = [y0, x0, y1, x1]`` in 0–1 of the image's own width and height, labels
  in the checkpoint's vocabulary; a normal image's target is ``[{"label": "no_finding",
  "box_2d": null}]``. ``case_id``, ``dataset``, ``patient`` (a hash) and ``image_size``
  ride along for the reader.
- ``curation.json``: the :class:`~finetune.records.CurationReport`.

Every target is read back through :func:`audit.recover.parse_findings` before it is
written, and must come back ``ok`` with the same boxes: a target the recovery layer would
have to repair is a bug here, not a training example.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from audit.boxes import to_box_2d
from audit.labels import Label
from audit.recover import parse_findings
from audit.schema import Box
from finetune.curation import (
    CROSS_FINDING_IOU,
    MERGE_IOU,
    NORMAL_RATIO,
    VAL_FRACTION,
    balance,
    curate_image,
    split,
)
from finetune.errors import CorpusError
from finetune.records import (
    CURATION_FILE,
    TRAIN_FILE,
    VAL_FILE,
    BoxLedger,
    CuratedImage,
    CurationReport,
    SplitFigures,
)
from finetune.sources import SourceRows, normal_by_label_file, read_images, source_rows, vqa_rows

log = logging.getLogger(__name__)

DECIMALS = 4  # of box_2d: a tenth of a pixel on a 1,000 px image


class CorpusProfile(Protocol):
    """What the corpus needs from a checkpoint profile: its name, user turn and vocabulary."""

    @property
    def name(self) -> str: ...

    def training_user_turn(self) -> dict[str, Any]:
        """The user message, image placeholder first, then the pinned prompt."""
        ...

    def vocabulary_label(self, label: Label) -> str:
        """The checkpoint's name for a canonical label."""
        ...


def target_findings(image: CuratedImage, profile: CorpusProfile) -> list[dict[str, Any]]:
    if image.is_normal:
        return [{"label": profile.vocabulary_label("no_finding"), "box_2d": None}]
    return [
        {
            "label": profile.vocabulary_label(box.label),
            "box_2d": [round(v, DECIMALS) for v in to_box_2d(box.box, "unit")],
        }
        for box in image.boxes
    ]


def target_text(image: CuratedImage, profile: CorpusProfile) -> str:
    """The assistant target, exactly as the model is to write it."""
    text = json.dumps(target_findings(image, profile), separators=(", ", ": "))
    check_readback(text, image)
    return text


def check_readback(text: str, image: CuratedImage) -> None:
    """Raise CorpusError unless the recovery layer reads ``text`` cleanly as ``image``'s boxes."""
    size = (image.image.width, image.image.height)
    reading = parse_findings(text, "corpus", size)
    if reading.outcome.status != "ok":
        detail = reading.outcome.error or "; ".join(reading.outcome.repairs)
        raise CorpusError(f"the target of {image.image.image_id} does not read back cleanly: {detail}")
    expected = [("no_finding", None)] if image.is_normal else [(b.label, b.box) for b in image.boxes]
    read = [(finding.label, finding.box) for finding in reading.findings]
    if len(read) != len(expected) or not all(
        label == want_label and _same_box(box, want_box)
        for (label, box), (want_label, want_box) in zip(read, expected, strict=True)
    ):
        raise CorpusError(f"the target of {image.image.image_id} reads back as other findings")


def _same_box(read: Box | None, written: Box | None) -> bool:
    if read is None or written is None:
        return read is None and written is None
    return max(abs(a - b) for a, b in zip(read.as_list(), written.as_list(), strict=True)) <= 10**-DECIMALS


def example(image: CuratedImage, profile: CorpusProfile) -> dict[str, Any]:
    """One JSONL line: TRL's conversational prompt/completion, with the image path."""
    return {
        "images": [image.image.path],
        "prompt": [profile.training_user_turn()],
        "completion": [
            {"role": "assistant", "content": [{"type": "text", "text": target_text(image, profile)}]}
        ],
        "case_id": image.image.image_id,
        "dataset": image.image.dataset,
        "patient": image.image.patient,
        "image_size": [image.image.width, image.image.height],
    }


def _figures(images: Sequence[CuratedImage], profile: CorpusProfile) -> SplitFigures:
    by_label = Counter(profile.vocabulary_label(label) for image in images for label in image.labels)
    return SplitFigures(
        images=len(images),
        patients=len({image.image.patient for image in images}),
        normal_images=sum(1 for image in images if image.is_normal),
        boxes=sum(len(image.boxes) for image in images),
        images_by_label=dict(sorted(by_label.items())),
    )


def _write_jsonl(path: Path, images: Sequence[CuratedImage], profile: CorpusProfile) -> None:
    tmp = path.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for image in images:
            handle.write(json.dumps(example(image, profile), ensure_ascii=False) + "\n")
    tmp.replace(path)


def build_corpus(
    images: Path,
    boxes: Sequence[tuple[Path, str]],
    out: Path,
    profile: CorpusProfile,
    *,
    labels: Path | None = None,
    vindr_vqa: Path | None = None,
    seed: int = 0,
    normal_ratio: float = NORMAL_RATIO,
    val_fraction: float = VAL_FRACTION,
    merge_iou: float = MERGE_IOU,
    cross_iou: float = CROSS_FINDING_IOU,
    verify: bool = True,
    show_progress: bool = False,
) -> CurationReport:
    """Build the corpus into ``out`` and return (and write) its curation report."""
    if not boxes:
        raise CorpusError("no box file given (--boxes)")
    sources: list[SourceRows] = [source_rows(source, path, images) for path, source in boxes]
    if vindr_vqa is not None:
        sources.append(vqa_rows(vindr_vqa))
    ledger = BoxLedger()
    excluded: Counter[str] = Counter()
    found = read_images(
        images,
        sources,
        ledger,
        excluded,
        labelled_normal=normal_by_label_file(labels) if labels is not None else set(),
        verify=verify,
        show_progress=show_progress,
    )
    curated = [
        image
        for image in (
            curate_image(item, ledger, excluded, merge_iou=merge_iou, cross_iou=cross_iou) for item in found
        )
        if image is not None
    ]
    if not ledger.balanced:
        raise CorpusError(
            f"curation lost track of boxes: {ledger.input_boxes} in, {ledger.kept} kept, "
            f"{ledger.merged} merged, {ledger.deduplicated} deduplicated, "
            f"{sum(ledger.dropped.values())} dropped"
        )
    kept, normals_left_out = balance(curated, normal_ratio, seed)
    if normals_left_out:
        excluded["normal image left out to balance the classes"] += normals_left_out
    if not kept:
        raise CorpusError(
            f"no image can become a training example ({', '.join(f'{k}: {v}' for k, v in excluded.items())})"
        )
    train, val = split(kept, val_fraction, seed)
    out.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / TRAIN_FILE, train, profile)
    _write_jsonl(out / VAL_FILE, val, profile)
    report = CurationReport(
        input_boxes=ledger.input_boxes,
        kept=ledger.kept,
        merged=ledger.merged,
        deduplicated=ledger.deduplicated,
        dropped=dict(sorted(ledger.dropped.items())),
        dropped_labels=dict(sorted(ledger.dropped_labels.items())),
        kept_by_label={
            profile.vocabulary_label(label): n  # type: ignore[arg-type]
            for label, n in sorted(ledger.kept_by_label.items())
        },
        normal_rows=ledger.normal_rows,
        images={
            "found": len(found)
            + excluded["unreadable image"]
            + excluded["same image id twice in the folder"],
            "positive": sum(1 for image in curated if not image.is_normal),
            "normal_available": sum(1 for image in curated if image.is_normal),
            "normal_kept": sum(1 for image in kept if image.is_normal),
            "in_corpus": len(kept),
        },
        images_excluded=dict(sorted(excluded.items())),
        splits={"train": _figures(train, profile), "val": _figures(val, profile)},
        settings={
            "seed": seed,
            "normal_ratio": normal_ratio,
            "val_fraction": val_fraction,
            "merge_iou": merge_iou,
            "cross_finding_iou": cross_iou,
        },
        sources=[f"{source}:{path}" for path, source in boxes]
        + ([f"vindr-vqa:{vindr_vqa}"] if vindr_vqa is not None else []),
        profile=profile.name,
    )
    (out / CURATION_FILE).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return report
