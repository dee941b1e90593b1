"""``train corpus``: annotated images → curated, balanced, patient-disjoint SFT corpus.

Writes into the output folder:

- ``train.jsonl`` and ``val.jsonl``: one example per image in TRL's conversational
  prompt/completion format, ``{"images": [path], "prompt": [user turn], "completion":
  [assistant turn], ...}``: the user turn is the checkpoint profile's (image first, then its
  pinned prompt), the assistant turn the target JSON, a list of ``{"label", "box_2d"}``
  with ``box_2d = [y0, x0, y1, x1]`` in 0–1 of the image's own width and height, labels
  in the checkpoint's vocabulary, written by the profile (``answer_text``); a normal
  image's target is ``[{"label": "no_finding", "box_2d": null}]``. ``case_id``,
  ``dataset``, ``patient`` (a hash) and ``image_size`` ride along for the reader.
- ``curation.json``: the :class:`~finetune.records.CurationReport`.

Every target is read back through :func:`audit.recover.parse_findings` before it is
written, and must come back with the same boxes and no repair: a target the recovery layer would
have to repair is a bug here, not a training example.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

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

DECIMALS = 4  # of box_2d in the profiles' targets: a readback may differ by rounding only


class CorpusProfile(Protocol):
    """What the corpus needs from a checkpoint profile (``models.checkpoints.GroundingProfile``)."""

    @property
    def name(self) -> str: ...

    def user_turn(self, image: Any = None) -> dict[str, Any]:
        """The one user turn: an image placeholder and the pinned prompt, in the checkpoint's order."""
        ...

    def answer_text(self, findings: Sequence[tuple[Label, Box | None]]) -> str:
        """The target the checkpoint is to write for ``findings`` (none: the no_finding element)."""
        ...

    def vocabulary_label(self, label: Label) -> str:
        """The checkpoint's name for one of our labels."""
        ...

    def renamed_labels(self) -> dict[str, Label]:
        """The checkpoint's label names that differ from ours."""
        ...


def corpus_profile(name: str | None) -> CorpusProfile:
    """The checkpoint profile named ``name`` (default: the published fine-tune's), from models/."""
    from models.checkpoints import DEFAULT_GROUNDING_PROFILE, UnknownProfileError, grounding_profile

    try:
        return grounding_profile(name or DEFAULT_GROUNDING_PROFILE)
    except UnknownProfileError as error:
        raise CorpusError(str(error)) from None


def target_text(image: CuratedImage, profile: CorpusProfile) -> str:
    """The assistant target, exactly as the model is to write it, checked by reading it back."""
    text = profile.answer_text([(box.label, box.box) for box in image.boxes])
    check_readback(text, image, profile)
    return text


def _vocabulary_readings(text: str, profile: CorpusProfile) -> set[str]:
    """What the recovery layer records when it reads the checkpoint's own label names: not repairs."""
    items = json.loads(text)
    renamed = profile.renamed_labels()
    return {
        f"item {index}: read label {item['label']!r} as {renamed[item['label']]!r}"
        for index, item in enumerate(items)
        if item["label"] in renamed
    }


def check_readback(text: str, image: CuratedImage, profile: CorpusProfile) -> None:
    """Raise CorpusError unless the recovery layer reads ``text`` as ``image``'s boxes, repairing nothing.

    Reading a label the checkpoint spells its own way (``lung_opacity_consolidation``) is the
    vocabulary, not a repair of the text; anything else the recovery layer records is.
    """
    size = (image.image.width, image.image.height)
    reading = parse_findings(text, "corpus", size)
    repairs = set(reading.outcome.repairs) - _vocabulary_readings(text, profile)
    if reading.outcome.status == "failed" or repairs or reading.outcome.dropped_items:
        detail = reading.outcome.error or "; ".join(sorted(repairs))
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
        "prompt": [profile.user_turn()],
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
