"""The fine-tuning GPU benchmark: it refuses clearly without CUDA, and its code path runs on a tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import finetune_gpu
from tests.finetune.conftest import StandInProfile

pytestmark = pytest.mark.requires_torch


def test_without_cuda_it_says_so_and_measures_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert finetune_gpu.main([]) == 2
    assert "no CUDA GPU here" in capsys.readouterr().err


def test_the_benchmark_s_path_runs_on_a_tiny_gemma3_on_cpu(tmp_path: Path) -> None:
    figures = finetune_gpu.run(tmp_path, shape="tiny", steps=2, device="cpu", profile=StandInProfile())
    assert (figures.steps, figures.device, figures.peak_vram_gib) == (2, "cpu", None)
    assert figures.s_per_step > 0 and figures.first_loss is not None
    assert figures.trainable_params > 0
