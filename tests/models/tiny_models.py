"""What the model tests share: a small radiograph-shaped image and settings for CPU runs (the tiny
random-weight models are built by :mod:`models.synthetic`, which the GPU bench's ``--tiny`` uses too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.settings import BackendSettings


def tiny_chest_image(width: int = 96, height: int = 80, seed: int = 0) -> Any:
    """A small grayscale uint8 array shaped like a (non-square) radiograph."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(height, width), dtype=np.uint8)


def cpu_settings(model_dir: Path, **overrides: Any) -> BackendSettings:
    """Settings that load a tiny model on CPU in fp32 with short generations."""
    values: dict[str, Any] = {
        "model_id": str(model_dir),
        "device": "cpu",
        "cpu_quantization": "fp32",
        "max_new_tokens": 24,
        "enable_thinking": False,
        "batch_size": 2,
    }
    values.update(overrides)
    return BackendSettings(**values)
