"""The GPU check: its every step runs on CPU with tiny models (--tiny), figures are kept as they come,
and without a GPU the full run says so and exits 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import gpu_measure, gpu_models

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
STEPS = ["load", "generation medgemma", "generation nemotron", "audit", "retries", "throughput batch 1"]


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
    real_audits = gpu_measure.audits
    calls: list[int] = []

    def first_does_not_fit(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_audits(*args)

    monkeypatch.setattr(gpu_measure, "audits", first_does_not_fit)
    out = tmp_path / "figures.jsonl"
    argv = [
        "--tiny",
        "--quantization",
        "fp32",
        "bf16",
        "--cases",
        "2",
        "--latency-cases",
        "1",
        "--batches",
        "1",
    ]
    argv += ["--grounding-tokens", "4", "--parsing-tokens", "4", "--out", str(out), "--data", str(DATA)]
    assert gpu_models.main(argv) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    status = {(r["step"], r["precision"]): r["status"] for r in records}
    assert status[("audit", "fp32")] == "failed"
    assert next(r for r in records if r["step"] == "audit")["reason"] == "out of memory"
    assert all(status[(step, "fp32")] == "ok" for step in STEPS if step != "audit")  # kept, and went on
    assert all(status[(step, "bf16")] == "ok" for step in STEPS)
    audit = next(r for r in records if (r["step"], r["precision"]) == ("audit", "bf16"))
    assert audit["n"] == 1 and audit["audit_p50_s"] > 0 and audit["outcomes"] == {"failed": 2}
    retries = next(r for r in records if (r["step"], r["precision"]) == ("retries", "bf16"))
    assert retries["grounding_attempts"] == ["greedy", "sampled", "sampled"]  # the fine-tune's ladder
    generation = next(r for r in records if r["step"] == "generation nemotron")
    assert generation["new_tokens"] == 4 and generation["decode_tok_s"] > 0
    assert status[("vllm", "bf16")] == "skipped"
    printed = capsys.readouterr().out
    assert "bf16: full audit p50" in printed and "audit fp32: failed (out of memory)" in printed
