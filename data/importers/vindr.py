"""Import VinDr-CXR images with the multi-reader boxes of its ``train.csv``.

``train.csv`` columns: ``image_id, class_name, class_id, rad_id, x_min, y_min, x_max, y_max``;
boxes are in the pixels of the original DICOM. Every reader's finding is kept with its
reader id (``rad_id``) and the source ``reference:VinDr-CXR``. A "No finding" row becomes a
``no_finding`` finding without a box for that reader. When the images are PNG/JPEG copies of
another size, give the original size in ``width``/``height`` columns (as some conversions
ship) and the boxes are scaled to the copy; without them the boxes are taken to be in the
copy's pixels.
"""

from __future__ import annotations

import time
from pathlib import Path

from audit.boxes import BoxResult, from_pixel_xyxy, scale_pixel_box
from audit.labels import map_source_label
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

SOURCE = "reference:VinDr-CXR"
REQUIRED = ("image_id", "class_name", "x_min", "y_min", "x_max", "y_max")


def read_vindr_rows(path: Path) -> dict[str, list[dict[str, str]]]:
    """The rows of a VinDr ``train.csv`` per image id, in file order."""
    header, raw = read_csv(path, REQUIRED)
    rows_by_image: dict[str, list[dict[str, str]]] = {}
    for row in as_dicts(header, raw):
        rows_by_image.setdefault(row["image_id"].strip(), []).append(row)
    return rows_by_image


def row_box(row: dict[str, str], image_size: tuple[int, int]) -> BoxResult | None:
    """A row's box on an image of ``image_size`` (None for a row without one, as "No finding" rows are).

    The box is in the original DICOM's pixels; ``width``/``height`` columns, when a
    conversion ships them, give that size and the box is scaled to the image found.
    """
    coords = [parse_float(row.get(k)) for k in ("x_min", "y_min", "x_max", "y_max")]
    if any(c is None for c in coords):
        return None
    x0, y0, x1, y1 = (float(c) for c in coords)  # type: ignore[arg-type]
    width, height = parse_float(row.get("width")), parse_float(row.get("height"))
    if width and height and (int(width), int(height)) != image_size:
        x0, y0, w, h = scale_pixel_box((x0, y0, x1 - x0, y1 - y0), (int(width), int(height)), image_size)
        x1, y1 = x0 + w, y0 + h
    return from_pixel_xyxy(x0, y0, x1, y1, image_size)


def import_vindr(
    store: Store, images: Path, boxes: Path, *, verify: bool = True, show_progress: bool = False
) -> ImportSummary:
    """Import every image in ``images`` with its readers' boxes from ``boxes`` (train.csv); idempotent."""
    started = time.perf_counter()
    summary = ImportSummary(source="vindr")
    rows_by_image = read_vindr_rows(boxes)

    files = scan_images(images)
    summary.images_found = len(files)
    stems = {path.stem for path in files}
    for image_id in sorted(set(rows_by_image) - stems):
        summary.skip("boxes for an image not in the folder", image_id)

    seen: set[str] = set()
    writer = BatchWriter(store, summary)
    for path in progress(files, desc="import vindr", total=len(files), show=show_progress):
        if path.stem in seen:
            summary.skip("same image id twice in the folder", path.name)
            continue
        seen.add(path.stem)
        info = readable_image(path, summary, verify=verify, example=path.name)
        if info is None:
            continue
        findings: list[ReferenceFinding] = []
        seen_findings: set[tuple[object, ...]] = set()
        for row in rows_by_image.get(path.stem, []):
            name = row["class_name"].strip()
            label = map_source_label("vindr", name)
            if label is None:
                summary.drop_label(name)
                continue
            reader = (row.get("rad_id") or "").strip() or None
            result = row_box(row, info.size)
            box = None
            if result is not None:
                box = summary.keep_box(result, f"{path.stem} {name}")
                if box is None:
                    continue
            key = (label, box, reader)
            if key in seen_findings:
                continue  # two source classes mapping to one label with the same box and reader
            seen_findings.add(key)
            findings.append(
                ReferenceFinding(label=label, box=box, source=SOURCE, reader=reader, source_label=name)
            )
        case = image_case(
            path,
            info,
            case_id=path.stem,
            source="vindr",
            view=info.view,
            metadata={"dataset": "VinDr-CXR", "readers": sorted({f.reader for f in findings if f.reader})},
        )
        writer.add(CaseImport(case=case, findings=tuple(findings)))
    writer.flush()
    return finish(summary, started)
