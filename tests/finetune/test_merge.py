"""Merging into a clean 16-bit base: a good merge is verified and published, broken ones refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from finetune import merge as merge_module
from finetune.errors import MergeVerificationError
from finetune.merge import MERGE_REPORT_FILE, merge, read_merge_report
from workstation.cli.main import main

pytestmark = pytest.mark.requires_torch


@pytest.fixture(scope="module")
def merged(tiny_base: Path, adapter: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The adapter merged through ``cxr-audit train merge``."""
    out = tmp_path_factory.mktemp("merged")
    assert (
        main(["train", "merge", "--base", str(tiny_base), "--adapter", str(adapter), "--out", str(out)]) == 0
    )
    return out


def test_a_good_merge_is_verified_with_its_numbers(merged: Path) -> None:
    report = read_merge_report(merged)
    assert report is not None and report.verified and report.failures == []
    assert report.dtype == "bfloat16"
    assert report.weights.lora_modules == 14  # 7 projections × 2 layers
    assert report.weights.max_error_ulps <= 1.0
    assert report.weights.other_tensors_changed == [] and report.weights.other_tensors > 0
    assert report.outputs.adapter_changed_output
    assert report.outputs.max_abs_logit_diff_merged_vs_adapter <= report.outputs.logits_tolerance


def test_the_merged_model_loads_with_the_base_s_processor_and_chat_template(
    merged: Path, tiny_base: Path
) -> None:
    from transformers import AutoModelForImageTextToText

    assert (merged / "chat_template.jinja").read_text() == (tiny_base / "chat_template.jinja").read_text()
    model = AutoModelForImageTextToText.from_pretrained(merged)
    assert str(model.dtype) == "torch.bfloat16"


def test_a_merge_with_the_wrong_scale_is_refused_and_not_published(
    tiny_base: Path, adapter: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def twice(peft_model: Any) -> Any:
        for module in peft_model.modules():
            if isinstance(getattr(module, "scaling", None), dict) and "default" in module.scaling:
                module.scaling["default"] *= 2
        return peft_model.merge_and_unload()

    monkeypatch.setattr(merge_module, "merge_weights", twice)
    with pytest.raises(MergeVerificationError, match="differ from base"):
        merge(str(tiny_base), adapter, tmp_path)
    report = json.loads((tmp_path / MERGE_REPORT_FILE).read_text())
    assert report["verified"] is False and report["out"] is None
    assert len(report["weights"]["modules_off"]) == 14
    assert not (tmp_path / "model.safetensors").exists()
