"""The backend registry: names, defaults, install hints, and no heavy imports until a backend is built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from models import registry
from models.errors import BackendUnavailableError, UnknownBackendError
from models.registry import (
    MEDGEMMA_BASE_ID,
    MEDGEMMA_MODEL_ID,
    NEMOTRON_MODEL_ID,
    BackendSpec,
    get_grounder,
    names,
    spec_for,
)
from models.settings import BackendSettings


def test_every_documented_backend_is_registered() -> None:
    assert set(names("grounder")) >= {"reference", "findings-file", "medgemma", "openai"}
    assert set(names("parser")) >= {"rules", "nemotron", "openai"}


def test_an_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownBackendError) as caught:
        spec_for("grounder", "medgema")
    assert "unknown grounder 'medgema'" in str(caught.value)
    assert "medgemma" in str(caught.value) and "reference" in str(caught.value)


def test_the_model_backends_default_to_the_published_models() -> None:
    medgemma, nemotron = spec_for("grounder", "medgemma"), spec_for("parser", "nemotron")
    assert (medgemma.default_model_id, medgemma.base_model_id) == (MEDGEMMA_MODEL_ID, MEDGEMMA_BASE_ID)
    assert MEDGEMMA_MODEL_ID == "alex-feeel/medgemma-cxr-auditor-v2"
    assert MEDGEMMA_BASE_ID == "google/medgemma-1.5-4b-it"  # what the fine-tunes were trained from
    assert (medgemma.default_profile, nemotron.default_profile) == (
        "medgemma-cxr-auditor-v2",
        "nemotron-3-nano",
    )
    assert nemotron.default_model_id == NEMOTRON_MODEL_ID == "nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16"


def test_the_registry_names_the_transformers_classes_that_load_each_model() -> None:
    medgemma, nemotron = spec_for("grounder", "medgemma"), spec_for("parser", "nemotron")
    assert (medgemma.model_class, medgemma.preprocessor_class) == (
        "AutoModelForImageTextToText",
        "AutoProcessor",
    )
    assert (nemotron.model_class, nemotron.preprocessor_class) == ("AutoModelForCausalLM", "AutoTokenizer")


def test_a_model_id_in_the_settings_wins_over_the_default(tmp_path: object) -> None:
    spec = spec_for("grounder", "medgemma")
    assert spec.model_id(BackendSettings()) == MEDGEMMA_MODEL_ID
    assert spec.model_id(BackendSettings(model_id="/models/mine")) == "/models/mine"


@pytest.mark.parametrize(
    ("quantization", "needs_bitsandbytes"),
    [("nf4", True), ("int8", True), ("bf16", False), ("fp32", False)],
    ids=["nf4", "int8", "bf16", "fp32"],
)
def test_bitsandbytes_is_needed_only_for_quantized_weights(
    quantization: str, needs_bitsandbytes: bool
) -> None:
    needed = spec_for("parser", "nemotron").needed_packages(BackendSettings(quantization=quantization))  # type: ignore[arg-type]
    assert ("bitsandbytes" in needed) is needs_bitsandbytes
    assert {"torch", "transformers"} <= set(needed)


def test_a_backend_missing_a_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = BackendSpec(
        name="needs-missing",
        kind="grounder",
        description="test",
        factory="models.reference:ReferenceGrounder.from_settings",
        requires=("no_such_package_for_cxr_tests", "PIL"),
    )
    monkeypatch.setitem(registry.REGISTRY, ("grounder", "needs-missing"), spec)
    with pytest.raises(BackendUnavailableError, match=r"pip install no_such_package_for_cxr_tests"):
        get_grounder("needs-missing", BackendSettings())


def test_registering_a_name_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register(spec_for("grounder", "medgemma"))


def test_naming_or_importing_the_model_backends_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import models.registry, models.settings, models.prompts, models.loading, models.generation\n"
        "import models.medgemma, models.nemotron, models.openai_backend, models.availability\n"
        "models.registry.spec_for('grounder', 'medgemma')\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'bitsandbytes', 'PIL') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_without_settings_a_backend_reads_the_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    findings = tmp_path / "findings.json"
    findings.write_text('[{"label": "no_finding"}]', encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("CXR_AUDIT_FINDINGS_FILE_FINDINGS_PATH", str(findings))
    grounder = get_grounder("findings-file")
    assert grounder.path == findings  # type: ignore[attr-defined]
