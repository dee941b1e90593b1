"""The student checklist, read off the comparator's flags, is right on every case of the demo worklist.

Each demo case's reference findings get one synthetic impression per corruption kind
(``audit.synth``), audited like a student's (reference grounder, rules parser); the
corruption says what the checklist must show: a faithful impression finds everything, a
dropped finding is missed, a flipped side is the wrong side, an invented finding is an
over-call. The demo's own drafts (faithful, one omission, one over-call) are checked
against the flags they were built to cause.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.checklist import Checklist, checklist
from audit.labels import DEFAULT_URGENT
from audit.pipeline import run_audit
from audit.protocols import AuditCase
from audit.schema import AuditReport, ComparePolicy, DraftReading, ImageFinding, ImageReading, ParseOutcome
from audit.synth import CorruptionKind, synthesize
from data.demo import DEFAULT_CASES, seed_demo
from data.store import Store
from models.registry import get_grounder, get_parser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("demo") / "audit.duckdb"
    with Store.open(path) as store:
        seed_demo(store, n_cases=DEFAULT_CASES)
        yield store


def _audit(store: Store, case_id: str, text: str) -> AuditReport:
    case = store.cases.audit_case(case_id)
    student = AuditCase(
        case_id=case.case_id, draft=text, image_size=case.image_size, reference=case.reference
    )
    return run_audit(student, get_grounder("reference"), get_parser("rules"), ComparePolicy())


def _reference(store: Store, case_id: str) -> list[ImageFinding]:
    return [f.to_image_finding() for f in store.cases.reference_findings(case_id)]


def _check(store: Store, case_id: str, corruption: CorruptionKind) -> tuple[Checklist, object]:
    draft = synthesize(case_id, _reference(store, case_id), corruption, seed=7)
    return checklist(_audit(store, case_id, draft.text)), draft


def test_the_demo_has_30_phantoms_and_11_radiographs(demo: Store) -> None:
    assert len(demo.cases.where(phantoms=True)) == 30
    assert len(demo.cases.where(phantoms=False)) == 11


def test_a_faithful_impression_finds_every_finding_and_over_calls_nothing(demo: Store) -> None:
    for case in demo.cases.where():
        result, _ = _check(demo, case.case_id, "none")
        present = {f.label for f in _reference(demo, case.case_id) if f.label != "no_finding"}
        assert result.scored, case.case_id
        assert {item.label for item in result.items} == present, case.case_id
        assert {item.outcome for item in result.items} <= {"found"}, (case.case_id, result.items)


def test_a_dropped_finding_is_missed_and_the_others_are_found(demo: Store) -> None:
    applicable = 0
    for case in demo.cases.where():
        result, draft = _check(demo, case.case_id, "drop")
        if not draft.applicable:  # a normal case has nothing to drop
            assert result.n_findings == 0, case.case_id
            continue
        applicable += 1
        outcomes = {item.label: item.outcome for item in result.items}
        assert outcomes.pop(draft.corrupted_label) == "missed", case.case_id
        assert set(outcomes.values()) <= {"found"}, (case.case_id, outcomes)
    assert applicable >= 20  # 24 of the 30 demo cases show a finding


def test_a_flipped_side_is_the_wrong_side(demo: Store) -> None:
    applicable = 0
    for case in demo.cases.where():
        result, draft = _check(demo, case.case_id, "flip_side")
        if not draft.applicable:
            continue
        applicable += 1
        outcomes = {item.label: item.outcome for item in result.items}
        assert outcomes.pop(draft.corrupted_label) == "wrong_side", case.case_id
        assert set(outcomes.values()) <= {"found"}, (case.case_id, outcomes)
    assert applicable >= 15


def test_an_invented_finding_is_an_over_call(demo: Store) -> None:
    for case in demo.cases.where():
        result, draft = _check(demo, case.case_id, "add")
        over = [item for item in result.items if item.outcome == "over_call"]
        assert [item.label for item in over] == [draft.corrupted_label], case.case_id
        assert result.count("missed") == result.count("wrong_side") == 0, case.case_id
        assert over[0].phrase, case.case_id  # the impression's own words are shown


def test_urgency_is_a_note_on_a_found_finding_never_an_error(demo: Store) -> None:
    seen = 0
    for case in demo.cases.where():
        result, _ = _check(demo, case.case_id, "none")
        for item in result.items:
            if item.label in DEFAULT_URGENT:
                seen += 1
                assert item.outcome == "found" and item.urgent, case.case_id
                assert item.note == "can't-miss: you found it"
    assert seen > 0


def test_the_demo_drafts_give_the_checklist_their_corruption_was_built_for(demo: Store) -> None:
    for case in demo.cases.where():
        (draft,) = demo.drafts.for_case(case.case_id, kind="synthetic")
        result = checklist(_audit(demo, case.case_id, draft.text))
        expected = {(f.type, f.label) for f in draft.expected_flags or ()}
        missed = {("MISSING", item.label) for item in result.items if item.outcome == "missed"}
        over = {("UNSUPPORTED", item.label) for item in result.items if item.outcome == "over_call"}
        # Only the radiographs' drafts put a finding on the wrong side; the phantoms' never do.
        wrong = {("LATERALITY", item.label) for item in result.items if item.outcome == "wrong_side"}
        assert missed | over | wrong == {e for e in expected if e[0] != "URGENT"}, case.case_id
        assert not (wrong and case.is_phantom), case.case_id


def test_the_score_counts_found_findings_wrong_sides_and_over_calls() -> None:
    from audit.checklist import ChecklistItem

    items = (
        ChecklistItem(label="pneumothorax", outcome="found"),
        ChecklistItem(label="nodule_mass", outcome="found"),
        ChecklistItem(label="pleural_effusion", outcome="missed"),
        ChecklistItem(label="cardiomegaly", outcome="over_call"),
    )
    assert Checklist(items=items).score == "2 of 3 findings found, 1 over-call"
    sided = (*items[:2], ChecklistItem(label="lung_opacity", outcome="wrong_side"))
    assert Checklist(items=sided).score == "2 of 3 findings found, 1 on the wrong side, no over-call"
    assert Checklist().score == "No finding on the image, no over-call"


def test_an_unreadable_impression_is_not_scored_and_says_why() -> None:
    report = AuditReport(
        mode="image_only",
        image=ImageReading(backend="reference", outcome=ParseOutcome(status="ok"), findings=()),
        draft=DraftReading(backend="rules", text="", outcome=ParseOutcome.failed("the draft is empty")),
    )
    result = checklist(report)
    assert not result.scored and result.items == ()
    assert "could not be read (the draft is empty)" in result.score


def test_a_flag_an_educator_dismissed_does_not_stand(demo: Store) -> None:
    case_id = next(
        case.case_id
        for case in demo.cases.where()
        if synthesize(case.case_id, _reference(demo, case.case_id), "drop", seed=7).applicable
    )
    dropped = synthesize(case_id, _reference(demo, case_id), "drop", seed=7)
    report = _audit(demo, case_id, dropped.text)
    missing = next(i for i, f in enumerate(report.flags) if f.type == "MISSING")
    label = report.flags[missing].label

    (overruled,) = [item for item in checklist(report, [missing]).items if item.label == label]
    assert overruled.outcome == "found" and overruled.overruled
    assert "an educator overruled the audit here" in (overruled.note or "")

    added = synthesize(case_id, _reference(demo, case_id), "add", seed=7)
    report = _audit(demo, case_id, added.text)
    unsupported = next(i for i, f in enumerate(report.flags) if f.type == "UNSUPPORTED")
    assert checklist(report).count("over_call") == 1
    assert checklist(report, [unsupported]).count("over_call") == 0


def test_a_dismissed_urgent_flag_changes_nothing(demo: Store) -> None:
    seen = 0
    for case in demo.cases.where():
        report = _audit(
            demo, case.case_id, synthesize(case.case_id, _reference(demo, case.case_id), "none", seed=7).text
        )
        urgent = [i for i, f in enumerate(report.flags) if f.type == "URGENT"]
        seen += len(urgent)
        assert checklist(report, urgent) == checklist(report), case.case_id
    assert seen > 0
