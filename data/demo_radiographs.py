"""The demo's real radiographs: 11 NIH ChestX-ray14 images shipped in ``data/examples/`` (see
its ATTRIBUTION), each with its NIH radiologist box and one synthetic draft.

``examples.csv`` lists each image with its view, NIH labels, the draft it gets (``none``
faithful, ``drop`` omission, ``add`` over-call, ``flip_side`` wrong side; written by
``audit.synth``) and its box in the NIH 1024 px space. The boxes cover all five findings,
both sides where a side applies, and two normal studies. The PNGs are copied beside the
database (as phantoms are drawn there), so every image loads through ``data.images`` like an
imported one and the database never points into the program's own folder.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from audit.boxes import from_pixel_xywh
from audit.labels import NIH
from audit.synth import CorruptionKind, SyntheticDraft, synthesize
from data.records import CaseImport, CaseRecord, ReferenceFinding

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
SOURCE = "nih-demo"
REFERENCE_SOURCE = "reference:nih"
ATTRIBUTION = "NIH Clinical Center, ChestX-ray14 (Wang et al., CVPR 2017); see data/examples/ATTRIBUTION"
STORED_SIZE = (512, 512)


class DemoRadiograph(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    image: str  # the NIH file name
    view: str
    nih_labels: str
    draft: CorruptionKind
    findings: tuple[ReferenceFinding, ...]


def plan_radiographs(folder: Path = EXAMPLES_DIR) -> list[DemoRadiograph]:
    """The shipped radiographs with their boxes, in the order ``examples.csv`` lists them."""
    rows: dict[str, list[dict[str, str]]] = {}
    with (folder / "examples.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(row["image"], []).append(row)
    plans = []
    for image, boxes in rows.items():
        first = boxes[0]
        findings = []
        for row in boxes:
            if not row["box_label"]:
                continue  # a normal study: no box
            width, height = (int(v) for v in row["box_space"].split("x"))
            label = NIH[row["box_label"]]
            box = from_pixel_xywh(
                *(float(row[k]) for k in ("x", "y", "w", "h")), image_size=(width, height)
            ).box
            if label is None or box is None:
                raise ValueError(f"examples.csv: {image} has a box the demo cannot use: {row}")
            findings.append(
                ReferenceFinding(label=label, box=box, source=REFERENCE_SOURCE, source_label=row["box_label"])
            )
        plans.append(
            DemoRadiograph(
                case_id=f"nih-{Path(image).stem}",
                image=image,
                view=first["view"],
                nih_labels=first["nih_labels"],
                draft=first["draft"],  # type: ignore[arg-type]
                findings=tuple(findings),
            )
        )
    return plans


def copy_images(plans: list[DemoRadiograph], target: Path, source: Path = EXAMPLES_DIR) -> int:
    """Copy each shipped image to ``target`` unless an identical copy is there; returns how many."""
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for plan in plans:
        destination = target / plan.image
        origin = source / plan.image
        if destination.is_file() and destination.stat().st_size == origin.stat().st_size:
            continue
        partial = destination.with_name(destination.name + ".partial")
        shutil.copyfile(origin, partial)
        partial.replace(destination)
        copied += 1
    return copied


def case_imports(plans: list[DemoRadiograph], image_dir: Path) -> list[CaseImport]:
    return [
        CaseImport(
            case=CaseRecord(
                case_id=plan.case_id,
                image_id=plan.image,
                image_path=str(image_dir / plan.image),
                width=STORED_SIZE[0],
                height=STORED_SIZE[1],
                source=SOURCE,
                view=plan.view,
                is_phantom=False,
                metadata={
                    "attribution": ATTRIBUTION,
                    "nih_labels": plan.nih_labels,
                    "demo_draft": plan.draft,
                },
            ),
            findings=plan.findings,
        )
        for plan in plans
    ]


def drafts(plans: list[DemoRadiograph], seed: int) -> list[SyntheticDraft]:
    """Each radiograph's synthetic draft, written from its NIH box with its planned corruption."""
    return [
        synthesize(plan.case_id, [f.to_image_finding() for f in plan.findings], plan.draft, seed)
        for plan in plans
    ]
