"""The demo worklist: 11 real NIH radiographs (``data.demo_radiographs``) first, then synthetic
phantoms with true boxes and template drafts, seeded.

The radiographs carry their NIH radiologist boxes and one synthetic draft each (faithful,
omission, over-call or wrong side). Each phantom case is a phantom (``is_phantom``, source
``demo``, metadata ``synthetic_phantom``) with one synthetic draft written from simple
templates: faithful, or with exactly one omission (a present finding left out: expect
MISSING) or one over-call (an absent finding asserted: expect UNSUPPORTED). URGENT is
expected wherever an urgent finding is present, whatever the draft says.

Phantom PNGs are written to a folder beside the database (``<db folder>/phantoms``), not
stored as BLOBs: every image then loads through the same ``data.images`` path as real
ones, the database stays small, and a reviewer can open the files. Drawing is
reproducible, so a missing PNG is simply drawn again.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict

from audit.labels import DEFAULT_URGENT, FINDING_LABELS, Label
from audit.schema import ExpectedFlag
from audit.synth import CorruptionKind, SyntheticDraft
from data import demo_radiographs
from data.connection import MEMORY, user_data_dir
from data.phantoms import GENERATOR, DrawnFinding, PhantomFinding, PhantomSpec, draw_phantom
from data.records import CaseImport, CaseRecord, ReferenceFinding
from data.store import Store

log = logging.getLogger(__name__)

DEFAULT_SEED = 20_241_125
DEFAULT_CASES = 30
MIN_CASES, MAX_CASES = 20, 40
REFERENCE_SOURCE = "reference:phantom"
DEMO_SOURCES = ("demo", demo_radiographs.SOURCE)  # phantoms, radiographs
DraftStyle = Literal["faithful", "omission", "over_call"]
_CORRUPTION: dict[DraftStyle, CorruptionKind] = {"faithful": "none", "omission": "drop", "over_call": "add"}

# Templates per label; {side} is the patient's side, {zone} the lung zone.
_PRESENT: dict[Label, tuple[str, ...]] = {
    "pleural_effusion": ("Small {side} pleural effusion.", "{Side} pleural effusion with a meniscus."),
    "pneumothorax": ("{Side} apical pneumothorax.", "There is a {side} pneumothorax."),
    "lung_opacity": ("Patchy opacity in the {side} {zone} zone.", "{Side} {zone} zone airspace opacity."),
    "nodule_mass": ("{Side} {zone} zone pulmonary nodule.", "A nodule is seen in the {side} {zone} zone."),
    "cardiomegaly": ("The heart is enlarged.", "Cardiomegaly."),
}
_DENIALS: dict[Label, str] = {
    "pleural_effusion": "No pleural effusion.",
    "pneumothorax": "No pneumothorax.",
    "lung_opacity": "No focal consolidation.",
    "nodule_mass": "No pulmonary nodule.",
    "cardiomegaly": "Heart size is normal.",
}
_NORMAL = ("No acute cardiopulmonary abnormality.", "Lungs are clear.")


class DemoSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    created: bool  # False when --if-empty found cases already there
    cases: int
    radiographs: int  # of which real NIH radiographs (the rest are phantoms)
    drafts_added: int
    images_written: int
    image_dir: str
    seconds: float


class DemoCase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    spec: PhantomSpec
    style: DraftStyle
    changed_label: Label | None = None  # the omitted or over-called label


def plan_cases(n_cases: int = DEFAULT_CASES, seed: int = DEFAULT_SEED) -> list[DemoCase]:
    """The demo's cases: which findings each phantom shows and which kind of draft it gets."""
    if not MIN_CASES <= n_cases <= MAX_CASES:
        raise ValueError(f"the demo has {MIN_CASES}–{MAX_CASES} cases, not {n_cases}")
    rng = np.random.default_rng(seed)
    cases: list[DemoCase] = []
    for index in range(n_cases):
        n_findings = int(rng.choice([0, 1, 1, 2, 2, 3])) if index % 5 else 0  # every fifth is normal
        chosen = [str(v) for v in rng.choice(FINDING_LABELS, size=n_findings, replace=False)]
        findings = tuple(
            PhantomFinding(
                label=label,  # type: ignore[arg-type]
                side=str(rng.choice(["right", "left"])),  # type: ignore[arg-type]
                zone=str(rng.choice(["upper", "mid", "lower"])),  # type: ignore[arg-type]
                size=float(rng.uniform(0.8, 1.4)),
            )
            for label in chosen
        )
        spec = PhantomSpec(seed=seed * 1000 + index, findings=findings)
        styles: list[DraftStyle] = ["faithful", "over_call"] + (["omission"] if findings else [])
        style: DraftStyle = styles[index % len(styles)]
        changed: Label | None = None
        if style == "omission":
            changed = findings[int(rng.integers(len(findings)))].label
        elif style == "over_call":
            absent = [label for label in FINDING_LABELS if label not in chosen]
            changed = absent[int(rng.integers(len(absent)))]
        cases.append(
            DemoCase(case_id=f"phantom-{index + 1:03d}", spec=spec, style=style, changed_label=changed)
        )
    return cases


def _sentence(label: Label, side: str | None, zone: str | None, rng: np.random.Generator) -> str:
    template = str(rng.choice(_PRESENT[label]))
    side_word = side or "right"
    return template.format(side=side_word, Side=side_word.capitalize(), zone=zone or "mid")


def write_draft(case: DemoCase, drawn: tuple[DrawnFinding, ...]) -> tuple[str, list[ExpectedFlag]]:
    """The draft text for a demo case and the flags it is built to cause."""
    rng = np.random.default_rng(case.spec.seed + 7)
    sentences: list[str] = []
    expected: list[ExpectedFlag] = []
    present = {f.label for f in drawn}
    for finding in drawn:
        if finding.label in DEFAULT_URGENT:
            expected.append(ExpectedFlag(type="URGENT", label=finding.label))
        if case.style == "omission" and finding.label == case.changed_label:
            expected.append(ExpectedFlag(type="MISSING", label=finding.label))
            continue
        sentences.append(_sentence(finding.label, finding.side, finding.zone, rng))
    if case.style == "over_call" and case.changed_label is not None:
        side = str(rng.choice(["right", "left"]))
        zone = str(rng.choice(["upper", "mid", "lower"]))
        sentences.append(_sentence(case.changed_label, side, zone, rng))
        expected.append(ExpectedFlag(type="UNSUPPORTED", label=case.changed_label))
    mentioned = present | ({case.changed_label} if case.changed_label else set())
    if not sentences:
        sentences.append(str(rng.choice(_NORMAL)))
    for label in ("pneumothorax", "pleural_effusion"):
        if label not in mentioned and rng.random() < 0.6:
            sentences.append(_DENIALS[label])  # type: ignore[index]
    order = {"URGENT": 0, "MISSING": 1, "LATERALITY": 2, "UNSUPPORTED": 3}
    expected.sort(key=lambda f: (order[f.type], FINDING_LABELS.index(f.label)))
    return " ".join(sentences), expected


def default_image_dir(store: Store) -> Path:
    """Where phantom PNGs go: beside the database file (or the user data folder for ``:memory:``)."""
    if store.path == MEMORY:
        return user_data_dir() / "phantoms"
    return Path(store.path).parent / "phantoms"


def _write_png(pixels: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    Image.fromarray(pixels, mode="L").save(tmp, format="PNG", compress_level=1)
    tmp.replace(path)


def _ensure_images(store: Store) -> int:
    """Redraw any phantom PNG and copy again any demo radiograph that has gone missing; returns how many."""
    written = 0
    shipped = {plan.image: plan for plan in demo_radiographs.plan_radiographs()}
    for case in store.cases.where(source=demo_radiographs.SOURCE):
        if case.image_path is not None and not Path(case.image_path).is_file() and case.image_id in shipped:
            written += demo_radiographs.copy_images([shipped[case.image_id]], Path(case.image_path).parent)
    for case in store.cases.where(phantoms=True):
        if case.image_path is None or Path(case.image_path).is_file():
            continue
        spec_data = case.metadata.get("phantom_spec")
        if not isinstance(spec_data, dict):
            continue
        _write_png(draw_phantom(PhantomSpec.model_validate(spec_data)).pixels, Path(case.image_path))
        written += 1
    return written


def seed_demo(
    store: Store,
    *,
    image_dir: Path | None = None,
    n_cases: int = DEFAULT_CASES,
    seed: int = DEFAULT_SEED,
    if_empty: bool = False,
) -> DemoSummary:
    """Create the demo worklist (idempotent: the same ids, images and drafts each time).

    With ``if_empty``, a database that already has cases is left as it is (only phantom
    images that have gone missing are redrawn), which keeps ``./run.sh`` fast.
    """
    started = time.perf_counter()
    folder = (image_dir or default_image_dir(store)).resolve()
    if if_empty and store.cases.count() > 0:
        written = _ensure_images(store)
        return DemoSummary(
            created=False,
            cases=store.cases.count(),
            radiographs=len(store.cases.where(source=demo_radiographs.SOURCE)),
            drafts_added=0,
            images_written=written,
            image_dir=str(folder),
            seconds=time.perf_counter() - started,
        )
    plans = plan_cases(n_cases, seed)
    radiographs = demo_radiographs.plan_radiographs()
    demo_radiographs.copy_images(radiographs, folder)
    items: list[CaseImport] = demo_radiographs.case_imports(radiographs, folder)
    drafts: list[tuple[SyntheticDraft, str]] = []
    for plan in plans:
        phantom = draw_phantom(plan.spec)
        path = folder / f"{plan.case_id}.png"
        _write_png(phantom.pixels, path)
        findings = tuple(
            ReferenceFinding(label=f.label, box=f.box, source=REFERENCE_SOURCE, source_label=f.label)
            for f in phantom.findings
        )
        case = CaseRecord(
            case_id=plan.case_id,
            image_id=path.name,
            image_path=str(path),
            width=plan.spec.width,
            height=plan.spec.height,
            source="demo",
            view="PA",
            is_phantom=True,
            metadata={
                "synthetic_phantom": True,
                "generator": GENERATOR,
                "note": "Synthetic phantom drawn from smooth shapes; not a patient image.",
                "phantom_spec": plan.spec.model_dump(mode="json"),
            },
        )
        items.append(CaseImport(case=case, findings=findings))
        text, expected = write_draft(plan, phantom.findings)
        draft = SyntheticDraft(
            case_id=plan.case_id,
            seed=plan.spec.seed,
            text=text,
            corruption=_CORRUPTION[plan.style],
            applicable=True,
            corrupted_label=plan.changed_label,
            expected_flags=tuple(expected),
        )
        drafts.append((draft, plan.style))
    added = 0
    with store.hold():
        store.cases.upsert_many(items)
        written = [(draft, str(draft.corruption)) for draft in demo_radiographs.drafts(radiographs, seed)]
        added = _add_drafts(store, [*written, *drafts])
    log.info("demo worklist: %d radiographs and %d phantoms in %s", len(radiographs), len(plans), folder)
    return DemoSummary(
        created=True,
        cases=len(items),
        radiographs=len(radiographs),
        drafts_added=added,
        images_written=len(items),
        image_dir=str(folder),
        seconds=time.perf_counter() - started,
    )


def _add_drafts(store: Store, drafts: list[tuple[SyntheticDraft, str]]) -> int:
    """Store each (draft, style) unless the case already has that text; returns how many were new."""
    added = 0
    for draft, style in drafts:
        if any(d.text == draft.text for d in store.drafts.for_case(draft.case_id, kind="synthetic")):
            continue
        store.drafts.add(
            draft.case_id,
            draft.text,
            kind="synthetic",
            author="demo",
            corruption=draft.corruption,
            corruption_label=draft.corrupted_label,
            expected_flags=draft.expected_flags,
            metadata={"style": style},
        )
        added += 1
    return added
