"""The demo worklist: seeded phantoms, true boxes, faithful and corrupted drafts, idempotent."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from audit.boxes import patient_side
from data.demo import DEFAULT_SEED, MAX_CASES, MIN_CASES, plan_cases, seed_demo, write_draft
from data.images import load_image
from data.phantoms import PHANTOM_MARK, PhantomFinding, PhantomSpec, draw_phantom
from data.store import Store


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "audit.duckdb"
    with Store.open(path) as store:
        seed_demo(store, n_cases=MIN_CASES)
    return path


@pytest.fixture
def demo(demo_db: Path) -> Store:
    store = Store.open(demo_db)
    yield store
    store.close()


def test_the_demo_has_between_20_and_40_phantom_cases_each_marked_synthetic(demo: Store) -> None:
    cases = demo.cases.where()
    assert MIN_CASES <= len(cases) <= MAX_CASES
    assert all(c.is_phantom and c.source == "demo" and c.metadata["synthetic_phantom"] is True for c in cases)


def test_every_phantom_image_loads_and_carries_its_mark(demo: Store) -> None:
    for case in demo.cases.where():
        assert case.image_path is not None and Path(case.image_path).parent.name == "phantoms"
        pixels = load_image(case.image_path).pixels
        assert pixels.shape == (case.height, case.width)
        assert pixels[5:18, 5:60].max() > 200  # the burned-in "SYNTHETIC PHANTOM" text


def test_drafts_are_faithful_or_have_exactly_one_omission_or_over_call(demo: Store) -> None:
    styles = {}
    for case in demo.cases.where():
        (draft,) = demo.drafts.for_case(case.case_id)
        present = {f.label for f in demo.cases.reference_findings(case.case_id)}
        expected = draft.expected_flags or ()
        discrepancies = [f for f in expected if f.type in ("MISSING", "UNSUPPORTED")]
        styles[case.case_id] = draft.corruption
        if draft.corruption == "none":
            assert discrepancies == []
        elif draft.corruption == "drop":
            assert [(f.type, f.label) for f in discrepancies] == [("MISSING", draft.corruption_label)]
            assert draft.corruption_label in present
        else:
            assert draft.corruption == "add"
            assert [(f.type, f.label) for f in discrepancies] == [("UNSUPPORTED", draft.corruption_label)]
            assert draft.corruption_label not in present
        urgent = {f.label for f in expected if f.type == "URGENT"}
        assert urgent == present & {"pneumothorax", "nodule_mass"}
    assert set(styles.values()) == {"none", "drop", "add"}


def test_seeding_again_is_idempotent(demo_db: Path) -> None:
    with Store.open(demo_db) as store:
        before = store.stats()
        summary = seed_demo(store, n_cases=MIN_CASES)
        assert summary.drafts_added == 0
        assert store.stats() == before


def test_if_empty_leaves_a_database_with_cases_alone_and_redraws_missing_images(demo_db: Path) -> None:
    with Store.open(demo_db) as store:
        first = store.cases.where()[0]
        assert first.image_path is not None
        original = Path(first.image_path).read_bytes()
        Path(first.image_path).unlink()
        summary = seed_demo(store, if_empty=True)
        assert (summary.created, summary.images_written) == (False, 1)
        assert Path(first.image_path).read_bytes() == original


def test_the_same_seed_draws_the_same_worklist_byte_for_byte(tmp_path: Path) -> None:
    digests = []
    for run in ("one", "two"):
        with Store.open(tmp_path / run / "audit.duckdb") as store:
            seed_demo(store, n_cases=MIN_CASES, seed=DEFAULT_SEED)
            digests.append(
                [
                    (
                        c.case_id,
                        hashlib.sha256(Path(c.image_path or "").read_bytes()).hexdigest(),
                        store.drafts.for_case(c.case_id)[0].text,
                    )
                    for c in store.cases.where()
                ]
            )
    assert digests[0] == digests[1]
    assert plan_cases(MIN_CASES, seed=1) != plan_cases(MIN_CASES, seed=2)


@pytest.mark.parametrize(
    ("finding", "side"),
    [
        (PhantomFinding(label="pleural_effusion", side="right"), "right"),
        (PhantomFinding(label="pneumothorax", side="left"), "left"),
        (PhantomFinding(label="nodule_mass", side="right", zone="upper"), "right"),
        (PhantomFinding(label="lung_opacity", side="left", zone="lower"), "left"),
    ],
    ids=["effusion-right", "pneumothorax-left", "nodule-right-upper", "opacity-left-lower"],
)
def test_findings_are_drawn_inside_their_true_box_on_the_patients_side(
    finding: PhantomFinding, side: str
) -> None:
    plain = draw_phantom(PhantomSpec(seed=5)).pixels.astype(int)
    drawn = draw_phantom(PhantomSpec(seed=5, findings=(finding,)))
    (truth,) = drawn.findings
    assert patient_side(truth.box) == side  # the patient's right is on the viewer's left
    changed = np.abs(drawn.pixels.astype(int) - plain) > 6
    height, width = changed.shape
    inside = np.zeros_like(changed)
    b = truth.box
    inside[
        int(b.y0 * height) : int(np.ceil(b.y1 * height)) + 3,
        int(b.x0 * width) - 3 : int(np.ceil(b.x1 * width)) + 3,
    ] = True
    assert changed.sum() > 20
    assert changed[~inside].sum() / changed.sum() < 0.1  # the change lies (almost all) in the box


def test_an_enlarged_heart_has_a_wider_box() -> None:
    normal = draw_phantom(PhantomSpec(seed=1, findings=(PhantomFinding(label="cardiomegaly"),)))
    (heart,) = normal.findings
    assert heart.box.width > 0.5 * 0.62  # cardiothoracic ratio above one half of the chest


def test_draft_sentences_name_the_patients_side() -> None:
    (case,) = [c for c in plan_cases(30) if c.style == "faithful" and c.spec.findings][:1]
    phantom = draw_phantom(case.spec)
    text, _ = write_draft(case, phantom.findings)
    for finding in phantom.findings:
        if finding.side is not None:
            assert finding.side in text


def test_the_mark_is_part_of_every_phantom() -> None:
    assert "SYNTHETIC PHANTOM" in PHANTOM_MARK
