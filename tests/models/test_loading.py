"""Loading: device and precision choice, memory estimate and refusal, 4-bit on CPU, one load per process."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import loading
from models.errors import (
    BackendUnavailableError,
    InsufficientMemoryError,
    MissingPackageError,
    ModelLoadError,
    NoCudaError,
)
from models.loading import (
    CudaInfo,
    LoadPlan,
    estimate_memory,
    load_model,
    plan_load,
    require,
)
from models.memory import (
    GIB,
    MemoryEstimate,
    check_memory,
    count_parameters,
    resolve_skip_modules,
)
from models.registry import spec_for
from models.settings import BackendSettings
from tests.models.tiny_models import cpu_settings

MEDGEMMA = spec_for("grounder", "medgemma")
NEMOTRON = spec_for("parser", "nemotron")
SKIP = ("vision_tower", "multi_modal_projector", "lm_head")
NO_CUDA = CudaInfo(available=False, torch_version="2.13.0+cpu")
ONE_GPU = CudaInfo(available=True, device_count=1, torch_version="2.13.0")


class TestPlan:
    def test_on_a_gpu_the_settings_quantization_loads_on_the_first_gpu(self) -> None:
        plan = plan_load(MEDGEMMA, BackendSettings(), ONE_GPU)
        assert (plan.model_id, plan.quantization, plan.device, plan.notes) == (
            "alex-feeel/medgemma-cxr-auditor-v2",
            "nf4",
            "cuda:0",
            (),
        )

    def test_without_cuda_the_cpu_precision_loads_with_a_warning_that_it_is_slow(self) -> None:
        plan = plan_load(NEMOTRON, BackendSettings(), NO_CUDA)
        assert (plan.device, plan.quantization) == ("cpu", "bf16")
        assert "no CUDA GPU found" in plan.notes[0] and "slow" in plan.notes[0]

    def test_a_quantization_given_on_purpose_is_honoured_on_cpu(self) -> None:
        plan = plan_load(NEMOTRON, BackendSettings(quantization="nf4"), NO_CUDA)
        assert (plan.device, plan.quantization) == ("cpu", "nf4")

    def test_without_cuda_and_with_cpu_not_allowed_loading_is_refused_with_the_reason(self) -> None:
        with pytest.raises(NoCudaError, match=r"no CUDA GPU is available .* allow_cpu is off"):
            plan_load(MEDGEMMA, BackendSettings(allow_cpu=False), NO_CUDA)

    def test_asking_for_a_gpu_that_is_not_there_is_refused(self) -> None:
        with pytest.raises(NoCudaError, match="device cuda was asked for"):
            plan_load(MEDGEMMA, BackendSettings(device="cuda"), NO_CUDA)
        with pytest.raises(NoCudaError, match="only 1 GPU"):
            plan_load(MEDGEMMA, BackendSettings(device="cuda:3"), ONE_GPU)

    def test_device_cpu_uses_the_cpu_precision_even_with_a_gpu(self) -> None:
        plan = plan_load(MEDGEMMA, BackendSettings(device="cpu", cpu_quantization="fp32"), ONE_GPU)
        assert (plan.device, plan.quantization) == ("cpu", "fp32")

    def test_the_cache_key_is_model_revision_quantization_device_and_skip_list(self) -> None:
        plan = plan_load(MEDGEMMA, BackendSettings(model_id="/m", revision="r1"), ONE_GPU)
        assert plan.cache_key == (
            "/m",
            "r1",
            "nf4",
            "cuda:0",
            SKIP,
        )

    def test_sixteen_bit_weights_have_no_skip_list(self) -> None:
        plan = plan_load(MEDGEMMA, BackendSettings(quantization="bf16"), ONE_GPU)
        assert plan.skip_modules == ()

    def test_every_refusal_is_a_backend_unavailable_error_the_cli_turns_into_one_line(self) -> None:
        for error in (NoCudaError, InsufficientMemoryError, MissingPackageError, ModelLoadError):
            assert issubclass(error, BackendUnavailableError)


class TestMemory:
    estimate = MemoryEstimate(
        "nf4", quantizable_params=3_600_000_000, other_params=700_000_000, source="config"
    )

    def test_lower_precisions_need_less_memory(self) -> None:
        sizes = [
            MemoryEstimate(q, 3_600_000_000, 700_000_000, "config").weight_bytes
            for q in ("nf4", "int8", "bf16", "fp32")
        ]
        assert sizes == sorted(sizes)
        assert sizes[2] == 2 * 4_300_000_000  # bf16: two bytes for every parameter

    def test_a_gpu_with_enough_free_memory_passes(self) -> None:
        check_memory(self.estimate, (12 * GIB, 12 * GIB), "cuda:0", "medgemma")

    def test_a_gpu_without_enough_free_memory_is_refused_with_numbers_and_advice(self) -> None:
        with pytest.raises(InsufficientMemoryError) as caught:
            check_memory(self.estimate, (1 * GIB, 12 * GIB), "cuda:0", "medgemma")
        message = str(caught.value)
        assert "medgemma needs about" in message
        assert "only 1.0 GiB of 12.0 GiB GPU is free" in message
        assert "openai backend" in message

    def test_unknown_free_memory_only_warns(self, caplog: pytest.LogCaptureFixture) -> None:
        check_memory(self.estimate, None, "cpu", "medgemma")
        assert "cannot tell how much memory" in caplog.text


def test_a_missing_package_names_what_to_pip_install() -> None:
    with pytest.raises(MissingPackageError, match=r"pip install no_such_package_for_cxr_tests"):
        require("no_such_package_for_cxr_tests")


@pytest.mark.requires_torch
class TestEstimateFromConfigs:
    def test_the_published_shapes_have_the_published_parameter_counts(self) -> None:
        from models.published_configs import medgemma_4b_config, nemotron_4b_config

        medgemma = sum(count_parameters(loading.skeleton(MEDGEMMA, medgemma_4b_config())))
        nemotron = sum(count_parameters(loading.skeleton(NEMOTRON, nemotron_4b_config())))
        assert round(medgemma / 1e9, 1) == 4.3
        assert round(nemotron / 1e9, 2) == 3.97

    def test_both_models_in_nf4_are_estimated_to_fit_a_12_gb_card(self) -> None:
        plans = [
            LoadPlan(spec.default_model_id or "", None, "nf4", "cuda:0", skip_modules=SKIP)
            for spec in (MEDGEMMA, NEMOTRON)
        ]
        estimates = [
            estimate_memory(spec, plan) for spec, plan in zip((MEDGEMMA, NEMOTRON), plans, strict=True)
        ]
        assert {e.source for e in estimates} == {"published config"}  # offline: no hub config
        weights = sum(e.weight_bytes for e in estimates)
        assert weights < 8 * 10**9  # the target: both models together within 8 GB
        assert sum(e.total_bytes for e in estimates) < 12 * 10**9

    def test_the_skip_list_names_the_outermost_modules_by_their_full_names(self) -> None:
        from models.published_configs import medgemma_4b_config

        model = loading.skeleton(MEDGEMMA, medgemma_4b_config())
        skipped = resolve_skip_modules(model, ("vision_tower", "multi_modal_projector", "lm_head", "nothing"))
        assert skipped == ("model.vision_tower", "model.multi_modal_projector", "lm_head")

    def test_the_vision_tower_and_projector_are_priced_in_16_bits_under_nf4(self) -> None:
        import torch

        from models.published_configs import medgemma_4b_config

        model = loading.skeleton(MEDGEMMA, medgemma_4b_config())

        def linear(prefix: str) -> int:
            return sum(
                m.weight.numel()
                for name, m in model.named_modules()
                if isinstance(m, torch.nn.Linear) and name.startswith(prefix)
            )

        tower, projector = linear("model.vision_tower."), linear("model.multi_modal_projector.")
        assert tower > 300_000_000  # SigLIP-400M's linear layers
        assert count_parameters(model) == count_parameters(model, ("lm_head",))  # bitsandbytes' default
        head_only, _ = count_parameters(model, ("lm_head",))
        kept, _ = count_parameters(model, ("model.vision_tower", "model.multi_modal_projector", "lm_head"))
        assert head_only - kept == tower + projector
        model_id = MEDGEMMA.default_model_id or ""
        default = estimate_memory(MEDGEMMA, LoadPlan(model_id, None, "nf4", "cuda:0", skip_modules=SKIP))
        head = estimate_memory(MEDGEMMA, LoadPlan(model_id, None, "nf4", "cuda:0", skip_modules=("lm_head",)))
        assert default.skipped_modules == ("model.vision_tower", "model.multi_modal_projector", "lm_head")
        assert default.quantizable_params == head.quantizable_params - tower - projector
        assert default.weight_bytes > head.weight_bytes  # a 16-bit tower costs more than a 4-bit one

    def test_a_skip_list_without_the_head_prices_the_head_in_4_bits_as_bitsandbytes_would(self) -> None:
        model_id = MEDGEMMA.default_model_id or ""
        listed = estimate_memory(
            MEDGEMMA, LoadPlan(model_id, None, "nf4", "cuda:0", skip_modules=("vision_tower", "lm_head"))
        )
        unlisted = estimate_memory(
            MEDGEMMA, LoadPlan(model_id, None, "nf4", "cuda:0", skip_modules=("vision_tower",))
        )
        head = 262_208 * 2560  # vocabulary x hidden size (tied to the input embeddings)
        assert unlisted.quantizable_params - listed.quantizable_params == head

    def test_a_local_folder_is_estimated_from_its_own_config(self, tiny_nemotron_dir: Path) -> None:
        plan = LoadPlan(str(tiny_nemotron_dir), None, "fp32", "cpu")
        estimate = estimate_memory(NEMOTRON, plan)
        model = load_model(NEMOTRON, cpu_settings(tiny_nemotron_dir)).model
        assert estimate.source == "config"
        assert estimate.quantizable_params + estimate.other_params == sum(
            p.numel() for p in model.parameters()
        )


@pytest.mark.requires_torch
class TestLoad:
    def test_a_model_is_loaded_once_per_process(
        self, tiny_nemotron_dir: Path, fresh_model_cache: None
    ) -> None:
        first = load_model(NEMOTRON, cpu_settings(tiny_nemotron_dir))
        again = load_model(NEMOTRON, cpu_settings(tiny_nemotron_dir, batch_size=8))
        assert again is first
        assert loading.cached_models() == [first]

    def test_another_precision_is_another_load(
        self, tiny_nemotron_dir: Path, fresh_model_cache: None
    ) -> None:
        fp32 = load_model(NEMOTRON, cpu_settings(tiny_nemotron_dir))
        bf16 = load_model(NEMOTRON, cpu_settings(tiny_nemotron_dir, cpu_quantization="bf16"))
        assert bf16 is not fp32
        assert str(bf16.model.dtype) == "torch.bfloat16"

    def test_loading_reports_time_and_memory(self, tiny_medgemma_dir: Path) -> None:
        loaded = load_model(MEDGEMMA, cpu_settings(tiny_medgemma_dir))
        assert loaded.footprint_bytes and loaded.footprint_bytes > 0
        assert loaded.vram_allocated_bytes is None  # on CPU there is no VRAM to report
        assert loaded.estimate is not None and loaded.estimate.source == "config"
        assert f"medgemma {tiny_medgemma_dir} (fp32, cpu)" in loaded.report()

    def test_the_tokenizer_pads_on_the_configured_side(self, tiny_nemotron_dir: Path) -> None:
        loaded = load_model(NEMOTRON, cpu_settings(tiny_nemotron_dir))
        assert loaded.preprocessor.padding_side == "left"

    def test_a_folder_without_weights_is_a_clear_load_error(self, tmp_path: Path) -> None:
        (tmp_path / "config.json").write_text('{"model_type": "nemotron_h"}', encoding="utf-8")
        with pytest.raises(ModelLoadError, match=r"cannot load nemotron from .*folder holds config.json"):
            load_model(NEMOTRON, cpu_settings(tmp_path))

    def test_a_hub_id_without_network_or_cache_is_a_clear_load_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(loading, "free_memory", lambda device: (64 * GIB, 64 * GIB))
        with pytest.raises(ModelLoadError, match=r"cannot load nemotron from nvidia/.*local folder"):
            load_model(NEMOTRON, BackendSettings(device="cpu"))

    def test_too_little_memory_refuses_before_reading_any_weights(
        self, tiny_nemotron_dir: Path, monkeypatch: pytest.MonkeyPatch, fresh_model_cache: None
    ) -> None:
        monkeypatch.setattr(loading, "free_memory", lambda device: (1024, 8 * GIB))
        with pytest.raises(InsufficientMemoryError, match=r"only 0.0 GiB of 8.0 GiB RAM is free"):
            load_model(NEMOTRON, cpu_settings(tiny_nemotron_dir))
        assert loading.cached_models() == []


@pytest.mark.requires_torch
class TestFourBitOnCpu:
    """bitsandbytes' CPU kernels run nf4 when linear sizes are multiples of 64 (outputs of 32)."""

    def test_the_nf4_config_is_the_documented_one_with_the_skip_list(self) -> None:
        import torch

        config = loading.quantization_config("nf4", ("model.vision_tower", "lm_head"))
        assert config.load_in_4bit and config.bnb_4bit_quant_type == "nf4"
        assert config.bnb_4bit_use_double_quant and config.bnb_4bit_compute_dtype == torch.bfloat16
        assert config.llm_int8_skip_modules == ["model.vision_tower", "lm_head"]
        assert loading.quantization_config("int8").load_in_8bit
        assert loading.quantization_config("bf16") is None

    def test_by_default_the_vision_tower_projector_and_head_stay_16_bit_and_the_text_model_is_4_bit(
        self, tiny_medgemma_dir: Path
    ) -> None:
        from bitsandbytes.nn import Linear4bit

        loaded = load_model(MEDGEMMA, cpu_settings(tiny_medgemma_dir, cpu_quantization="nf4"))
        four_bit = {name for name, m in loaded.model.named_modules() if isinstance(m, Linear4bit)}
        assert four_bit and all(name.startswith("model.language_model.") for name in four_bit)
        assert not isinstance(loaded.model.lm_head, Linear4bit)
        assert loaded.estimate is not None
        assert loaded.estimate.skipped_modules == (
            "model.vision_tower",
            "model.multi_modal_projector",
            "lm_head",
        )

    def test_the_skip_list_is_a_setting(self, tiny_medgemma_dir: Path) -> None:
        from bitsandbytes.nn import Linear4bit

        settings = cpu_settings(tiny_medgemma_dir, cpu_quantization="nf4", skip_modules=("lm_head",))
        loaded = load_model(MEDGEMMA, settings)
        four_bit = [name for name, m in loaded.model.named_modules() if isinstance(m, Linear4bit)]
        assert any(name.startswith("model.vision_tower.") for name in four_bit)
        assert not isinstance(loaded.model.lm_head, Linear4bit)

    @pytest.mark.parametrize("which", ["medgemma", "nemotron"])
    def test_nf4_weights_load_on_cpu_as_4bit_layers(
        self, which: str, tiny_medgemma_dir: Path, tiny_nemotron_dir: Path
    ) -> None:
        from bitsandbytes.nn import Linear4bit

        spec, folder = (MEDGEMMA, tiny_medgemma_dir) if which == "medgemma" else (NEMOTRON, tiny_nemotron_dir)
        loaded = load_model(spec, cpu_settings(folder, cpu_quantization="nf4"))
        quantized = [m for m in loaded.model.modules() if isinstance(m, Linear4bit)]
        assert loaded.plan.quantization == "nf4"
        assert len(quantized) >= 4
        fp32 = load_model(spec, cpu_settings(folder))
        assert loaded.footprint_bytes is not None and fp32.footprint_bytes is not None
        assert loaded.footprint_bytes < fp32.footprint_bytes


@pytest.mark.requires_torch
@pytest.mark.requires_gpu
def test_on_a_gpu_nf4_loads_on_cuda_and_reports_vram(tiny_nemotron_dir: Path) -> None:
    loaded = load_model(NEMOTRON, cpu_settings(tiny_nemotron_dir, device="cuda", quantization="nf4"))
    assert loaded.plan.device == "cuda:0" and loaded.plan.quantization == "nf4"
    assert loaded.vram_allocated_bytes is not None and loaded.vram_allocated_bytes > 0
