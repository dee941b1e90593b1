"""Two real QLoRA steps on the tiny Gemma 3 model on CPU: adapter, run card, resume rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finetune.errors import FinetuneError
from finetune.records import CurationReport
from finetune.run_card import LANGUAGE_MODEL_TARGETS, FitConfig, corpus_hash, read_run_card

pytestmark = pytest.mark.requires_torch


def test_two_qlora_steps_leave_an_adapter_and_a_run_card(
    adapter: Path, corpus: tuple[Path, CurationReport]
) -> None:
    assert (adapter / "adapter_model.safetensors").is_file()
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["target_modules"]) == (16, 16, LANGUAGE_MODEL_TARGETS)
    card = read_run_card(adapter)
    assert card is not None
    assert card.steps == 2 and card.config.learning_rate == 2e-4 and card.config.quantization == "nf4"
    assert card.corpus_hash == corpus_hash(corpus[0])
    assert {"torch", "transformers", "trl", "peft", "bitsandbytes"} <= set(card.versions)
    assert [p.step for p in card.loss_curve if p.loss is not None] == [1, 2]
    assert card.final_eval_loss is not None  # the val split was scored at the end
    assert card.mask_check.batches >= 3  # the pre-flight batch, two training batches, the val batch
    assert card.checkpoints == ["checkpoint-2"]


def test_only_the_language_model_s_projections_are_adapted(adapter: Path) -> None:
    from safetensors import safe_open

    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as handle:
        keys = list(handle.keys())
    assert keys and all(".language_model." in key for key in keys)
    assert {key.split(".")[-3] for key in keys} == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }


def test_resuming_with_other_settings_is_refused(
    adapter: Path, corpus: tuple[Path, CurationReport], tiny_base: Path
) -> None:
    from finetune.train import fit

    with pytest.raises(FinetuneError, match="another config"):
        fit(corpus[0], adapter, FitConfig(base=str(tiny_base), max_steps=3, batch_size=2, grad_accum=1))


def test_running_again_into_the_folder_resumes_from_its_last_checkpoint(
    adapter: Path, corpus: tuple[Path, CurationReport], tiny_base: Path, tmp_path: Path
) -> None:
    import shutil

    from finetune.train import fit

    again = tmp_path / "adapter"
    shutil.copytree(adapter, again)
    card = fit(
        corpus[0],
        again,
        FitConfig(base=str(tiny_base), max_steps=2, batch_size=2, grad_accum=1),
        show_progress=False,
    )
    assert card.resumed_from is not None and card.resumed_from.endswith("checkpoint-2")
    steps = [p.step for p in card.loss_curve if p.loss is not None]
    assert steps[:2] == [1, 2]  # the earlier steps' losses come back with the checkpoint
    assert card.steps >= 2


def test_the_4_bit_base_keeps_the_vision_tower_projector_and_head_in_16_bits(tiny_base: Path) -> None:
    import bitsandbytes as bnb

    from finetune.train import load_base

    model, _processor = load_base(str(tiny_base), FitConfig(base=str(tiny_base)), "cpu")
    four_bit = {name for name, module in model.named_modules() if isinstance(module, bnb.nn.Linear4bit)}
    assert four_bit  # the language model is quantized
    kept = ("vision_tower", "multi_modal_projector", "lm_head")
    assert not [name for name in four_bit if any(part in kept for part in name.split("."))]
