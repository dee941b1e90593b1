"""The simulated imperfect grounder: seeded per case, degrading in the three stated ways."""

from __future__ import annotations

import pytest

from audit.boxes import iou
from audit.simulated import NOISE_LEVELS, GrounderNoise, SimulatedGrounder
from tests.audit.eval_fakes import (
    HEART,
    LEFT_APEX,
    RIGHT_LOWER,
    FailingGrounder,
    ReferenceGrounder,
    case,
    finding,
)

CASES = [
    case(
        f"case-{i}",
        finding("pleural_effusion", RIGHT_LOWER),
        finding("pneumothorax", LEFT_APEX),
        finding("cardiomegaly", HEART),
    )
    for i in range(200)
]
SILENT = GrounderNoise(name="silent", drop_rate=0.0, jitter=0.0, false_rate=0.0)


def ground_all(noise: GrounderNoise, seed: int = 0) -> list:
    grounder = SimulatedGrounder(ReferenceGrounder(), noise, seed)
    return [grounder.ground(c) for c in CASES]


def test_without_noise_it_returns_the_reference_findings() -> None:
    readings = ground_all(SILENT)
    assert [[(f.label, f.box) for f in r.findings] for r in readings] == [
        [(f.label, f.box) for f in c.reference] for c in CASES
    ]


def test_the_same_seed_gives_the_same_findings_whatever_the_order_of_cases() -> None:
    grounder = SimulatedGrounder(ReferenceGrounder(), NOISE_LEVELS["high"], seed=4)
    forward = {c.case_id: grounder.ground(c) for c in CASES}
    backward = {c.case_id: grounder.ground(c) for c in reversed(CASES)}
    assert forward == backward


@pytest.mark.parametrize("level", ["low", "medium", "high"], ids=str)
def test_a_noise_level_drops_about_its_rate_of_findings(level: str) -> None:
    noise = NOISE_LEVELS[level].model_copy(update={"false_rate": 0.0})
    kept = sum(len(r.findings) for r in ground_all(noise))
    dropped = 1 - kept / (3 * len(CASES))
    assert dropped == pytest.approx(noise.drop_rate, abs=0.05)


def test_jitter_moves_boxes_but_keeps_them_near_their_finding() -> None:
    noise = GrounderNoise(name="jitter", drop_rate=0.0, jitter=0.1, false_rate=0.0)
    readings = ground_all(noise)
    ious = [iou(f.box, RIGHT_LOWER) for r in readings for f in r.findings if f.label == "pleural_effusion"]
    assert len(ious) == len(CASES)
    assert sum(value < 1.0 for value in ious) == len(CASES)  # every box moved
    assert sum(value >= 0.5 for value in ious) / len(ious) > 0.9  # over 9 in 10 still overlap well


def test_false_findings_are_added_at_about_the_stated_rate() -> None:
    noise = GrounderNoise(name="false", drop_rate=0.0, jitter=0.0, false_rate=0.5)
    extra = sum(len(r.findings) - 3 for r in ground_all(noise))
    assert extra / len(CASES) == pytest.approx(0.5, abs=0.15)


def test_a_failed_reading_passes_through_unchanged() -> None:
    grounder = SimulatedGrounder(FailingGrounder("case-0"), NOISE_LEVELS["high"])
    reading = grounder.ground(CASES[0])
    assert reading.failed and reading.outcome.error == "no JSON in the generation"


def test_the_name_says_the_level_and_the_base() -> None:
    assert SimulatedGrounder(ReferenceGrounder(), NOISE_LEVELS["low"]).name == "simulated-low(reference)"
