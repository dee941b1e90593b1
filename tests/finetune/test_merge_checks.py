"""The weight checks on plain tensors: exact updates pass, anything else is named."""

from __future__ import annotations

import pytest

from finetune.merge import FunctionalCheck, _failures, _functional
from finetune.merge_checks import LoraUpdate, check_weights, ulp

pytestmark = pytest.mark.requires_torch


def states() -> tuple[dict, dict, dict]:
    import torch

    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(8, 6, generator=generator).to(torch.bfloat16)
    a, b = torch.randn(2, 6, generator=generator), torch.randn(8, 2, generator=generator) * 0.1
    merged = (weight.float() + (b @ a) * 0.5).to(torch.bfloat16)
    norm = torch.ones(8, dtype=torch.bfloat16)
    base = {"layer.proj.weight": weight, "layer.norm.weight": norm}
    after = {"layer.proj.weight": merged, "layer.norm.weight": norm.clone()}
    return base, after, {"m.layer.proj": LoraUpdate("layer.proj.weight", a, b, 0.5)}


def test_an_exact_merge_is_within_one_ulp_and_touches_nothing_else() -> None:
    import torch

    base, after, updates = states()
    check = check_weights(base, after, updates, torch.bfloat16)
    assert check.passed and check.max_error_ulps <= 0.5 and check.modules_changed == 1


def test_a_tensor_outside_the_lora_modules_that_moved_is_named() -> None:
    import torch

    base, after, updates = states()
    after["layer.norm.weight"] = after["layer.norm.weight"] + 1
    check = check_weights(base, after, updates, torch.bfloat16)
    assert not check.passed and check.other_tensors_changed == ["layer.norm.weight"]


def test_an_update_off_by_more_than_one_ulp_is_named() -> None:
    import torch

    base, after, updates = states()
    after["layer.proj.weight"] = (after["layer.proj.weight"].float() * 1.02).to(torch.bfloat16)
    check = check_weights(base, after, updates, torch.bfloat16)
    assert check.modules_off == ["m.layer.proj"] and check.max_error_ulps > 1


def test_ulp_is_the_spacing_of_bf16_numbers() -> None:
    import torch

    assert float(ulp(torch.tensor([1.0]), torch.bfloat16)[0]) == 2.0**-7
    assert float(ulp(torch.tensor([0.75]), torch.bfloat16)[0]) == 2.0**-8


def test_an_adapter_that_changes_nothing_is_refused() -> None:
    import torch

    same = [(torch.tensor([[1.0, 2.0]]), [1, 2], [0.5, 0.5])]
    outputs = _functional(same, same, same)
    assert isinstance(outputs, FunctionalCheck) and not outputs.adapter_changed_output
    base, after, updates = states()
    failures = _failures(check_weights(base, after, updates, torch.bfloat16), outputs)
    assert failures == [failures[0]] and "learnt nothing" in failures[0]
