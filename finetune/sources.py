"""Annotated images for the corpus, read through the importers' own readers.

Each source is one box file read by its importer's reader (``data.importers``): the row
format, the label table and the box conversion are the importers', never a second parser.

- ``nih``: NIH's ``BBox_List_2017.csv`` or the shared ``boxes.csv``, whose rows say whether
  NIH or ChestX-Det drew them; ``chestx-det``: the same reader, rows without a ``source``
  column taken as ChestX-Det (``chestx_det_boxes.csv``). Patient: the first 8 characters of
  the file name.
- ``vindr``: VinDr-CXR's ``train.csv`` (one reader per ``rad_id``). Patient: the image id
  (VinDr publishes no patient key).
- ``folder``: the folder importer's annotation CSV/JSON; an optional ``patient`` column or
  key names the patient, else each image is its own patient.
- ``--vindr-vqa``: VinDr-CXR-VQA's ``data_v1.json``, joined to the VinDr images by image id.

Rows for images that are missing or unreadable are dropped and counted like any other box.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.boxes import BoxResult, from_pixel_xyxy, scale_pixel_box
from audit.labels import map_source_label
from data.errors import ImageLoadError, ImportFormatError, UnsafePathError
from data.importers.common import check_image, progress, resolve_inside, scan_images
from data.importers.folder import annotation_box, annotation_label, case_id_for, read_annotations
from data.importers.nih import BoxRow, read_box_file, read_label_file, row_finding
from data.importers.vindr import read_vindr_rows, row_box
from finetune.errors import CorpusError
from finetune.records import SOURCES, Annotation, BoxLedger, SourceImage

log = logging.getLogger(__name__)

NIH_READERS = {"nih": "NIH", "chestx_det": "ChestX-Det"}
VQA_READER = "VinDr-CXR-VQA"
_YES = {"yes", "true", "1"}

Annotate = Callable[[Any, tuple[int, int]], Annotation]


@dataclass(frozen=True)
class SourceRows:
    """One source's rows per image key, and how to read a row on an image of a given size."""

    name: str
    dataset: str
    rows: dict[str, list[Any]]  # image key (file name, image id or resolved path) -> rows
    key_of: Callable[[Path, Path], str]  # (images root, file) -> the key its rows use
    annotate: Annotate
    says_normal: Callable[[Any], bool]
    patient_of: Callable[[Path, Path, Sequence[Any]], str]


def _nih_annotation(row: BoxRow, size: tuple[int, int]) -> Annotation:
    label, result = row_finding(row, size)
    return _annotation(NIH_READERS[row.table], row.label, label, result)


def _annotation(reader: str, name: str, label: Any, result: BoxResult | None) -> Annotation:
    if result is None:
        return Annotation(reader=reader, source_label=name, label=label)
    return Annotation(reader=reader, source_label=name, label=label, box=result.box, box_error=result.error)


def nih_rows(path: Path, source: str) -> SourceRows:
    rows: dict[str, list[Any]] = {}
    for row in read_box_file(path, default_table="chestx_det" if source == "chestx-det" else "nih"):
        rows.setdefault(row.image, []).append(row)
    return SourceRows(
        name=source,
        dataset="NIH ChestX-ray14",
        rows=rows,
        key_of=lambda root, file: file.name,
        annotate=_nih_annotation,
        says_normal=lambda row: map_source_label(row.table, row.label) == "no_finding" and row.xywh is None,
        patient_of=lambda root, file, rows: file.name[:8],
    )


def _vindr_annotation(row: dict[str, str], size: tuple[int, int]) -> Annotation:
    name = row["class_name"].strip()
    reader = "VinDr-CXR:" + ((row.get("rad_id") or "").strip() or "unknown")
    return _annotation(reader, name, map_source_label("vindr", name), row_box(row, size))


def vindr_rows(path: Path) -> SourceRows:
    return SourceRows(
        name="vindr",
        dataset="VinDr-CXR",
        rows=dict(read_vindr_rows(path)),
        key_of=lambda root, file: file.stem,
        annotate=_vindr_annotation,
        says_normal=lambda row: (
            map_source_label("vindr", row["class_name"]) == "no_finding"
            and not (row.get("x_min") or "").strip()
        ),
        patient_of=lambda root, file, rows: file.stem,
    )


def _folder_annotation(item: dict[str, Any], size: tuple[int, int]) -> Annotation:
    name = str(item["label"]).strip()
    reader = str(item.get("reader") or "").strip() or "folder"
    try:
        result = annotation_box(item, size)
    except (TypeError, ValueError) as error:
        result = BoxResult(None, error=f"unreadable box ({error})")
    return _annotation(reader, name, annotation_label(name, None), result)


def _folder_patient(root: Path, file: Path, rows: Sequence[Any]) -> str:
    named = {str(row.get("patient")).strip() for row in rows if str(row.get("patient") or "").strip()}
    if len(named) > 1:
        names = ", ".join(sorted(named))
        raise CorpusError(f"annotations of {file.name} name more than one patient: {names}")
    return named.pop() if named else case_id_for(root, file)


def _folder_says_normal(item: dict[str, Any]) -> bool:
    return annotation_label(str(item["label"]), None) == "no_finding" and not any(
        item.get(key) is not None and str(item.get(key)).strip() for key in ("box_2d", "box", "x0", "x")
    )


def folder_rows(path: Path, images: Path) -> SourceRows:
    rows: dict[str, list[Any]] = {}
    try:
        for item in read_annotations(path):
            rows.setdefault(str(resolve_inside(images, str(item["image"]))), []).append(item)
    except UnsafePathError as error:
        raise CorpusError(str(error)) from None
    return SourceRows(
        name="folder",
        dataset="folder",
        rows=rows,
        key_of=lambda root, file: str(file.resolve()),
        annotate=_folder_annotation,
        says_normal=_folder_says_normal,
        patient_of=_folder_patient,
    )


def _vqa_annotation(item: dict[str, Any], size: tuple[int, int]) -> Annotation:
    name = str(item.get("gt_finding") or "").strip()
    location = item.get("gt_location")
    result: BoxResult | None = None
    if isinstance(location, list):
        width, height = item.get("image_width"), item.get("image_height")
        try:
            x0, y0, x1, y1 = (float(v) for v in location)
            if isinstance(width, (int, float)) and isinstance(height, (int, float)) and width and height:
                x0, y0, w, h = scale_pixel_box((x0, y0, x1 - x0, y1 - y0), (int(width), int(height)), size)
                x1, y1 = x0 + w, y0 + h
            result = from_pixel_xyxy(x0, y0, x1, y1, size)
        except (TypeError, ValueError) as error:
            result = BoxResult(None, error=f"unreadable box ({error})")
    return _annotation(VQA_READER, name, map_source_label("vindr", name), result)


def vqa_rows(path: Path) -> SourceRows:
    """VQA answers that place a finding (or say "no finding") on an image: "yes" answers only.

    ``gt_location`` is read as ``[x_min, y_min, x_max, y_max]`` in the pixels of an image of
    ``image_width`` × ``image_height``, like VinDr's own boxes.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorpusError(f"cannot read the VinDr-CXR-VQA file {path}: {error}") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise CorpusError(f"{path}: expected a JSON list of VQA objects")
    rows: dict[str, list[Any]] = {}
    for item in data:
        if str(item.get("answer", "")).strip().lower() not in _YES or not item.get("gt_finding"):
            continue
        rows.setdefault(str(item.get("image_id", "")).strip(), []).append(item)
    return SourceRows(
        name="vindr-vqa",
        dataset="VinDr-CXR",
        rows=rows,
        key_of=lambda root, file: file.stem,
        annotate=_vqa_annotation,
        says_normal=lambda item: (
            map_source_label("vindr", str(item["gt_finding"])) == "no_finding"
            and not isinstance(item.get("gt_location"), list)
        ),
        patient_of=lambda root, file, rows: file.stem,
    )


def source_rows(name: str, boxes: Path, images: Path) -> SourceRows:
    try:
        if name in ("nih", "chestx-det"):
            return nih_rows(boxes, name)
        if name == "vindr":
            return vindr_rows(boxes)
        if name == "folder":
            return folder_rows(boxes, images)
    except ImportFormatError as error:
        raise CorpusError(str(error)) from None
    raise CorpusError(f"unknown source {name!r}; choose from {', '.join(SOURCES)}")


def normal_by_label_file(path: Path) -> set[str]:
    """Image names an NIH label file (Data_Entry_2017 or the shared labels.csv) calls "No Finding"."""
    try:
        rows = read_label_file(path)
    except ImportFormatError as error:
        raise CorpusError(str(error)) from None
    return {name for name, row in rows.items() if row.labels == ("No Finding",)}


def patient_key(dataset: str, patient: str) -> str:
    """A short hash of the patient key: written into the corpus instead of the key itself."""
    return hashlib.sha256(f"{dataset}\0{patient}".encode()).hexdigest()[:16]


def read_images(
    images: Path,
    sources: Sequence[SourceRows],
    ledger: BoxLedger,
    excluded: Counter[str],
    *,
    labelled_normal: set[str] = frozenset(),  # type: ignore[assignment]
    verify: bool = True,
    show_progress: bool = False,
) -> list[SourceImage]:
    """Every image under ``images`` with its sources' annotations; rows of absent images dropped."""
    try:
        files = scan_images(images)
    except ImportFormatError as error:
        raise CorpusError(str(error)) from None
    seen_keys: list[set[str]] = [set() for _ in sources]
    out: list[SourceImage] = []
    ids: set[str] = set()
    for file in progress(files, desc="corpus", total=len(files), show=show_progress):
        keys = [source.key_of(images, file) for source in sources]
        found = [(source, source.rows.get(key, [])) for source, key in zip(sources, keys, strict=True)]
        image_id = file.stem if sources and sources[0].name != "folder" else case_id_for(images, file)
        if image_id in ids:
            excluded["same image id twice in the folder"] += 1
            continue
        for index, key in enumerate(keys):
            seen_keys[index].add(key)
        ids.add(image_id)
        try:
            info = check_image(file, verify=verify)
        except ImageLoadError as error:
            log.warning("corpus: %s is unreadable: %s", file, error.reason)
            for source, rows in found:
                _drop_rows(source, rows, "unreadable image", ledger)
            excluded["unreadable image"] += 1
            continue
        annotations = tuple(source.annotate(row, info.size) for source, rows in found for row in rows)
        primary = next((pair for pair in found if pair[1]), found[0] if found else None)
        if primary is None:
            raise CorpusError("no source given")
        source, rows = primary
        out.append(
            SourceImage(
                image_id=image_id,
                path=str(file.resolve()),
                width=info.width,
                height=info.height,
                patient=patient_key(source.dataset, source.patient_of(images, file, rows)),
                dataset=source.dataset,
                annotations=annotations,
                labelled_normal=file.name in labelled_normal,
            )
        )
    for source, seen in zip(sources, seen_keys, strict=True):
        for key in sorted(set(source.rows) - seen):
            _drop_rows(source, source.rows[key], "image not in the folder", ledger)
    return out


def _drop_rows(source: SourceRows, rows: Sequence[Any], reason: str, ledger: BoxLedger) -> None:
    normal = sum(1 for row in rows if source.says_normal(row))
    ledger.normal_rows += normal
    if len(rows) > normal:
        ledger.drop(reason, len(rows) - normal)
