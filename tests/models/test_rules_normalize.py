"""Invisible and compatibility characters never hide a finding, and spans stay the draft's own text.

The rules match a folded copy of the draft (``models.rules.normalize``): format characters
removed, compatibility forms (full-width letters) and combining accents folded away; every
offset is mapped back, so ``draft[start:end] == span`` with the invisible characters kept.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.rules.normalize import fold
from models.rules.parser import RulesParser

PARSER = RulesParser()

ZWSP, SOFT_HYPHEN, WORD_JOINER, BOM, ZWJ, LRM = "\u200b", "\u00ad", "\u2060", "\ufeff", "\u200d", "\u200e"
COMBINING_ACUTE, COMBINING_DIAERESIS = "\u0301", "\u0308"
INVISIBLE = (ZWSP, SOFT_HYPHEN, WORD_JOINER, BOM, ZWJ, LRM, "\u200c", "\u2063")
COMBINING = (COMBINING_ACUTE, COMBINING_DIAERESIS, "\u0327")


def _full_width(char: str) -> str:
    """The full-width form of a printable ASCII character (U+FF01..FF5E), a space as U+3000."""
    if char == " ":
        return "\u3000"
    if "!" <= char <= "~":
        return chr(ord(char) + 0xFEE0)
    return char


def _reading(draft: str) -> dict[str, tuple[str, str | None]]:
    return {item.label: (item.status, item.side) for item in PARSER.parse(draft).labels}


@pytest.mark.parametrize(
    ("draft", "label", "status", "side", "span"),
    [
        ("Left pneu\u200bmothorax.", "pneumothorax", "present", "left", "Left pneu\u200bmothorax"),
        ("Small right pleural ef\u00adfusion.", "pleural_effusion", "present", "right", None),
        ("Tiny apical pneumo\u2060thorax on the left.", "pneumothorax", "present", "left", None),
        ("\ufeffNo pneumothorax.", "pneumothorax", "absent", None, "No pneumothorax"),
        (
            "ＬＥＦＴ ＰＮＥＵＭＯＴＨＯＲＡＸ.",
            "pneumothorax",
            "present",
            "left",
            "ＬＥＦＴ ＰＮＥＵＭＯＴＨＯＲＡＸ",
        ),
        ("Right pleural effusión.", "pleural_effusion", "present", "right", "Right pleural effusión"),
        ("Small left effusion\u0301.", "pleural_effusion", "present", "left", "Small left effusion\u0301"),
        ("Moderate left pleural\u00a0effusion.", "pleural_effusion", "present", "left", None),
        ("No pleural e\u200cffusion or pneu\u200dmothorax.", "pleural_effusion", "absent", None, None),
    ],
    ids=[
        "zero-width-space",
        "soft-hyphen",
        "word-joiner",
        "byte-order-mark",
        "full-width",
        "precomposed-accent",
        "combining-accent-kept-in-span",
        "no-break-space",
        "joiners-in-a-denial",
    ],
)
def test_invisible_characters_do_not_hide_a_finding(
    draft: str, label: str, status: str, side: str | None, span: str | None
) -> None:
    item = PARSER.parse(draft).get(label)
    assert item is not None
    assert (item.status, item.side, draft[item.start : item.end]) == (status, side, item.span)
    if span is not None:
        assert item.span == span


def test_a_draft_of_invisible_characters_only_fails_visibly() -> None:
    reading = PARSER.parse(ZWSP * 3 + SOFT_HYPHEN)
    assert (reading.failed, reading.labels, "invisible" in (reading.outcome.error or "")) == (True, (), True)


def test_plain_ascii_is_its_own_folded_form() -> None:
    folded = fold("Small left effusion.")
    assert (folded.text, folded.origin, folded.start(6), folded.end(10)) == (
        "Small left effusion.",
        None,
        6,
        10,
    )


def test_folded_offsets_map_back_to_the_draft() -> None:
    draft = "a\u200bﬁb"  # the ligature folds to two letters
    folded = fold(draft)
    assert (folded.text, folded.start(1), folded.end(2), folded.end(3), folded.start(4)) == (
        "afib",
        2,
        3,
        3,
        4,
    )


# Drafts whose reading is known; the property below disturbs them and expects the same reading.
KNOWN_DRAFTS = [
    "Left pneumothorax.",
    "Small right pleural effusion. No pneumothorax.",
    "FINDINGS: Heart size is normal. Lungs are clear.\nIMPRESSION: No acute cardiopulmonary process.",
    "Moderate cardiomegaly with bilateral pleural effusions.",
    "Right lower lobe consolidation concerning for pneumonia.",
    "8 mm nodule in the right upper lobe.",
    "No pleural effusion or pneumothorax is identified.",
    "Possible small left effusion.",
    "IMPRESSION: Large right pneumothorax with mediastinal shift.",
]


@st.composite
def _disturbed(draw: st.DrawFn) -> tuple[str, str]:
    """A known draft with invisible characters, combining accents on letters and full-width
    forms inserted at random; returns (original, disturbed)."""
    original = draw(st.sampled_from(KNOWN_DRAFTS))
    out: list[str] = []
    for char in original:
        if draw(st.integers(0, 9)) == 0:
            out.append(draw(st.sampled_from(INVISIBLE)))
        out.append(_full_width(char) if draw(st.integers(0, 7)) == 0 else char)
        if char.isalpha() and draw(st.integers(0, 12)) == 0:
            out.append(draw(st.sampled_from(COMBINING)))
    if draw(st.booleans()):
        out.append(draw(st.sampled_from(INVISIBLE)))
    return original, "".join(out)


@settings(max_examples=300, deadline=None)
@given(_disturbed())
def test_disturbed_drafts_keep_their_labels_and_verbatim_spans(pair: tuple[str, str]) -> None:
    original, disturbed = pair
    reading = PARSER.parse(disturbed)
    assert _reading(disturbed) == _reading(original)
    assert [disturbed[item.start : item.end] for item in reading.labels] == [
        item.span for item in reading.labels
    ]
    # A span, folded, is the phrase the undisturbed draft quotes.
    expected = {item.label: item.span for item in PARSER.parse(original).labels}
    assert {item.label: fold(item.span).text for item in reading.labels} == expected
