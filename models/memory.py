"""How much memory a model needs before it is loaded, and whether the device has it.

The parameters are counted on a skeleton of the model (the meta device: shapes, no
weights) and priced in the chosen precision. With nf4 or int8 weights only the linear
layers bitsandbytes replaces are priced at 4 or 8 bits; the modules on the skip list
(the vision tower, the projector, the output head by default) stay in 16 bits, and are
counted so. torch is imported inside the functions that need it, which run only once
the loading code has checked that it is installed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from models.errors import InsufficientMemoryError
from models.settings import Quantization

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


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a model needs in one precision: its weights and the working memory beside them."""

    quantization: Quantization
    quantizable_params: int  # in linear layers that nf4/int8 replace (not on the skip list)
    other_params: int  # everything else, kept in 16 bits (32 for fp32)
    source: str  # "config", "published config" (both counted exactly) or "approximate"
    skipped_modules: tuple[str, ...] = field(default=())  # full names kept in 16 bits

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


def resolve_skip_modules(model: Any, names: Sequence[str]) -> tuple[str, ...]:
    """The full names of the outermost modules called one of ``names`` (``vision_tower`` →
    ``model.vision_tower``).

    Full names mean the same to every transformers version: newer ones match a skip entry
    from the start of a module's name, older ones as a substring.
    """
    wanted = set(names)
    found: list[str] = []
    for full_name, _module in model.named_modules():
        if not full_name or full_name.rpartition(".")[2] not in wanted:
            continue
        if any(full_name.startswith(f"{outer}.") for outer in found):
            continue
        found.append(full_name)
    missing = wanted - {name.rpartition(".")[2] for name in found}
    if missing:
        log.info(
            "no module named %s in this model; nothing of it to keep in 16 bits", ", ".join(sorted(missing))
        )
    return tuple(found)


def count_parameters(model: Any, skipped: Sequence[str] = ()) -> tuple[int, int]:
    """(parameters in linear layers bitsandbytes would quantize, all other parameters).

    Linear layers inside a module of ``skipped`` (full names) stay in 16 bits. With no skip
    list bitsandbytes keeps its own default, the output head, and so does this count.
    """
    import torch

    default_head = not skipped and hasattr(model, "get_output_embeddings")
    output = model.get_output_embeddings() if default_head else None

    def kept(name: str, module: Any) -> bool:
        return module is output or any(name == outer or name.startswith(f"{outer}.") for outer in skipped)

    quantizable_ids = {
        id(module.weight)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and not kept(name, module)
    }
    quantizable = other = 0
    for parameter in model.parameters():
        if id(parameter) in quantizable_ids:
            quantizable += parameter.numel()
        else:
            other += parameter.numel()
    return quantizable, other


def free_memory(device: str) -> tuple[int, int] | None:
    """(free, total) bytes on ``device``: GPU memory for cuda:N, available RAM for cpu."""
    if device.startswith("cuda"):
        import torch

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
