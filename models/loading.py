"""Load a model-backed backend's weights once per process: plan, estimate, check, load, report.

1. :func:`plan_load` decides the device and precision from the settings: the settings'
   quantization on CUDA (nf4 by default); on CPU, with a warning that it is slow, a
   quantization given on purpose or else ``cpu_quantization`` (bf16 by default); or a
   refusal with the reason when there is no CUDA and CPU is not allowed.
2. :func:`estimate_memory` counts the parameters from the model's config on the meta device
   (no weights read), finds the modules the skip list keeps in 16 bits, and prices them in
   the chosen precision (:mod:`models.memory`).
3. :func:`models.memory.check_memory` refuses with a clear message when the GPU (or RAM)
   lacks that much.
4. :func:`load_model` loads through the transformers classes named in the registry entry,
   reports the memory used, and caches the result keyed by (model id, revision,
   quantization, device, skip list). The workstation wraps it in ``st.cache_resource`` as well.

torch, transformers and bitsandbytes are imported inside these functions only.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from models.errors import MissingPackageError, ModelLoadError, NoCudaError
from models.memory import (
    GIB,
    MemoryEstimate,
    check_memory,
    count_parameters,
    free_memory,
    resolve_skip_modules,
)
from models.registry import PIP_NAMES, QUANTIZED, BackendSpec
from models.settings import BackendSettings, Quantization

log = logging.getLogger(__name__)


def require(module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingPackageError` naming what to ``pip install``."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        package = PIP_NAMES.get(module, module)
        raise MissingPackageError(
            f"{package} is not installed ({error}); install it with `pip install {package}` "
            "or run ./run.sh, which installs requirements.txt"
        ) from None


@dataclass(frozen=True)
class LoadPlan:
    """Where and how a model will be loaded, and why (``notes`` are shown to the user)."""

    model_id: str
    revision: str | None
    quantization: Quantization
    device: str  # "cpu" or "cuda:N"
    notes: tuple[str, ...] = ()
    skip_modules: tuple[str, ...] = ()  # module names kept in 16 bits under nf4/int8

    @property
    def cache_key(self) -> tuple[str, str | None, str, str, tuple[str, ...]]:
        return (self.model_id, self.revision, self.quantization, self.device, self.skip_modules)

    @property
    def on_cuda(self) -> bool:
        return self.device.startswith("cuda")


@dataclass(frozen=True)
class CudaInfo:
    available: bool
    device_count: int = 0
    torch_version: str | None = None


def cuda_info() -> CudaInfo:
    torch = require("torch")
    available = bool(torch.cuda.is_available())
    return CudaInfo(available, torch.cuda.device_count() if available else 0, torch.__version__)


def cpu_quantization(settings: BackendSettings) -> Quantization:
    """The precision on CPU: the settings' quantization when it was given, else ``cpu_quantization``.

    The code default ``nf4`` targets a GPU; a quantization set on purpose (flag, file,
    environment) is honoured on CPU too (bitsandbytes has CPU kernels for nf4).
    """
    return settings.quantization if "quantization" in settings.model_fields_set else settings.cpu_quantization


def plan_load(spec: BackendSpec, settings: BackendSettings, cuda: CudaInfo) -> LoadPlan:
    """Decide device and precision; raise :class:`NoCudaError` where the settings forbid the fallback."""
    plan = _device_and_precision(spec, settings, cuda)
    if plan.quantization not in QUANTIZED:
        return plan
    return LoadPlan(
        plan.model_id, plan.revision, plan.quantization, plan.device, plan.notes, settings.skip_modules
    )


def _device_and_precision(spec: BackendSpec, settings: BackendSettings, cuda: CudaInfo) -> LoadPlan:
    model_id = spec.model_id(settings)
    if not model_id:
        raise ModelLoadError(f"the {spec.name!r} backend needs a model id or folder (--model)")
    slow = f"{spec.name} on CPU is slow (minutes per case); a CUDA GPU or the openai backend is faster"
    on_cpu = cpu_quantization(settings)
    if settings.device == "cpu":
        return LoadPlan(model_id, settings.revision, on_cpu, "cpu", (slow,))
    if settings.device == "auto":
        if cuda.available:
            return LoadPlan(model_id, settings.revision, settings.quantization, "cuda:0")
        if not settings.allow_cpu:
            raise NoCudaError(
                f"no CUDA GPU is available (torch {cuda.torch_version}) and allow_cpu is off: "
                f"set CXR_AUDIT_ALLOW_CPU=true or --device cpu to run {spec.name} slowly on CPU, "
                "or use the openai backend with a GPU server"
            )
        note = f"no CUDA GPU found: loading {on_cpu} on CPU. {slow}"
        return LoadPlan(model_id, settings.revision, on_cpu, "cpu", (note,))
    index = int(settings.device.partition(":")[2] or 0)
    if not cuda.available:
        raise NoCudaError(
            f"device {settings.device} was asked for but no CUDA GPU is visible "
            f"(torch {cuda.torch_version}); "
            "use --device auto or cpu"
        )
    if index >= cuda.device_count:
        raise NoCudaError(
            f"device {settings.device} was asked for but only {cuda.device_count} GPU(s) are visible"
        )
    return LoadPlan(model_id, settings.revision, settings.quantization, f"cuda:{index}")


def model_class(spec: BackendSpec) -> Any:
    transformers = require("transformers")
    if not spec.model_class:
        raise ModelLoadError(f"the {spec.name!r} backend names no model class in the registry")
    return getattr(transformers, spec.model_class)


def estimate_memory(spec: BackendSpec, plan: LoadPlan) -> MemoryEstimate:
    """Count parameters on the meta device (no weights read) and price them in the plan's precision.

    The model's own config is used when it can be read (a local folder, the cache, or the hub);
    otherwise the registry's published architecture, else its approximate parameter count.
    """
    transformers = require("transformers")
    try:
        config = transformers.AutoConfig.from_pretrained(plan.model_id, revision=plan.revision)
        source = "config"
    except (OSError, ValueError, KeyError) as error:
        log.info("cannot read the config of %s (%s); estimating from the registry", plan.model_id, error)
        config, source = None, "published config"
        if spec.published_config:
            module_name, _, attr = spec.published_config.partition(":")
            config = getattr(importlib.import_module(module_name), attr)()
    if config is not None:
        model = skeleton(spec, config)
        skipped = resolve_skip_modules(model, plan.skip_modules)
        quantizable, other = count_parameters(model, skipped)
        return MemoryEstimate(plan.quantization, quantizable, other, source, skipped)
    if spec.approx_params is None:
        raise ModelLoadError(f"cannot read the config of {plan.model_id} to estimate its memory")
    total = int(spec.approx_params)
    return MemoryEstimate(plan.quantization, int(total * 0.9), total - int(total * 0.9), "approximate")


def skeleton(spec: BackendSpec, config: Any) -> Any:
    """The model built from ``config`` on the meta device: shapes only, no memory, no weights."""
    torch = require("torch")
    with torch.device("meta"):
        return model_class(spec).from_config(config)


@dataclass
class LoadedModel:
    """A loaded model with its processor or tokenizer, and what loading it cost."""

    spec_name: str
    model: Any
    preprocessor: Any
    plan: LoadPlan
    estimate: MemoryEstimate | None
    load_seconds: float
    footprint_bytes: int | None = None  # the model's own parameters and buffers
    vram_allocated_bytes: int | None = None  # torch's allocation on the GPU after loading
    notes: tuple[str, ...] = field(default_factory=tuple)

    def report(self) -> str:
        parts = [f"{self.spec_name} {self.plan.model_id} ({self.plan.quantization}, {self.plan.device})"]
        parts.append(f"loaded in {self.load_seconds:.1f} s")
        if self.footprint_bytes is not None:
            parts.append(f"weights {self.footprint_bytes / GIB:.2f} GiB")
        if self.vram_allocated_bytes is not None:
            parts.append(f"VRAM allocated {self.vram_allocated_bytes / GIB:.2f} GiB")
        return ", ".join(parts)


_CACHE: dict[tuple[str, str | None, str, str], LoadedModel] = {}
_LOCK = threading.Lock()


def cached_models() -> list[LoadedModel]:
    return list(_CACHE.values())


def clear_cache() -> None:
    """Forget every loaded model (tests; the Models page's unload button)."""
    with _LOCK:
        _CACHE.clear()


def quantization_config(quantization: Quantization, skip_modules: tuple[str, ...] = ()) -> Any:
    """The ``BitsAndBytesConfig`` for nf4 or int8 weights; None for bf16 and fp32.

    ``skip_modules`` (full module names) stay in 16 bits. The list replaces bitsandbytes'
    own defaults, which is why the output head is on the default skip list.
    """
    if quantization not in QUANTIZED:
        return None
    torch = require("torch")
    transformers = require("transformers")
    require("bitsandbytes")
    skip = list(skip_modules) or None
    if quantization == "nf4":
        return transformers.BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
            llm_int8_skip_modules=skip,
        )
    return transformers.BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)


def torch_dtype(quantization: Quantization) -> Any:
    torch = require("torch")
    return torch.float32 if quantization == "fp32" else torch.bfloat16


def load_model(spec: BackendSpec, settings: BackendSettings, cuda: CudaInfo | None = None) -> LoadedModel:
    """Load ``spec``'s model under ``settings`` once per process; later calls return the same one."""
    for module in spec.requires:
        require(module)
    plan = plan_load(spec, settings, cuda or cuda_info())
    if plan.quantization in QUANTIZED:
        for module in spec.quantized_requires:
            require(module)
    with _LOCK:
        cached = _CACHE.get(plan.cache_key)
        if cached is not None:
            return cached
        for note in plan.notes:
            log.warning(note)
        estimate = estimate_memory(spec, plan)
        check_memory(estimate, free_memory(plan.device), plan.device, spec.name, settings.memory_margin)
        loaded = _load(spec, settings, plan, estimate)
        _CACHE[plan.cache_key] = loaded
        log.info("%s", loaded.report())
        return loaded


def _load(
    spec: BackendSpec, settings: BackendSettings, plan: LoadPlan, estimate: MemoryEstimate
) -> LoadedModel:
    torch = require("torch")
    transformers = require("transformers")
    kwargs: dict[str, Any] = {
        "revision": plan.revision,
        "dtype": torch_dtype(plan.quantization),
        "device_map": {"": plan.device},
    }
    bnb = quantization_config(plan.quantization, estimate.skipped_modules or plan.skip_modules)
    if bnb is not None:
        kwargs["quantization_config"] = bnb
    started = time.perf_counter()
    try:
        model = model_class(spec).from_pretrained(plan.model_id, **kwargs)
        preprocessor = getattr(transformers, spec.preprocessor_class or "AutoProcessor").from_pretrained(
            plan.model_id, revision=plan.revision
        )
    except (OSError, ValueError) as error:
        local = Path(plan.model_id).expanduser().exists()
        hint = (
            "check that the folder holds config.json, the weights and the processor files"
            if local
            else "use --model with a local folder, or a hub token with access to it"
        )
        detail = " ".join(str(error).split())  # one line, for the CLI and the UI
        raise ModelLoadError(f"cannot load {spec.name} from {plan.model_id}: {detail} ({hint})") from None
    model.eval()
    tokenizer = getattr(preprocessor, "tokenizer", preprocessor)
    tokenizer.padding_side = settings.padding_side
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    seconds = time.perf_counter() - started
    vram = None
    if plan.on_cuda:
        torch.cuda.synchronize(plan.device)
        vram = int(torch.cuda.memory_allocated(plan.device))
    footprint = int(model.get_memory_footprint()) if hasattr(model, "get_memory_footprint") else None
    return LoadedModel(
        spec_name=spec.name,
        model=model,
        preprocessor=preprocessor,
        plan=plan,
        estimate=estimate,
        load_seconds=seconds,
        footprint_bytes=footprint,
        vram_allocated_bytes=vram,
        notes=plan.notes,
    )
