"""The Models page under AppTest: the GPU is checked only when asked, and a backend can be tested."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from models.availability import GpuStatus
from tests.workstation.conftest import no_exceptions, shown


def test_the_models_page_checks_the_gpu_only_when_asked(
    app: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    import models.availability

    asked: list[bool] = []

    def fake_gpu_status() -> GpuStatus:
        asked.append(True)
        return GpuStatus(torch_installed=True, torch_version="2.13.0+cpu")

    monkeypatch.setattr(models.availability, "gpu_status", fake_gpu_status)
    at = app("models")
    assert asked == []

    at.button(key="md_check_gpu").click().run()

    assert asked == [True]
    assert any("no CUDA GPU (torch 2.13.0+cpu)" in item.value for item in at.markdown)


@pytest.mark.parametrize("choice", ["parser: rules", "grounder: reference"], ids=["rules", "reference"])
def test_the_models_page_tests_a_backend(app: Callable[..., AppTest], choice: str) -> None:
    at = app("models")

    at.selectbox(key="md_choice").select(choice).run()
    at.button(key="md_test").click().run()

    no_exceptions(at)
    assert not at.error
    assert any("(ok)" in shown(item.value) for item in at.markdown)


def test_the_models_page_shows_every_serving_step_copyable(app: Callable[..., AppTest]) -> None:
    from workstation.serving_guide import STEPS

    at = app("models")
    no_exceptions(at)
    blocks = [block.value for block in at.code]
    assert all(step.command in blocks for step in STEPS)
    assert any("a 12 GB card" in item.value for item in at.text)


def test_a_local_weights_folder_is_saved_in_the_users_settings_file(
    app: Callable[..., AppTest], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tomllib

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    weights = tmp_path / "medgemma-v2"
    weights.mkdir()
    (weights / "config.json").write_text("{}", encoding="utf-8")
    at = app("models")
    at.text_input(key="md_path_medgemma").input(str(weights))
    at.selectbox(key="md_profile_medgemma").select("medgemma-cxr-auditor-v1")
    at.button(key="FormSubmitter:md_weights_medgemma-Save").click().run()
    no_exceptions(at)
    assert not at.error
    assert any("medgemma now loads" in item.value for item in at.success)
    saved = tomllib.loads((tmp_path / "config" / "cxr-audit" / "config.toml").read_text(encoding="utf-8"))
    assert saved["backends"]["medgemma"] == {"model_id": str(weights), "profile": "medgemma-cxr-auditor-v1"}
    assert at.text_input(key="md_path_medgemma").value == str(weights)  # shown again on the next run


def test_a_folder_without_a_model_is_refused_and_nothing_is_saved(
    app: Callable[..., AppTest], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    at = app("models")
    at.text_input(key="md_path_nemotron").input(str(tmp_path))
    at.button(key="FormSubmitter:md_weights_nemotron-Save").click().run()
    assert any("holds no config.json" in shown(item.value) for item in at.error)
    assert not (tmp_path / "config" / "cxr-audit" / "config.toml").exists()
