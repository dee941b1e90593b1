"""The loss-mask assertion on the tiny model's real processor and TRL's real vision collator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from finetune.errors import LossMaskError
from finetune.loss_mask import MaskCheckingCollator, turn_suffix
from finetune.records import TRAIN_FILE, CurationReport
from finetune.train import _dataset, read_examples

pytestmark = pytest.mark.requires_torch


@pytest.fixture(scope="module")
def processor(tiny_base: Path) -> Any:
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_base)


@pytest.fixture(scope="module")
def examples(corpus: tuple[Path, CurationReport]) -> list[dict[str, Any]]:
    rows = read_examples(corpus[0], TRAIN_FILE)
    return [dict(row) for row in _dataset(rows[:2])]


def collator(processor: Any, completion_only: bool) -> Any:
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    return DataCollatorForVisionLanguageModeling(processor=processor, completion_only_loss=completion_only)


def checking(processor: Any, inner: Any, examples: list[dict[str, Any]]) -> MaskCheckingCollator:
    suffix = turn_suffix(processor, examples[0]["prompt"], ["<end_of_turn>", "<eos>"])
    return MaskCheckingCollator(
        inner, lambda ids: processor.tokenizer.decode(ids, skip_special_tokens=False), suffix
    )


def test_the_template_closes_the_assistant_turn_with_end_of_turn(
    processor: Any, examples: list[dict[str, Any]]
) -> None:
    assert turn_suffix(processor, examples[0]["prompt"], ["<end_of_turn>"]) == "<end_of_turn>\n"


def test_a_turn_closed_by_a_token_generation_does_not_stop_on_is_refused(
    processor: Any, examples: list[dict[str, Any]]
) -> None:
    with pytest.raises(LossMaskError, match="not with one of the tokens generation stops on"):
        turn_suffix(processor, examples[0]["prompt"], ["<eos>"])


def test_completion_only_labels_decode_to_the_target_and_the_end_of_turn_token(
    processor: Any, examples: list[dict[str, Any]]
) -> None:
    check = checking(processor, collator(processor, completion_only=True), examples)
    check(examples)
    target = examples[0]["completion"][0]["content"][0]["text"]
    assert check.record.example_labels == target + "<end_of_turn>\n"
    assert check.record.batches == 1 and check.record.examples == 2
    assert 0 < check.record.labelled_tokens < check.record.total_tokens


def test_an_all_ones_mask_fails_the_run(processor: Any, examples: list[dict[str, Any]]) -> None:
    check = checking(processor, collator(processor, completion_only=False), examples)
    with pytest.raises(LossMaskError, match="all one"):
        check(examples)


def test_an_all_zero_mask_fails_the_run(processor: Any, examples: list[dict[str, Any]]) -> None:
    inner = collator(processor, completion_only=True)

    def nothing_labelled(batch: list[dict[str, Any]]) -> dict[str, Any]:
        out = inner(batch)
        out["labels"][:] = -100
        return out

    with pytest.raises(LossMaskError, match="all zero"):
        checking(processor, nothing_labelled, examples)(examples)


def test_labels_shifted_by_one_token_fail_the_run(processor: Any, examples: list[dict[str, Any]]) -> None:
    inner = collator(processor, completion_only=True)

    def shifted(batch: list[dict[str, Any]]) -> dict[str, Any]:
        out = inner(batch)
        out["labels"] = out["labels"].roll(1, dims=1)
        return out

    with pytest.raises(LossMaskError, match="decode to"):
        checking(processor, shifted, examples)(examples)
