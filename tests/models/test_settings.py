"""Settings come from defaults, then a TOML file, then CXR_AUDIT_* variables, then overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.errors import SettingsError
from models.registry import spec_for
from models.settings import BackendSettings, config_path, load_settings, update_config_file


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_file_environment_or_overrides_the_code_defaults_apply(tmp_path: Path) -> None:
    settings = load_settings(environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert settings == BackendSettings()
    assert (settings.quantization, settings.device) == ("nf4", "auto")


def test_each_layer_overrides_the_one_before(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'quantization = "int8"\nbatch_size = 8\ndevice = "cpu"\n')
    environ = {"CXR_AUDIT_CONFIG": str(path), "CXR_AUDIT_BATCH_SIZE": "16", "CXR_AUDIT_DEVICE": "cuda:1"}
    settings = load_settings({"device": "cuda", "model_id": None}, environ=environ)
    assert settings.quantization == "int8"  # file
    assert settings.batch_size == 16  # environment over file
    assert settings.device == "cuda"  # override over environment
    assert settings.model_id is None  # an override of None (flag not given) is ignored


def test_a_backend_table_and_backend_variables_apply_to_that_backend_only(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "max_new_tokens = 300\n"
        '[backends.medgemma]\nmodel_id = "/models/mg"\n'
        '[backends.nemotron]\nmodel_id = "/models/nm"\n',
    )
    environ = {"CXR_AUDIT_CONFIG": str(path), "CXR_AUDIT_NEMOTRON_ENABLE_THINKING": "false"}
    medgemma = load_settings(backend="medgemma", environ=environ)
    nemotron = load_settings(backend="nemotron", environ=environ)
    assert (medgemma.model_id, medgemma.max_new_tokens, medgemma.enable_thinking) == ("/models/mg", 300, None)
    assert (nemotron.model_id, nemotron.max_new_tokens, nemotron.enable_thinking) == (
        "/models/nm",
        300,
        False,
    )


def test_the_openai_grounder_and_parser_each_read_their_own_table_and_variables(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "[backends.openai]\ntimeout_s = 30\nconcurrency = 2\n"
        '[backends.openai-grounder]\nendpoint_url = "http://gpu-1:8000/v1"\nconcurrency = 8\n'
        '[backends.openai-parser]\nendpoint_url = "http://gpu-2:8000/v1"\n',
    )
    environ = {"CXR_AUDIT_CONFIG": str(path), "CXR_AUDIT_OPENAI_PARSER_MODEL_ID": "nemotron"}
    grounder = load_settings(backend=spec_for("grounder", "openai").settings_sections, environ=environ)
    parser = load_settings(backend=spec_for("parser", "openai").settings_sections, environ=environ)
    assert (grounder.endpoint_url, grounder.concurrency, grounder.timeout_s) == (
        "http://gpu-1:8000/v1",
        8,
        30,
    )
    assert (parser.endpoint_url, parser.concurrency, parser.model_id) == (
        "http://gpu-2:8000/v1",
        2,
        "nemotron",
    )


def test_the_skip_list_and_the_profile_are_settings(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'skip_modules = ["lm_head"]\nprofile = "medgemma-base"\n')
    settings = load_settings(environ={"CXR_AUDIT_CONFIG": str(path)})
    assert (settings.skip_modules, settings.profile) == (("lm_head",), "medgemma-base")
    assert BackendSettings().skip_modules == ("vision_tower", "multi_modal_projector", "lm_head")


def test_list_settings_read_comma_separated_variables(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path), "CXR_AUDIT_URGENT_LABELS": "pneumothorax, pleural_effusion"}
    assert load_settings(environ=environ).urgent_labels == ("pneumothorax", "pleural_effusion")


def test_the_user_config_file_is_read_when_no_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "cxr-audit"
    folder.mkdir()
    (folder / "config.toml").write_text('revision = "v2"\n', encoding="utf-8")
    assert load_settings(environ={"XDG_CONFIG_HOME": str(tmp_path)}).revision == "v2"


def test_a_named_config_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not a file"):
        config_path({"CXR_AUDIT_CONFIG": str(tmp_path / "missing.toml")})


def test_an_unknown_key_in_the_file_names_the_known_ones(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'quantisation = "nf4"\n')
    with pytest.raises(SettingsError, match=r"unknown setting\(s\) quantisation .*known: model_id"):
        load_settings(environ={"CXR_AUDIT_CONFIG": str(path)})


def test_a_file_that_is_not_toml_is_an_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, "quantization = \n")
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings(environ={"CXR_AUDIT_CONFIG": str(path)})


@pytest.mark.parametrize(
    ("key", "value"),
    [("CXR_AUDIT_QUANTIZATION", "q3"), ("CXR_AUDIT_DEVICE", "tpu"), ("CXR_AUDIT_BATCH_SIZE", "0")],
    ids=["quantization", "device", "batch-size"],
)
def test_an_invalid_value_is_a_settings_error_naming_the_field(tmp_path: Path, key: str, value: str) -> None:
    field = key.removeprefix("CXR_AUDIT_").lower()
    with pytest.raises(SettingsError, match=field):
        load_settings(environ={"XDG_CONFIG_HOME": str(tmp_path), key: value})


def test_no_finding_cannot_be_urgent() -> None:
    with pytest.raises(ValueError, match="no_finding cannot be urgent"):
        BackendSettings(urgent_labels=("no_finding",))


def test_the_comparator_policy_takes_the_configured_urgent_list() -> None:
    from models.settings import BackendSettings, compare_policy

    policy = compare_policy(BackendSettings(urgent_labels=("pleural_effusion",)))
    assert policy.urgent_labels == ("pleural_effusion",)


class TestUpdatingTheFile:
    def test_a_change_keeps_the_rest_of_the_file_and_a_copy_of_it(self, tmp_path: Path) -> None:
        path = write_config(tmp_path, 'quantization = "int8"\n[backends.nemotron]\nenable_thinking = false\n')
        update_config_file(path, "medgemma", {"model_id": '/models/v2 "final"', "profile": "medgemma-base"})
        settings = load_settings(backend="medgemma", environ={"CXR_AUDIT_CONFIG": str(path)})
        assert (settings.quantization, settings.model_id, settings.profile) == (
            "int8",
            '/models/v2 "final"',
            "medgemma-base",
        )
        assert (
            load_settings(backend="nemotron", environ={"CXR_AUDIT_CONFIG": str(path)}).enable_thinking
            is False
        )
        assert (
            path.with_name(f"{path.name}.bak").read_text(encoding="utf-8").startswith('quantization = "int8"')
        )

    def test_none_removes_a_key_and_an_empty_table(self, tmp_path: Path) -> None:
        path = write_config(tmp_path, '[backends.medgemma]\nmodel_id = "/m"\n')
        update_config_file(path, "medgemma", {"model_id": None})
        assert "medgemma" not in path.read_text(encoding="utf-8")

    def test_an_invalid_value_is_refused_and_the_file_left_alone(self, tmp_path: Path) -> None:
        path = write_config(tmp_path, 'device = "cpu"\n')
        with pytest.raises(SettingsError, match=r"invalid settings for \[backends.medgemma\]"):
            update_config_file(path, "medgemma", {"batch_size": 0})
        with pytest.raises(SettingsError, match="unknown setting"):
            update_config_file(path, "medgemma", {"colour": "red"})
        assert path.read_text(encoding="utf-8") == 'device = "cpu"\n'

    def test_the_file_written_is_toml_the_settings_read_back(self, tmp_path: Path) -> None:
        path = tmp_path / "new" / "config.toml"
        update_config_file(
            path, "openai-grounder", {"skip_modules": ("lm_head",), "concurrency": 8, "allow_cpu": False}
        )
        assert path.read_text(encoding="utf-8") == (
            '[backends.openai-grounder]\nskip_modules = ["lm_head"]\nconcurrency = 8\nallow_cpu = false\n'
        )
