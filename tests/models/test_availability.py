"""The Models page's view of each backend: packages, GPU, weights on disk, and what is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from models.availability import BackendStatus, backend_status, find_weights, gpu_status
from models.settings import BackendSettings


def by_name(statuses: list[BackendStatus], kind: str, name: str) -> BackendStatus:
    return next(s for s in statuses if (s.kind, s.name) == (kind, name))


def test_every_registered_backend_gets_a_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    statuses = backend_status()
    assert {(s.kind, s.name) for s in statuses} >= {
        ("grounder", "medgemma"),
        ("parser", "nemotron"),
        ("grounder", "openai"),
        ("parser", "openai"),
        ("parser", "rules"),
    }
    assert by_name(statuses, "parser", "rules").ready


def test_a_local_model_folder_counts_as_weights_found(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    statuses = backend_status({"medgemma": BackendSettings(model_id=str(tmp_path))})
    medgemma = by_name(statuses, "grounder", "medgemma")
    assert (medgemma.weights_found, medgemma.weights_where) == (True, str(tmp_path))
    assert not any("weights" in need for need in medgemma.needs)


def test_a_hub_id_that_is_not_cached_is_reported_without_touching_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert find_weights("nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16") is None
    nemotron = by_name(backend_status(), "parser", "nemotron")
    assert nemotron.weights_found is False
    assert any("weights for nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16" in need for need in nemotron.needs)


def test_the_openai_backends_need_an_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    statuses = backend_status({"openai-parser": BackendSettings(endpoint_url="http://127.0.0.1:9/v1")})
    parser = by_name(statuses, "parser", "openai")
    assert parser.ready and parser.endpoint == "http://127.0.0.1:9/v1"
    assert parser.profile == "nemotron-3-nano"
    assert by_name(statuses, "grounder", "openai").needs == (
        "an endpoint URL (--endpoint, or endpoint_url in [backends.openai-grounder])",
    )


def test_a_model_backend_names_its_profile_and_says_when_it_was_assumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    statuses = backend_status({"medgemma": BackendSettings(model_id=str(tmp_path))})
    medgemma = by_name(statuses, "grounder", "medgemma")
    assert medgemma.profile == "medgemma-cxr-auditor-v2"
    assert any("choose another with --profile" in note for note in medgemma.notes)
    unknown = backend_status({"medgemma": BackendSettings(profile="medgemma-v9")})
    assert "unknown checkpoint profile 'medgemma-v9'" in by_name(unknown, "grounder", "medgemma").needs[-1]


@pytest.mark.requires_torch
def test_without_cuda_a_model_backend_is_noted_as_slow_or_needing_a_gpu(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    if gpu_status().cuda_available:
        pytest.skip("this machine has a CUDA GPU")
    allowed = by_name(
        backend_status({"medgemma": BackendSettings(model_id=str(tmp_path))}), "grounder", "medgemma"
    )
    refused = by_name(
        backend_status({"medgemma": BackendSettings(model_id=str(tmp_path), allow_cpu=False)}),
        "grounder",
        "medgemma",
    )
    assert allowed.ready and "runs on CPU" in allowed.notes[0]
    assert refused.needs == ("a CUDA GPU, or allow_cpu = true to run slowly on CPU",)
    assert allowed.gpu is not None and allowed.gpu.describe().startswith("no CUDA GPU")


def test_importing_the_status_module_does_not_import_torch() -> None:
    code = "import sys, models.availability; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
