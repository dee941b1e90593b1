"""Load a model-backed backend's weights once per process: plan, estimate, check, load, report.

1. :func:`plan_load` decides the device and precision from the settings: the settings'
   quantization on CUDA (nf4 by default); on CPU, with a warning that it is slow, a
   quantization given on purpose or else ``cpu_quantization`` (bf16 by default); or a
   refusal with the reason when there is no CUDA and CPU is not allowed.
2. :func:`estimate_memory` counts the parameters from the model's config on the meta device
   (no weights read) and prices them in the chosen precision.
3. :func:`check_memory` refuses with a clear message when the GPU (or RAM) lacks that much.
4. :func:`load_model` loads through the transformers classes named in the registry entry,
   reports the memory used, and caches the result keyed by (model id, revision,
   quantization, device). The workstation wraps it in ``st.cache_resource`` as well.

torch, transformers and bitsandbytes are imported inside these functions only.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from models.errors import InsufficientMemoryError, MissingPackageError, ModelLoadError, NoCudaError
from models.registry import PIP_NAMES, QUANTIZED, BackendSpec
from models.settings import BackendSettings, Quantization

log = logging.getLogger(__name__)

GIB = 1024**3
# Bytes per parameter of a quantized linear weight: nf4 packs two per byte, plus one
# absmax per 64-weight block (8-bit with double quantization, ~1/64 byte per weight).
BYTES_PER_PARAM: dict[Quantization, float] = {
    "nf4": 0.5 + 1 / 64,
    "int8": 1.0 + 4 / 4096,
    "bf16": 2.0,
    "fp32": 4.0,
}
# Working memory beyond the weights: CUDA context, activations, KV cache for one audit.
WORKING_BYTES = int(0.75 * GIB)
WORKING_FRACTION = 0.10


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

    @property
    def cache_key(self) -> tuple[str, str | None, str, str]:
        return (self.model_id, self.revision, self.quantization, self.device)

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


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a model needs in one precision: its weights and the working memory beside them."""

    quantization: Quantization
    quantizable_params: int
    other_params: int
    source: str  # "config", "published config" (both counted exactly) or "approximate"

    @property
    def weight_bytes(self) -> int:
        quantized = self.quantizable_params * BYTES_PER_PARAM[self.quantization]
        other = self.other_params * (4.0 if self.quantization == "fp32" else 2.0)
        return int(quantized + other)

    @property
    def total_bytes(self) -> int:
        return int(self.weight_bytes * (1 + WORKING_FRACTION)) + WORKING_BYTES

    def describe(self) -> str:
        return (
            f"about {self.total_bytes / GIB:.1f} GiB ({self.quantization} weights "
            f"{self.weight_bytes / GIB:.1f} GiB + working memory)"
        )


def count_parameters(model: Any) -> tuple[int, int]:
    """(parameters in linear layers bitsandbytes would quantize, all other parameters).

    The output head stays in 16 bits, as transformers leaves it unquantized.
    """
    torch = require("torch")
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    quantizable_ids: set[int] = set()
    for _name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and module is not output:
            quantizable_ids.add(id(module.weight))
    quantizable = other = 0
    for parameter in model.parameters():
        if id(parameter) in quantizable_ids:
            quantizable += parameter.numel()
        else:
            other += parameter.numel()
    return quantizable, other


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
        quantizable, other = count_parameters(skeleton(spec, config))
        return MemoryEstimate(plan.quantization, quantizable, other, source)
    if spec.approx_params is None:
        raise ModelLoadError(f"cannot read the config of {plan.model_id} to estimate its memory")
    total = int(spec.approx_params)
    return MemoryEstimate(plan.quantization, int(total * 0.9), total - int(total * 0.9), "approximate")


def skeleton(spec: BackendSpec, config: Any) -> Any:
    """The model built from ``config`` on the meta device: shapes only, no memory, no weights."""
    torch = require("torch")
    with torch.device("meta"):
        return model_class(spec).from_config(config)


def free_memory(device: str) -> tuple[int, int] | None:
    """(free, total) bytes on ``device``: GPU memory for cuda:N, available RAM for cpu."""
    if device.startswith("cuda"):
        torch = require("torch")
        free, total = torch.cuda.mem_get_info(torch.device(device))
        return int(free), int(total)
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        return int(os.sysconf("SC_AVPHYS_PAGES") * page), int(os.sysconf("SC_PHYS_PAGES") * page)
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(
    estimate: MemoryEstimate, free_total: tuple[int, int] | None, device: str, name: str, margin: float = 1.1
) -> None:
    """Raise :class:`InsufficientMemoryError` when ``device`` lacks the estimated memory."""
    if free_total is None:
        log.warning("cannot tell how much memory %s has free; loading %s anyway", device, name)
        return
    free, total = free_total
    needed = int(estimate.total_bytes * margin)
    if free >= needed:
        return
    where = "GPU" if device.startswith("cuda") else "RAM"
    advice = (
        "close other programs using the GPU, choose nf4 (--quantization nf4), or use the openai backend"
        if device.startswith("cuda")
        else "free some RAM, choose cpu_quantization nf4, or use a GPU or the openai backend"
    )
    raise InsufficientMemoryError(
        f"{name} needs {estimate.describe()} on {device}, but only {free / GIB:.1f} GiB of "
        f"{total / GIB:.1f} GiB {where} is free: {advice}"
    )


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


def quantization_config(quantization: Quantization) -> Any:
    """The ``BitsAndBytesConfig`` for nf4 or int8 weights; None for bf16 and fp32."""
    if quantization not in QUANTIZED:
        return None
    torch = require("torch")
    transformers = require("transformers")
    require("bitsandbytes")
    if quantization == "nf4":
        return transformers.BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
    return transformers.BitsAndBytesConfig(load_in_8bit=True)


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
    bnb = quantization_config(plan.quantization)
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
