"""``python -m bench``: the one entry point for the benchmarks (``./run.sh bench``)."""

from __future__ import annotations

import sys
import types

import pytest

import bench.__main__ as runner


def test_a_benchmark_parsing_sys_argv_does_not_see_the_runners_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[list[str]] = []
    fake = types.ModuleType("bench.fake")

    def main() -> None:
        seen.append(list(sys.argv))

    fake.main = main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bench.fake", fake)
    monkeypatch.setattr(runner, "ALL_BENCHMARKS", (*runner.ALL_BENCHMARKS, "fake"))
    monkeypatch.setattr(sys, "argv", ["python -m bench", "fake"])
    assert runner.main(["fake"]) == 0
    assert seen == [["python -m bench.fake"]]
    assert sys.argv == ["python -m bench", "fake"]


def test_an_unknown_benchmark_is_refused_with_the_valid_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        runner.main(["nope"])
    assert (
        "choose from parser_openi, store, eval_nih, report_eval_nih, app, openai_concurrency, browser, load, "
        "gpu_models, finetune_gpu, regression" in capsys.readouterr().err
    )
