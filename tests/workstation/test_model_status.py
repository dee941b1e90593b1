"""The Models page's facts (``workstation.model_status``): every backend listed, the CPU defaults
ready, and the smoke test of a parser and a grounder."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.store import Store
from workstation import model_status, services


def test_models_page_lists_every_backend_and_the_cpu_defaults_are_ready() -> None:
    found = model_status.statuses()

    ready = {(item.kind, item.name) for item in found if item.ready}
    assert {("grounder", "reference"), ("parser", "rules")} <= ready
    rows = model_status.status_rows(found)
    assert {row["backend"] for row in rows} >= {"reference", "rules", "medgemma", "nemotron", "openai"}
    assert all(line.startswith("**") for line in model_status.needs_lines(found))


def test_the_smoke_test_runs_a_parser() -> None:
    result = model_status.smoke_parser(services.Backends().parser("rules"))

    assert result.ok
    assert "pleural_effusion present" in result.summary and "pneumothorax absent" in result.summary


def test_the_smoke_test_runs_a_grounder(store: Store) -> None:
    result = model_status.smoke_grounder(
        services.Backends().grounder("reference"), store.cases.audit_case("case-ptx")
    )

    assert result.ok and "pneumothorax" in result.summary


class TestLocalWeights:
    @pytest.fixture(autouse=True)
    def _own_config(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("CXR_AUDIT_CONFIG", raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    def test_by_default_both_model_backends_load_from_the_hub(self) -> None:
        found = {item.name: item for item in model_status.local_weights()}
        assert (
            found["medgemma"].folder == ""
            and found["medgemma"].model_id == "alex-feeel/medgemma-cxr-auditor-v2"
        )
        assert "medgemma-base" in found["medgemma"].profiles and found["nemotron"].profiles == (
            "nemotron-3-nano",
        )

    def test_a_saved_folder_and_profile_are_what_the_backend_loads_next(self, tmp_path: Path) -> None:
        from models.registry import spec_for
        from models.settings import load_settings

        folder = tmp_path / "weights"
        folder.mkdir()
        (folder / "config.json").write_text("{}", encoding="utf-8")
        message = model_status.save_local_weights("grounder", "medgemma", str(folder), "medgemma-base")
        assert str(folder) in message
        settings = load_settings(backend=spec_for("grounder", "medgemma").settings_sections)
        assert (settings.model_id, settings.profile) == (str(folder), "medgemma-base")
        model_status.save_local_weights("grounder", "medgemma", "", None)  # back to the hub model
        again = load_settings(backend=spec_for("grounder", "medgemma").settings_sections)
        assert (again.model_id, again.profile) == (None, None)

    def test_a_folder_without_a_model_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match=r"holds no config\.json"):
            model_status.save_local_weights("parser", "nemotron", str(tmp_path), None)
