"""Golden tests for the rules draft parser: hand-written drafts, and every rule's worked example.

``rules_golden.json`` lists drafts with the complete reading each must give: every label
with its status, side and (where given) verbatim span; a label not listed must not appear.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from audit.schema import DraftReading
from models.rules.laterality import LATERALITY_RULES
from models.rules.lexicon import LEXICON
from models.rules.modifiers import EXPLANATIONS, MODIFIERS
from models.rules.parser import RulesParser
from models.rules.rule import Rule
from models.rules.sections import SECTION_RULES
from models.rules.spans import SPAN_RULES

GOLDEN = json.loads((Path(__file__).parent / "rules_golden.json").read_text(encoding="utf-8"))["cases"]
ALL_RULES: tuple[Rule, ...] = (
    LEXICON + MODIFIERS + EXPLANATIONS + SECTION_RULES + LATERALITY_RULES + SPAN_RULES
)
PARSER = RulesParser()


def _reading_as_expectation(reading: DraftReading) -> dict[str, list[Any]]:
    return {item.label: [item.status, item.side, item.span] for item in reading.labels}


def test_golden_file_has_at_least_80_drafts() -> None:
    assert len(GOLDEN) >= 80


def test_golden_ids_are_unique() -> None:
    ids = [case["id"] for case in GOLDEN]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", GOLDEN, ids=[case["id"] for case in GOLDEN])
def test_golden_draft_labels_statuses_and_sides(case: dict[str, Any]) -> None:
    reading = PARSER.parse(case["draft"])
    got = {label: [status, side] for label, (status, side, _span) in _reading_as_expectation(reading).items()}
    expected = {label: [status, side] for label, (status, side, _span) in case["expect"].items()}
    assert got == expected


@pytest.mark.parametrize("case", GOLDEN, ids=[case["id"] for case in GOLDEN])
def test_golden_draft_spans(case: dict[str, Any]) -> None:
    reading = PARSER.parse(case["draft"])
    expected_spans = {label: span for label, (_s, _side, span) in case["expect"].items() if span is not None}
    got_spans = {item.label: item.span for item in reading.labels if item.label in expected_spans}
    assert got_spans == expected_spans


@pytest.mark.parametrize("case", GOLDEN, ids=[case["id"] for case in GOLDEN])
def test_golden_draft_labels_name_their_rule_and_backend(case: dict[str, Any]) -> None:
    reading = PARSER.parse(case["draft"])
    assert [(item.backend, bool(item.rule_id)) for item in reading.labels] == [("rules", True)] * len(
        reading.labels
    )


@pytest.mark.parametrize("rule", ALL_RULES, ids=[rule.id for rule in ALL_RULES])
def test_rule_worked_example(rule: Rule) -> None:
    reading = PARSER.parse(rule.example)
    got = {label: (reading.get(label).status if reading.get(label) else None) for label, _ in rule.expect}
    assert got == dict(rule.expect)


# Rules whose id is recorded in the decision they make ("MENTION.X|NEG.NO"); the others
# (drop, mask, term) leave no label behind to carry it, so their pattern is checked instead.
DECIDING = [rule for rule in LEXICON + MODIFIERS + EXPLANATIONS if rule.kind not in ("drop", "mask", "term")]
SILENT = [rule for rule in LEXICON + MODIFIERS if rule.kind in ("drop", "mask", "term")]


@pytest.mark.parametrize("rule", DECIDING, ids=[rule.id for rule in DECIDING])
def test_rule_example_is_decided_by_that_rule(rule: Rule) -> None:
    reading = PARSER.parse(rule.example)
    fired = {part for item in reading.labels for part in (item.rule_id or "").split("|")}
    assert rule.id in fired


@pytest.mark.parametrize("rule", SILENT, ids=[rule.id for rule in SILENT])
def test_silent_rule_example_contains_its_phrase(rule: Rule) -> None:
    assert re.search(rf"(?<!\w)(?:{rule.pattern})\b", rule.example.lower()) is not None


def test_rule_ids_are_unique() -> None:
    ids = [rule.id for rule in ALL_RULES]
    assert sorted(ids) == sorted(set(ids))


@pytest.mark.parametrize("rule", ALL_RULES, ids=[rule.id for rule in ALL_RULES])
def test_rule_is_documented(rule: Rule) -> None:
    assert (bool(rule.comment.strip()), bool(rule.example.strip()), bool(rule.expect)) == (True, True, True)


_SCANNED = LEXICON + MODIFIERS + EXPLANATIONS + LATERALITY_RULES + SPAN_RULES


@pytest.mark.parametrize("rule", _SCANNED, ids=[rule.id for rule in _SCANNED])
def test_rule_pattern_is_lower_case(rule: Rule) -> None:
    # The combined scan matches lower-cased text without IGNORECASE (see models.rules.combined).
    without_escapes = re.sub(r"\\.", "", rule.pattern)
    assert without_escapes == without_escapes.lower()


@pytest.mark.parametrize(
    "rule", [r for r in LEXICON if r.kind in ("finding", "statement")], ids=lambda r: r.id
)
def test_lexicon_rule_names_its_label(rule: Rule) -> None:
    assert rule.label is not None


def _span_of(draft: str, label: str) -> str | None:
    item = PARSER.parse(draft).get(label)  # type: ignore[arg-type]
    return item.span if item else None


@pytest.mark.parametrize("rule", SPAN_RULES, ids=[rule.id for rule in SPAN_RULES])
def test_span_rule_example_quotes_the_whole_phrase(rule: Rule) -> None:
    # Each span rule's example is quoted whole, less its full stop.
    label = rule.expect[0][0]
    assert _span_of(rule.example, label) == rule.example.rstrip(".")
