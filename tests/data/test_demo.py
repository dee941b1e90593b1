"""The demo worklist: real NIH radiographs with their expert boxes and synthetic drafts first,
then seeded phantoms with true boxes and faithful or corrupted drafts; idempotent."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from audit.boxes import patient_side
from data import demo_radiographs
from data.demo import DEFAULT_SEED, MAX_CASES, MIN_CASES, plan_cases, seed_demo, write_draft
from data.images import load_image
from data.phantoms import PHANTOM_MARK, PhantomFinding, PhantomSpec, draw_phantom
from data.records import WorklistQuery
from data.store import Store
from data.worklist import worklist_page


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
    cases = demo.cases.where(phantoms=True)
    assert MIN_CASES <= len(cases) <= MAX_CASES
    assert all(c.is_phantom and c.source == "demo" and c.metadata["synthetic_phantom"] is True for c in cases)


def test_every_phantom_image_loads_and_carries_its_mark(demo: Store) -> None:
    for case in demo.cases.where(phantoms=True):
        assert case.image_path is not None and Path(case.image_path).parent.name == "phantoms"
        pixels = load_image(case.image_path).pixels
        assert pixels.shape == (case.height, case.width)
        assert pixels[5:18, 5:60].max() > 200  # the burned-in "SYNTHETIC PHANTOM" text


def test_drafts_are_faithful_or_have_exactly_one_omission_or_over_call(demo: Store) -> None:
    styles = {}
    for case in demo.cases.where(phantoms=True):
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
        phantom, radiograph = store.cases.where(phantoms=True)[0], store.cases.where(phantoms=False)[0]
        originals = [Path(c.image_path or "").read_bytes() for c in (phantom, radiograph)]
        for case in (phantom, radiograph):
            Path(case.image_path or "").unlink()
        summary = seed_demo(store, if_empty=True)
        assert (summary.created, summary.images_written) == (False, 2)
        assert [Path(c.image_path or "").read_bytes() for c in (phantom, radiograph)] == originals


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


def test_the_demo_opens_with_eleven_real_radiographs_credited_to_the_nih(demo: Store) -> None:
    radiographs = demo.cases.where(source=demo_radiographs.SOURCE)

    assert len(radiographs) == 11 and not any(case.is_phantom for case in radiographs)
    assert all("NIH Clinical Center" in case.metadata["attribution"] for case in radiographs)
    for case in radiographs:
        assert (
            case.image_path is not None and Path(case.image_path).parent.name == "phantoms"
        )  # beside the db
        assert load_image(case.image_path).pixels.shape == (512, 512)


def test_the_shipped_radiographs_are_small_and_attributed() -> None:
    folder = demo_radiographs.EXAMPLES_DIR
    pngs = sorted(folder.glob("*.png"))
    attribution = (folder / "ATTRIBUTION").read_text()

    assert 0 < len(pngs) <= 12
    assert sum(path.stat().st_size for path in pngs) < 2 * 1024 * 1024
    assert "NIH Clinical Center" in attribution and "Wang" in attribution and "CVPR 2017" in attribution
    assert {path.name for path in pngs} == {plan.image for plan in demo_radiographs.plan_radiographs()}


def test_their_expert_boxes_cover_every_finding_on_both_sides_and_a_normal_study() -> None:
    plans = demo_radiographs.plan_radiographs()
    seen = {(f.label, patient_side(f.box)) for plan in plans for f in plan.findings if f.box is not None}

    for label in ("pleural_effusion", "pneumothorax", "lung_opacity", "nodule_mass"):
        assert {(label, "right"), (label, "left")} <= seen, label
    assert any(label == "cardiomegaly" for label, _ in seen)
    assert any(not plan.findings for plan in plans)  # a normal study
    assert all(f.source_label for plan in plans for f in plan.findings)  # the NIH label is kept


def test_their_drafts_are_faithful_omitted_over_called_and_wrong_sided(demo: Store) -> None:
    kinds = {
        demo.drafts.for_case(case.case_id)[0].corruption
        for case in demo.cases.where(source=demo_radiographs.SOURCE)
    }

    assert kinds == {"none", "drop", "add", "flip_side"}


def test_auditing_a_radiograph_raises_the_flags_its_draft_was_written_to_cause(demo_db: Path) -> None:
    from workstation import services

    with Store.open(demo_db) as store:
        for case in store.cases.where(source=demo_radiographs.SOURCE):
            (draft,) = store.drafts.for_case(case.case_id)
            stored, _ = services.ensure_audited(store, case.case_id)
            raised = {(flag.type, flag.label) for flag in stored.report.flags}
            expected = {(flag.type, flag.label) for flag in draft.expected_flags or ()}
            assert expected <= raised, (case.case_id, draft.text)


def test_real_radiographs_come_first_in_the_worklist(demo_db: Path) -> None:
    from workstation import services

    with Store.open(demo_db) as store:
        services.audit_not_audited(store, [case.case_id for case in store.cases.where()])
        first_page = worklist_page(store, WorklistQuery(page_size=11)).rows

    assert all(row.source == demo_radiographs.SOURCE for row in first_page)
