"""The Models page under AppTest: the GPU is checked only when asked, and a backend can be tested."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from models.availability import GpuStatus
from tests.workstation.conftest import no_exceptions


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
    assert any("(ok)" in item.value for item in at.markdown)
