"""Import NIH ChestX-ray14 images with their expert boxes and (optionally) image-level labels.

Box files accepted:
- NIH's own ``BBox_List_2017.csv`` (``Image Index,Finding Label,Bbox [x,y,w,h],,,``), boxes in
  the 1024 × 1024 space of the released PNGs;
- the shared data's ``boxes.csv`` (``image,label,x,y,w,h,orig_width,orig_height,source,...``),
  whose rows come from NIH or ChestX-Det: each finding keeps its source
  (``reference:NIH`` / ``reference:ChestX-Det``) and is mapped with that dataset's table;
- ``chestx_det_boxes.csv`` (``nih_image_index,label,x,y,w,h,orig_width,orig_height``).

Boxes are scaled from their original space to the size of the image actually found, through
``audit.boxes``. Labels with no canonical counterpart are dropped and counted.
Label files (``Data_Entry_2017*.csv`` or the shared ``labels.csv``) give the view position and
the image-level labels, which are kept as metadata (mined from reports: noisy), not as findings.
Patient id, age and sex are never stored.

When ``boxes`` is omitted and the ``torchxrayvision`` package is installed, its bundled
``BBox_List_2017.csv.gz`` is used; the package is located with ``find_spec`` and never
imported (importing it pulls in torchvision).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from audit.boxes import BoxResult, from_pixel_xywh, scale_pixel_box
from audit.labels import Label, map_source_label, map_source_labels
from data.errors import ImportFormatError
from data.importers.common import (
    BatchWriter,
    ImportSummary,
    as_dicts,
    finish,
    image_case,
    parse_float,
    progress,
    read_csv,
    readable_image,
    scan_images,
)
from data.records import CaseImport, ReferenceFinding
from data.store import Store

log = logging.getLogger(__name__)

NIH_ORIGINAL_SIZE = (1024, 1024)
SOURCE_NAMES = {"nih": "reference:NIH", "chestx_det": "reference:ChestX-Det"}


@dataclass(frozen=True)
class BoxRow:
    image: str
    label: str
    xywh: tuple[float, float, float, float] | None
    original_size: tuple[int, int]
    table: str  # "nih" or "chestx_det": which mapping table and source name


def torchxrayvision_file(name: str) -> Path | None:
    """A data file shipped inside torchxrayvision, found without importing the package."""
    spec = find_spec("torchxrayvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / name
        if candidate.is_file():
            return candidate
    return None


def _size(row: dict[str, str]) -> tuple[int, int]:
    width, height = parse_float(row.get("orig_width")), parse_float(row.get("orig_height"))
    if width and height:
        return (int(width), int(height))
    return NIH_ORIGINAL_SIZE


def _xywh(numbers: list[float | None]) -> tuple[float, float, float, float] | None:
    if len(numbers) != 4 or any(n is None for n in numbers):
        return None
    x, y, w, h = (float(n) for n in numbers if n is not None)
    return (x, y, w, h)


def read_box_file(path: Path, default_table: str = "nih") -> list[BoxRow]:
    """Read any of the accepted box files into rows (``xywh`` None for a row without a box).

    A row of an ``image,label,...`` file says whose it is in its ``source`` column; rows of a
    file without one belong to ``default_table`` (``nih`` or ``chestx_det``).
    """
    header, rows = read_csv(path)
    out: list[BoxRow] = []
    if header and header[0] == "Image Index":  # NIH's BBox_List_2017.csv
        for row in rows:
            if len(row) < 6:
                raise ImportFormatError(f"{path}: a row has {len(row)} fields, expected 6: {row}")
            numbers = [parse_float(v) for v in row[2:6]]
            out.append(BoxRow(row[0].strip(), row[1].strip(), _xywh(numbers), NIH_ORIGINAL_SIZE, "nih"))
        return out
    if "image" in header or "nih_image_index" in header:
        image_column = "image" if "image" in header else "nih_image_index"
        missing = [c for c in ("label", "x", "y", "w", "h") if c not in header]
        if missing:
            raise ImportFormatError(f"{path} lacks the column(s) {', '.join(missing)}")
        for row in as_dicts(header, rows):
            source = row.get("source", "")
            if image_column == "nih_image_index" or source.startswith("ChestX-Det"):
                table = "chestx_det"
            elif source:
                table = "nih"
            else:
                table = default_table
            numbers = [parse_float(row.get(k)) for k in ("x", "y", "w", "h")]
            out.append(
                BoxRow(row[image_column].strip(), row["label"].strip(), _xywh(numbers), _size(row), table)
            )
        return out
    raise ImportFormatError(
        f"{path} is not a known box file: expected NIH's BBox_List_2017.csv "
        "(Image Index,Finding Label,Bbox [x,y,w,h]) or image,label,x,y,w,h columns"
    )


def row_finding(row: BoxRow, image_size: tuple[int, int]) -> tuple[Label | None, BoxResult | None]:
    """The canonical label of a box row (None: no counterpart) and its box on an image of ``image_size``."""
    label = map_source_label(row.table, row.label)
    if label is None or row.xywh is None:
        return label, None
    scaled = scale_pixel_box(row.xywh, row.original_size, image_size)
    return label, from_pixel_xywh(*scaled, image_size)


@dataclass(frozen=True)
class LabelRow:
    labels: tuple[str, ...]
    view: str | None


def read_label_file(path: Path) -> dict[str, LabelRow]:
    """Image-level labels and view per image name, from Data_Entry_2017*.csv or the shared labels.csv."""
    header, rows = read_csv(path)
    if "Image Index" in header and "Finding Labels" in header:
        image_col, labels_col, view_col = "Image Index", "Finding Labels", "View Position"
    elif "image" in header and "finding_labels" in header:
        image_col, labels_col, view_col = "image", "finding_labels", "view_position"
    else:
        raise ImportFormatError(
            f"{path} is not a known label file: expected Data_Entry_2017 columns "
            "(Image Index, Finding Labels, View Position) or image, finding_labels, view_position"
        )
    out: dict[str, LabelRow] = {}
    for row in as_dicts(header, rows):
        names = tuple(n.strip() for n in row.get(labels_col, "").split("|") if n.strip())
        view = (row.get(view_col) or "").strip() or None
        out[row[image_col].strip()] = LabelRow(names, view)
    return out


def import_nih(
    store: Store,
    images: Path,
    boxes: Path | None = None,
    labels: Path | None = None,
    *,
    verify: bool = True,
    show_progress: bool = False,
) -> ImportSummary:
    """Import every image in ``images`` as a case, with its boxes; idempotent."""
    started = time.perf_counter()
    summary = ImportSummary(source="nih")
    if boxes is None:
        boxes = torchxrayvision_file("BBox_List_2017.csv.gz")
        if boxes is not None:
            summary.notes.append(
                f"boxes from the copy of BBox_List_2017 shipped with torchxrayvision: {boxes}"
            )
        else:
            summary.notes.append(
                "no box file given (and torchxrayvision is not installed): cases without boxes"
            )
    box_rows = read_box_file(boxes) if boxes is not None else []
    label_rows = read_label_file(labels) if labels is not None else {}
    by_image: dict[str, list[BoxRow]] = {}
    for row in box_rows:
        by_image.setdefault(row.image, []).append(row)

    files = scan_images(images)
    summary.images_found = len(files)
    names = {path.name for path in files}
    for name in sorted(set(by_image) - names):
        summary.skip("boxes for an image not in the folder", name)

    seen: set[str] = set()
    writer = BatchWriter(store, summary)
    for path in progress(files, desc="import nih", total=len(files), show=show_progress):
        case_id = path.stem
        if case_id in seen:
            summary.skip("same image name twice in the folder", str(path.relative_to(images)))
            continue
        seen.add(case_id)
        info = readable_image(path, summary, verify=verify, example=path.name)
        if info is None:
            continue
        findings: list[ReferenceFinding] = []
        for row in by_image.get(path.name, []):
            label, result = row_finding(row, info.size)
            if label is None:
                summary.drop_label(row.label)
                continue
            box = None
            if result is not None:
                box = summary.keep_box(result, f"{path.name} {row.label}")
                if box is None:
                    continue
            findings.append(
                ReferenceFinding(label=label, box=box, source=SOURCE_NAMES[row.table], source_label=row.label)
            )
        metadata: dict[str, object] = {"dataset": "NIH ChestX-ray14"}
        label_row = label_rows.get(path.name)
        if label_row is not None:
            kept, dropped = map_source_labels("nih", label_row.labels)
            metadata["image_labels"] = list(kept)
            metadata["image_labels_dropped"] = dropped
        view = (label_row.view if label_row else None) or info.view
        case = image_case(
            path,
            info,
            case_id=case_id,
            source="nih",
            view=view,
            metadata=metadata,  # type: ignore[arg-type]
        )
        writer.add(CaseImport(case=case, findings=tuple(findings)))
    writer.flush()
    return finish(summary, started)
