"""The GPU benchmark refuses cleanly where there is no CUDA GPU; its figures come from a GPU run."""

from __future__ import annotations

import pytest

from bench import gpu_models


def test_without_a_cuda_gpu_the_bench_says_so_and_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpu_models, "find_spec", lambda name: None)  # as if torch were absent
    assert gpu_models.main([]) == 2
    assert "needs torch with CUDA" in capsys.readouterr().err


@pytest.mark.requires_torch
def test_on_a_cpu_build_of_torch_the_bench_names_the_missing_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU: run python -m bench.gpu_models instead")
    assert gpu_models.main([]) == 2
    assert "no CUDA GPU here" in capsys.readouterr().err
