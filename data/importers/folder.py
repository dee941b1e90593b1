"""Import any folder of PNG/JPEG/DICOM images, with optional boxes and draft impressions.

Annotations (``--annotations``), CSV or JSON, one finding per row/object:
- ``image``: the image's path relative to the images folder (must resolve inside it);
- ``label``: a canonical label or a synonym (or a dataset's name with ``label_source``);
- a box, optional: ``x0,y0,x1,y1`` (pixels, xyxy), or ``x,y,w,h`` (pixels, top-left and size),
  or in JSON ``box`` (pixel xyxy list) or ``box_2d`` (a grounder's ``[y0, x0, y1, x1]``);
  a ``normalized`` column/key set to true/1 reads xyxy as 0–1 fractions;
- ``reader``, optional.
JSON may be a list of such objects or ``{"annotations": [...]}``.

Drafts (``--drafts``), CSV: ``image,text`` with optional ``author`` and ``kind``
(human/synthetic/student; a generator's reports go through ``import reports``). A draft
already stored for the case with the same text, kind and author is not added again. An
empty draft, or one longer than the auditor reads (``audit.protocols.MAX_DRAFT_CHARS``), is
skipped with the reason in the summary.

Case ids come from the path (``sub/dir/img.png`` → ``sub__dir__img``) and are given only to
readable images, in name order: an unreadable ``scan.dcm`` never shuts out ``scan.png``;
two readable images with one id keep the first and report the second with both names.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from audit.boxes import BoxResult, from_box_2d, from_pixel_xywh, from_pixel_xyxy, normalized_box
from audit.labels import Label, canonical_label, map_source_label
from audit.protocols import MAX_DRAFT_CHARS
from data.errors import ImportFormatError, UnsafePathError
from data.importers.common import (
    BatchWriter,
    ImportSummary,
    as_dicts,
    finish,
    image_case,
    open_text,
    parse_float,
    progress,
    read_csv,
    readable_image,
    resolve_inside,
    scan_images,
)
from data.records import DRAFT_KINDS, CaseImport, ReferenceFinding
from data.store import Store

# A generator's reports come in through `import reports`, which keeps each generation's raw
# text and outcome beside its draft.
FOLDER_DRAFT_KINDS = tuple(kind for kind in DRAFT_KINDS if kind != "generated")

SOURCE = "reference:folder"
_TRUE = {"1", "true", "yes", "y"}


def case_id_for(root: Path, path: Path) -> str:
    """A case id from the image's path inside the folder: ``sub/dir/img.png`` → ``sub__dir__img``."""
    relative = path.resolve().relative_to(root.resolve()).with_suffix("")
    return "__".join(relative.parts)


def read_annotations(path: Path) -> list[dict[str, Any]]:
    """Rows of an annotation CSV or JSON file as dicts."""
    if path.suffix.lower() == ".json":
        try:
            with open_text(path) as handle:
                data = json.load(handle)
        except json.JSONDecodeError as error:
            raise ImportFormatError(f"{path} is not valid JSON: {error}") from error
        if isinstance(data, dict):
            data = data.get("annotations")
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise ImportFormatError(f'{path}: expected a list of objects or {{"annotations": [...]}}')
        missing = [i for i, item in enumerate(data) if "image" not in item or "label" not in item]
        if missing:
            raise ImportFormatError(f"{path}: object {missing[0]} lacks 'image' or 'label'")
        return list(data)
    header, rows = read_csv(path, ("image", "label"))
    return list(as_dicts(header, rows))


def annotation_box(item: dict[str, Any], size: tuple[int, int]) -> BoxResult | None:
    """An annotation's box on an image of ``size``, in whichever form it came; None without one."""

    def number(key: str) -> float | None:
        value = item.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return parse_float(value) if isinstance(value, str) else None

    normalized = str(item.get("normalized", "")).strip().lower() in _TRUE
    if item.get("box_2d") is not None:
        return from_box_2d(item["box_2d"], size)
    if isinstance(item.get("box"), list) and len(item["box"]) == 4:
        values = [float(v) for v in item["box"]]
        return normalized_box(*values) if normalized else from_pixel_xyxy(*values, size)
    xyxy = [number(k) for k in ("x0", "y0", "x1", "y1")]
    if all(v is not None for v in xyxy):
        x0, y0, x1, y1 = (float(v) for v in xyxy)  # type: ignore[arg-type]
        return normalized_box(x0, y0, x1, y1) if normalized else from_pixel_xyxy(x0, y0, x1, y1, size)
    xywh = [number(k) for k in ("x", "y", "w", "h")]
    if all(v is not None for v in xywh):
        x, y, w, h = (float(v) for v in xywh)  # type: ignore[arg-type]
        return from_pixel_xywh(x, y, w, h, size)
    return None


def annotation_label(name: str, label_source: str | None) -> Label | None:
    """The canonical label an annotation names: through ``label_source``'s table, or a synonym."""
    if label_source is not None:
        return map_source_label(label_source, name)
    return canonical_label(name)


def import_folder(
    store: Store,
    images: Path,
    annotations: Path | None = None,
    drafts: Path | None = None,
    *,
    label_source: str | None = None,
    verify: bool = True,
    show_progress: bool = False,
) -> ImportSummary:
    """Import every image under ``images``; idempotent. Raises UnsafePathError before writing anything
    when an annotation or draft names a path outside the folder."""
    started = time.perf_counter()
    summary = ImportSummary(source="folder")
    files = scan_images(images)
    summary.images_found = len(files)
    by_path: dict[Path, list[dict[str, Any]]] = {}
    for item in read_annotations(annotations) if annotations is not None else []:
        by_path.setdefault(resolve_inside(images, str(item["image"])), []).append(item)
    draft_rows: list[tuple[Path, dict[str, str]]] = []
    if drafts is not None:
        header, raw = read_csv(drafts, ("image",))
        text_column = next((c for c in ("text", "draft", "impression") if c in header), None)
        if text_column is None:
            raise ImportFormatError(f"{drafts} needs a 'text' (or 'draft' / 'impression') column")
        for row in as_dicts(header, raw):
            row["text"] = row.get(text_column, "")
            draft_rows.append((resolve_inside(images, row["image"]), row))
    # realpath, unlike Path.resolve on Python 3.11, does not raise on a link loop (which
    # scan_images keeps, for loading to report).
    resolved = {Path(os.path.realpath(path)) for path in files}
    for target in sorted(set(by_path) - resolved):
        summary.skip("annotation for an image not in the folder", str(target.relative_to(images.resolve())))

    writer = BatchWriter(store, summary)
    loaded: dict[Path, str] = {}
    taken: dict[str, Path] = {}  # case id -> the readable image that has it
    for path in progress(files, desc="import folder", total=len(files), show=show_progress):
        # Only a readable image may take a case id: an unreadable scan.dcm must not shut out
        # the scan.png beside it.
        info = readable_image(path, summary, verify=verify, example=str(path.relative_to(images)))
        if info is None:
            continue
        case_id = case_id_for(images, path)
        if case_id in taken:
            summary.skip(
                "two readable images give the same case id (the first in name order is kept)",
                f"{path.relative_to(images)} (case {case_id!r} is {taken[case_id].relative_to(images)})",
            )
            continue
        taken[case_id] = path
        findings: list[ReferenceFinding] = []
        for item in by_path.get(path.resolve(), []):
            name = str(item["label"]).strip()
            label = annotation_label(name, label_source)
            if label is None:
                summary.drop_label(name)
                continue
            try:
                result = annotation_box(item, info.size)
            except (TypeError, ValueError) as error:
                summary.skip(f"unreadable box ({error})", f"{path.name} {name}")
                continue
            box = None
            if result is not None:
                box = summary.keep_box(result, f"{path.name} {name}")
                if box is None:
                    continue
            reader = str(item.get("reader") or "").strip() or None
            findings.append(
                ReferenceFinding(
                    label=label,
                    box=box,
                    source=SOURCE,
                    reader=reader,
                    source_label=name,
                )
            )
        case = image_case(
            path,
            info,
            case_id=case_id,
            source="folder",
            view=info.view,
            metadata={"relative_path": str(path.relative_to(images))},
        )
        writer.add(CaseImport(case=case, findings=tuple(findings)))
        loaded[path.resolve()] = case_id
    writer.flush()
    _add_drafts(store, draft_rows, loaded, summary, images)
    return finish(summary, started)


def _add_drafts(
    store: Store,
    rows: list[tuple[Path, dict[str, str]]],
    loaded: dict[Path, str],
    summary: ImportSummary,
    images: Path,
) -> None:
    for target, row in rows:
        case_id = loaded.get(target)
        if case_id is None:
            summary.skip("draft for an image not imported", str(target.relative_to(images.resolve())))
            continue
        text = row["text"].strip()
        kind = (row.get("kind") or "human").strip() or "human"
        if kind not in FOLDER_DRAFT_KINDS:
            summary.skip(f"draft kind not one of {', '.join(FOLDER_DRAFT_KINDS)}", f"{case_id} {kind}")
            continue
        if not text:
            summary.skip("empty draft", case_id)
            continue
        if len(text) > MAX_DRAFT_CHARS:
            # Stored, it would only ever show as a failed parse (an image-only audit).
            summary.skip(
                f"draft over the {MAX_DRAFT_CHARS:,}-character limit the auditor reads",
                f"{case_id} ({len(text):,} characters)",
            )
            continue
        author = (row.get("author") or "").strip() or None
        existing = store.drafts.for_case(case_id, kind=kind)  # type: ignore[arg-type]
        if any(d.text == text and d.author == author for d in existing):
            continue
        store.drafts.add(case_id, text, kind=kind, author=author)  # type: ignore[arg-type]
        summary.drafts_added += 1


__all__ = [
    "UnsafePathError",
    "annotation_box",
    "annotation_label",
    "case_id_for",
    "import_folder",
    "read_annotations",
]
