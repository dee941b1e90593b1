"""Checkpoint profiles: how each supported checkpoint is called, as data with its own checks."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from audit.labels import LABELS
from audit.recover import parse_findings
from audit.schema import Box
from models.checkpoints import (
    DEFAULT_GROUNDING_PROFILE,
    DEFAULT_PARSING_PROFILE,
    FINE_TUNE_PROMPT,
    PROFILE_ADAPTER,
    PROFILES,
    GroundingProfile,
    ParsingProfile,
    ReportProfile,
    UnknownProfileError,
    grounding_profile,
    parsing_profile,
    profile_for_model,
    profile_named,
    report_profile,
)
from models.prompts import GROUNDING_INSTRUCTION, GROUNDING_SYSTEM, REPORT_INSTRUCTION, REPORT_SYSTEM

# sha256 of IMAGE_GROUNDING_PROMPT rendered by build_image_grounding_prompt() in
# alex-feel/cxr-draft-auditor src/cxr_auditor/prompts.py (1,488 characters).
PINNED_SHA256 = "caa515b8503b37a2cb6735cb2a50e213efc72d725da12140273eb41296ce7c78"

V2 = grounding_profile("medgemma-cxr-auditor-v2")
BASE = grounding_profile("medgemma-base")
NEMOTRON = parsing_profile("nemotron-3-nano")
REPORT = report_profile("medgemma-report")


class TestThePinnedPrompt:
    def test_is_the_fine_tunes_training_prompt_character_for_character(self) -> None:
        assert len(FINE_TUNE_PROMPT) == 1488
        assert hashlib.sha256(FINE_TUNE_PROMPT.encode("utf-8")).hexdigest() == PINNED_SHA256

    def test_names_the_checkpoints_labels_in_its_order(self) -> None:
        assert (
            "fixed label set:\npleural_effusion, pneumothorax, lung_opacity_consolidation, "
            "nodule_mass, cardiomegaly, no_finding\n"
        ) in FINE_TUNE_PROMPT
        assert FINE_TUNE_PROMPT.startswith("You are a chest X-ray finding extractor for a research")
        assert FINE_TUNE_PROMPT.endswith('"clear lung fields, normal cardiomediastinal silhouette"}]\n')

    @pytest.mark.parametrize("name", ["medgemma-cxr-auditor-v2", "medgemma-cxr-auditor-v1"])
    def test_both_fine_tunes_use_it(self, name: str) -> None:
        assert grounding_profile(name).prompt == FINE_TUNE_PROMPT


class TestGroundingChats:
    def test_the_default_profile_is_the_v2_fine_tune(self) -> None:
        assert DEFAULT_GROUNDING_PROFILE == "medgemma-cxr-auditor-v2"
        assert V2.model_ids == ("alex-feeel/medgemma-cxr-auditor-v2",)

    def test_the_fine_tune_gets_one_user_turn_image_first_then_the_pinned_prompt(self) -> None:
        image = object()
        messages = V2.messages(image)
        assert [m["role"] for m in messages] == ["user"]
        first, second = messages[0]["content"]
        assert first == {"type": "image", "image": image}
        assert second == {"type": "text", "text": FINE_TUNE_PROMPT}

    def test_without_an_image_the_image_part_is_a_placeholder(self) -> None:
        assert V2.user_turn()["content"][0] == {"type": "image"}

    def test_the_base_model_gets_a_system_turn_and_our_prompt(self) -> None:
        messages = BASE.messages()
        assert [m["role"] for m in messages] == ["system", "user"]
        assert messages[0]["content"][0]["text"] == GROUNDING_SYSTEM
        assert messages[1]["content"] == [{"type": "image"}, {"type": "text", "text": GROUNDING_INSTRUCTION}]

    def test_a_profile_with_the_text_first_puts_it_first(self) -> None:
        text_first = V2.model_copy(update={"image_first": False})
        assert [part["type"] for part in text_first.user_turn()["content"]] == ["text", "image"]


class TestVocabulary:
    def test_the_fine_tune_says_lung_opacity_consolidation_for_our_lung_opacity(self) -> None:
        assert V2.our_label("lung_opacity_consolidation") == "lung_opacity"
        assert V2.vocabulary_label("lung_opacity") == "lung_opacity_consolidation"
        assert V2.our_label("lung_opacity") is None  # not a word the checkpoint was taught
        assert V2.renamed_labels() == {"lung_opacity_consolidation": "lung_opacity"}

    @pytest.mark.parametrize("name", list(PROFILES))
    def test_every_label_of_ours_has_exactly_one_name_in_every_profile(self, name: str) -> None:
        profile = profile_named(name)
        named = [profile.our_label(profile.vocabulary_label(label)) for label in LABELS]
        assert named == list(LABELS)

    def test_a_label_map_that_misses_a_vocabulary_word_is_refused(self) -> None:
        data = V2.model_dump()
        data["vocabulary"] = (*V2.vocabulary, "atelectasis")
        with pytest.raises(ValidationError, match="cover exactly the vocabulary"):
            GroundingProfile(**data)


class TestTrainingTargets:
    BOX = Box(x0=0.1, y0=0.2, x1=0.4, y1=0.6)

    def test_the_answer_is_the_checkpoints_json_with_its_label_and_y_first_box(self) -> None:
        text = V2.answer_text([("lung_opacity", self.BOX), ("cardiomegaly", None)])
        assert json.loads(text) == [
            {"label": "lung_opacity_consolidation", "box_2d": [0.2, 0.1, 0.6, 0.4]},
            {"label": "cardiomegaly", "box_2d": None},
        ]

    def test_no_findings_is_the_single_no_finding_element(self) -> None:
        assert json.loads(V2.answer_text([])) == [{"label": "no_finding", "box_2d": None}]

    def test_the_answer_reads_back_as_the_same_findings(self) -> None:
        reading = parse_findings(V2.answer_text([("nodule_mass", self.BOX)]), "corpus", (1000, 800))
        assert [(f.label, f.box) for f in reading.findings] == [("nodule_mass", self.BOX)]

    def test_a_training_example_is_the_inference_chat_then_the_answer(self) -> None:
        messages = V2.training_messages([("pneumothorax", self.BOX)])
        assert messages[:-1] == V2.messages()
        assert messages[-1]["role"] == "assistant"
        assert json.loads(messages[-1]["content"][0]["text"])[0]["label"] == "pneumothorax"


class TestImageSize:
    @pytest.mark.parametrize(
        ("size", "expected"),
        [((2000, 2500), (819, 1024)), ((3000, 2000), (1024, 683)), ((640, 480), (640, 480))],
        ids=["tall", "wide", "small-kept"],
    )
    def test_the_fine_tune_keeps_the_aspect_ratio_with_the_longer_side_at_most_1024(
        self, size: tuple[int, int], expected: tuple[int, int]
    ) -> None:
        assert V2.input_size(*size) == expected
        assert not V2.pad_to_square and V2.box_reference == "original"

    def test_the_base_model_is_padded_to_a_square_first(self) -> None:
        assert BASE.input_size(2000, 1000) == (1024, 1024)
        assert BASE.box_reference == "padded_square"

    def test_padding_with_boxes_on_the_original_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="padded square exactly when"):
            GroundingProfile(**{**V2.model_dump(), "pad_to_square": True})


class TestNemotron:
    def test_it_stops_on_im_end_and_thinks_by_default_with_its_own_budget(self) -> None:
        assert NEMOTRON.name == DEFAULT_PARSING_PROFILE
        assert "<|im_end|>" in NEMOTRON.stop_tokens
        assert NEMOTRON.thinking is not None and NEMOTRON.thinking.mechanism == "template_kwarg"
        assert NEMOTRON.thinking_default() is True
        assert (NEMOTRON.budget(True), NEMOTRON.budget(False)) == (1024, 384)

    def test_the_draft_is_wrapped_after_the_instruction(self) -> None:
        system, user = NEMOTRON.messages("No pneumothorax.", thinking=True)
        assert system["role"] == "system" and not system["content"].endswith("think")
        assert user["content"].endswith("<draft>\nNo pneumothorax.\n</draft>")

    @pytest.mark.parametrize(("thinking", "directive"), [(True, "/think"), (False, "/no_think")])
    def test_a_template_without_the_switch_gets_the_directive_in_the_system_turn(
        self, thinking: bool, directive: str
    ) -> None:
        system, _ = NEMOTRON.messages("x", thinking=thinking, directive_in_system=True)
        assert system["content"].endswith(f"\n{directive}")


class TestReportGeneration:
    def test_base_medgemma_writes_a_report_from_a_system_turn_and_the_image_first(self) -> None:
        system, user = REPORT.messages()
        assert system["content"][0]["text"] == REPORT_SYSTEM
        assert user["content"] == [{"type": "image"}, {"type": "text", "text": REPORT_INSTRUCTION}]
        assert REPORT.stop_tokens == ("<end_of_turn>", "<eos>")

    def test_the_prompt_asks_about_every_finding_the_auditor_reads_with_its_side(self) -> None:
        for words in ("effusion", "pneumothorax", "opacity", "nodule", "heart size", "right or left"):
            assert words in REPORT_INSTRUCTION

    def test_a_pil_image_rides_in_the_image_part(self) -> None:
        image = object()
        assert REPORT.messages(image)[1]["content"][0] == {"type": "image", "image": image}

    def test_the_base_model_ids_find_the_report_profile(self) -> None:
        assert profile_for_model("google/medgemma-4b-it", "report") == "medgemma-report"
        assert profile_for_model("google/medgemma-1.5-4b-it", "report") == "medgemma-report"

    def test_a_grounding_profile_is_not_a_report_profile(self) -> None:
        with pytest.raises(UnknownProfileError, match="choose one of: medgemma-report"):
            report_profile("medgemma-base")


class TestLookup:
    def test_hub_ids_find_their_profile_and_a_local_folder_finds_none(self) -> None:
        assert profile_for_model("google/medgemma-4b-it", "grounding") == "medgemma-base"
        assert profile_for_model("alex-feeel/medgemma-cxr-auditor", "grounding") == "medgemma-cxr-auditor-v1"
        assert profile_for_model("nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16", "parsing") == "nemotron-3-nano"
        assert profile_for_model("/models/my-merge", "grounding") is None

    def test_an_unknown_name_lists_the_valid_ones(self) -> None:
        with pytest.raises(UnknownProfileError, match="choose one of: medgemma-cxr-auditor-v2"):
            profile_named("medgemma-v3")

    def test_a_parsing_profile_is_not_a_grounding_profile(self) -> None:
        with pytest.raises(UnknownProfileError, match="medgemma-base"):
            grounding_profile("nemotron-3-nano")

    @pytest.mark.parametrize("name", list(PROFILES))
    def test_profiles_are_frozen_and_round_trip_through_json(self, name: str) -> None:
        profile = profile_named(name)
        with pytest.raises(ValidationError):
            profile.name = "other"  # type: ignore[misc]
        again = PROFILE_ADAPTER.validate_json(PROFILE_ADAPTER.dump_json(profile))
        assert again == profile and isinstance(again, type(profile))
        assert isinstance(profile, GroundingProfile | ParsingProfile | ReportProfile)

    def test_importing_the_profiles_imports_no_model_stack(self) -> None:
        code = (
            "import sys, models.checkpoints; "
            "print(sorted({'torch', 'transformers', 'PIL'} & set(sys.modules)))"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert result.stdout.strip() == "[]"
