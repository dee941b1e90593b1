"""The medgemma grounder end to end on a tiny random-weight Gemma 3 image-text model, on CPU.

The real loading code, chat template, processor, ``generate`` and recovery run; random
weights produce garbage, which must come back as a failed reading with its raw text.
Recorded realistic outputs go through the same reading code for the ok and recovered paths.
A local folder is called as the default profile (the published fine-tune: one user turn,
image first, the pinned prompt, no padding) unless ``profile`` says otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from audit.boxes import pad_square
from audit.protocols import AuditCase, Grounder
from audit.schema import Box, ImageReading
from models.checkpoints import FINE_TUNE_PROMPT, grounding_profile
from models.generation import Generation
from models.grounding import PreparedImage, prepare_image, read_grounding
from models.medgemma import MedGemmaGrounder
from models.prompts import GROUNDING_INSTRUCTION, GROUNDING_SYSTEM
from models.registry import get_grounder
from tests.models.tiny_models import cpu_settings, tiny_chest_image

pytestmark = pytest.mark.requires_torch

WIDTH, HEIGHT = 96, 80  # a landscape image: the base profile pads it to 96 x 96 (8 px bands)
V2 = grounding_profile("medgemma-cxr-auditor-v2")
BASE = grounding_profile("medgemma-base")


def case(case_id: str = "c1", seed: int = 0) -> AuditCase:
    return AuditCase(
        case_id=case_id,
        draft="No acute findings.",
        image_size=(WIDTH, HEIGHT),
        load_image=lambda: tiny_chest_image(WIDTH, HEIGHT, seed),
    )


@pytest.fixture(scope="module")
def grounder(tiny_medgemma_dir: Path) -> MedGemmaGrounder:
    built = get_grounder("medgemma", cpu_settings(tiny_medgemma_dir))
    assert isinstance(built, MedGemmaGrounder)
    return built


@pytest.fixture(scope="module")
def base_grounder(tiny_medgemma_dir: Path) -> MedGemmaGrounder:
    built = get_grounder("medgemma", cpu_settings(tiny_medgemma_dir, profile="medgemma-base"))
    assert isinstance(built, MedGemmaGrounder)
    return built


@pytest.fixture
def prepared() -> PreparedImage:
    """The base profile's image: padded to a square."""
    return prepare_image(case(), BASE)


class TestRealModel:
    def test_the_registry_builds_a_grounder_from_a_local_folder_with_the_default_profile(
        self, grounder: MedGemmaGrounder
    ) -> None:
        assert isinstance(grounder, Grounder)
        assert grounder.loaded.plan.device == "cpu"
        assert type(grounder.loaded.model).__name__ == "Gemma3ForConditionalGeneration"
        assert type(grounder.loaded.preprocessor.image_processor).__name__ == "Gemma3ImageProcessorPil"
        assert grounder.profile.name == "medgemma-cxr-auditor-v2"
        assert "choose another with --profile" in grounder.notes[0]
        assert grounder.version.startswith("profile medgemma-cxr-auditor-v2; ")

    def test_the_default_profile_renders_one_user_turn_image_first_then_the_pinned_prompt(
        self, grounder: MedGemmaGrounder
    ) -> None:
        image = prepare_image(case(), V2).image
        text = grounder.loaded.preprocessor.apply_chat_template(
            V2.messages(image), add_generation_prompt=True
        )
        turn = f"<start_of_turn>user\n<start_of_image>{FINE_TUNE_PROMPT}<end_of_turn>\n"
        assert text == f"<bos>{turn}<start_of_turn>model\n"
        assert image.size == (WIDTH, HEIGHT)  # never padded, never enlarged

    def test_the_base_profile_renders_our_system_turn_and_prompt_and_pads_the_image(
        self, base_grounder: MedGemmaGrounder, prepared: PreparedImage
    ) -> None:
        processor = base_grounder.loaded.preprocessor
        text = processor.apply_chat_template(BASE.messages(prepared.image), add_generation_prompt=True)
        assert text.startswith(f"<bos><start_of_turn>user\n{GROUNDING_SYSTEM}\n\n<start_of_image>")
        assert GROUNDING_INSTRUCTION in text and text.endswith("<start_of_turn>model\n")
        assert prepared.image.size == (WIDTH, WIDTH) and prepared.padded

    def test_generation_stops_on_end_of_turn_and_eos(self, grounder: MedGemmaGrounder) -> None:
        vocab = grounder.tokenizer.get_vocab()
        assert {vocab["<end_of_turn>"], vocab["<eos>"]} <= grounder.stop_ids

    def test_random_weights_give_a_failed_reading_that_keeps_every_raw_text(
        self, grounder: MedGemmaGrounder
    ) -> None:
        reading = grounder.ground(case())
        run = grounder.last_run
        assert reading.failed and reading.findings == ()
        assert reading.outcome.error and reading.outcome.error.startswith("all 3 attempts failed")
        assert reading.outcome.raw == run.attempts[-1].raw  # type: ignore[union-attr]
        # a single-turn checkpoint is resampled, never given a corrective turn
        assert run is not None and [a.decoding.kind for a in run.attempts] == ["greedy", "sampled", "sampled"]
        assert run.profile == "medgemma-cxr-auditor-v2"
        assert all(a.raw and a.outcome == "failed" for a in run.attempts)
        assert {a.decoding.max_new_tokens for a in run.attempts} == {24}
        assert (reading.image_width, reading.image_height) == (WIDTH, HEIGHT)

    def test_a_batch_keeps_order_counts_progress_and_records_each_case(
        self, grounder: MedGemmaGrounder
    ) -> None:
        done: list[int] = []
        no_image = AuditCase(case_id="none", draft="x")
        readings = grounder.ground_batch([case("a", 1), no_image, case("b", 2)], progress=done.append)
        assert [r.failed for r in readings] == [True, True, True]
        assert readings[1].outcome.error == "no usable image: case none has no image to ground"
        assert sum(done) == 3
        assert len(grounder.last_runs) == 2  # one record per case that reached the model

    def test_batched_inputs_are_padded_on_the_left(self, grounder: MedGemmaGrounder) -> None:
        from models.prompts import with_correction

        short = BASE.messages(prepare_image(case(), BASE).image)
        long = with_correction(short, "grounding", "x" * 40, "no JSON")
        inputs = grounder.encode([short, long], grounder.ladder[0])
        pad = grounder.tokenizer.pad_token_id
        assert inputs["input_ids"][0, 0].item() == pad
        assert inputs["input_ids"][0, -1].item() != pad

    def test_a_four_bit_grounder_runs_end_to_end_on_cpu(self, tiny_medgemma_dir: Path) -> None:
        grounder = get_grounder(
            "medgemma",
            cpu_settings(tiny_medgemma_dir, cpu_quantization="nf4", max_retries=0, max_new_tokens=8),
        )
        reading = grounder.ground(case())
        assert grounder.loaded.plan.quantization == "nf4"  # type: ignore[attr-defined]
        assert reading.failed and reading.outcome.raw


class TestRecordedOutputs:
    """Realistic generations, written by hand, read exactly as the grounder reads its own."""

    def test_the_fine_tunes_answer_is_ok_in_its_own_words_on_the_original_image(self) -> None:
        unpadded = prepare_image(case(), V2)
        raw = '[{"label": "lung_opacity_consolidation", "box_2d": [0.5, 0.1, 0.9, 0.4]}]'
        reading = read_grounding(raw, unpadded, "medgemma", V2)
        assert reading.outcome.status == "ok"  # its vocabulary, not a repaired synonym
        finding = reading.findings[0]
        assert finding.label == "lung_opacity" and finding.box == Box(x0=0.1, y0=0.5, x1=0.4, y1=0.9)
        assert (reading.image_width, reading.image_height) == (WIDTH, HEIGHT)

    def test_a_clean_answer_in_unit_scale_is_ok_and_mapped_off_the_padding(
        self, prepared: PreparedImage
    ) -> None:
        on_original = Box(x0=0.1, y0=0.5, x1=0.4, y1=0.9)  # patient's right lower zone
        padded = pad_square(on_original, (WIDTH, HEIGHT))
        raw = json.dumps(
            [{"label": "pleural_effusion", "box_2d": [padded.y0, padded.x0, padded.y1, padded.x1]}]
        )
        reading = read_grounding(raw, prepared, "medgemma", BASE)
        assert reading.outcome.status == "ok"
        finding = reading.findings[0]
        assert finding.box_scale == "unit"
        assert finding.box is not None
        assert np.allclose(finding.box.as_list(), on_original.as_list(), atol=1e-3)
        assert (reading.image_width, reading.image_height) == (WIDTH, HEIGHT)

    def test_a_per_mille_answer_is_read_in_its_own_scale(self, prepared: PreparedImage) -> None:
        raw = '[{"label": "pneumothorax", "box_2d": [100, 550, 450, 900]}]'
        reading = read_grounding(raw, prepared, "medgemma", BASE)
        assert reading.outcome.status == "ok"
        assert reading.findings[0].box_scale == "per_mille"

    def test_a_fenced_answer_with_a_synonym_is_recovered_with_its_repairs(
        self, prepared: PreparedImage
    ) -> None:
        raw = (
            "Here are the findings:\n```json\n"
            '[{"label": "Lung Opacity/Consolidation", "box_2d": [0.3, 0.6, 0.7, 0.9]},]\n```'
        )
        reading = read_grounding(raw, prepared, "medgemma", BASE)
        assert reading.outcome.status == "recovered"
        assert reading.findings[0].label == "lung_opacity"
        assert any("code fence" in r for r in reading.outcome.repairs)
        assert reading.outcome.raw == raw

    def test_a_box_wholly_in_the_padding_loses_the_box_and_keeps_the_finding(
        self, prepared: PreparedImage
    ) -> None:
        raw = json.dumps(
            [
                {"label": "nodule_mass", "box_2d": [0.0, 0.2, 0.05, 0.3]},  # inside the top band
                {"label": "cardiomegaly", "box_2d": [0.4, 0.3, 0.8, 0.7]},
            ]
        )
        reading = read_grounding(raw, prepared, "medgemma", BASE)
        assert reading.outcome.status == "recovered"
        assert [(f.label, f.box is None) for f in reading.findings] == [
            ("nodule_mass", True),
            ("cardiomegaly", False),
        ]
        assert reading.outcome.dropped_items == 0
        assert any(
            r.startswith("finding 0 (nodule_mass): box rejected")
            and "padding" in r
            and "kept without a box" in r
            for r in reading.outcome.repairs
        )

    def test_medgemma_thinking_tags_are_stripped(self, prepared: PreparedImage) -> None:
        raw = '<unused94>thought\nLooking at the bases.<unused95>[{"label": "no_finding"}]'
        reading = read_grounding(raw, prepared, "medgemma", BASE)
        assert reading.outcome.status == "ok"  # a closed trace is expected output, not a repair
        assert [f.label for f in reading.findings] == ["no_finding"]

    def test_a_retry_that_reads_is_recovered_and_every_attempt_is_stored(
        self, base_grounder: MedGemmaGrounder, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        grounder = base_grounder
        answers = iter(["I cannot see", '[{"label": "cardiomegaly", "box_2d": [0.4, 0.3, 0.8, 0.7]}]'])
        seen_chats: list[int] = []

        def scripted(chats: list, plan: object) -> list[Generation]:
            seen_chats.append(len(chats[0]))
            return [Generation(next(answers), 10, 5, 0.01) for _ in chats]

        monkeypatch.setattr(grounder, "generate", scripted)
        reading: ImageReading = grounder.ground(case())
        run = grounder.last_run
        assert reading.outcome.status == "recovered"
        assert "read on attempt 2 (greedy_corrective)" in reading.outcome.repairs[-1]
        assert run is not None and [a.outcome for a in run.attempts] == ["failed", "ok"]
        assert seen_chats == [2, 4]  # the retry replays the answer and the correction


def test_the_cli_audits_with_the_medgemma_grounder_from_a_local_folder(
    tiny_medgemma_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PIL import Image

    from workstation.cli.main import main

    monkeypatch.setenv("CXR_AUDIT_MAX_NEW_TOKENS", "8")  # the CLI has no token flag; keep it fast
    monkeypatch.setenv("CXR_AUDIT_MAX_RETRIES", "0")

    image = tmp_path / "chest.png"
    Image.fromarray(tiny_chest_image(WIDTH, HEIGHT)).save(image)
    argv = ["audit", "--grounder", "medgemma", "--model", str(tiny_medgemma_dir), "--device", "cpu"]
    argv += ["--quantization", "fp32"]
    code = main([*argv, "--image", str(image), "--draft", "No pneumothorax."])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed["image_findings"] == []  # random weights: grounding failed, shown, not hidden
    assert any("grounding failed" in note for note in printed["notes"])
    assert any(note.startswith("medgemma: profile medgemma-cxr-auditor-v2; ") for note in printed["notes"])
    code = main([*argv, "--profile", "medgemma-base", "--image", str(image), "--draft", "No pneumothorax."])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert any(note.startswith("medgemma: profile medgemma-base; ") for note in printed["notes"])
