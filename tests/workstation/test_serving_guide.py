"""The serving steps: the same commands in README.md and on the Models page, the VRAM figures the
loading code's own estimates, every model id and profile a real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.checkpoints import PROFILES
from models.registry import MEDGEMMA_MODEL_ID, NEMOTRON_MODEL_ID
from workstation.serving_guide import STEPS, VRAM_GIB, profile_lines, vram_line

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("step", STEPS, ids=[step.title.split(".")[0] for step in STEPS])
def test_every_command_is_in_the_readme_word_for_word(step: object) -> None:
    assert step.command in README  # type: ignore[attr-defined]


def test_the_steps_name_the_default_models_and_both_servers_for_laptops() -> None:
    commands = "\n".join(step.command for step in STEPS)
    assert MEDGEMMA_MODEL_ID in commands and NEMOTRON_MODEL_ID in commands
    for needed in (
        "hf auth login",
        "vllm serve",
        "llama-server",
        "ollama create",
        "Q8_0",
        "mmproj",
        "mamba_ssm",
    ):
        assert needed in commands


def test_the_profiles_are_listed_and_the_vram_line_is_in_the_readme() -> None:
    assert len(profile_lines()) == len(PROFILES)
    assert " ".join(vram_line().split()) in " ".join(README.split())  # wrapped in the README


@pytest.mark.requires_torch
@pytest.mark.parametrize(("backend", "precision"), sorted(VRAM_GIB), ids=lambda value: str(value))
def test_the_vram_figures_are_the_loading_codes_estimates(backend: str, precision: str) -> None:
    from models.loading import LoadPlan, estimate_memory
    from models.memory import GIB
    from models.registry import spec_for
    from models.settings import BackendSettings

    spec = spec_for("grounder" if backend == "medgemma" else "parser", backend)
    skip = BackendSettings().skip_modules if precision == "nf4" else ()
    plan = LoadPlan(spec.default_model_id or "", None, precision, "cuda:0", skip_modules=skip)  # type: ignore[arg-type]
    assert round(estimate_memory(spec, plan).total_bytes / GIB, 1) == VRAM_GIB[(backend, precision)]
