"""The merge's weight checks: each LoRA module's update is exactly B·A·scale, nothing else moved.

Called with plain tensors, so a test can hand it a broken merge. A merged weight may differ
from ``base + B·A·scale`` (computed in fp32) by rounding to the model's 16-bit dtype only:
peft rounds the update and the sum, each within half a unit in the last place, so the
tolerance is one unit in the last place at the largest magnitude involved (base, merged or
update). Every tensor that is not a LoRA module's weight must be bit-identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class LoraUpdate:
    """One LoRA module: its A and B matrices and scale, and the weight it updates."""

    weight_key: str
    lora_a: Any  # tensor (r, in)
    lora_b: Any  # tensor (out, r)
    scale: float


class WeightCheck(BaseModel):
    """What the weight comparison found."""

    model_config = ConfigDict(extra="forbid")

    lora_modules: int
    max_error_ulps: float = Field(
        description="largest |merged − base − B·A·scale|, in units in the last place"
    )
    worst_module: str | None
    modules_off: list[str] = Field(description="LoRA modules whose merged weight is off by more than 1 ulp")
    other_tensors: int
    other_tensors_changed: list[str]
    missing_or_extra: list[str]
    modules_changed: int = Field(description="LoRA modules whose merged weight differs from the base at all")

    @property
    def passed(self) -> bool:
        return not (self.modules_off or self.other_tensors_changed or self.missing_or_extra)


def ulp(magnitude: Any, dtype: Any) -> Any:
    """The spacing of ``dtype``'s numbers at each ``magnitude`` (fp32 tensor), never below its tiny."""
    import torch

    info = torch.finfo(dtype)
    _, exponent = torch.frexp(magnitude)
    spacing = torch.ldexp(torch.full_like(magnitude, info.eps / 2), exponent)
    return torch.clamp(spacing, min=info.tiny * info.eps)


def check_weights(
    base: Mapping[str, Any], merged: Mapping[str, Any], updates: Mapping[str, LoraUpdate], dtype: Any
) -> WeightCheck:
    """Compare a merged state dict with the base it came from and the LoRA updates it folded in."""
    import torch

    by_key = {update.weight_key: name for name, update in updates.items()}
    missing_or_extra = sorted(set(base) ^ set(merged))
    worst, worst_module = 0.0, None
    off: list[str] = []
    changed = 0
    for name, update in updates.items():
        key = update.weight_key
        if key not in base or key not in merged:
            missing_or_extra.append(key)
            continue
        w0 = base[key].detach().to("cpu", torch.float32)
        w1 = merged[key].detach().to("cpu", torch.float32)
        lora_a, lora_b = update.lora_a.to("cpu", torch.float32), update.lora_b.to("cpu", torch.float32)
        delta = (lora_b @ lora_a) * update.scale
        if delta.shape != w0.shape:
            delta = delta.T  # fan-in/fan-out stored the other way round (Conv1D)
        error = (w1 - w0 - delta).abs()
        spacing = ulp(torch.maximum(torch.maximum(w0.abs(), w1.abs()), delta.abs()), dtype)
        ulps = float((error / spacing).max())
        changed += int(not torch.equal(w0, w1))
        if ulps > worst:
            worst, worst_module = ulps, name
        if ulps > 1.0:
            off.append(name)
    others = [key for key in base if key not in by_key and key in merged]
    moved = [key for key in others if not torch.equal(base[key].to("cpu"), merged[key].to("cpu"))]
    return WeightCheck(
        lora_modules=len(updates),
        max_error_ulps=worst,
        worst_module=worst_module,
        modules_off=sorted(off),
        other_tensors=len(others),
        other_tensors_changed=sorted(moved),
        missing_or_extra=sorted(missing_or_extra),
        modules_changed=changed,
    )
