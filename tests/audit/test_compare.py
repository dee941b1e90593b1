"""The comparator contract, one case per rule (ARCHITECTURE.md, Comparator)."""

from __future__ import annotations

import pytest

from audit.compare import compare, flag_counts
from audit.schema import ComparePolicy, DraftReading, ImageReading
from tests.audit.factories import ACROSS_MIDLINE, PATIENT_LEFT, PATIENT_RIGHT, draft, finding, image

Case = tuple[ImageReading, DraftReading, list[tuple[str, str]]]

CASES: dict[str, Case] = {
    "faithful draft raises nothing": (
        image(finding("pleural_effusion")),
        draft("Small right pleural effusion.", ("pleural_effusion", "present", "right pleural effusion")),
        [],
    ),
    "silent draft misses an image finding": (
        image(finding("cardiomegaly")),
        draft("Lungs are clear."),
        [("MISSING", "cardiomegaly")],
    ),
    "denying draft misses an image finding": (
        image(finding("pleural_effusion")),
        draft("No pleural effusion.", ("pleural_effusion", "absent", "No pleural effusion")),
        [("MISSING", "pleural_effusion")],
    ),
    "asserted finding the image lacks is unsupported": (
        image(),
        draft("Cardiomegaly.", ("cardiomegaly", "present", "Cardiomegaly")),
        [("UNSUPPORTED", "cardiomegaly")],
    ),
    "uncertain finding the image lacks is unsupported": (
        image(),
        draft("Possible nodule.", ("nodule_mass", "uncertain", "Possible nodule")),
        [("UNSUPPORTED", "nodule_mass")],
    ),
    "uncertain mention of an image finding is not missing": (
        image(finding("lung_opacity")),
        draft("Possible opacity.", ("lung_opacity", "uncertain", "Possible opacity")),
        [],
    ),
    "denied absent finding raises nothing": (
        image(),
        draft("No pneumothorax.", ("pneumothorax", "absent", "No pneumothorax")),
        [],
    ),
    "denied pneumothorax is urgent and missing": (
        image(finding("pneumothorax")),
        draft("No pneumothorax.", ("pneumothorax", "absent", "No pneumothorax")),
        [("URGENT", "pneumothorax"), ("MISSING", "pneumothorax")],
    ),
    "reported urgent finding is still urgent": (
        image(finding("nodule_mass")),
        draft("Right lung nodule.", ("nodule_mass", "present", "Right lung nodule", "right")),
        [("URGENT", "nodule_mass")],
    ),
    "contradictory no_finding beside a nodule still raises urgent": (
        image(finding("no_finding", box=None), finding("nodule_mass")),
        draft(
            "No acute cardiopulmonary process.",
            ("no_finding", "present", "No acute cardiopulmonary process"),
        ),
        [("URGENT", "nodule_mass"), ("MISSING", "nodule_mass")],
    ),
    "no_finding in the draft beside an empty image raises nothing": (
        image(finding("no_finding", box=None)),
        draft("Normal chest.", ("no_finding", "present", "Normal chest")),
        [],
    ),
    "no_finding in the image is never flagged against a silent draft": (
        image(finding("no_finding", box=None)),
        draft("Stable appearance."),
        [],
    ),
    "bilateral effusions reported once raise nothing": (
        image(finding("pleural_effusion", PATIENT_RIGHT), finding("pleural_effusion", PATIENT_LEFT)),
        draft("Bilateral effusions.", ("pleural_effusion", "present", "Bilateral effusions", "bilateral")),
        [],
    ),
    "bilateral effusions missed raise one flag for the label": (
        image(finding("pleural_effusion", PATIENT_RIGHT), finding("pleural_effusion", PATIENT_LEFT)),
        draft("Clear lungs."),
        [("MISSING", "pleural_effusion")],
    ),
    "empty image reading against an asserting draft": (
        image(),
        draft(
            "Right effusion and cardiomegaly.",
            ("pleural_effusion", "present", "Right effusion", "right"),
            ("cardiomegaly", "present", "cardiomegaly"),
        ),
        [("UNSUPPORTED", "pleural_effusion"), ("UNSUPPORTED", "cardiomegaly")],
    ),
    "empty image reading against an empty reading raises nothing": (image(), draft("Unremarkable."), []),
    "wrong side is a laterality error": (
        image(finding("pleural_effusion", PATIENT_LEFT)),
        draft("Right effusion.", ("pleural_effusion", "present", "Right effusion", "right")),
        [("LATERALITY", "pleural_effusion")],
    ),
    "a box across the midline matches either side": (
        image(finding("lung_opacity", ACROSS_MIDLINE)),
        draft("Left opacity.", ("lung_opacity", "present", "Left opacity", "left")),
        [],
    ),
    "one box on the stated side is enough": (
        image(finding("pleural_effusion", PATIENT_RIGHT), finding("pleural_effusion", PATIENT_LEFT)),
        draft("Left effusion.", ("pleural_effusion", "present", "Left effusion", "left")),
        [],
    ),
    "wrong-sided pneumothorax is urgent and a laterality error": (
        image(finding("pneumothorax", PATIENT_RIGHT)),
        draft("Left pneumothorax.", ("pneumothorax", "present", "Left pneumothorax", "left")),
        [("URGENT", "pneumothorax"), ("LATERALITY", "pneumothorax")],
    ),
    "a denied finding on the wrong side is missing, not laterality": (
        image(finding("pleural_effusion", PATIENT_LEFT)),
        draft("No right effusion.", ("pleural_effusion", "absent", "No right effusion", "right")),
        [("MISSING", "pleural_effusion")],
    ),
    "an image finding without a box cannot prove a side wrong": (
        image(finding("cardiomegaly", box=None)),
        draft("Left cardiomegaly.", ("cardiomegaly", "present", "Left cardiomegaly", "left")),
        [],
    ),
}


@pytest.mark.parametrize(("reading", "parsed", "expected"), CASES.values(), ids=CASES.keys())
def test_comparator_rule(
    reading: ImageReading, parsed: DraftReading, expected: list[tuple[str, str]]
) -> None:
    flags = compare(reading, parsed).flags
    assert [(flag.type, flag.label) for flag in flags] == expected


def test_every_flag_traces_to_a_finding_or_a_phrase_and_explains_itself() -> None:
    reading = image(finding("pneumothorax"), finding("cardiomegaly", PATIENT_LEFT))
    parsed = draft(
        "No pneumothorax. Right effusion.",
        ("pneumothorax", "absent", "No pneumothorax"),
        ("pleural_effusion", "present", "Right effusion", "right"),
    )
    flags = compare(reading, parsed).flags
    assert [(f.type, f.label) for f in flags] == [
        ("URGENT", "pneumothorax"),
        ("MISSING", "pneumothorax"),
        ("MISSING", "cardiomegaly"),
        ("UNSUPPORTED", "pleural_effusion"),
    ]
    missing_ptx = flags[1]
    assert missing_ptx.box == PATIENT_RIGHT
    assert missing_ptx.phrase == "No pneumothorax"
    assert missing_ptx.reason == (
        'Image shows pneumothorax in the right lower zone; the draft denies it: "No pneumothorax".'
    )
    assert flags[3].box is None
    assert flags[3].phrase == "Right effusion"


def test_contradictory_no_finding_is_dropped_with_a_warning() -> None:
    result = compare(image(finding("no_finding", box=None), finding("nodule_mass")), draft("Normal."))
    assert result.warnings == (
        "the image reading says 'no finding' but also shows nodule / mass; 'no finding' was ignored",
    )


def test_uncertain_mentions_can_be_ignored_by_policy() -> None:
    policy = ComparePolicy(uncertain_is_mention=False)
    reading = image(finding("lung_opacity"))
    parsed = draft(
        "Possible opacity. Possible nodule.",
        ("lung_opacity", "uncertain", "Possible opacity"),
        ("nodule_mass", "uncertain", "Possible nodule"),
    )
    flags = compare(reading, parsed, policy).flags
    assert [(f.type, f.label) for f in flags] == [("MISSING", "lung_opacity")]
    assert flags[0].reason.endswith('the draft is only uncertain: "Possible opacity".')


def test_urgent_list_is_configurable() -> None:
    policy = ComparePolicy(urgent_labels=("pleural_effusion",))
    flags = compare(
        image(finding("pleural_effusion"), finding("pneumothorax")), draft("Clear."), policy
    ).flags
    assert [(f.type, f.label) for f in flags] == [
        ("URGENT", "pleural_effusion"),
        ("MISSING", "pleural_effusion"),
        ("MISSING", "pneumothorax"),
    ]


def test_findings_below_the_score_threshold_are_not_present() -> None:
    policy = ComparePolicy(min_score=0.5)
    result = compare(image(finding("cardiomegaly", score=0.2)), draft("Clear."), policy)
    assert result.flags == ()
    assert result.warnings == ("1 image finding(s) scored below 0.5 were not treated as present",)


def test_the_flag_points_at_the_highest_scoring_box() -> None:
    weak, strong = finding("nodule_mass", PATIENT_RIGHT, 0.4), finding("nodule_mass", PATIENT_LEFT, 0.9)
    flags = compare(image(weak, strong), draft("Clear.")).flags
    assert [f.finding for f in flags] == [strong, strong]
    assert "(1 of 2 boxes)" in flags[0].reason


def test_no_draft_reading_raises_urgent_flags_only() -> None:
    flags = compare(image(finding("pneumothorax"), finding("cardiomegaly")), None).flags
    assert [(f.type, f.label) for f in flags] == [("URGENT", "pneumothorax")]


def test_no_image_reading_raises_nothing() -> None:
    assert compare(None, draft("Cardiomegaly.", ("cardiomegaly", "present", "Cardiomegaly"))).flags == ()


def test_the_same_input_gives_byte_identical_output() -> None:
    reading = image(
        finding("pneumothorax"), finding("pleural_effusion", PATIENT_LEFT), finding("cardiomegaly")
    )
    parsed = draft("Right effusion.", ("pleural_effusion", "present", "Right effusion", "right"))
    outputs = {"".join(flag.model_dump_json() for flag in compare(reading, parsed).flags) for _ in range(5)}
    assert len(outputs) == 1


def test_flag_counts_list_every_type() -> None:
    flags = compare(image(finding("pneumothorax")), draft("Clear.")).flags
    assert flag_counts(flags) == {"URGENT": 1, "MISSING": 1, "LATERALITY": 0, "UNSUPPORTED": 0}
