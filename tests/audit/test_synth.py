"""Synthetic drafts: faithful to the reference boxes, then exactly one stated corruption."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from audit.schema import ExpectedFlag
from audit.synth import CORRUPTIONS, SyntheticDraft, stable_seed, synthesize, synthesize_all
from tests.audit.eval_fakes import HEART, LEFT_APEX, LEFT_LOWER, RIGHT_LOWER, RIGHT_UPPER, finding

EFFUSION_RIGHT = (finding("pleural_effusion", RIGHT_LOWER),)  # box on the viewer's left
PTX_LEFT_AND_HEART = (finding("pneumothorax", LEFT_APEX), finding("cardiomegaly", HEART))
EVERYTHING = (
    finding("pleural_effusion", LEFT_LOWER),
    finding("pneumothorax", LEFT_APEX),
    finding("lung_opacity", RIGHT_LOWER),
    finding("nodule_mass", RIGHT_UPPER),
    finding("cardiomegaly", HEART),
)


def flags(draft: SyntheticDraft) -> set[tuple[str, str]]:
    return {(f.type, f.label) for f in draft.expected_flags}


def asserted(draft: SyntheticDraft) -> dict[str, str | None]:
    """label → side of every 'present' sentence in the draft."""
    return {m.label: m.side for m in draft.mentions if m.status == "present"}


@pytest.mark.parametrize("seed", range(20), ids=lambda s: f"seed{s}")
def test_a_faithful_draft_puts_a_box_on_the_viewers_left_on_the_patients_right(seed: int) -> None:
    draft = synthesize("case-1", EFFUSION_RIGHT, "none", seed)
    assert asserted(draft) == {"pleural_effusion": "right"}
    assert "right" in draft.text.lower() and "left" not in draft.text.lower()


def test_the_negative_control_expects_no_discrepancy_but_still_urgent() -> None:
    draft = synthesize("case-1", PTX_LEFT_AND_HEART, "none", seed=0)
    assert draft.applicable and draft.corrupted_label is None
    assert flags(draft) == {("URGENT", "pneumothorax")}
    assert asserted(draft) == {"pneumothorax": "left", "cardiomegaly": None}


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=str)
def test_urgent_is_expected_whatever_the_corruption(corruption: str) -> None:
    draft = synthesize("case-1", EVERYTHING, corruption, seed=3)  # type: ignore[arg-type]
    assert {("URGENT", "pneumothorax"), ("URGENT", "nodule_mass")} <= flags(draft)


@pytest.mark.parametrize("seed", range(10), ids=lambda s: f"seed{s}")
def test_drop_leaves_out_one_present_finding_and_expects_missing(seed: int) -> None:
    draft = synthesize("case-2", EVERYTHING, "drop", seed)
    assert draft.corrupted_label is not None
    assert draft.corrupted_label not in asserted(draft)
    assert ("MISSING", draft.corrupted_label) in flags(draft)
    assert len(asserted(draft)) == 4  # 4 of 5 findings still written


@pytest.mark.parametrize("seed", range(10), ids=lambda s: f"seed{s}")
def test_add_asserts_one_absent_finding_and_expects_unsupported(seed: int) -> None:
    draft = synthesize("case-3", EFFUSION_RIGHT, "add", seed)
    assert draft.corrupted_label not in (None, "pleural_effusion")
    assert draft.corrupted_label in asserted(draft)
    assert flags(draft) == {("UNSUPPORTED", draft.corrupted_label)}
    # the added label is asserted, never also denied in the same draft
    assert [m.label for m in draft.mentions].count(draft.corrupted_label) == 1


@pytest.mark.parametrize("seed", range(10), ids=lambda s: f"seed{s}")
def test_flip_side_moves_a_one_sided_finding_and_expects_laterality(seed: int) -> None:
    draft = synthesize("case-4", PTX_LEFT_AND_HEART, "flip_side", seed)
    assert draft.corrupted_label == "pneumothorax"
    assert asserted(draft)["pneumothorax"] == "right"  # the box is on the patient's left
    assert flags(draft) == {("URGENT", "pneumothorax"), ("LATERALITY", "pneumothorax")}


@pytest.mark.parametrize(
    ("findings", "corruption", "why"),
    [
        ((), "drop", "nothing to drop"),
        (EVERYTHING, "add", "nothing to add"),
        ((finding("cardiomegaly", HEART),), "flip_side", "no finding lies wholly on one side"),
        (
            (finding("lung_opacity", RIGHT_LOWER), finding("lung_opacity", LEFT_LOWER)),
            "flip_side",
            "no finding lies wholly on one side",
        ),
        ((finding("pleural_effusion", None),), "flip_side", "no finding lies wholly on one side"),
    ],
    ids=["drop-normal-image", "add-all-present", "flip-heart-only", "flip-bilateral", "flip-unboxed"],
)
def test_an_inapplicable_corruption_is_recorded_not_swapped_for_another(
    findings: tuple, corruption: str, why: str
) -> None:
    draft = synthesize("case-5", findings, corruption, seed=0)  # type: ignore[arg-type]
    faithful = synthesize("case-5", findings, "none", seed=0)
    assert draft.corruption == corruption
    assert not draft.applicable and draft.corrupted_label is None
    assert why in draft.note
    assert draft.text == faithful.text
    assert draft.expected_flags == faithful.expected_flags


def test_boxes_on_both_sides_are_written_as_bilateral() -> None:
    draft = synthesize(
        "case-6", (finding("lung_opacity", RIGHT_LOWER), finding("lung_opacity", LEFT_LOWER)), "none"
    )
    assert asserted(draft) == {"lung_opacity": "bilateral"}
    assert "bilateral" in draft.text.lower()


def test_a_draft_that_asserts_nothing_reads_as_a_normal_study() -> None:
    draft = synthesize("case-7", EFFUSION_RIGHT, "drop", seed=0)
    assert asserted(draft) == {"no_finding": None}
    assert draft.text.strip()


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=str)
def test_the_same_seed_and_case_give_the_same_draft(corruption: str) -> None:
    first = synthesize("case-8", EVERYTHING, corruption, seed=11)  # type: ignore[arg-type]
    again = synthesize("case-8", EVERYTHING, corruption, seed=11)  # type: ignore[arg-type]
    assert first.model_dump_json() == again.model_dump_json()


def test_phrasing_and_order_vary_across_cases() -> None:
    texts = {synthesize(f"case-{i}", EVERYTHING, "none", seed=0).text for i in range(30)}
    assert len(texts) >= 20  # at least 20 of 30 drafts differ from all the others


def test_the_corruptions_of_one_case_share_its_faithful_sentences() -> None:
    faithful, dropped, *_ = synthesize_all("case-9", EVERYTHING, seed=2)
    assert {m.sentence for m in dropped.mentions} < {m.sentence for m in faithful.mentions}


def test_per_case_seeds_do_not_depend_on_the_process() -> None:
    # Python's hash() of a str changes between processes; stable_seed must not.
    code = "from audit.synth import stable_seed; print(stable_seed(0, 'case-1', 'none'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(other.stdout) == stable_seed(0, "case-1", "none")
    assert stable_seed(0, "case-1", "none") != stable_seed(0, "case-2", "none")


def test_a_synthetic_draft_round_trips_through_json() -> None:
    draft = synthesize("case-10", EVERYTHING, "flip_side", seed=5)
    assert SyntheticDraft.model_validate_json(draft.model_dump_json()) == draft


@pytest.mark.parametrize(
    "fields",
    [
        {"corruption": "drop", "applicable": True, "corrupted_label": None},
        {"corruption": "none", "applicable": True, "corrupted_label": "pneumothorax"},
        {"corruption": "add", "applicable": False, "corrupted_label": None, "note": ""},
        {"corruption": "add", "applicable": True, "corrupted_label": "pneumothorax", "expected_flags": ()},
    ],
    ids=["applied-without-label", "control-with-label", "inapplicable-without-reason", "add-without-flag"],
)
def test_an_inconsistent_synthetic_draft_is_refused(fields: dict) -> None:
    with pytest.raises(ValidationError):
        SyntheticDraft(case_id="c", seed=0, text="Cardiomegaly.", **fields)


def test_expected_flags_come_in_the_comparators_order() -> None:
    draft = synthesize("case-11", EVERYTHING, "drop", seed=1)
    order = ["URGENT", "MISSING", "LATERALITY", "UNSUPPORTED"]
    assert [order.index(f.type) for f in draft.expected_flags] == sorted(
        order.index(f.type) for f in draft.expected_flags
    )
    assert ExpectedFlag(type="URGENT", label="pneumothorax") in draft.expected_flags


def test_an_unknown_corruption_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown corruption"):
        synthesize("case-12", EVERYTHING, "swap")  # type: ignore[arg-type]
