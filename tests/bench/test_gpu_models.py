"""The GPU check: its every step runs on CPU with tiny models (--tiny), figures are kept as they come,
and without a GPU the full run says so and exits 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import gpu_measure, gpu_models

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
STEPS = ["load", "generation medgemma", "generation nemotron", "audit", "throughput batch 2", "retries"]


def test_without_torch_the_bench_says_so_and_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpu_models, "find_spec", lambda name: None)
    assert gpu_models.main([]) == 2
    assert "needs torch with CUDA" in capsys.readouterr().err


@pytest.mark.requires_torch
def test_on_a_cpu_build_of_torch_the_full_run_names_the_missing_gpu(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU: run ./run.sh bench gpu_models instead")
    assert gpu_models.main([]) == 2
    assert "no CUDA GPU here" in capsys.readouterr().err


@pytest.mark.requires_torch
@pytest.mark.skipif(not (DATA / "images").is_dir(), reason="the shared data folder is not here")
def test_tiny_runs_every_step_of_the_real_path_and_a_step_that_does_not_fit_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_generation = gpu_measure.generation

    def grounder_does_not_fit(backend: Any, *args: Any) -> Any:
        if backend.name == "medgemma":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_generation(backend, *args)

    monkeypatch.setattr(gpu_measure, "generation", grounder_does_not_fit)
    out = tmp_path / "figures.jsonl"
    argv = ["--tiny", "--quantization", "fp32", "--cases", "2", "--latency-cases", "2", "--batches", "1", "2"]
    argv += ["--grounding-tokens", "4", "--parsing-tokens", "4", "--out", str(out), "--data", str(DATA)]
    assert gpu_models.main(argv) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    status = {r["step"]: r["status"] for r in records if r["precision"] in ("fp32", None)}
    assert [r["step"] for r in records] == ["environment", "build", "cases", *STEPS, "vllm"]  # in order
    assert status["generation medgemma"] == "failed"
    assert next(r for r in records if r["step"] == "generation medgemma")["reason"] == "out of memory"
    assert all(status[step] == "ok" for step in STEPS if step != "generation medgemma")  # kept, and went on
    audit = next(r for r in records if r["step"] == "audit")
    assert audit["n"] == 2 and 0 < audit["audit_p50_s"] <= audit["audit_p95_s"]
    assert audit["outcomes"] == {"failed": 4}  # random weights: both readings of both cases failed, counted
    throughput = next(r for r in records if r["step"] == "throughput batch 2")
    assert (throughput["n"], throughput["batch"]) == (2, 2) and throughput["audits_per_s"] > 0
    retries = next(r for r in records if r["step"] == "retries")
    assert retries["grounding_attempts"] == ["greedy", "sampled", "sampled"]  # the fine-tune's ladder
    assert retries["parsing_attempts"] == ["greedy", "greedy_corrective", "sampled"]
    generation = next(r for r in records if r["step"] == "generation nemotron")
    assert generation["new_tokens"] == 4 and generation["decode_tok_s"] > 0
    assert next(r for r in records if r["step"] == "vllm")["status"] == "skipped"
    printed = capsys.readouterr().out
    assert "generation medgemma fp32: failed (out of memory)" in printed and "fp32: full audit p50" in printed
