"""The medgemma report generator end to end on a tiny random-weight Gemma 3, on CPU.

The real registry, loading code, chat template (our report prompt after the image), processor,
``generate``, the retry ladder and :func:`audit.recover.read_report` run. Random weights write
whatever they write: each case must come back, in order, with its outcome and every raw text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.protocols import AuditCase
from models.checkpoints import report_profile
from models.prompts import REPORT_INSTRUCTION, REPORT_SYSTEM
from models.registry import MEDGEMMA_BASE_ID, get_generator, spec_for
from models.report_generator import MedGemmaReportGenerator, ReportGenerator, report_image
from tests.models.tiny_models import cpu_settings, tiny_chest_image

pytestmark = pytest.mark.requires_torch

WIDTH, HEIGHT = 96, 80


def case(case_id: str, seed: int = 0) -> AuditCase:
    return AuditCase(
        case_id=case_id,
        draft="",
        image_size=(WIDTH, HEIGHT),
        load_image=lambda: tiny_chest_image(WIDTH, HEIGHT, seed),
    )


def unreadable(case_id: str) -> AuditCase:
    def fail() -> object:
        raise OSError("the PNG is truncated")

    return AuditCase(case_id=case_id, draft="", load_image=fail)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def generator(tiny_medgemma_dir: Path) -> MedGemmaReportGenerator:
    built = get_generator("medgemma", cpu_settings(tiny_medgemma_dir, max_new_tokens=16, max_retries=1))
    assert isinstance(built, MedGemmaReportGenerator)
    return built


def test_the_registry_builds_base_medgemma_as_a_report_generator(generator: MedGemmaReportGenerator) -> None:
    assert isinstance(generator, ReportGenerator)
    assert type(generator.loaded.model).__name__ == "Gemma3ForConditionalGeneration"
    assert generator.profile.name == "medgemma-report"  # a local folder gets the default profile
    spec = spec_for("generator", "medgemma")
    assert spec.default_model_id == MEDGEMMA_BASE_ID
    assert spec.settings_sections == ("medgemma-generator",)  # never the grounder's fine-tune
    assert any("is called as medgemma-report" in note for note in generator.notes)


def test_the_chat_template_carries_the_image_and_our_report_prompt(
    generator: MedGemmaReportGenerator,
) -> None:
    image = report_image(case("c1"), generator.profile)
    text = generator.loaded.preprocessor.apply_chat_template(
        generator.profile.messages(image), add_generation_prompt=True
    )
    assert "<start_of_image>" in text
    assert REPORT_SYSTEM in text and REPORT_INSTRUCTION in text
    assert text.index("<start_of_image>") < text.index(REPORT_INSTRUCTION)


def test_every_case_comes_back_in_order_with_its_outcome_and_raw_text(
    generator: MedGemmaReportGenerator,
) -> None:
    cases = [case("a", 0), unreadable("broken"), case("b", 1)]
    done: list[int] = []
    runs = generator.generate_batch(cases, progress=done.append)
    assert [run.case_id for run in runs] == ["a", "broken", "b"]
    assert sum(done) == 3
    broken = runs[1]
    assert broken.reading.failed and broken.run is None
    assert "no usable image: the PNG is truncated" in (broken.reading.outcome.error or "")
    for run in (runs[0], runs[2]):
        assert run.run is not None and run.run.task == "report"
        attempts = run.run.attempts
        assert 1 <= len(attempts) <= 2  # greedy, then one retry if the answer was empty
        assert all(a.decoding.max_new_tokens == 16 for a in attempts)
        if run.reading.failed:
            assert run.reading.outcome.raw == attempts[-1].raw
        else:
            assert run.reading.text == attempts[-1].raw.strip()


def test_a_large_image_is_sent_with_its_longer_side_at_the_profiles_limit() -> None:
    big = AuditCase(case_id="big", draft="", load_image=lambda: tiny_chest_image(2048, 1536))
    assert report_image(big, report_profile("medgemma-report")).size == (1024, 768)
